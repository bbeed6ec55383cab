//! What the signals count, already counted. A year of a national registry is hundreds of
//! thousands of cases, but the signals only ever need how many cases share a few
//! attributes; so the read models hand over those counts (grouped in PostgreSQL), and
//! `Tallies::count` computes the very same tallies from case records, for tests and for
//! synthetic data that never went through a database.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::Hash;

use serde::{Deserialize, Serialize};

use super::input::{CaseRecord, MethodRecord};

/// Schemes whose cases are about one patient (group exemptions are not).
pub const PATIENT_SCHEMES: [&str; 4] = [
    "individual_exemption",
    "individual_access",
    "reassessment_access",
    "early_access",
];

/// The length of the window a recurring subgroup is counted in.
pub const RECURRING_WINDOW_DAYS: i64 = 365;

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
    /// An individual exemption decided while its method was not under assessment.
    pub outside_assessment: bool,
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

/// Refusals of the analysed year and of the years before it, and how many cited each reason.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RefusalReasons {
    pub refusals_this_year: u64,
    pub refusals_earlier: u64,
    /// Reason -> (refusals citing it this year, earlier).
    pub citing: BTreeMap<String, (u64, u64)>,
}

/// The busiest 12 months, ending in the analysed year, of applications for one method and
/// indication category.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SubgroupWindow {
    pub method_id: String,
    pub icd10_category: String,
    /// The last day of the window (days since 1970-01-01).
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
    pub decisions: Vec<DecisionCell>,
    pub applications: Vec<ApplicationCell>,
    pub waits: Vec<WaitCell>,
    /// Over the analysed year and the two before it.
    pub volumes: Vec<VolumeCell>,
    pub refusal_reasons: RefusalReasons,
    /// Method and indication categories with their busiest window.
    pub subgroup_windows: Vec<SubgroupWindow>,
    /// The last day the data knows of (days since 1970-01-01): pending cases are censored
    /// there.
    pub as_of: i64,
}

impl Tallies {
    /// Every list in its canonical order, so that tallies from different sources compare.
    pub fn sorted(mut self) -> Tallies {
        self.decisions.sort();
        self.applications.sort();
        self.waits.sort();
        self.volumes.sort();
        self.subgroup_windows.sort();
        self
    }

    /// The tallies of `year` from case records (not retracted) and the methods register.
    /// Only cases received in the year or the two before it count.
    pub fn count(year: i32, cases: &[CaseRecord], methods: &[MethodRecord]) -> Tallies {
        let cases: Vec<&CaseRecord> = cases
            .iter()
            .filter(|c| (year - 2..=year).contains(&c.received.year))
            .collect();
        let periods = assessment_periods(methods);
        Tallies {
            decisions: decision_cells(year, &cases, &periods),
            applications: application_cells(year, &cases),
            waits: wait_cells(year, &cases),
            volumes: volume_cells(&cases),
            refusal_reasons: refusal_reasons(year, &cases),
            subgroup_windows: subgroup_windows(year, &cases),
            as_of: cases
                .iter()
                .flat_map(|c| [Some(c.received.days), c.decided.map(|d| d.days)])
                .flatten()
                .max()
                .unwrap_or(0),
        }
        .sorted()
    }
}

/// Adds one case under `key`. Keys borrow from the cases; a cell owns its text only once
/// counted, as a year can hold hundreds of thousands of cases.
fn tally<K: Hash + Eq>(counts: &mut HashMap<K, u64>, key: K) {
    *counts.entry(key).or_insert(0) += 1;
}

fn decision_cells(
    year: i32,
    cases: &[&CaseRecord],
    periods: &[AssessmentPeriod],
) -> Vec<DecisionCell> {
    let mut counts = HashMap::new();
    for case in cases {
        let (Some(decided), Some(granted)) = (case.decided, case.granted) else {
            continue;
        };
        if decided.year != year {
            continue;
        }
        let outside_assessment = case.scheme == "individual_exemption"
            && !periods
                .iter()
                .any(|p| p.method_id == case.method_id && p.contains(decided.days));
        let key = (
            case.scheme.as_str(),
            case.method_id.as_str(),
            case.icd10_category.as_str(),
            case.deciding_org.as_str(),
            case.deciding_region.as_deref(),
            granted,
            case.criteria_complete,
            outside_assessment,
        );
        tally(&mut counts, key);
    }
    counts
        .into_iter()
        .map(|(key, cases)| DecisionCell {
            scheme: key.0.to_string(),
            method_id: key.1.to_string(),
            icd10_category: key.2.to_string(),
            deciding_org: key.3.to_string(),
            deciding_region: key.4.map(str::to_string),
            granted: key.5,
            criteria_complete: key.6,
            outside_assessment: key.7,
            cases,
        })
        .collect()
}

fn application_cells(year: i32, cases: &[&CaseRecord]) -> Vec<ApplicationCell> {
    let mut counts = HashMap::new();
    for case in cases.iter().filter(|c| c.received.year == year) {
        if let Some(region) = &case.residence_region {
            tally(&mut counts, (case.scheme.as_str(), region.as_str()));
        }
    }
    counts
        .into_iter()
        .map(|((scheme, residence_region), cases)| ApplicationCell {
            scheme: scheme.to_string(),
            residence_region: residence_region.to_string(),
            cases,
        })
        .collect()
}

