//! The application: what is asked for, by whom, for whom.

use chrono::NaiveDate;
use serde_json::{Map, Value};

use crate::case::{Application, DecidingBody, GroupFacts, PatientFacts, Scheme};
use crate::codes::{AtcCode, Icd10Code, MethodId};
use crate::organisation::OrganisationNumber;
use crate::problems::Problems;

use super::context::ReportContext;
use super::fields::{clean_text, date, optional, optional_field, parsed, required, string};
use super::group::group;
use super::patient::{check_born_by, patient};

/// The fields of an application, in the order they are documented.
pub const APPLICATION_FIELDS: &[&str] = &[
    "case_ref",
    "deciding_org",
    "applying_org",
    "scheme",
    "method_id",
    "indication_icd10",
    "atc",
    "patient",
    "group",
    "received_date",
];

const CASE_REF_MAX_CHARS: usize = 64;

/// An application as far as its fields could be read: a field is `None` when it is
/// missing or wrong, and its problem is then already recorded. The rules across fields
/// run on what is there, so that one wrong field does not hide the problems of the others.
pub(super) struct ApplicationDraft {
    pub(super) case_ref: Option<String>,
    pub(super) deciding_org: Option<OrganisationNumber>,
    pub(super) applying_org: Option<OrganisationNumber>,
    pub(super) scheme: Option<Scheme>,
    pub(super) method_id: Option<MethodId>,
    pub(super) indication_icd10: Option<Icd10Code>,
    /// `Some(None)` when no ATC code is given.
    pub(super) atc: Option<Option<AtcCode>>,
    pub(super) patient: Option<PatientFacts>,
    pub(super) group: Option<GroupFacts>,
    pub(super) received_date: Option<NaiveDate>,
}

impl ApplicationDraft {
    pub(super) fn from_stored(application: &Application) -> Self {
        let application = application.clone();
        ApplicationDraft {
            case_ref: Some(application.case_ref),
            deciding_org: Some(application.deciding_org),
            applying_org: Some(application.applying_org),
            scheme: Some(application.scheme),
            method_id: Some(application.method_id),
            indication_icd10: Some(application.indication_icd10),
            atc: Some(application.atc),
            patient: application.patient,
            group: application.group,
            received_date: Some(application.received_date),
        }
    }

    /// The application, when every field was read and the scheme has its subject.
    pub(super) fn complete(self) -> Option<Application> {
        let scheme = self.scheme?;
        let subject_fits = match scheme.concerns_one_patient() {
            true => self.patient.is_some() && self.group.is_none(),
            false => self.patient.is_none() && self.group.is_some(),
        };
        if !subject_fits {
            return None;
        }
        Some(Application {
            case_ref: self.case_ref?,
            deciding_org: self.deciding_org?,
            applying_org: self.applying_org?,
            scheme,
            method_id: self.method_id?,
            indication_icd10: self.indication_icd10?,
            atc: self.atc?,
            patient: self.patient,
            group: self.group,
            received_date: self.received_date?,
        })
    }
}

/// Parses an application; `kept_patient`, when given, stands in for the patient field.
pub(super) fn parse_application(
    body: &Map<String, Value>,
    kept_patient: Option<&PatientFacts>,
    context: &ReportContext<'_>,
    problems: &mut Problems,
) -> ApplicationDraft {
    let case_ref =
        required(body, "case_ref", problems).and_then(|v| case_ref(v, context.today, problems));
    let deciding_org = required(body, "deciding_org", problems)
        .and_then(|v| parsed(v, "deciding_org", OrganisationNumber::parse, problems));
    let applying_org = optional_field(body, "applying_org", |v| {
        parsed(v, "applying_org", OrganisationNumber::parse, problems)
    });
    let scheme = required(body, "scheme", problems).and_then(|v| scheme(v, problems));
    let method_id = required(body, "method_id", problems)
        .and_then(|v| parsed(v, "method_id", MethodId::parse, problems));
    let indication_icd10 = required(body, "indication_icd10", problems)
        .and_then(|v| parsed(v, "indication_icd10", Icd10Code::parse, problems));
    let atc = optional_field(body, "atc", |v| parsed(v, "atc", AtcCode::parse, problems));
    let received_date = required(body, "received_date", problems)
        .and_then(|v| date(v, "received_date", context.today, problems));
    let (patient, group) = subject(body, scheme, received_date, kept_patient, context, problems);
    let applying_org = match (applying_org, &deciding_org, scheme) {
        (Some(Some(given)), _, _) => Some(given),
        (Some(None), Some(deciding), Some(scheme)) => {
            default_applying_org(deciding, scheme, problems)
        }
        // Malformed (that problem is already recorded), or no default can be told.
        _ => None,
    };
    ApplicationDraft {
        case_ref,
        deciding_org,
        applying_org,
        scheme,
        method_id,
        indication_icd10,
        atc,
        patient,
        group,
        received_date,
    }
}

