//! Corrections: the stored case turned back into a body, with the changes applied.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::case::{Application, Decision};
use crate::problems::Problems;

use super::application::APPLICATION_FIELDS;
use super::decision::DECISION_FIELDS;

/// Fields that identify a case and so can never be corrected: report a retraction and a
/// new case instead.
pub const UNCORRECTABLE_FIELDS: &[&str] = &["case_ref", "deciding_org"];

/// The case with the changes that can be made; the others are recorded as problems.
pub(super) fn apply_changes(
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
        match why_not_changeable(field, decision.is_some()) {
            Some((code, message)) => problems.add(format!("changes.{field}"), code, message),
            None => {
                merged.insert(field.clone(), value.clone());
            }
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

/// Why `field` cannot be changed (its problem code and message), if it cannot.
fn why_not_changeable(field: &str, decided: bool) -> Option<(&'static str, String)> {
    let among = |fields: &[&str]| fields.contains(&field);
    if among(UNCORRECTABLE_FIELDS) {
        Some(("not_correctable", format!("{field} identifies the case and cannot be corrected; retract the case and report it anew")))
    } else if among(DECISION_FIELDS) && !decided {
        Some((
            "no_decision_yet",
            "the case has no decision to correct yet".to_string(),
        ))
    } else if !among(APPLICATION_FIELDS) && !among(DECISION_FIELDS) {
        Some(("unknown_field", format!("{field} is not a field of a case")))
    } else {
        None
    }
}

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
