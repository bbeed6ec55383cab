//! What the signals count, already counted. A national registry holds hundreds of
//! thousands of cases, but the signals only ever need how many cases share a few
//! attributes. Each case is counted under a handful of keys (`case_keys`); the projector
//! keeps those counts as cases arrive and change (the `signal_counts` read model), and
//! `Tallies::from_counts` turns the counts a year needs into the tallies every signal is
//! computed from. `Tallies::count` does the same from case records, through the very same
//! keys, for tests and for synthetic data that never went through a database.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use super::input::{CaseRecord, MethodRecord};
/// Moved to `calendar`; still here for the callers that name it by this path.
pub use crate::calendar::month_index;
use crate::calendar::{first_day_of_month, quarter_index, year_bounds};

/// Schemes whose cases are about one patient (group exemptions are not).
pub const PATIENT_SCHEMES: [&str; 4] = [
    "individual_exemption",
    "individual_access",
    "reassessment_access",
    "early_access",
];

/// The length, in calendar months, of the window a recurring subgroup is counted in.
pub const RECURRING_WINDOW_MONTHS: i64 = 12;

/// Decisions of the analysed year that share every attribute here.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DecisionCell {
    pub scheme: String,
    pub method_id: String,
    pub icd10_category: String,
    pub deciding_org: String,
    /// None for Helsedirektoratet.
    pub deciding_region: Option<String>,
    pub granted: bool,
    /// Whether every criterion of the scheme was documented.
    pub criteria_complete: bool,
    pub cases: u64,
}

/// Individual exemptions of the analysed year decided by one organisation for one method
/// while the method was not under assessment.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct OutsideAssessmentCell {
    pub deciding_org: String,
    pub method_id: String,
    pub cases: u64,
}

/// Individual exemptions decided on one day by one organisation for one method: what
/// `outside_assessment` needs for a method whose status changed during the year.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ExemptionDay {
    pub deciding_org: String,
    pub method_id: String,
    /// Days since 1970-01-01.
    pub day: i64,
    pub cases: u64,
}

/// Applications received in the analysed year, per scheme and region of residence.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ApplicationCell {
    pub scheme: String,
    pub residence_region: String,
    pub cases: u64,
}

/// Applications received in the analysed year that waited alike.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct WaitCell {
    pub scheme: String,
    pub deciding_region: String,
    pub wait: Wait,
    pub cases: u64,
}

/// How an application waited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Wait {
    /// Decided after this many days.
    Decided { days: i64 },
    /// Still pending; received on this day (days since 1970-01-01).
    Pending { since: i64 },
}

/// Applications received in one quarter, for one method, scheme or applying organisation.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct VolumeCell {
    /// `method`, `scheme` or `organisation`.
    pub unit_type: String,
    pub unit: String,
    /// year * 4 + quarter - 1.
    pub quarter_index: i32,
    pub cases: u64,
}

/// Refusals of the analysed year and of the two years before it, and how many cited each
/// reason.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RefusalReasons {
    pub refusals_this_year: u64,
    pub refusals_earlier: u64,
    /// Reason -> (refusals citing it this year, earlier).
    pub citing: BTreeMap<String, (u64, u64)>,
}

/// The busiest 12 calendar months, ending in a month of the analysed year that had one, of
/// applications for one method and indication category.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SubgroupWindow {
    pub method_id: String,
    pub icd10_category: String,
    /// The last day of the window's last month (days since 1970-01-01).
    pub window_end: i64,
    pub applications: u64,
    /// The applying organisations.
    pub trusts: BTreeSet<String>,
    pub granted: u64,
    pub refused: u64,
    pub pending: u64,
}

/// A span of days in which a method was under assessment (or reassessment): individual
/// exemptions decided outside such spans are a compliance finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssessmentPeriod {
    pub method_id: String,
    /// First day (days since 1970-01-01).
    pub from: i64,
    /// First day after the period; None while it lasts.
    pub until: Option<i64>,
}

impl AssessmentPeriod {
    pub fn contains(&self, day: i64) -> bool {
        day >= self.from && self.until.is_none_or(|until| day < until)
    }
}

