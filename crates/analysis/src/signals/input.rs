//! What the signals are computed from: the year's tallies (counted from case records as
//! the read models hold them), the population, names, and the settings. Plain data, no
//! I/O; the caller loads it (from `case_facts` in production, from the synthetic generator
//! in tests).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use crate::calendar::Day;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseRecord {
    pub scheme: String,
    pub method_id: String,
    /// The ICD-10 category (three characters, e.g. "C34").
    pub icd10_category: String,
    pub deciding_org: String,
    /// The RHF of the deciding organisation; None for Helsedirektoratet.
    pub deciding_region: Option<String>,
    pub applying_org: String,
    /// The RHF serving the patient's county of residence; None for group exemptions.
    pub residence_region: Option<String>,
    pub received: Day,
    pub decided: Option<Day>,
    /// Some(true) granted, Some(false) refused, None pending.
    pub granted: Option<bool>,
    /// Whether every criterion of the scheme is documented.
    pub criteria_complete: bool,
    pub refusal_reasons: Vec<String>,
}

/// A method's status changes, for compliance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MethodRecord {
    pub method_id: String,
    /// (in force from, status), status one of under_assessment, introduced,
    /// not_introduced, reassessment.
    pub statuses: Vec<(Day, String)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Regions whose median processing time exceeds this many days are signalled.
    pub max_median_processing_days: f64,
    /// Applications for one method and indication within 12 months that make a recurring
    /// subgroup.
    pub recurring_subgroup_min: usize,
    /// The false discovery rate for tests over many units.
    pub false_discovery_rate: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_median_processing_days: 60.0,
            recurring_subgroup_min: 5,
            false_discovery_rate: 0.05,
        }
    }
}

/// Everything the signals of one year need.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AnalysisInput {
    /// The year analysed.
    pub year: i32,
    /// The counts the signals are computed from.
    pub tallies: super::Tallies,
    /// Residents per (year, region).
    pub population: BTreeMap<(i32, String), u64>,
    /// Names of organisations and regions, by number, for the sentences.
    pub names: BTreeMap<String, String>,
    pub settings: Settings,
}