fn wait_cells(year: i32, cases: &[&CaseRecord]) -> Vec<WaitCell> {
    let mut counts = HashMap::new();
    for case in cases.iter().filter(|c| c.received.year == year) {
        let Some(region) = &case.deciding_region else {
            continue;
        };
        let wait = match case.decided {
            Some(decided) => Wait::Decided {
                days: decided.days - case.received.days,
            },
            None => Wait::Pending {
                since: case.received.days,
            },
        };
        tally(&mut counts, (case.scheme.as_str(), region.as_str(), wait));
    }
    counts
        .into_iter()
        .map(|((scheme, deciding_region, wait), cases)| WaitCell {
            scheme: scheme.to_string(),
            deciding_region: deciding_region.to_string(),
            wait,
            cases,
        })
        .collect()
}

fn volume_cells(cases: &[&CaseRecord]) -> Vec<VolumeCell> {
    let mut counts = HashMap::new();
    for case in cases {
        let quarter_index = case.received.year * 4 + i32::from(case.received.quarter) - 1;
        for (unit_type, unit) in [
            ("method", &case.method_id),
            ("scheme", &case.scheme),
            ("organisation", &case.applying_org),
        ] {
            tally(&mut counts, (unit_type, unit.as_str(), quarter_index));
        }
    }
    counts
        .into_iter()
        .map(|((unit_type, unit, quarter_index), cases)| VolumeCell {
            unit_type: unit_type.to_string(),
            unit: unit.to_string(),
            quarter_index,
            cases,
        })
        .collect()
}

fn refusal_reasons(year: i32, cases: &[&CaseRecord]) -> RefusalReasons {
    let mut reasons = RefusalReasons::default();
    for case in cases.iter().filter(|c| c.granted == Some(false)) {
        let Some(decided) = case.decided else {
            continue;
        };
        let this_year = match decided.year.cmp(&year) {
            std::cmp::Ordering::Equal => true,
            std::cmp::Ordering::Less => false,
            std::cmp::Ordering::Greater => continue,
        };
        if this_year {
            reasons.refusals_this_year += 1;
        } else {
            reasons.refusals_earlier += 1;
        }
        let cited: BTreeSet<&String> = case.refusal_reasons.iter().collect();
        for reason in cited {
            let entry = reasons.citing.entry(reason.clone()).or_insert((0, 0));
            if this_year {
                entry.0 += 1;
            } else {
                entry.1 += 1;
            }
        }
    }
    reasons
}

fn subgroup_windows(year: i32, cases: &[&CaseRecord]) -> Vec<SubgroupWindow> {
    let mut groups: BTreeMap<(&str, &str), Vec<&CaseRecord>> = BTreeMap::new();
    for case in cases
        .iter()
        .filter(|c| PATIENT_SCHEMES.contains(&c.scheme.as_str()))
    {
        groups
            .entry((&case.method_id, &case.icd10_category))
            .or_default()
            .push(case);
    }
    groups
        .into_iter()
        .filter_map(|((method_id, category), cases)| {
            let (window_end, window) = busiest_window(year, cases)?;
            Some(SubgroupWindow {
                method_id: method_id.to_string(),
                icd10_category: category.to_string(),
                window_end,
                applications: window.len() as u64,
                trusts: window.iter().map(|c| c.applying_org.clone()).collect(),
                granted: window.iter().filter(|c| c.granted == Some(true)).count() as u64,
                refused: window.iter().filter(|c| c.granted == Some(false)).count() as u64,
                pending: window.iter().filter(|c| c.granted.is_none()).count() as u64,
            })
        })
        .collect()
}

/// The 365 days ending on a day of `year` with the most applications (the earliest such
/// window when several tie), and its last day.
fn busiest_window(year: i32, mut cases: Vec<&CaseRecord>) -> Option<(i64, Vec<&CaseRecord>)> {
    cases.sort_by_key(|c| c.received.days);
    let mut best: Option<(i64, &[&CaseRecord])> = None;
    let mut start = 0;
    for end in 0..cases.len() {
        while cases[end].received.days - cases[start].received.days >= RECURRING_WINDOW_DAYS {
            start += 1;
        }
        let window = &cases[start..=end];
        if cases[end].received.year == year && best.is_none_or(|(_, b)| window.len() > b.len()) {
            best = Some((cases[end].received.days, window));
        }
    }
    best.map(|(end, window)| (end, window.to_vec()))
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

    fn case(received: i64, decided: Option<i64>, granted: Option<bool>) -> CaseRecord {
        let on = |days| Day {
            days,
            year: 2025,
            quarter: 2,
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
        assert!(tallies.decisions.iter().all(|c| c.outside_assessment));
        let pending: Vec<&WaitCell> = tallies
            .waits
            .iter()
            .filter(|w| matches!(w.wait, Wait::Pending { .. }))
            .collect();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].wait, Wait::Pending { since: 103 });
        assert_eq!(tallies.as_of, 130);
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
}