/// The periods in which each method was under assessment, from its status changes (the
/// status on a day is the latest change in force on it).
pub fn assessment_periods(methods: &[MethodRecord]) -> Vec<AssessmentPeriod> {
    let mut periods = Vec::new();
    for method in methods {
        let mut changes = method.statuses.clone();
        changes.sort_by_key(|(from, _)| from.days);
        // Several changes on one day: the last one listed is in force.
        let mut in_force: Vec<(i64, String)> = Vec::new();
        for (from, status) in changes {
            match in_force.last_mut() {
                Some(last) if last.0 == from.days => last.1 = status,
                _ => in_force.push((from.days, status)),
            }
        }
        for (index, (from, status)) in in_force.iter().enumerate() {
            if matches!(status.as_str(), "under_assessment" | "reassessment") {
                periods.push(AssessmentPeriod {
                    method_id: method.method_id.clone(),
                    from: *from,
                    until: in_force.get(index + 1).map(|next| next.0),
                });
            }
        }
    }
    periods
}

/// Everything the signals of one year count.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Tallies {
    /// Decisions made in the analysed year.
    pub decisions: Vec<DecisionCell>,
    pub outside_assessment: Vec<OutsideAssessmentCell>,
    /// Applications received in the analysed year.
    pub applications: Vec<ApplicationCell>,
    /// Applications received in the analysed year.
    pub waits: Vec<WaitCell>,
    /// Applications received in the analysed year and the two before it.
    pub volumes: Vec<VolumeCell>,
    pub refusal_reasons: RefusalReasons,
    /// Method and indication categories with their busiest window.
    pub subgroup_windows: Vec<SubgroupWindow>,
    /// The last day the data knows of (days since 1970-01-01): pending cases are censored
    /// there.
    pub as_of: i64,
    /// The days on which each method entered or left assessment: its volume of individual
    /// exemptions changes then for a reason that is no trend.
    pub assessment_changes: BTreeMap<String, Vec<i64>>,
}

/// What a case is counted under: a kind, a period (a year, quarter, month or day, as the
/// kind says) and the other attributes as text. This is how the `signal_counts` read model
/// stores the counts, and `Tallies::count` counts through it too, so both agree.
pub type CaseKey = (&'static str, i64, String);

/// The kinds of keys, and the period each is counted by.
mod kind {
    /// Decision year.
    pub const DECISION: &str = "decision";
    /// Receipt year.
    pub const APPLICATION: &str = "application";
    /// Receipt year.
    pub const WAIT: &str = "wait";
    /// Receipt quarter (year * 4 + quarter - 1).
    pub const VOLUME: &str = "volume";
    /// Decision year.
    pub const REFUSAL: &str = "refusal";
    /// Receipt month (year * 12 + month - 1).
    pub const SUBGROUP_OUTCOME: &str = "subgroup_outcome";
    /// Receipt month.
    pub const SUBGROUP_TRUST: &str = "subgroup_trust";
    /// The last day a case knows of.
    pub const LAST_DAY: &str = "last_day";
}

/// Separates the attributes in a key's text; no code, number or name of a method, region
/// or reason holds it.
const SEPARATOR: char = '|';

fn joined(parts: &[&str]) -> String {
    let mut text = String::with_capacity(parts.iter().map(|p| p.len() + 1).sum());
    for (index, part) in parts.iter().enumerate() {
        if index > 0 {
            text.push(SEPARATOR);
        }
        text.push_str(part);
    }
    text
}

fn flag(value: bool) -> &'static str {
    if value {
        "t"
    } else {
        "f"
    }
}

fn outcome_text(granted: Option<bool>) -> &'static str {
    match granted {
        Some(true) => "granted",
        Some(false) => "refused",
        None => "pending",
    }
}

