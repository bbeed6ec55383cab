//! Validation of what reporting systems send: a report body (a JSON object) becomes a typed
//! `Application` and `Decision`, or a list of every problem found. Corrections reuse the
//! same field rules on the case as it would stand.
//!
//! Bodies are walked field by field rather than deserialised in one go, so that a wrong
//! type in one field does not hide the problems in the others. A field that fails leaves a
//! gap in a draft (`ApplicationDraft`, `DecisionDraft`) and the rules across fields run on
//! what is there, so that it does not hide the problems of the rules either.
//!
//! The modules, in the order a report is read: `application` (with `patient` and `group`
//! for whom it concerns), `decision`, `registers` (the organisations and the method
//! against their registers) and `correction`; `fields` reads single JSON values and
//! `context` holds what the caller passes in. Sibling modules never use this one, so the
//! entry points here can use all of them without a loop.

mod application;
mod context;
mod correction;
mod decision;
mod fields;
mod group;
mod patient;
mod registers;

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::case::{case_id_for, Application, Decision};
use crate::problems::{FieldError, Problems};

use application::{parse_application, ApplicationDraft};
use correction::apply_changes;
use decision::{check_decision, parse_decision, DecisionDraft};
use fields::reject_unknown_fields;
use registers::{check_method, check_organisations};

pub use application::APPLICATION_FIELDS;
pub use context::{ReportContext, Warning};
pub use correction::UNCORRECTABLE_FIELDS;
pub use decision::DECISION_FIELDS;

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
