//! A case: one application for an exemption or individual access, its decision, and what
//! happened to it afterwards. These are the facts events carry, in their stored form:
//! patients appear only as pseudonym, birth year, sex and county.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::codes::{AtcCode, CountyNumber, Icd10Code, MethodId};
use crate::identity::Sex;
use crate::organisation::OrganisationNumber;
use crate::pseudonym::PatientPseudonym;

/// The scheme a case belongs to (see domain.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scheme {
    IndividualExemption,
    GroupExemption,
    IndividualAccess,
    ReassessmentAccess,
    HelfoIndividual,
    EarlyAccess,
}

/// Who decides cases of a scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecidingBody {
    /// A health trust or a private hospital with an agreement.
    Trust,
    /// A regional health authority, for the interregional committee or meeting.
    RegionalAuthority,
    /// Helsedirektoratet, where Helfo decides.
    Helfo,
}

impl Scheme {
    pub const ALL: [Scheme; 6] = [
        Scheme::IndividualExemption,
        Scheme::GroupExemption,
        Scheme::IndividualAccess,
        Scheme::ReassessmentAccess,
        Scheme::HelfoIndividual,
        Scheme::EarlyAccess,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::IndividualExemption => "individual_exemption",
            Scheme::GroupExemption => "group_exemption",
            Scheme::IndividualAccess => "individual_access",
            Scheme::ReassessmentAccess => "reassessment_access",
            Scheme::HelfoIndividual => "helfo_individual",
            Scheme::EarlyAccess => "early_access",
        }
    }

    pub fn parse(text: &str) -> Option<Scheme> {
        Scheme::ALL.into_iter().find(|s| s.as_str() == text)
    }

    pub fn deciding_body(self) -> DecidingBody {
        match self {
            Scheme::IndividualExemption | Scheme::EarlyAccess => DecidingBody::Trust,
            Scheme::GroupExemption | Scheme::IndividualAccess | Scheme::ReassessmentAccess => {
                DecidingBody::RegionalAuthority
            }
            Scheme::HelfoIndividual => DecidingBody::Helfo,
        }
    }

    /// Group exemptions concern a group of patients, every other scheme one patient.
    pub fn concerns_one_patient(self) -> bool {
        self != Scheme::GroupExemption
    }

    /// The grounds a decision in this scheme assesses.
    pub fn criteria(self) -> &'static [Criterion] {
        use Criterion::*;
        match self {
            Scheme::IndividualExemption => &[
                MarketingAuthorisation,
                StandardTreatmentUnsuitable,
                SubstantiallyLargerEffect,
            ],
            Scheme::GroupExemption | Scheme::IndividualAccess | Scheme::ReassessmentAccess => {
                &[Benefit, ResourceUse, Severity]
            }
            Scheme::HelfoIndividual => &[DiffersClearlyFromGroup],
            Scheme::EarlyAccess => &[],
        }
    }

    /// Whether decisions record on which grounds the case is clinically exceptional.
    pub fn records_exceptionality(self) -> bool {
        self.deciding_body() == DecidingBody::RegionalAuthority
    }
}

/// One ground a decision assessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Criterion {
    MarketingAuthorisation,
    StandardTreatmentUnsuitable,
    SubstantiallyLargerEffect,
    Benefit,
    ResourceUse,
    Severity,
    DiffersClearlyFromGroup,
}

impl Criterion {
    pub const ALL: [Criterion; 7] = [
        Criterion::MarketingAuthorisation,
        Criterion::StandardTreatmentUnsuitable,
        Criterion::SubstantiallyLargerEffect,
        Criterion::Benefit,
        Criterion::ResourceUse,
        Criterion::Severity,
        Criterion::DiffersClearlyFromGroup,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Criterion::MarketingAuthorisation => "marketing_authorisation",
            Criterion::StandardTreatmentUnsuitable => "standard_treatment_unsuitable",
            Criterion::SubstantiallyLargerEffect => "substantially_larger_effect",
            Criterion::Benefit => "benefit",
            Criterion::ResourceUse => "resource_use",
            Criterion::Severity => "severity",
            Criterion::DiffersClearlyFromGroup => "differs_clearly_from_group",
        }
    }

    pub fn parse(text: &str) -> Option<Criterion> {
        Criterion::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

/// Grounds of clinical exceptionality after a "no" (individual access).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExceptionalOn {
    Benefit,
    Severity,
    AddedEffect,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Granted,
    Refused,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalReason {
    CriteriaNotMet,
    NoExpectedAddedEffect,
    NotUnderAssessment,
    InsufficientDocumentation,
    Other,
}

/// The grounds as assessed. A criterion left out was not documented: allowed, but the
/// report gets a warning and counts against reporting quality.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Criteria {
    #[serde(flatten)]
    pub assessed: BTreeMap<Criterion, bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exceptional_on: Vec<ExceptionalOn>,
}