/// The keys a case is counted under.
pub fn case_keys(case: &CaseRecord) -> Vec<CaseKey> {
    let received = case.received;
    let received_year = i64::from(received.year);
    let mut keys = Vec::with_capacity(10);
    if let (Some(decided), Some(granted)) = (case.decided, case.granted) {
        let region = case.deciding_region.as_deref().unwrap_or("");
        let text = joined(&[
            &case.scheme,
            &case.method_id,
            &case.icd10_category,
            &case.deciding_org,
            region,
            flag(granted),
            flag(case.criteria_complete),
        ]);
        keys.push((kind::DECISION, i64::from(decided.year), text));
        if !granted {
            let reasons: BTreeSet<&str> = case.refusal_reasons.iter().map(String::as_str).collect();
            let reasons: Vec<&str> = reasons.into_iter().collect();
            keys.push((kind::REFUSAL, i64::from(decided.year), joined(&reasons)));
        }
    }
    if let Some(region) = &case.residence_region {
        keys.push((
            kind::APPLICATION,
            received_year,
            joined(&[&case.scheme, region]),
        ));
    }
    if let Some(region) = &case.deciding_region {
        let wait = match case.decided {
            Some(decided) => format!("d{}", decided.days - received.days),
            None => format!("p{}", received.days),
        };
        keys.push((
            kind::WAIT,
            received_year,
            joined(&[&case.scheme, region, &wait]),
        ));
    }
    let quarter = i64::from(quarter_index(received.year, received.quarter));
    for (unit_type, unit) in [
        ("method", &case.method_id),
        ("scheme", &case.scheme),
        ("organisation", &case.applying_org),
    ] {
        keys.push((kind::VOLUME, quarter, joined(&[unit_type, unit])));
    }
    if PATIENT_SCHEMES.contains(&case.scheme.as_str()) {
        let month = month_index(received.days);
        let subgroup = [case.method_id.as_str(), case.icd10_category.as_str()];
        let outcome = joined(&[subgroup[0], subgroup[1], outcome_text(case.granted)]);
        keys.push((kind::SUBGROUP_OUTCOME, month, outcome));
        let trust = joined(&[subgroup[0], subgroup[1], &case.applying_org]);
        keys.push((kind::SUBGROUP_TRUST, month, trust));
    }
    let last_day = case
        .decided
        .map_or(received.days, |d| d.days.max(received.days));
    keys.push((kind::LAST_DAY, last_day, String::new()));
    keys
}

/// The periods of each kind of key the tallies of `year` read: (kind, first, last).
pub fn periods_read(year: i32) -> Vec<(&'static str, i64, i64)> {
    let first_quarter = i64::from(quarter_index(year - 2, 1));
    let last_quarter = i64::from(quarter_index(year, 4));
    let year = i64::from(year);
    vec![
        (kind::DECISION, year, year),
        (kind::APPLICATION, year, year),
        (kind::WAIT, year, year),
        (kind::VOLUME, first_quarter, last_quarter),
        (kind::REFUSAL, year - 2, year),
        // Windows of 12 months end in the year: the earliest begins in February before.
        (
            kind::SUBGROUP_OUTCOME,
            year * 12 - RECURRING_WINDOW_MONTHS + 1,
            year * 12 + 11,
        ),
        (
            kind::SUBGROUP_TRUST,
            year * 12 - RECURRING_WINDOW_MONTHS + 1,
            year * 12 + 11,
        ),
        (kind::LAST_DAY, i64::MIN, i64::MAX),
    ]
}

impl Tallies {
    /// Every list in its canonical order, so that tallies from different sources compare.
    pub fn sorted(mut self) -> Tallies {
        self.decisions.sort();
        self.outside_assessment.sort();
        self.applications.sort();
        self.waits.sort();
        self.volumes.sort();
        self.subgroup_windows.sort();
        self
    }

    /// The tallies of `year` from case records (not retracted) and the methods register.
    pub fn count(year: i32, cases: &[CaseRecord], methods: &[MethodRecord]) -> Tallies {
        let mut counts: HashMap<CaseKey, u64> = HashMap::new();
        for key in cases.iter().flat_map(case_keys) {
            *counts.entry(key).or_insert(0) += 1;
        }
        let periods = assessment_periods(methods);
        let changed = methods_changing_status_in(year, &periods);
        let days = exemption_days(year, cases, &changed);
        Tallies::from_counts(year, counts, &days, &periods)
    }

