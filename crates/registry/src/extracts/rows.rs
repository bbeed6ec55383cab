//! A case as an extract reads it, its quasi-identifiers at every level of their
//! hierarchies, and its cells. Nothing here reads a case reference, an organisation's case
//! number, an identity number or a free text: the query does not select them.

use std::borrow::Cow;

use analysis::disclosure::Dimension;
use chrono::{Datelike, NaiveDate};
use domain::case::Criterion;
use domain::icd10_blocks::block_of;
use domain::research::{project_pseudonym, Variable, PROJECT_KEY_LEN};
use serde_json::Value;

/// Processing days are top-coded here: a longer case shows this many.
pub const PROCESSING_DAYS_TOP: i32 = 365;

/// The cases an extract may hold, with only the columns it may use. `$1`, `$2`: the
/// project's period; `$3`: its schemes.
pub const CASES: &str = "from case_facts
     where not retracted and received_date between $1 and $2 and scheme = any($3)";

pub const ROW_COLUMNS: &str = "patient_pseudonym, received_date, decided_date,
     processing_days, age_at_application, sex, residence_county, residence_region,
     deciding_region, scheme, method_id, atc, icd10_category, icd10_chapter,
     coalesce(outcome, 'pending') as outcome, criteria, refusal_reasons, appeals_lodged,
     appeals_decided, appeals_overturned";

#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct CaseRow {
    pub patient_pseudonym: Option<String>,
    pub received_date: NaiveDate,
    pub decided_date: Option<NaiveDate>,
    pub processing_days: Option<i32>,
    pub age_at_application: Option<i32>,
    pub sex: Option<String>,
    pub residence_county: Option<String>,
    pub residence_region: Option<String>,
    pub deciding_region: Option<String>,
    pub scheme: String,
    pub method_id: String,
    pub atc: Option<String>,
    pub icd10_category: String,
    pub icd10_chapter: String,
    pub outcome: String,
    pub criteria: Option<Value>,
    pub refusal_reasons: Vec<String>,
    pub appeals_lodged: i32,
    pub appeals_decided: i32,
    pub appeals_overturned: i32,
}

/// A quasi-identifier and its hierarchy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Qi {
    Age,
    Sex,
    Residence,
    Icd10,
    /// The period of application: quarter, then year (or only the year when no quarter
    /// is approved).
    Period {
        quarters: bool,
    },
}

impl Qi {
    /// The quasi-identifiers among the approved variables.
    pub fn of(variables: &[Variable]) -> Vec<Qi> {
        let has = |v: Variable| variables.contains(&v);
        let quarters = has(Variable::ApplicationQuarter) || has(Variable::DecisionQuarter);
        let period = quarters || has(Variable::ApplicationYear) || has(Variable::DecisionYear);
        [
            (has(Variable::AgeBand), Qi::Age),
            (has(Variable::Sex), Qi::Sex),
            (has(Variable::Residence), Qi::Residence),
            (has(Variable::Icd10), Qi::Icd10),
            (period, Qi::Period { quarters }),
        ]
        .into_iter()
        .filter_map(|(approved, qi)| approved.then_some(qi))
        .collect()
    }

    pub fn dimension(self) -> Dimension {
        match self {
            Qi::Age => Dimension::new("age_band", &["5-year", "10-year", "20-year"]),
            Qi::Sex => Dimension::new("sex", &["sex"]),
            Qi::Residence => Dimension::new("residence", &["county", "region"]),
            Qi::Icd10 => Dimension::new("icd10", &["category", "block", "chapter"]),
            Qi::Period { quarters: true } => Dimension::new("period", &["quarter", "year"]),
            Qi::Period { quarters: false } => Dimension::new("period", &["year"]),
        }
    }
}

/// The finest quasi-identifiers of a case, as the first pass counts them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Finest {
    pub age: Option<i32>,
    pub sex: Option<String>,
    pub county: Option<String>,
    pub region: Option<String>,
    pub icd10_category: String,
    pub icd10_chapter: String,
    pub received_date: NaiveDate,
}