/// The applying organisation is the deciding one, except where a regional authority
/// decides: then the trust that forwarded the application must be named.
fn default_applying_org(
    deciding: &OrganisationNumber,
    scheme: Scheme,
    problems: &mut Problems,
) -> Option<OrganisationNumber> {
    if scheme.deciding_body() == DecidingBody::RegionalAuthority {
        problems.add(
            "applying_org",
            "required",
            "applying_org is required when a regional health authority decides: name the trust that applied",
        );
        None
    } else {
        Some(deciding.clone())
    }
}

fn case_ref(value: &Value, today: NaiveDate, problems: &mut Problems) -> Option<String> {
    let text = string(value, "case_ref", problems)?;
    if !clean_text(text, "case_ref", today, problems) {
        return None;
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-_/.:".contains(c);
    if text.is_empty() || text.chars().count() > CASE_REF_MAX_CHARS || !text.chars().all(allowed) {
        problems.add(
            "case_ref",
            "case_ref_format",
            "case_ref must be 1 to 64 characters of letters, digits and - _ / . :",
        );
        return None;
    }
    Some(text.to_string())
}

fn scheme(value: &Value, problems: &mut Problems) -> Option<Scheme> {
    let text = string(value, "scheme", problems)?;
    let scheme = Scheme::parse(text);
    if scheme.is_none() {
        let known: Vec<&str> = Scheme::ALL.iter().map(|s| s.as_str()).collect();
        problems.add(
            "scheme",
            "unknown_scheme",
            format!("scheme must be one of {}", known.join(", ")),
        );
    }
    scheme
}

/// The patient (or, for a group exemption, the group) the case concerns. `kept_patient`,
/// when given, is a stored patient that stands in for the patient field.
fn subject(
    body: &Map<String, Value>,
    scheme: Option<Scheme>,
    received_date: Option<NaiveDate>,
    kept_patient: Option<&PatientFacts>,
    context: &ReportContext<'_>,
    problems: &mut Problems,
) -> (Option<PatientFacts>, Option<GroupFacts>) {
    let read_patient = |problems: &mut Problems| match kept_patient {
        Some(kept) => {
            check_born_by(kept.birth_year, received_date, problems);
            Some(kept.clone())
        }
        None => {
            optional(body, "patient").and_then(|v| patient(v, received_date, context, problems))
        }
    };
    let read_group = |problems: &mut Problems| {
        optional(body, "group").and_then(|v| group(v, context.today, problems))
    };
    match scheme {
        Some(scheme) if scheme.concerns_one_patient() => {
            if optional(body, "group").is_some() {
                problems.not_allowed("group", "except for group_exemption");
            }
            if kept_patient.is_none() && optional(body, "patient").is_none() {
                problems.required("patient");
            }
            (read_patient(problems), None)
        }
        Some(_) => {
            if optional(body, "patient").is_some() {
                problems.not_allowed("patient", "for group_exemption: describe the group instead");
            }
            if optional(body, "group").is_none() {
                problems.required("group");
            }
            (None, read_group(problems))
        }
        // Without a scheme neither is required or refused, but whichever is given is checked.
        None => (read_patient(problems), read_group(problems)),
    }
}