    /// The tallies of `year` from counts (those of other periods than `periods_read`
    /// gives are passed over), the individual exemptions per day for the methods whose
    /// status changed during the year (`methods_changing_status_in`), and the methods'
    /// assessment periods.
    pub fn from_counts(
        year: i32,
        counts: impl IntoIterator<Item = (CaseKey, u64)>,
        exemption_days: &[ExemptionDay],
        assessment_periods: &[AssessmentPeriod],
    ) -> Tallies {
        let periods = periods_read(year);
        let read = |kind: &str, period: i64| {
            periods
                .iter()
                .any(|(k, first, last)| *k == kind && (*first..=*last).contains(&period))
        };
        let mut tallies = Tallies::default();
        let mut subgroups = SubgroupMonths::default();
        for ((kind, period, text), cases) in counts {
            if !read(kind, period) {
                continue;
            }
            let parts: Vec<&str> = text.split(SEPARATOR).collect();
            tallies.add(year, kind, period, &parts, cases, &mut subgroups);
        }
        tallies.subgroup_windows = subgroups.busiest_windows(year);
        tallies.outside_assessment =
            outside_assessment(year, &tallies.decisions, exemption_days, assessment_periods);
        for period in assessment_periods {
            let changes = tallies
                .assessment_changes
                .entry(period.method_id.clone())
                .or_default();
            changes.extend([Some(period.from), period.until].into_iter().flatten());
        }
        tallies.sorted()
    }

    fn add(
        &mut self,
        year: i32,
        kind: &str,
        period: i64,
        parts: &[&str],
        cases: u64,
        subgroups: &mut SubgroupMonths,
    ) {
        let text = |index: usize| parts.get(index).copied().unwrap_or("").to_string();
        let optional = |index: usize| Some(text(index)).filter(|t| !t.is_empty());
        match kind {
            kind::DECISION => self.decisions.push(DecisionCell {
                scheme: text(0),
                method_id: text(1),
                icd10_category: text(2),
                deciding_org: text(3),
                deciding_region: optional(4),
                granted: parts.get(5) == Some(&"t"),
                criteria_complete: parts.get(6) == Some(&"t"),
                cases,
            }),
            kind::APPLICATION => self.applications.push(ApplicationCell {
                scheme: text(0),
                residence_region: text(1),
                cases,
            }),
            kind::WAIT => {
                let wait = parts.get(2).and_then(|w| parse_wait(w));
                if let Some(wait) = wait {
                    self.waits.push(WaitCell {
                        scheme: text(0),
                        deciding_region: text(1),
                        wait,
                        cases,
                    });
                }
            }
            kind::VOLUME => self.volumes.push(VolumeCell {
                unit_type: text(0),
                unit: text(1),
                quarter_index: period as i32,
                cases,
            }),
            kind::REFUSAL => self.add_refusals(period == i64::from(year), parts, cases),
            kind::SUBGROUP_OUTCOME => {
                subgroups.add_outcome(period, &text(0), &text(1), parts.get(2).copied(), cases)
            }
            kind::SUBGROUP_TRUST => subgroups.add_trust(period, &text(0), &text(1), &text(2)),
            kind::LAST_DAY => self.as_of = self.as_of.max(period),
            _ => {}
        }
    }

    fn add_refusals(&mut self, this_year: bool, reasons: &[&str], cases: u64) {
        let refusals = &mut self.refusal_reasons;
        if this_year {
            refusals.refusals_this_year += cases;
        } else {
            refusals.refusals_earlier += cases;
        }
        for reason in reasons.iter().filter(|r| !r.is_empty()) {
            let entry = refusals.citing.entry(reason.to_string()).or_insert((0, 0));
            if this_year {
                entry.0 += cases;
            } else {
                entry.1 += cases;
            }
        }
    }
}

