//! Validation of what reporting systems send: a report body (a JSON object) becomes a typed
//! `Application` and `Decision`, or a list of every problem found. Corrections reuse the
//! same field rules on the case as it would stand.
//!
//! Bodies are walked field by field rather than deserialised in one go, so that a wrong
//! type in one field does not hide the problems in the others.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::case::{
    case_id_for, Application, Criteria, Criterion, DecidingBody, Decision, ExceptionalOn,
    GroupFacts, Outcome, PatientFacts, RefusalReason, Scheme,
};
use crate::codes::{AtcCode, CountyNumber, Icd10Code, MethodId};
use crate::identity::{contains_identity_number, validate_identity_number, Sex};

/// The problem code when a reference or free text holds an identity number; the message
/// never repeats the text.
const IDENTITY_NUMBER_IN_TEXT: &str = "identity_number_in_text";
const IDENTITY_NUMBER_IN_TEXT_MESSAGE: &str =
    "must not contain an identity number: patients are identified only in patient.fnr";
use crate::methods::Method;
use crate::organisation::OrganisationNumber;
use crate::organisation_register::Organisation;
use crate::problems::{FieldError, Problems};
use crate::pseudonym::PseudonymKey;

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

/// The fields of a decision.
pub const DECISION_FIELDS: &[&str] = &["decided_date", "outcome", "criteria", "refusal_reasons"];

/// Fields that identify a case and so can never be corrected: report a retraction and a
/// new case instead.
pub const UNCORRECTABLE_FIELDS: &[&str] = &["case_ref", "deciding_org"];

const CASE_REF_MAX_CHARS: usize = 64;
const GROUP_DESCRIPTION_MAX_CHARS: usize = 200;
const MAX_EXPECTED_PATIENTS: u64 = 100_000;

/// What validation needs that is not in the body. The caller looks up the organisations
/// and methods the body names; this module does no I/O.
pub struct ReportContext<'a> {
    pub today: NaiveDate,
    pub pseudonym_key: &'a PseudonymKey,
    pub accept_synthetic_identity_numbers: bool,
    pub organisations: &'a HashMap<OrganisationNumber, Organisation>,
    pub methods: &'a HashMap<MethodId, Method>,
}

/// Something worth telling the reporter that does not stop the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    pub code: String,
    pub message: String,
}

/// A report that passed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidCase {
    pub case_id: Uuid,
    pub application: Application,
    pub decision: Option<Decision>,
    pub warnings: Vec<Warning>,
}

/// Validates a whole case: an application, with its decision when `with_decision`.
/// `extra_fields` are the other fields the endpoint accepts (such as `report_id`).
pub fn validate_case(
    body: &Map<String, Value>,
    with_decision: bool,
    extra_fields: &[&str],
    context: &ReportContext<'_>,
) -> Result<ValidCase, Vec<FieldError>> {
    let mut problems = Problems::new();
    let mut allowed: Vec<&str> = extra_fields.to_vec();
    allowed.extend_from_slice(APPLICATION_FIELDS);
    if with_decision {
        allowed.extend_from_slice(DECISION_FIELDS);
    }
    reject_unknown_fields(body, &allowed, &mut problems);
    let application = parse_application(body, None, context, &mut problems);
    let decision =
        with_decision.then(|| parse_decision(body, application.scheme, context, &mut problems));
    finish_case(application, decision, context, problems)
}

/// Validates a decision reported for an existing case.
pub fn validate_decision_for(
    body: &Map<String, Value>,
    extra_fields: &[&str],
    application: &Application,
    context: &ReportContext<'_>,
) -> Result<ValidCase, Vec<FieldError>> {
    let mut problems = Problems::new();
    let mut allowed: Vec<&str> = extra_fields.to_vec();
    allowed.extend_from_slice(DECISION_FIELDS);
    reject_unknown_fields(body, &allowed, &mut problems);
    let decision = parse_decision(body, Some(application.scheme), context, &mut problems);
    let application = ApplicationDraft::from_stored(application);
    finish_case(application, Some(decision), context, problems)
}

