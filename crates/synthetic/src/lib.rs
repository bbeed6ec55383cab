//! Synthetic data for the exemption registry: a methods register and cases of every
//! scheme, realistic by default (volumes, grant rates, processing times and residence from
//! `shared/domain.md` and the reference lists), with effects planted on request and the
//! ground truth of what was planted.
//!
//! Architecture invariant: this crate does no I/O and reads no clock. The reference lists
//! are compiled in, "today" is a parameter, and the same scenario gives the same data.
//!
//! The baseline is one of several null worlds ([`NullWorld`]), none with anything worth
//! a signal. In the homogeneous ones a case's grant probability depends on its scheme
//! alone (and for Helfo on whether the drug is for obesity), processing times on the
//! scheme alone, and applications come from every county in proportion to its
//! population; the random-effects world adds the ordinary spread between trusts and
//! regions. Volumes are stationary: each method has its own rate of applications while
//! its status allows them, so they do not drift from year to year or season to season,
//! and a new method adds to the others instead of diluting them. Whatever a signal finds
//! beyond chance and ordinary spread is therefore planted, which is what makes the
//! planted-pattern tests of the analysis fair, and the null worlds measure how often a
//! signal fires on nothing (`unntak calibrate`). Each case draws from a random stream of
//! its own, so a planted effect changes the cases it touches and adds its own, and leaves
//! every other case exactly as it was.

mod analysis_input;
mod body;
mod catalogue;
mod generate;
pub mod reference;
mod sample;
mod scenario;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

pub use analysis_input::{analysis_input, case_record, method_record};
pub use catalogue::methods_register;
pub use generate::{
    generate, profile, SchemeProfile, HELFO_OBESITY_GRANT_RATE, HELFO_OBESITY_SHARE, PROFILES,
    REFERRAL_TO_NATIONAL_CENTRE,
};
pub use scenario::{
    NullWorld, PlantedEffect, Scenario, ScenarioError, CLUSTER_MIN_TRUSTS, CLUSTER_MONTHS,
    LOW_GRANT_RATE_CASES_PER_YEAR, LOW_GRANT_RATE_REFERENCE_CASES_PER_YEAR,
    RANDOM_EFFECTS_APPLICATION_SD, RANDOM_EFFECTS_GRANT_LOGIT_SD, RANDOM_EFFECTS_PROCESSING_SD,
    SUPPORTED_YEARS, UNEQUAL_CASES_PER_REGION_AND_YEAR, UNEQUAL_GRANTING_RATE,
    UNEQUAL_REFUSING_RATE,
};

/// A method of the register: what `PUT /api/v1/methods/{id}` and
/// `POST /api/v1/methods/{id}/status` take.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyntheticMethod {
    pub method_id: String,
    pub name: String,
    pub atc: Vec<String>,
    pub indication: String,
    /// (status in snake_case, decision_date, effective_from), in date order.
    pub statuses: Vec<(String, NaiveDate, Option<NaiveDate>)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyntheticAppeal {
    pub lodged: NaiveDate,
    /// The decision date and `upheld`, `overturned` or `partly_overturned`; None while
    /// the appeal is pending.
    pub decided: Option<(NaiveDate, String)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyntheticCase {
    pub case_ref: String,
    pub deciding_org: String,
    /// The same as `deciding_org` where the deciding trust applied itself, and for Helfo.
    pub applying_org: String,
    pub scheme: String,
    pub method_id: String,
    /// Written with a dot, e.g. "C34.1" (the registry stores "C341").
    pub indication_icd10: String,
    pub atc: Option<String>,
    pub birth_year: Option<i32>,
    pub sex: Option<String>,
    pub residence_county: Option<String>,
    /// For group_exemption only, which has no patient.
    pub group_expected_patients: Option<u32>,
    pub received_date: NaiveDate,
    /// None while the case is pending.
    pub decision: Option<SyntheticDecision>,
    /// Only on refusals, lodged after the decision.
    pub appeals: Vec<SyntheticAppeal>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyntheticDecision {
    pub decided_date: NaiveDate,
    pub granted: bool,
    /// The scheme's criteria, each true or false (and `exceptional_on` where the
    /// interregional body decides), exactly as the report contract has them.
    pub criteria: serde_json::Map<String, serde_json::Value>,
    /// Only on refusals.
    pub refusal_reasons: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Generated {
    pub methods: Vec<SyntheticMethod>,
    /// Sorted by received date; case references count up per deciding organisation and
    /// year in that order.
    pub cases: Vec<SyntheticCase>,
    /// The effects actually planted: the scenario's valid effects.
    pub ground_truth: Vec<PlantedEffect>,
}