fn parse_wait(text: &str) -> Option<Wait> {
    let (tag, number) = text.split_at_checked(1)?;
    let number: i64 = number.parse().ok()?;
    match tag {
        "d" => Some(Wait::Decided { days: number }),
        "p" => Some(Wait::Pending { since: number }),
        _ => None,
    }
}

/// A method and an indication category.
type Subgroup = (String, String);
/// Applications granted, refused and pending.
type Outcomes = (u64, u64, u64);

/// Applications per month for each method and indication category: by outcome, and the
/// trusts that applied.
#[derive(Default)]
struct SubgroupMonths {
    outcomes: BTreeMap<Subgroup, BTreeMap<i64, Outcomes>>,
    trusts: BTreeMap<Subgroup, BTreeMap<i64, BTreeSet<String>>>,
}

impl SubgroupMonths {
    fn add_outcome(
        &mut self,
        month: i64,
        method: &str,
        category: &str,
        outcome: Option<&str>,
        cases: u64,
    ) {
        let counts = self
            .outcomes
            .entry((method.to_string(), category.to_string()))
            .or_default()
            .entry(month)
            .or_default();
        match outcome {
            Some("granted") => counts.0 += cases,
            Some("refused") => counts.1 += cases,
            _ => counts.2 += cases,
        }
    }

    fn add_trust(&mut self, month: i64, method: &str, category: &str, trust: &str) {
        self.trusts
            .entry((method.to_string(), category.to_string()))
            .or_default()
            .entry(month)
            .or_default()
            .insert(trust.to_string());
    }

    /// For each subgroup, the 12 months ending in a month of `year` with applications that
    /// hold the most applications; the earliest such window when several tie.
    fn busiest_windows(self, year: i32) -> Vec<SubgroupWindow> {
        let first_end = i64::from(year) * 12;
        let mut windows = Vec::new();
        for ((method_id, category), months) in self.outcomes {
            let in_window = |end: i64| months.range(end - RECURRING_WINDOW_MONTHS + 1..=end);
            let mut best: Option<(i64, u64)> = None;
            for (&end, _) in months.range(first_end..first_end + 12) {
                let applications: u64 = in_window(end).map(|(_, (g, r, p))| g + r + p).sum();
                if best.is_none_or(|(_, most)| applications > most) {
                    best = Some((end, applications));
                }
            }
            let Some((end, applications)) = best else {
                continue;
            };
            let (mut granted, mut refused, mut pending) = (0, 0, 0);
            for (_, (g, r, p)) in in_window(end) {
                (granted, refused, pending) = (granted + g, refused + r, pending + p);
            }
            let trusts = self
                .trusts
                .get(&(method_id.clone(), category.clone()))
                .map(|by_month| {
                    by_month
                        .range(end - RECURRING_WINDOW_MONTHS + 1..=end)
                        .flat_map(|(_, trusts)| trusts.iter().cloned())
                        .collect()
                })
                .unwrap_or_default();
            windows.push(SubgroupWindow {
                method_id,
                icd10_category: category,
                window_end: first_day_of_month(end + 1) - 1,
                applications,
                trusts,
                granted,
                refused,
                pending,
            });
        }
        windows
    }
}

/// Methods whose assessment status changed on a day of `year` other than its first: for
/// them, whether an exemption was decided under assessment depends on the day.
pub fn methods_changing_status_in(year: i32, periods: &[AssessmentPeriod]) -> BTreeSet<String> {
    let (first, next) = year_bounds(year);
    periods
        .iter()
        .filter(|p| {
            [Some(p.from), p.until]
                .into_iter()
                .flatten()
                .any(|day| day > first && day < next)
        })
        .map(|p| p.method_id.clone())
        .collect()
}

/// Individual exemptions of `year` per organisation, method (of `methods`) and day.
fn exemption_days(
    year: i32,
    cases: &[CaseRecord],
    methods: &BTreeSet<String>,
) -> Vec<ExemptionDay> {
    let mut counts: BTreeMap<(&str, &str, i64), u64> = BTreeMap::new();
    for case in cases {
        let Some(decided) = case.decided.filter(|d| d.year == year) else {
            continue;
        };
        if case.granted.is_some()
            && case.scheme == "individual_exemption"
            && methods.contains(&case.method_id)
        {
            *counts
                .entry((&case.deciding_org, &case.method_id, decided.days))
                .or_insert(0) += 1;
        }
    }
    counts
        .into_iter()
        .map(|((org, method, day), cases)| ExemptionDay {
            deciding_org: org.to_string(),
            method_id: method.to_string(),
            day,
            cases,
        })
        .collect()
}