/// Applies `changes` (field name to new value) to a case and validates the result as a
/// whole, as if it had been reported so. A change that cannot be made is reported beside
/// the problems of the case with the other changes made.
pub fn validate_correction(
    changes: &Map<String, Value>,
    application: &Application,
    decision: Option<&Decision>,
    context: &ReportContext<'_>,
) -> Result<ValidCase, Vec<FieldError>> {
    let mut problems = Problems::new();
    let merged = apply_changes(changes, application, decision, &mut problems);
    // An unchanged patient is kept as stored: it is already pseudonymised.
    let kept_patient = match changes.contains_key("patient") {
        true => None,
        false => application.patient.as_ref(),
    };
    let corrected = parse_application(&merged, kept_patient, context, &mut problems);
    let corrected_decision =
        decision.map(|_| parse_decision(&merged, corrected.scheme, context, &mut problems));
    finish_case(corrected, corrected_decision, context, problems)
}

/// The case with the changes that can be made; the others are recorded as problems.
fn apply_changes(
    changes: &Map<String, Value>,
    application: &Application,
    decision: Option<&Decision>,
    problems: &mut Problems,
) -> Map<String, Value> {
    let mut merged = application_as_body(application);
    if let Some(decision) = decision {
        merged.extend(decision_as_body(decision));
    }
    for (field, value) in changes {
        let path = format!("changes.{field}");
        if UNCORRECTABLE_FIELDS.contains(&field.as_str()) {
            problems.add(path, "not_correctable", format!("{field} identifies the case and cannot be corrected; retract the case and report it anew"));
        } else if DECISION_FIELDS.contains(&field.as_str()) && decision.is_none() {
            problems.add(
                path,
                "no_decision_yet",
                "the case has no decision to correct yet",
            );
        } else if !APPLICATION_FIELDS.contains(&field.as_str())
            && !DECISION_FIELDS.contains(&field.as_str())
        {
            problems.add(
                path,
                "unknown_field",
                format!("{field} is not a field of a case"),
            );
        } else {
            merged.insert(field.clone(), value.clone());
        }
    }
    if changes.is_empty() {
        problems.add(
            "changes",
            "required",
            "a correction must change at least one field",
        );
    }
    merged
}

/// Runs the rules across fields on whatever parsed, so that a field that failed does not
/// hide the problems of the others, and makes the case when nothing failed. `decision` is
/// `None` when no decision is reported.
fn finish_case(
    application: ApplicationDraft,
    decision: Option<DecisionDraft>,
    context: &ReportContext<'_>,
    mut problems: Problems,
) -> Result<ValidCase, Vec<FieldError>> {
    let mut warnings = Vec::new();
    check_organisations(&application, context, &mut problems);
    check_method(
        &application,
        decision.as_ref(),
        context,
        &mut problems,
        &mut warnings,
    );
    if let Some(decision) = &decision {
        check_decision(&application, decision, &mut problems, &mut warnings);
    }
    let decision = decision.map(DecisionDraft::complete);
    match (application.complete(), decision) {
        (Some(application), Some(Some(decision))) if problems.is_empty() => {
            Ok(valid_case(application, Some(decision), warnings))
        }
        (Some(application), None) if problems.is_empty() => {
            Ok(valid_case(application, None, warnings))
        }
        _ => {
            let errors = problems.into_vec();
            debug_assert!(!errors.is_empty(), "a failed parse records its problem");
            Err(errors)
        }
    }
}

fn valid_case(
    application: Application,
    decision: Option<Decision>,
    warnings: Vec<Warning>,
) -> ValidCase {
    ValidCase {
        case_id: case_id_for(&application.deciding_org, &application.case_ref),
        application,
        decision,
        warnings,
    }
}

