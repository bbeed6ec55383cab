//! Signals: patterns in the year's exemptions worth a reviewer's look, each with its
//! evidence and one or two sentences in bokmål. Pure functions over `AnalysisInput`.
//!
//! Kinds, in the order they are reported: grant-rate variation, application-rate
//! variation, processing-time variation, recurring subgroups, unequal treatment,
//! compliance, trends.

mod application_rate;
mod compliance;
mod grant_rate;
pub mod input;
mod processing_time;
mod subgroups;
pub mod tallies;
mod trend;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use grant_rate::{funnel, FunnelPoint};
pub use input::{AnalysisInput, CaseRecord, Day, MethodRecord, Settings};
pub use tallies::{
    assessment_periods, case_keys, methods_changing_status_in, periods_read, ApplicationCell,
    AssessmentPeriod, CaseKey, DecisionCell, ExemptionDay, OutsideAssessmentCell, RefusalReasons,
    SubgroupWindow, Tallies, VolumeCell, Wait, WaitCell, PATIENT_SCHEMES,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalKind {
    GrantRateVariation,
    ApplicationRateVariation,
    ProcessingTimeVariation,
    RecurringSubgroup,
    UnequalTreatment,
    Compliance,
    Trend,
}

impl SignalKind {
    pub const ALL: [SignalKind; 7] = [
        SignalKind::GrantRateVariation,
        SignalKind::ApplicationRateVariation,
        SignalKind::ProcessingTimeVariation,
        SignalKind::RecurringSubgroup,
        SignalKind::UnequalTreatment,
        SignalKind::Compliance,
        SignalKind::Trend,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SignalKind::GrantRateVariation => "grant_rate_variation",
            SignalKind::ApplicationRateVariation => "application_rate_variation",
            SignalKind::ProcessingTimeVariation => "processing_time_variation",
            SignalKind::RecurringSubgroup => "recurring_subgroup",
            SignalKind::UnequalTreatment => "unequal_treatment",
            SignalKind::Compliance => "compliance",
            SignalKind::Trend => "trend",
        }
    }

    pub fn parse(text: &str) -> Option<SignalKind> {
        SignalKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    pub kind: SignalKind,
    /// `organisation`, `region`, `scheme` or `subgroup`.
    pub unit_type: String,
    /// The organisation or region number (or scheme) the signal is about.
    pub unit: Option<String>,
    pub unit_name: Option<String>,
    pub scheme: Option<String>,
    pub method_id: Option<String>,
    /// The ICD-10 category.
    pub indication: Option<String>,
    /// What `effect_size` measures, e.g. `grant_rate_difference`.
    pub effect_measure: String,
    pub effect_size: Option<f64>,
    /// The counts behind the signal, by name (whole numbers are written as integers).
    #[serde(serialize_with = "whole_numbers_as_integers")]
    pub counts: BTreeMap<String, f64>,
    pub p_value: Option<f64>,
    /// Benjamini-Hochberg adjusted over every test of the year, of every kind: one
    /// false-discovery budget.
    pub q_value: Option<f64>,
    /// Signals that say the same thing share a group: one difference in grant rates can
    /// show in a funnel, in a test across regions and in a subgroup.
    pub group: String,
    /// What was found and how sure it is, in bokmål.
    pub message: String,
}

/// Writes a count of 5 as `5`, not `5.0`; other values (rates, NaN as null) as they are.
fn whole_numbers_as_integers<S: serde::Serializer>(
    counts: &BTreeMap<String, f64>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = serializer.serialize_map(Some(counts.len()))?;
    for (name, value) in counts {
        if value.is_finite() && value.fract() == 0.0 && value.abs() < 9.0e15 {
            map.serialize_entry(name, &(*value as i64))?;
        } else {
            map.serialize_entry(name, value)?;
        }
    }
    map.end()
}

/// One hypothesis tested for the year: its p-value, whether the data also clear the
/// kind's own bar (a funnel point outside its 99.8 % limits), and the signal it makes once
/// the year's budget has given it a q-value.
pub(crate) struct Tested<'a> {
    pub kind: SignalKind,
    pub p_value: f64,
    pub eligible: bool,
    pub signal: Box<dyn FnOnce(f64) -> Signal + 'a>,
}

impl<'a> Tested<'a> {
    pub(crate) fn new(
        kind: SignalKind,
        p_value: f64,
        eligible: bool,
        signal: impl FnOnce(f64) -> Signal + 'a,
    ) -> Tested<'a> {
        Tested {
            kind,
            p_value,
            eligible,
            signal: Box::new(signal),
        }
    }
}

/// Every hypothesis the year's statistical signals test, in a fixed order.
fn every_test(input: &AnalysisInput) -> Vec<Tested<'_>> {
    let mut tests = grant_rate::tests(input);
    tests.extend(application_rate::tests(input));
    tests.extend(processing_time::tests(input));
    tests.extend(subgroups::unequal_tests(input));
    tests.extend(trend::tests(input));
    tests
}

/// The signals that are rules, not tests: a count or an interval against a set limit.
fn rule_signals(input: &AnalysisInput) -> Vec<Signal> {
    let mut signals = processing_time::slow_regions(input);
    signals.extend(subgroups::recurring(input));
    signals.extend(compliance::signals(input));
    signals
}