impl Finest {
    /// Every level's label of each quasi-identifier, finest first.
    pub fn labels(&self, qis: &[Qi]) -> Vec<Vec<String>> {
        let text = |value: &Option<String>| value.clone().unwrap_or_default();
        qis.iter()
            .map(|qi| match qi {
                Qi::Age => age_labels(self.age),
                Qi::Sex => vec![text(&self.sex)],
                Qi::Residence => vec![text(&self.county), text(&self.region)],
                Qi::Icd10 => vec![
                    self.icd10_category.clone(),
                    block_of(&self.icd10_category),
                    self.icd10_chapter.clone(),
                ],
                Qi::Period { quarters } => {
                    let year = self.received_date.year().to_string();
                    match quarters {
                        true => vec![format!("{year}-Q{}", quarter(self.received_date)), year],
                        false => vec![year],
                    }
                }
            })
            .collect()
    }
}

impl CaseRow {
    /// The case's quasi-identifiers at their finest levels, as the first pass counts them:
    /// the age by its 5-year band (90 and over as 90), the date by its quarter's first day.
    /// Cases that share these share every label.
    pub fn finest(&self) -> Finest {
        Finest {
            age: self.age_at_application.map(|age| age.clamp(0, 90) / 5 * 5),
            sex: self.sex.clone(),
            county: self.residence_county.clone(),
            region: self.residence_region.clone(),
            icd10_category: self.icd10_category.clone(),
            icd10_chapter: self.icd10_chapter.clone(),
            received_date: first_day_of_quarter(self.received_date),
        }
    }

    /// The row's cells for the approved variables, each quasi-identifier at its chosen
    /// level: `chosen` holds their labels in the order of `qis` (`Choice::key` of the
    /// row's labels), `levels` the levels chosen. Cells borrow from the row where they can:
    /// an extract writes millions.
    pub fn cells<'a>(
        &'a self,
        variables: &[Variable],
        (qis, chosen): (&[Qi], &'a [String]),
        levels: &[usize],
        key: &[u8; PROJECT_KEY_LEN],
    ) -> Vec<Cow<'a, str>> {
        let at = |wanted: fn(&Qi) -> bool| -> Cow<'a, str> {
            qis.iter()
                .position(wanted)
                .map_or(Cow::Borrowed(""), |i| Cow::Borrowed(chosen[i].as_str()))
        };
        // A quarter column is approved only with a period of quarters; at its year level
        // the quarters are left empty.
        let by_year = qis
            .iter()
            .position(|qi| matches!(qi, Qi::Period { .. }))
            .is_some_and(|i| levels[i] > 0);
        let text = |value: &'a Option<String>| Cow::Borrowed(value.as_deref().unwrap_or(""));
        let mut cells: Vec<Cow<'a, str>> =
            Vec::with_capacity(variables.len() + Criterion::ALL.len());
        for variable in variables {
            match variable {
                Variable::PatientPseudonym => cells.push(
                    self.patient_pseudonym
                        .as_deref()
                        .map_or(Cow::Borrowed(""), |p| project_pseudonym(key, p).into()),
                ),
                Variable::ApplicationYear => {
                    cells.push(self.received_date.year().to_string().into())
                }
                Variable::ApplicationQuarter => {
                    cells.push(quarter_cell(Some(self.received_date), by_year))
                }
                Variable::DecisionYear => cells.push(
                    self.decided_date
                        .map_or(Cow::Borrowed(""), |d| d.year().to_string().into()),
                ),
                Variable::DecisionQuarter => cells.push(quarter_cell(self.decided_date, by_year)),
                Variable::ProcessingDays => {
                    cells.push(self.processing_days.map_or(Cow::Borrowed(""), |days| {
                        days.min(PROCESSING_DAYS_TOP).to_string().into()
                    }))
                }
                Variable::AgeBand => cells.push(at(|qi| *qi == Qi::Age)),
                Variable::Sex => cells.push(at(|qi| *qi == Qi::Sex)),
                Variable::Residence => cells.push(at(|qi| *qi == Qi::Residence)),
                Variable::DecidingRegion => cells.push(text(&self.deciding_region)),
                Variable::Scheme => cells.push(Cow::Borrowed(&self.scheme)),
                Variable::MethodId => cells.push(Cow::Borrowed(&self.method_id)),
                Variable::Atc => cells.push(text(&self.atc)),
                Variable::Icd10 => cells.push(at(|qi| *qi == Qi::Icd10)),
                Variable::Outcome => cells.push(Cow::Borrowed(&self.outcome)),
                Variable::Criteria => {
                    for criterion in Criterion::ALL {
                        cells.push(Cow::Borrowed(self.criterion_cell(criterion)));
                    }
                }
                Variable::RefusalReasons => {
                    let mut reasons = self.refusal_reasons.clone();
                    reasons.sort();
                    cells.push(reasons.join(";").into());
                }
                Variable::AppealOutcome => cells.push(Cow::Borrowed(self.appeal_outcome())),
            }
        }
        cells
    }

    /// A criterion's cell: "true", "false", or empty when not assessed.
    fn criterion_cell(&self, criterion: Criterion) -> &'static str {
        let met = self
            .criteria
            .as_ref()
            .and_then(|c| c.get(criterion.as_str()))
            .and_then(Value::as_bool);
        match met {
            Some(true) => "true",
            Some(false) => "false",
            None => "",
        }
    }

    fn appeal_outcome(&self) -> &'static str {
        match () {
            _ if self.appeals_lodged == 0 => "none",
            _ if self.appeals_decided < self.appeals_lodged => "pending",
            _ if self.appeals_overturned > 0 => "overturned",
            _ => "upheld",
        }
    }
}

