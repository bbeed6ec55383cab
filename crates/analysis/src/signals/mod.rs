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
    /// The counts behind the signal, by name.
    pub counts: BTreeMap<String, f64>,
    pub p_value: Option<f64>,
    /// Benjamini-Hochberg adjusted, over every test of the same kind.
    pub q_value: Option<f64>,
    /// What was found and how sure it is, in bokmål.
    pub message: String,
}

/// Every signal of the year, kinds in their fixed order.
pub fn all_signals(input: &AnalysisInput) -> Vec<Signal> {
    SignalKind::ALL
        .into_iter()
        .flat_map(|kind| signals_of_kind(input, kind))
        .collect()
}

pub fn signals_of_kind(input: &AnalysisInput, kind: SignalKind) -> Vec<Signal> {
    match kind {
        SignalKind::GrantRateVariation => grant_rate::signals(input),
        SignalKind::ApplicationRateVariation => application_rate::signals(input),
        SignalKind::ProcessingTimeVariation => processing_time::signals(input),
        SignalKind::RecurringSubgroup => subgroups::recurring(input),
        SignalKind::UnequalTreatment => subgroups::unequal(input),
        SignalKind::Compliance => compliance::signals(input),
        SignalKind::Trend => trend::signals(input),
    }
}

/// How many units or tests a kind examined, for false-positive rates.
pub fn units_tested(input: &AnalysisInput, kind: SignalKind) -> usize {
    match kind {
        SignalKind::GrantRateVariation => grant_rate::units_tested(input),
        SignalKind::ApplicationRateVariation => application_rate::units_tested(input),
        SignalKind::ProcessingTimeVariation => processing_time::units_tested(input),
        SignalKind::UnequalTreatment => subgroups::subgroups_tested(input),
        SignalKind::Trend => trend::units_tested(input),
        SignalKind::RecurringSubgroup | SignalKind::Compliance => 0,
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

/// Attaches Benjamini-Hochberg q-values to signals in the order of `p_values`.
pub(crate) fn with_q_values(p_values: &[f64]) -> Vec<f64> {
    crate::exact::benjamini_hochberg(p_values)
}