impl Criteria {
    /// Whether every criterion of the scheme was documented.
    pub fn is_complete_for(&self, scheme: Scheme) -> bool {
        scheme
            .criteria()
            .iter()
            .all(|criterion| self.assessed.contains_key(criterion))
    }
}

/// The patient as stored: never a name or an identity number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatientFacts {
    /// Keyed pseudonym of the identity number, when one was reported: links repeated
    /// applications of one patient without identifying them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pseudonym: Option<PatientPseudonym>,
    pub birth_year: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sex: Option<Sex>,
    pub residence_county: CountyNumber,
}

/// The group a group exemption concerns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupFacts {
    pub expected_patients: u32,
    /// A short description of the group (not of any patient); never in an extract.
    pub description: String,
}

/// The application: what was asked for, by whom, for whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Application {
    pub case_ref: String,
    pub deciding_org: OrganisationNumber,
    pub applying_org: OrganisationNumber,
    pub scheme: Scheme,
    pub method_id: MethodId,
    pub indication_icd10: Icd10Code,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub atc: Option<AtcCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patient: Option<PatientFacts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<GroupFacts>,
    pub received_date: NaiveDate,
}

/// The decision on an application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub decided_date: NaiveDate,
    pub outcome: Outcome,
    pub criteria: Criteria,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refusal_reasons: Vec<RefusalReason>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppealOutcome {
    Upheld,
    Overturned,
    PartlyOverturned,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appeal {
    pub appeal_id: Uuid,
    pub lodged_date: NaiveDate,
    pub decided_date: Option<NaiveDate>,
    pub outcome: Option<AppealOutcome>,
}

/// Why a correction was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CorrectionReason {
    RegistrationError,
    NewInformation,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RetractionReason {
    ReportedInError,
}

/// A case as it stands after all its events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Case {
    pub case_id: Uuid,
    pub application: Application,
    pub decision: Option<Decision>,
    pub appeals: Vec<Appeal>,
    pub corrections: u32,
    pub retracted: bool,
}

/// The namespace of case ids: a case id is derived from the deciding organisation and its
/// own case number, so one case number can never become two cases.
const CASE_NAMESPACE: Uuid = Uuid::from_u128(0x6f0c_9a4e_2b1d_4c8e_9f3a_7d5e_1c2b_3a4d);

pub fn case_id_for(deciding_org: &OrganisationNumber, case_ref: &str) -> Uuid {
    Uuid::new_v5(
        &CASE_NAMESPACE,
        format!("{}/{}", deciding_org.as_str(), case_ref).as_bytes(),
    )
}

/// The stream that holds a case's events.
pub fn case_stream(case_id: Uuid) -> String {
    format!("case-{case_id}")
}

/// Age in whole years at a date, from the birth year alone (so within one year).
pub fn age_at(birth_year: i32, date: NaiveDate) -> i32 {
    use chrono::Datelike;
    date.year() - birth_year
}

/// Age bands used in statistics, youngest first: wide enough to keep counts publishable.
/// A population import by age gives its residents in exactly these bands.
pub const AGE_BANDS: [&str; 6] = ["0-17", "18-39", "40-59", "60-69", "70-79", "80+"];

/// The age band of an age, one of [`AGE_BANDS`].
pub fn age_band(age: i32) -> &'static str {
    match age {
        i32::MIN..=17 => AGE_BANDS[0],
        18..=39 => AGE_BANDS[1],
        40..=59 => AGE_BANDS[2],
        60..=69 => AGE_BANDS[3],
        70..=79 => AGE_BANDS[4],
        _ => AGE_BANDS[5],
    }
}

impl Case {
    pub fn appeal(&self, appeal_id: Uuid) -> Option<&Appeal> {
        self.appeals.iter().find(|a| a.appeal_id == appeal_id)
    }
}
