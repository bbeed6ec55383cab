//! The decision: when, which outcome, on which criteria and, for a refusal, why; and the
//! rules that hold between a decision and its application.

use chrono::NaiveDate;
use serde_json::{Map, Value};

use crate::case::{Criteria, Criterion, Decision, ExceptionalOn, Outcome, RefusalReason, Scheme};
use crate::problems::Problems;

use super::application::ApplicationDraft;
use super::context::{ReportContext, Warning};
use super::fields::{date, list_of, object, optional_field, required};

/// The fields of a decision.
pub const DECISION_FIELDS: &[&str] = &["decided_date", "outcome", "criteria", "refusal_reasons"];

/// A decision as far as its fields could be read; see `ApplicationDraft`.
pub(super) struct DecisionDraft {
    pub(super) decided_date: Option<NaiveDate>,
    pub(super) outcome: Option<Outcome>,
    pub(super) criteria: Option<Criteria>,
    pub(super) refusal_reasons: Option<Vec<RefusalReason>>,
}

impl DecisionDraft {
    pub(super) fn complete(self) -> Option<Decision> {
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
pub(super) fn parse_decision(
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

/// The decision against its application, as far as both were read.
pub(super) fn check_decision(
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
            warnings.push(Warning::new(
                "refusal_reasons_missing",
                "a refusal without refusal_reasons cannot be studied for patterns in its grounds"
                    .into(),
            ));
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
    warnings.push(Warning::new(
        "criteria_incomplete",
        format!("criteria not documented: {}", missing.join(", ")),
    ));
}