fn reject_unknown_fields(body: &Map<String, Value>, allowed: &[&str], problems: &mut Problems) {
    for field in body.keys() {
        if !allowed.contains(&field.as_str()) {
            problems.add(
                field.clone(),
                "unknown_field",
                format!("{field} is not a known field"),
            );
        }
    }
}

// ---- The application -------------------------------------------------------------------

/// An application as far as its fields could be read: a field is `None` when it is
/// missing or wrong, and its problem is then already recorded. The rules across fields
/// run on what is there, so that one wrong field does not hide the problems of the others.
struct ApplicationDraft {
    case_ref: Option<String>,
    deciding_org: Option<OrganisationNumber>,
    applying_org: Option<OrganisationNumber>,
    scheme: Option<Scheme>,
    method_id: Option<MethodId>,
    indication_icd10: Option<Icd10Code>,
    /// `Some(None)` when no ATC code is given.
    atc: Option<Option<AtcCode>>,
    patient: Option<PatientFacts>,
    group: Option<GroupFacts>,
    received_date: Option<NaiveDate>,
}

impl ApplicationDraft {
    fn from_stored(application: &Application) -> Self {
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
    fn complete(self) -> Option<Application> {
        let scheme = self.scheme?;
        let subject_fits = match scheme.concerns_one_patient() {
            true => self.patient.is_some() && self.group.is_none(),
            false => self.patient.is_none() && self.group.is_some(),
        };
        subject_fits.then_some(())?;
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
fn parse_application(
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
    if contains_identity_number(text, today) {
        problems.add(
            "case_ref",
            IDENTITY_NUMBER_IN_TEXT,
            IDENTITY_NUMBER_IN_TEXT_MESSAGE,
        );
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

fn patient(
    value: &Value,
    received_date: Option<NaiveDate>,
    context: &ReportContext<'_>,
    problems: &mut Problems,
) -> Option<PatientFacts> {
    let object = object(value, "patient", problems)?;
    let allowed = ["fnr", "birth_year", "sex", "residence_county"];
    for field in object.keys().filter(|f| !allowed.contains(&f.as_str())) {
        problems.add(
            format!("patient.{field}"),
            "unknown_field",
            format!(
                "patient.{field} is not a known field; no free text about a patient is accepted"
            ),
        );
    }
    let county = required_in(
        object,
        "patient.residence_county",
        "residence_county",
        problems,
    )
    .and_then(|v| parsed(v, "patient.residence_county", CountyNumber::parse, problems));
    let given_sex = object.get("sex").and_then(|v| sex(v, problems));
    let given_birth_year = object
        .get("birth_year")
        .and_then(|v| birth_year(v, context.today, problems));
    let facts = match object.get("fnr") {
        Some(fnr) => identified_patient(fnr, given_birth_year, given_sex, context, problems),
        None => anonymous_patient(object, given_birth_year, given_sex, problems),
    };
    // The birth year is checked even when the rest of the patient failed: the identity
    // number's when it was read, else the one given.
    let known_birth_year = facts
        .as_ref()
        .map(|(_, year, _)| *year)
        .or(given_birth_year);
    if let Some(year) = known_birth_year {
        check_born_by(year, received_date, problems);
    }
    let (pseudonym, birth_year, sex) = facts?;
    Some(PatientFacts {
        pseudonym,
        birth_year,
        sex,
        residence_county: county?,
    })
}

fn check_born_by(birth_year: i32, received_date: Option<NaiveDate>, problems: &mut Problems) {
    if received_date.is_some_and(|received| birth_year > received.year()) {
        problems.add(
            "patient.birth_year",
            "birth_year_after_application",
            "the patient's birth year is after the application was received",
        );
    }
}

type PatientIdentity = (Option<crate::pseudonym::PatientPseudonym>, i32, Option<Sex>);

/// A patient reported with an identity number: it is checked, birth year and sex are read
/// from it, and it is replaced by its pseudonym here, before anything is stored.
fn identified_patient(
    fnr: &Value,
    given_birth_year: Option<i32>,
    given_sex: Option<Sex>,
    context: &ReportContext<'_>,
    problems: &mut Problems,
) -> Option<PatientIdentity> {
    let Some(number) = fnr.as_str() else {
        problems.add(
            "patient.fnr",
            "identity_number_format",
            "patient.fnr must be a string of 11 digits",
        );
        return None;
    };
    let identity = match validate_identity_number(
        number,
        context.today,
        context.accept_synthetic_identity_numbers,
    ) {
        Ok(identity) => identity,
        Err(error) => {
            problems.add("patient.fnr", error.code(), error.to_string());
            return None;
        }
    };
    if given_birth_year.is_some_and(|year| year != identity.birth_year()) {
        problems.add(
            "patient.birth_year",
            "birth_year_mismatch",
            "birth_year differs from the birth year in the identity number",
        );
    }
    let sex = match (identity.sex, given_sex) {
        (Some(derived), Some(given)) if derived != given => {
            problems.add(
                "patient.sex",
                "sex_mismatch",
                "sex differs from the sex the identity number gives",
            );
            None
        }
        (Some(derived), _) => Some(derived),
        (None, given) => given,
    };
    Some((
        Some(context.pseudonym_key.pseudonymise(&identity)),
        identity.birth_year(),
        sex,
    ))
}

fn anonymous_patient(
    object: &Map<String, Value>,
    given_birth_year: Option<i32>,
    given_sex: Option<Sex>,
    problems: &mut Problems,
) -> Option<PatientIdentity> {
    if !object.contains_key("birth_year") {
        problems.add(
            "patient.birth_year",
            "required",
            "patient needs either fnr or birth_year and sex",
        );
    }
    if !object.contains_key("sex") {
        problems.add(
            "patient.sex",
            "required",
            "patient needs either fnr or birth_year and sex",
        );
    }
    Some((None, given_birth_year?, Some(given_sex?)))
}

fn birth_year(value: &Value, today: NaiveDate, problems: &mut Problems) -> Option<i32> {
    let year = value
        .as_i64()
        .filter(|y| (1890..=i64::from(today.year())).contains(y));
    if year.is_none() {
        problems.add(
            "patient.birth_year",
            "birth_year_range",
            format!(
                "birth_year must be a whole year from 1890 to {}",
                today.year()
            ),
        );
    }
    year.map(|y| y as i32)
}

fn sex(value: &Value, problems: &mut Problems) -> Option<Sex> {
    let sex = serde_json::from_value::<Sex>(value.clone()).ok();
    if sex.is_none() {
        problems.add(
            "patient.sex",
            "sex_value",
            "sex must be \"female\" or \"male\"",
        );
    }
    sex
}

fn group(value: &Value, today: NaiveDate, problems: &mut Problems) -> Option<GroupFacts> {
    let object = object(value, "group", problems)?;
    for field in object
        .keys()
        .filter(|f| !["expected_patients", "description"].contains(&f.as_str()))
    {
        problems.add(
            format!("group.{field}"),
            "unknown_field",
            format!("group.{field} is not a known field"),
        );
    }
    let expected = required_in(
        object,
        "group.expected_patients",
        "expected_patients",
        problems,
    )
    .and_then(|v| {
        let count = v
            .as_u64()
            .filter(|n| (1..=MAX_EXPECTED_PATIENTS).contains(n));
        if count.is_none() {
            problems.add(
                "group.expected_patients",
                "expected_patients_range",
                format!(
                    "expected_patients must be a whole number from 1 to {MAX_EXPECTED_PATIENTS}"
                ),
            );
        }
        count
    });
    let description = required_in(object, "group.description", "description", problems).and_then(|v| {
        let text = string(v, "group.description", problems)?.trim();
        if text.is_empty() || text.chars().count() > GROUP_DESCRIPTION_MAX_CHARS || text.contains(['\n', '\r']) {
            problems.add("group.description", "description_length", format!("description must be one line of 1 to {GROUP_DESCRIPTION_MAX_CHARS} characters"));
            return None;
        }
        if contains_identity_number(text, today) {
            problems.add("group.description", IDENTITY_NUMBER_IN_TEXT, IDENTITY_NUMBER_IN_TEXT_MESSAGE);
            return None;
        }
        Some(text.to_string())
    });
    Some(GroupFacts {
        expected_patients: expected? as u32,
        description: description?,
    })
}

// ---- The decision ----------------------------------------------------------------------

/// A decision as far as its fields could be read; see `ApplicationDraft`.
struct DecisionDraft {
    decided_date: Option<NaiveDate>,
    outcome: Option<Outcome>,
    criteria: Option<Criteria>,
    refusal_reasons: Option<Vec<RefusalReason>>,
}

impl DecisionDraft {
    fn complete(self) -> Option<Decision> {
        Some(Decision {
            decided_date: self.decided_date?,
            outcome: self.outcome?,
            criteria: self.criteria?,
            refusal_reasons: self.refusal_reasons?,
        })
    }
}

/// Parses a decision; its criteria are those of `scheme`, checked as far as they can be
/// when the scheme is unknown.
fn parse_decision(
    body: &Map<String, Value>,
    scheme: Option<Scheme>,
    context: &ReportContext<'_>,
    problems: &mut Problems,
) -> DecisionDraft {
    let decided_date = required(body, "decided_date", problems)
        .and_then(|v| date(v, "decided_date", context.today, problems));
    let outcome = required(body, "outcome", problems).and_then(|v| outcome(v, problems));
    let criteria = required(body, "criteria", problems).and_then(|v| criteria(v, scheme, problems));
    let refusal_reasons = optional_field(body, "refusal_reasons", |v| refusal_reasons(v, problems))
        .map(Option::unwrap_or_default);
    DecisionDraft {
        decided_date,
        outcome,
        criteria,
        refusal_reasons,
    }
}

fn outcome(value: &Value, problems: &mut Problems) -> Option<Outcome> {
    let outcome = serde_json::from_value::<Outcome>(value.clone()).ok();
    if outcome.is_none() {
        problems.add(
            "outcome",
            "outcome_value",
            "outcome must be \"granted\" or \"refused\"",
        );
    }
    outcome
}

fn criteria(value: &Value, scheme: Option<Scheme>, problems: &mut Problems) -> Option<Criteria> {
    let object = object(value, "criteria", problems)?;
    let mut criteria = Criteria::default();
    let mut valid = true;
    for (field, value) in object {
        let path = format!("criteria.{field}");
        if field == "exceptional_on" {
            match exceptional_on(value, &path, scheme, problems) {
                Some(grounds) => criteria.exceptional_on = grounds,
                None => valid = false,
            }
        } else {
            match criterion(field, value, &path, scheme, problems) {
                Some((criterion, met)) => {
                    criteria.assessed.insert(criterion, met);
                }
                None => valid = false,
            }
        }
    }
    valid.then_some(criteria)
}

/// The grounds of exceptionality, where the scheme records them (or may: it is unknown).
fn exceptional_on(
    value: &Value,
    path: &str,
    scheme: Option<Scheme>,
    problems: &mut Problems,
) -> Option<Vec<ExceptionalOn>> {
    if let Some(scheme) = scheme.filter(|scheme| !scheme.records_exceptionality()) {
        problems.not_allowed(path, &format!("for {}", scheme.as_str()));
        return None;
    }
    list_of::<ExceptionalOn>(value, path, "benefit, severity or added_effect", problems)
}

/// One criterion and whether it was met. Without a scheme, any scheme's criterion is known.
fn criterion(
    field: &str,
    value: &Value,
    path: &str,
    scheme: Option<Scheme>,
    problems: &mut Problems,
) -> Option<(Criterion, bool)> {
    let of_scheme =
        |criterion: &Criterion| scheme.is_none_or(|scheme| scheme.criteria().contains(criterion));
    let Some(criterion) = Criterion::parse(field).filter(of_scheme) else {
        problems.add(
            path,
            "unknown_criterion",
            unknown_criterion_message(field, scheme),
        );
        return None;
    };
    let met = value.as_bool();
    if met.is_none() {
        problems.add(
            path,
            "criterion_value",
            format!("{field} must be true or false"),
        );
    }
    Some((criterion, met?))
}

fn unknown_criterion_message(field: &str, scheme: Option<Scheme>) -> String {
    let Some(scheme) = scheme else {
        return format!("{field} is not a criterion of any scheme");
    };
    let known: Vec<&str> = scheme.criteria().iter().map(|c| c.as_str()).collect();
    format!(
        "{field} is not a criterion of {}; its criteria are: {}",
        scheme.as_str(),
        known.join(", ")
    )
}

fn refusal_reasons(value: &Value, problems: &mut Problems) -> Option<Vec<RefusalReason>> {
    list_of::<RefusalReason>(
        value,
        "refusal_reasons",
        "criteria_not_met, no_expected_added_effect, not_under_assessment, insufficient_documentation or other",
        problems,
    )
}

fn list_of<T: serde::de::DeserializeOwned + PartialEq>(
    value: &Value,
    path: &str,
    expected: &str,
    problems: &mut Problems,
) -> Option<Vec<T>> {
    let Some(items) = value.as_array() else {
        problems.add(path, "list_expected", format!("{path} must be a list"));
        return None;
    };
    let mut parsed = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        match serde_json::from_value::<T>(item.clone()) {
            Ok(value) if !parsed.contains(&value) => parsed.push(value),
            Ok(_) => problems.add(format!("{path}[{index}]"), "duplicate", "listed twice"),
            Err(_) => problems.add(
                format!("{path}[{index}]"),
                "unknown_value",
                format!("must be one of {expected}"),
            ),
        }
    }
    (parsed.len() == items.len()).then_some(parsed)
}

// ---- Rules across fields ---------------------------------------------------------------

/// The organisations against the register, as far as they and the scheme were read.
fn check_organisations(
    application: &ApplicationDraft,
    context: &ReportContext<'_>,
    problems: &mut Problems,
) {
    let body = application.scheme.map(Scheme::deciding_body);
    if let Some(deciding_org) = &application.deciding_org {
        check_deciding_org(deciding_org, application.scheme, context, problems);
    }
    let Some(applying_org) = &application.applying_org else {
        return;
    };
    // Where a regional authority decides, the applicant is a trust, never the authority.
    // Without a scheme that cannot be told, and the deciding organisation is checked anyway.
    let same_as_deciding = application.deciding_org.as_ref() == Some(applying_org);
    if same_as_deciding && body != Some(DecidingBody::RegionalAuthority) {
        return;
    }
    match context.organisations.get(applying_org) {
        None => problems.add(
            "applying_org",
            "unknown_organisation",
            "applying_org is not in the organisation register",
        ),
        Some(org) if !org.kind.is_treating() => problems.add(
            "applying_org",
            "wrong_applying_organisation",
            format!("{} is not a health trust or hospital", org.name),
        ),
        Some(_) => {}
    }
}

fn check_deciding_org(
    deciding_org: &OrganisationNumber,
    scheme: Option<Scheme>,
    context: &ReportContext<'_>,
    problems: &mut Problems,
) {
    match (context.organisations.get(deciding_org), scheme) {
        (None, _) => problems.add(
            "deciding_org",
            "unknown_organisation",
            "deciding_org is not in the organisation register",
        ),
        (Some(org), _) if !org.active => problems.add(
            "deciding_org",
            "inactive_organisation",
            format!(
                "{} is no longer active in the organisation register",
                org.name
            ),
        ),
        (Some(org), Some(scheme)) if !decides(org, scheme.deciding_body()) => problems.add(
            "deciding_org",
            "wrong_deciding_organisation",
            format!(
                "{} cannot decide {} cases: {}",
                org.name,
                scheme.as_str(),
                deciding_body_text(scheme.deciding_body())
            ),
        ),
        (Some(_), _) => {}
    }
}

fn decides(org: &Organisation, body: DecidingBody) -> bool {
    use crate::organisation_register::OrganisationKind::*;
    match body {
        DecidingBody::Trust => org.kind.is_treating(),
        DecidingBody::RegionalAuthority => org.kind == Rhf,
        DecidingBody::Helfo => org.kind == NationalAgency,
    }
}

fn deciding_body_text(body: DecidingBody) -> &'static str {
    match body {
        DecidingBody::Trust => "the health trust or hospital decides",
        DecidingBody::RegionalAuthority => {
            "a regional health authority decides on behalf of the interregional body"
        }
        DecidingBody::Helfo => "Helsedirektoratet (Helfo) decides",
    }
}

/// The method against the register, as far as it and the fields it is compared with were
/// read.
fn check_method(
    application: &ApplicationDraft,
    decision: Option<&DecisionDraft>,
    context: &ReportContext<'_>,
    problems: &mut Problems,
    warnings: &mut Vec<Warning>,
) {
    let Some(method_id) = &application.method_id else {
        return;
    };
    let Some(method) = context.methods.get(method_id) else {
        problems.add(
            "method_id",
            "unknown_method",
            format!("{method_id} is not in the methods register"),
        );
        return;
    };
    if let (Some(Some(atc)), Some(description)) = (&application.atc, &method.description) {
        let listed = description
            .atc
            .iter()
            .any(|m| atc.as_str().starts_with(m.as_str()) || m.as_str().starts_with(atc.as_str()));
        if !description.atc.is_empty() && !listed {
            warn(
                warnings,
                "atc_not_in_method",
                format!("ATC {atc} is not among the substances of {method_id}"),
            );
        }
    }
    let Some(decided_date) = decision.and_then(|decision| decision.decided_date) else {
        return;
    };
    if application.scheme == Some(Scheme::IndividualExemption)
        && !method.allows_individual_exemption_on(decided_date)
    {
        warn(warnings, "method_not_under_assessment", format!("{method_id} was not under assessment on {decided_date}: individual exemptions are only for methods under assessment"));
    }
}

/// The decision against its application, as far as both were read.
fn check_decision(
    application: &ApplicationDraft,
    decision: &DecisionDraft,
    problems: &mut Problems,
    warnings: &mut Vec<Warning>,
) {
    if let (Some(decided), Some(received)) = (decision.decided_date, application.received_date) {
        if decided < received {
            problems.add(
                "decided_date",
                "decided_before_received",
                "decided_date is before received_date",
            );
        }
    }
    if let (Some(outcome), Some(reasons)) = (decision.outcome, &decision.refusal_reasons) {
        check_refusal_reasons(outcome, reasons, problems, warnings);
    }
    if let (Some(criteria), Some(scheme)) = (&decision.criteria, application.scheme) {
        check_criteria_complete(criteria, scheme, warnings);
    }
}

fn check_refusal_reasons(
    outcome: Outcome,
    reasons: &[RefusalReason],
    problems: &mut Problems,
    warnings: &mut Vec<Warning>,
) {
    match outcome {
        Outcome::Granted if !reasons.is_empty() => {
            problems.not_allowed("refusal_reasons", "when the outcome is granted");
        }
        Outcome::Refused if reasons.is_empty() => {
            warn(
                warnings,
                "refusal_reasons_missing",
                "a refusal without refusal_reasons cannot be studied for patterns in its grounds"
                    .into(),
            );
        }
        _ => {}
    }
}

fn check_criteria_complete(criteria: &Criteria, scheme: Scheme, warnings: &mut Vec<Warning>) {
    if criteria.is_complete_for(scheme) {
        return;
    }
    let missing: Vec<&str> = scheme
        .criteria()
        .iter()
        .filter(|c| !criteria.assessed.contains_key(c))
        .map(|c| c.as_str())
        .collect();
    warn(
        warnings,
        "criteria_incomplete",
        format!("criteria not documented: {}", missing.join(", ")),
    );
}

fn warn(warnings: &mut Vec<Warning>, code: &str, message: String) {
    warnings.push(Warning {
        code: code.to_string(),
        message,
    });
}

// ---- Field helpers ---------------------------------------------------------------------

fn required<'a>(
    body: &'a Map<String, Value>,
    field: &str,
    problems: &mut Problems,
) -> Option<&'a Value> {
    required_in(body, field, field, problems)
}

fn required_in<'a>(
    object: &'a Map<String, Value>,
    path: &str,
    key: &str,
    problems: &mut Problems,
) -> Option<&'a Value> {
    match object.get(key) {
        Some(Value::Null) | None => {
            problems.required(path);
            None
        }
        Some(value) => Some(value),
    }
}