/// Individual exemptions decided in `year` while their method was not under assessment,
/// per organisation and method: from the decisions for methods whose status held all year,
/// from the days for the others.
fn outside_assessment(
    year: i32,
    decisions: &[DecisionCell],
    days: &[ExemptionDay],
    periods: &[AssessmentPeriod],
) -> Vec<OutsideAssessmentCell> {
    let changed = methods_changing_status_in(year, periods);
    let under_assessment = |method: &str, day: i64| {
        periods
            .iter()
            .any(|p| p.method_id == method && p.contains(day))
    };
    let (first, _) = year_bounds(year);
    let mut counts: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    for cell in decisions
        .iter()
        .filter(|c| c.scheme == "individual_exemption")
    {
        if !changed.contains(&cell.method_id) && !under_assessment(&cell.method_id, first) {
            *counts
                .entry((&cell.deciding_org, &cell.method_id))
                .or_insert(0) += cell.cases;
        }
    }
    for day in days.iter().filter(|d| changed.contains(&d.method_id)) {
        if !under_assessment(&day.method_id, day.day) {
            *counts
                .entry((&day.deciding_org, &day.method_id))
                .or_insert(0) += day.cases;
        }
    }
    counts
        .into_iter()
        .map(|((org, method), cases)| OutsideAssessmentCell {
            deciding_org: org.to_string(),
            method_id: method.to_string(),
            cases,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signals::Day;

    fn day(days: i64) -> Day {
        Day {
            days,
            year: 2025,
            quarter: 1,
        }
    }

    #[test]
    fn a_method_is_under_assessment_from_each_such_status_until_the_next_change() {
        let method = MethodRecord {
            method_id: "M".into(),
            statuses: vec![
                (day(30), "introduced".into()),
                (day(10), "under_assessment".into()),
                (day(50), "reassessment".into()),
            ],
        };
        let periods = assessment_periods(&[method]);
        assert_eq!(periods.len(), 2);
        assert!(periods[0].contains(10) && periods[0].contains(29));
        assert!(!periods
            .iter()
            .any(|p| p.contains(9) || p.contains(30) || p.contains(49)));
        assert!(periods[1].contains(50) && periods[1].contains(5_000));
    }

    /// 2025-01-01, days since 1970-01-01.
    const NEW_YEAR_2025: i64 = 20_089;

    fn case(received: i64, decided: Option<i64>, granted: Option<bool>) -> CaseRecord {
        let on = |offset: i64| {
            let days = NEW_YEAR_2025 + offset;
            let month = month_index(days);
            Day {
                days,
                year: (month / 12) as i32,
                quarter: (month % 12 / 3 + 1) as u8,
            }
        };
        CaseRecord {
            scheme: "individual_exemption".into(),
            method_id: "M".into(),
            icd10_category: "C34".into(),
            deciding_org: "t1".into(),
            deciding_region: Some("r1".into()),
            applying_org: "t1".into(),
            residence_region: Some("r1".into()),
            received: on(received),
            decided: decided.map(on),
            granted,
            criteria_complete: true,
            refusal_reasons: Vec::new(),
        }
    }

    #[test]
    fn equal_cases_share_one_cell_and_pending_ones_wait_from_their_receipt() {
        let cases = [
            case(100, Some(120), Some(true)),
            case(101, Some(120), Some(true)),
            case(102, Some(130), Some(false)),
            case(103, None, None),
        ];
        let tallies = Tallies::count(2025, &cases, &[]);
        let decided: Vec<(bool, u64)> = tallies
            .decisions
            .iter()
            .map(|c| (c.granted, c.cases))
            .collect();
        assert_eq!(decided, vec![(false, 1), (true, 2)]);
        let outside: Vec<u64> = tallies.outside_assessment.iter().map(|c| c.cases).collect();
        assert_eq!(
            outside,
            vec![3],
            "no method under assessment: all three outside"
        );
        let pending: Vec<&WaitCell> = tallies
            .waits
            .iter()
            .filter(|w| matches!(w.wait, Wait::Pending { .. }))
            .collect();
        assert_eq!(pending.len(), 1);
        assert_eq!(
            pending[0].wait,
            Wait::Pending {
                since: NEW_YEAR_2025 + 103
            }
        );
        assert_eq!(tallies.as_of, NEW_YEAR_2025 + 130);
        let window = &tallies.subgroup_windows[0];
        assert_eq!(
            (
                window.applications,
                window.granted,
                window.refused,
                window.pending
            ),
            (4, 2, 1, 1)
        );
    }

    #[test]
    fn the_busiest_window_is_twelve_calendar_months_ending_in_the_year() {
        // Eleven applications in December 2024, one in January 2025 and three in December
        // 2025: the window ending in January holds twelve, the one ending in December four.
        let mut cases: Vec<CaseRecord> = (0..11).map(|_| case(-5, None, None)).collect();
        cases.push(case(10, None, None));
        cases.extend((0..3).map(|_| case(340, None, None)));
        let tallies = Tallies::count(2025, &cases, &[]);
        let window = &tallies.subgroup_windows[0];
        assert_eq!(window.applications, 12);
        assert_eq!(window.window_end, first_day_of_month(2025 * 12 + 1) - 1);
        // In 2026 the December 2024 applications are out of every window.
        let later = Tallies::count(2026, &cases, &[]);
        assert!(later.subgroup_windows.is_empty(), "no application in 2026");
    }

    #[test]
    fn a_status_change_during_the_year_is_judged_by_the_decision_day() {
        let method = |statuses: Vec<(i64, &str)>| MethodRecord {
            method_id: "M".into(),
            statuses: statuses
                .into_iter()
                .map(|(days, status)| (day(days), status.to_string()))
                .collect(),
        };
        let cases = [
            case(10, Some(20), Some(true)),
            case(10, Some(40), Some(true)),
            case(10, Some(60), Some(false)),
        ];
        let outside = |methods: &[MethodRecord]| -> u64 {
            let tallies = Tallies::count(2025, &cases, methods);
            tallies.outside_assessment.iter().map(|c| c.cases).sum()
        };
        // Under assessment from before the year to day 50 of it: only the last is outside.
        let until_day_50 = method(vec![
            (NEW_YEAR_2025 - 400, "under_assessment"),
            (NEW_YEAR_2025 + 50, "introduced"),
        ]);
        assert_eq!(outside(&[until_day_50]), 1);
        // Under assessment all year: none.
        let all_year = method(vec![(NEW_YEAR_2025 - 400, "under_assessment")]);
        assert_eq!(outside(&[all_year]), 0);
        // Introduced before the year: all three.
        let introduced = method(vec![(NEW_YEAR_2025 - 400, "introduced")]);
        assert_eq!(outside(&[introduced]), 3);
    }

    #[test]
    fn counts_give_the_tallies_the_cases_give() {
        let cases = [
            case(-400, Some(-350), Some(false)),
            case(-20, Some(5), Some(true)),
            case(100, Some(120), Some(true)),
            case(103, None, None),
        ];
        let mut counts: HashMap<CaseKey, u64> = HashMap::new();
        for key in cases.iter().flat_map(case_keys) {
            *counts.entry(key).or_insert(0) += 1;
        }
        // Counts of every period, as a read model holds them: from_counts takes what the
        // year needs.
        assert_eq!(
            Tallies::from_counts(2025, counts, &[], &[]),
            Tallies::count(2025, &cases, &[])
        );
        let refusals = Tallies::count(2025, &cases, &[]).refusal_reasons;
        assert_eq!(
            (refusals.refusals_this_year, refusals.refusals_earlier),
            (0, 1)
        );
    }
}