/// Every signal of the year, kinds in their fixed order. All statistical signals share one
/// false-discovery budget: Benjamini-Hochberg over every test of every kind.
pub fn all_signals(input: &AnalysisInput) -> Vec<Signal> {
    let tests = every_test(input);
    let p_values: Vec<f64> = tests.iter().map(|t| t.p_value).collect();
    let q_values = crate::exact::benjamini_hochberg(&p_values);
    let fdr = input.settings.false_discovery_rate;
    let mut signals: Vec<Signal> = tests
        .into_iter()
        .zip(q_values)
        .filter(|(test, q)| test.eligible && *q < fdr)
        .map(|(test, q)| (test.signal)(q))
        .collect();
    signals.extend(rule_signals(input));
    signals.sort_by_key(|signal| SignalKind::ALL.iter().position(|k| *k == signal.kind));
    signals
}

pub fn signals_of_kind(input: &AnalysisInput, kind: SignalKind) -> Vec<Signal> {
    all_signals(input)
        .into_iter()
        .filter(|signal| signal.kind == kind)
        .collect()
}

/// The p-value of every test of the year, with its kind, in the order the budget takes
/// them: what the q-values of `all_signals` are computed over.
pub fn tests_of_year(input: &AnalysisInput) -> Vec<(SignalKind, f64)> {
    every_test(input)
        .into_iter()
        .map(|test| (test.kind, test.p_value))
        .collect()
}

/// How many tests a kind made, for false-positive rates (rules make none).
pub fn units_tested(input: &AnalysisInput, kind: SignalKind) -> usize {
    tests_of_year(input)
        .into_iter()
        .filter(|(tested, _)| *tested == kind)
        .count()
}

/// A scheme's name in bokmål, for sentences (the code itself where it is unknown).
pub(crate) fn scheme_name(code: &str) -> &str {
    match code {
        "individual_exemption" => "individuelle unntak",
        "group_exemption" => "gruppeunntak",
        "individual_access" => "individuell tilgang",
        "reassessment_access" => "tilgang under revurdering",
        "helfo_individual" => "individuell stønad fra Helfo",
        "early_access" => "tidlig tilgang",
        other => other,
    }
}

/// A number the Norwegian way: decimal comma.
pub(crate) fn nb(value: f64, decimals: usize) -> String {
    format!("{value:.decimals$}").replace('.', ",")
}

/// A p- or q-value for a sentence.
pub(crate) fn nb_p(value: f64) -> String {
    if value < 0.001 {
        "< 0,001".to_string()
    } else {
        format!("= {}", nb(value, 3))
    }
}

impl AnalysisInput {
    pub(crate) fn name_of(&self, number: &str) -> String {
        self.names
            .get(number)
            .cloned()
            .unwrap_or_else(|| number.to_string())
    }
}

/// Granted and refused counts per deciding region, for each group of decision cells that
/// `group_of` names.
pub(crate) fn region_tables<'a, K: Ord>(
    cells: impl Iterator<Item = &'a DecisionCell>,
    group_of: impl Fn(&DecisionCell) -> K,
) -> BTreeMap<K, BTreeMap<String, crate::exact::GrantCounts>> {
    let mut tables: BTreeMap<K, BTreeMap<String, crate::exact::GrantCounts>> = BTreeMap::new();
    for cell in cells {
        let Some(region) = &cell.deciding_region else {
            continue;
        };
        let counts = tables
            .entry(group_of(cell))
            .or_default()
            .entry(region.clone())
            .or_insert(crate::exact::GrantCounts {
                granted: 0,
                refused: 0,
            });
        add_decisions(counts, cell);
    }
    tables
}

/// Adds a cell's decisions to granted or refused.
pub(crate) fn add_decisions(counts: &mut crate::exact::GrantCounts, cell: &DecisionCell) {
    if cell.granted {
        counts.granted += cell.cases;
    } else {
        counts.refused += cell.cases;
    }
}

pub(crate) fn grant_rate(counts: &crate::exact::GrantCounts) -> f64 {
    counts.granted as f64 / (counts.granted + counts.refused).max(1) as f64
}

/// The regions with the lowest and the highest grant rate, among those with at least
/// five decisions when there are two such (a region with one refusal has the lowest rate,
/// but says little).
pub(crate) fn lowest_and_highest(
    regions: &[(String, crate::exact::GrantCounts)],
) -> (
    &(String, crate::exact::GrantCounts),
    &(String, crate::exact::GrantCounts),
) {
    const MIN_DECISIONS_FOR_EXTREMES: u64 = 5;
    let substantial: Vec<&(String, crate::exact::GrantCounts)> = regions
        .iter()
        .filter(|(_, c)| c.granted + c.refused >= MIN_DECISIONS_FOR_EXTREMES)
        .collect();
    let candidates: Vec<&(String, crate::exact::GrantCounts)> = match substantial.len() {
        0 | 1 => regions.iter().collect(),
        _ => substantial,
    };
    let rate_of = |region: &&(String, crate::exact::GrantCounts)| grant_rate(&region.1);
    let lowest = candidates
        .iter()
        .min_by(|a, b| rate_of(a).total_cmp(&rate_of(b)))
        .expect("at least one region");
    let highest = candidates
        .iter()
        .max_by(|a, b| rate_of(a).total_cmp(&rate_of(b)))
        .expect("at least one region");
    (lowest, highest)
}

/// The counts of a region table, as `<region>.granted` and `<region>.refused`.
pub(crate) fn region_counts(
    regions: &[(String, crate::exact::GrantCounts)],
) -> BTreeMap<String, f64> {
    regions
        .iter()
        .flat_map(|(region, c)| {
            [
                (format!("{region}.granted"), c.granted as f64),
                (format!("{region}.refused"), c.refused as f64),
            ]
        })
        .collect()
}