fn optional<'a>(body: &'a Map<String, Value>, field: &str) -> Option<&'a Value> {
    body.get(field).filter(|v| !v.is_null())
}

/// An optional field read with `read`: `Some(None)` when it is absent, `None` when it is
/// given but cannot be read (`read` has recorded why).
fn optional_field<T>(
    body: &Map<String, Value>,
    field: &str,
    read: impl FnOnce(&Value) -> Option<T>,
) -> Option<Option<T>> {
    match optional(body, field) {
        None => Some(None),
        Some(value) => read(value).map(Some),
    }
}

fn string<'a>(value: &'a Value, path: &str, problems: &mut Problems) -> Option<&'a str> {
    let text = value.as_str();
    if text.is_none() {
        problems.add(path, "string_expected", format!("{path} must be a string"));
    }
    text
}

fn object<'a>(
    value: &'a Value,
    path: &str,
    problems: &mut Problems,
) -> Option<&'a Map<String, Value>> {
    let object = value.as_object();
    if object.is_none() {
        problems.add(path, "object_expected", format!("{path} must be an object"));
    }
    object
}

fn parsed<T, E: crate::problems::CodedError>(
    value: &Value,
    path: &str,
    parse: impl Fn(&str) -> Result<T, E>,
    problems: &mut Problems,
) -> Option<T> {
    let text = string(value, path, problems)?;
    problems.take(path, parse(text))
}