fn first_day_of_quarter(date: NaiveDate) -> NaiveDate {
    NaiveDate::from_ymd_opt(date.year(), (quarter(date) - 1) * 3 + 1, 1).unwrap_or(date)
}

fn quarter(date: NaiveDate) -> u32 {
    date.month0() / 3 + 1
}

/// A quarter, or empty when the period is generalised to the year.
fn quarter_cell(date: Option<NaiveDate>, by_year: bool) -> Cow<'static, str> {
    match (date, by_year) {
        (Some(date), false) => Cow::Borrowed(["1", "2", "3", "4"][quarter(date) as usize - 1]),
        _ => Cow::Borrowed(""),
    }
}

/// An age in 5-, 10- and 20-year bands, top-coded (90+, 90+, 80+) so that the bands nest.
pub(crate) fn age_labels(age: Option<i32>) -> Vec<String> {
    let Some(age) = age else {
        return vec![String::new(); 3];
    };
    let band = |width: i32, top: i32| match age >= top {
        true => format!("{top}+"),
        false => {
            let low = age.max(0) / width * width;
            format!("{low}-{}", low + width - 1)
        }
    };
    vec![band(5, 90), band(10, 90), band(20, 80)]
}

/// Every age band of a level, in order, for the codebook.
pub(crate) fn age_bands(level: usize) -> Vec<String> {
    let (width, top) = [(5, 90), (10, 90), (20, 80)][level];
    (0..top / width)
        .map(|i| format!("{}-{}", i * width, i * width + width - 1))
        .chain([format!("{top}+")])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use analysis::disclosure::{choose, Group, Rules};
    use proptest::prelude::*;
    use std::collections::{BTreeSet, HashMap};

    #[test]
    fn age_bands_nest_and_are_top_coded() {
        for (age, expected) in [
            (0, ["0-4", "0-9", "0-19"]),
            (44, ["40-44", "40-49", "40-59"]),
            (85, ["85-89", "80-89", "80+"]),
            (97, ["90+", "90+", "80+"]),
        ] {
            assert_eq!(age_labels(Some(age)), expected, "{age}");
            for (level, label) in expected.iter().enumerate() {
                assert!(age_bands(level).contains(&label.to_string()), "{label}");
            }
        }
    }

    fn arbitrary_case() -> impl Strategy<Value = CaseRow> {
        (
            (
                0i32..100,
                prop_oneof![Just("female"), Just("male")],
                0usize..15,
            ),
            (0u32..100, 0i64..730, 0i64..500, 0usize..3),
            (any::<u64>(), 0i32..3, 0i32..3),
        )
            .prop_map(
                |(
                    (age, sex, county),
                    (category, received, days, outcome),
                    (patient, lodged, decided),
                )| {
                    let county = &domain::codes::COUNTIES[county];
                    let received_date = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap()
                        + chrono::Days::new(received as u64);
                    let outcome = ["granted", "refused", "pending"][outcome];
                    let decided_date = (outcome != "pending")
                        .then(|| received_date + chrono::Days::new(days as u64));
                    CaseRow {
                        patient_pseudonym: Some(format!("t1:{patient:064x}")),
                        received_date,
                        decided_date,
                        processing_days: decided_date.map(|_| days as i32),
                        // Now and then no age, as a group exemption has none.
                        age_at_application: (age < 95).then_some(age),
                        sex: Some(sex.to_string()),
                        residence_county: Some(county.number.to_string()),
                        residence_region: Some(county.health_authority_org_number.to_string()),
                        deciding_region: Some("991324968".into()),
                        scheme: "individual_exemption".into(),
                        method_id: "ID2021_047".into(),
                        atc: Some("L01FX02".into()),
                        icd10_category: format!("C{category:02}"),
                        icd10_chapter: "II".into(),
                        outcome: outcome.into(),
                        criteria: Some(serde_json::json!({"benefit": true})),
                        refusal_reasons: vec![],
                        appeals_lodged: lodged,
                        appeals_decided: decided.min(lodged),
                        appeals_overturned: 0,
                    }
                },
            )
    }

    fn arbitrary_variables() -> impl Strategy<Value = Vec<Variable>> {
        proptest::sample::subsequence(Variable::ALL.to_vec(), 1..=Variable::ALL.len())
    }

    /// The first pass as the database does it: rows counted by their finest labels.
    fn groups(cases: &[CaseRow], qis: &[Qi]) -> Vec<Group> {
        cases
            .iter()
            .map(|case| Group {
                labels: case.finest().labels(qis),
                outcome: case.outcome.clone(),
                rows: 1,
            })
            .collect()
    }

    proptest! {
        #[test]
        fn an_extract_of_random_cases_meets_k_and_l_and_carries_only_approved_columns(
            cases in proptest::collection::vec(arbitrary_case(), 0..300),
            variables in arbitrary_variables(),
            k in 5u64..9,
        ) {
            let qis = Qi::of(&variables);
            let dimensions: Vec<_> = qis.iter().map(|qi| qi.dimension()).collect();
            let choice = choose(&dimensions, &groups(&cases, &qis), Rules::new(k));
            let header: Vec<String> = variables.iter().flat_map(|v| v.columns()).collect();
            let key = [9u8; PROJECT_KEY_LEN];
            let date = regex_free_date();
            let mut by_quasi_identifiers: HashMap<Vec<String>, (u64, BTreeSet<String>)> = HashMap::new();
            for case in cases.iter().filter(|case| choice.keeps(&case.finest().labels(&qis))) {
                let chosen = choice.key(&case.finest().labels(&qis));
                let cells = case.cells(&variables, (&qis, &chosen), &choice.levels, &key);
                prop_assert_eq!(cells.len(), header.len());
                for cell in &cells {
                    prop_assert!(!date(cell), "a date finer than a quarter: {}", cell);
                    prop_assert!(!cell.starts_with("t1:"), "the registry's own pseudonym");
                }
                let entry = by_quasi_identifiers.entry(choice.key(&case.finest().labels(&qis))).or_default();
                entry.0 += 1;
                entry.1.insert(case.outcome.clone());
            }
            for (group, (rows, outcomes)) in by_quasi_identifiers {
                prop_assert!(rows >= k, "{:?} has {} rows", group, rows);
                prop_assert!(rows >= 10 || outcomes.len() >= 2, "{:?} is homogeneous", group);
            }
            let allowed: BTreeSet<String> = variables.iter().flat_map(|v| v.columns()).collect();
            prop_assert!(header.iter().all(|column| allowed.contains(column)));
        }
    }

    /// Whether a cell looks like a day: YYYY-MM-DD or DD.MM.YYYY.
    fn regex_free_date() -> impl Fn(&str) -> bool {
        |cell: &str| {
            let shape: String = cell
                .chars()
                .map(|c| if c.is_ascii_digit() { '9' } else { c })
                .collect();
            shape.contains("9999-99-99") || shape.contains("99.99.9999")
        }
    }
}