/// A real calendar date written `YYYY-MM-DD`, not after `today`.
fn date(value: &Value, path: &str, today: NaiveDate, problems: &mut Problems) -> Option<NaiveDate> {
    let text = string(value, path, problems)?;
    // Checked byte by byte: chrono alone takes "2025-03- 3", skipping the space.
    let is_iso_shape = text.len() == 10
        && text.bytes().enumerate().all(|(at, byte)| match at {
            4 | 7 => byte == b'-',
            _ => byte.is_ascii_digit(),
        });
    let Some(date) = is_iso_shape
        .then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
        .flatten()
    else {
        problems.add(
            path,
            "date_format",
            format!("{path} must be a real date written YYYY-MM-DD"),
        );
        return None;
    };
    if date > today {
        problems.add(path, "date_in_future", format!("{path} is in the future"));
        return None;
    }
    Some(date)
}

// ---- Stored form back to a body, for corrections ---------------------------------------

fn application_as_body(application: &Application) -> Map<String, Value> {
    let mut body = to_object(application);
    // The stored patient (with its pseudonym) is not a body field: a correction either
    // replaces it or keeps it as stored.
    body.remove("patient");
    body
}

fn decision_as_body(decision: &Decision) -> Map<String, Value> {
    to_object(decision)
}

fn to_object<T: Serialize>(value: &T) -> Map<String, Value> {
    match serde_json::to_value(value).expect("stored facts serialise") {
        Value::Object(map) => map,
        _ => unreachable!("stored facts are JSON objects"),
    }
}
