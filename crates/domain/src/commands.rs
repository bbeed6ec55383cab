//! Commands on a case: given the case as its past events left it, a command either yields
//! the new events to append or says why not. Pure: the caller loads and appends.

use chrono::NaiveDate;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::case::{case_id_for, AppealOutcome, Case, CorrectionReason, RetractionReason};
use crate::codes::MethodId;
use crate::events::RegistryEvent;
use crate::organisation::OrganisationNumber;
use crate::problems::{FieldError, Problems};
use crate::report::{
    validate_case, validate_correction, validate_decision_for, ReportContext, ValidCase, Warning,
    APPLICATION_FIELDS, DECISION_FIELDS,
};

/// The fields a report body carries besides the case's own.
pub const REPORT_ENVELOPE: &[&str] = &["report_id"];

pub enum CaseCommand<'a> {
    /// A new case: the application, with its decision when `with_decision`.
    Report {
        body: &'a Map<String, Value>,
        with_decision: bool,
    },
    /// The decision on a case reported without one.
    ReportDecision {
        body: &'a Map<String, Value>,
    },
    Correct {
        changes: &'a Map<String, Value>,
        reason: CorrectionReason,
    },
    Retract {
        reason: RetractionReason,
    },
    LodgeAppeal {
        appeal_id: Uuid,
        lodged_date: NaiveDate,
    },
    DecideAppeal {
        appeal_id: Uuid,
        decided_date: NaiveDate,
        outcome: AppealOutcome,
    },
}

/// What a command is about, as far as its body says before it is validated: the case it
/// names, the organisation that decides it, and the method it is for. The service loads
/// these streams and scopes the caller with them; the validation proper comes after.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subject {
    pub case_id: Option<Uuid>,
    pub deciding_org: Option<OrganisationNumber>,
    pub method_id: Option<MethodId>,
}

impl CaseCommand<'_> {
    /// The subject a new case's body or a correction names (nothing for other commands,
    /// which name their case in the path).
    pub fn subject(&self) -> Subject {
        match self {
            CaseCommand::Report { body, .. } => {
                let deciding_org = field(body, "deciding_org")
                    .and_then(|text| OrganisationNumber::parse(text).ok());
                let case_id = match (&deciding_org, field(body, "case_ref")) {
                    (Some(org), Some(case_ref)) => Some(case_id_for(org, case_ref)),
                    _ => None,
                };
                Subject {
                    case_id,
                    deciding_org,
                    method_id: method_in(body),
                }
            }
            CaseCommand::Correct { changes, .. } => Subject {
                method_id: method_in(changes),
                ..Subject::default()
            },
            _ => Subject::default(),
        }
    }
}

fn field<'a>(body: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    body.get(name)?.as_str()
}

fn method_in(body: &Map<String, Value>) -> Option<MethodId> {
    MethodId::parse(field(body, "method_id")?).ok()
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("the report is invalid")]
    Invalid(Vec<FieldError>),
    #[error("no such case")]
    CaseNotFound,
    #[error("a case with this case_ref is already reported by this organisation")]
    CaseAlreadyReported,
    #[error("the case already has a decision; report a correction to change it")]
    AlreadyDecided,
    #[error("the case has been retracted")]
    Retracted,
    #[error("no such appeal on this case")]
    AppealNotFound,
    #[error("the appeal has already been decided")]
    AppealAlreadyDecided,
}

/// What a command produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    pub case_id: Uuid,
    pub events: Vec<RegistryEvent>,
    pub warnings: Vec<Warning>,
}

pub fn handle(
    case: Option<&Case>,
    command: CaseCommand<'_>,
    context: &ReportContext<'_>,
) -> Result<Accepted, CommandError> {
    if let CaseCommand::Report {
        body,
        with_decision,
    } = command
    {
        return report(case, body, with_decision, context);
    }
    let case = case.ok_or(CommandError::CaseNotFound)?;
    if case.retracted {
        return Err(CommandError::Retracted);
    }
    match command {
        CaseCommand::Report { .. } => unreachable!("handled above"),
        CaseCommand::ReportDecision { body } => report_decision(case, body, context),
        CaseCommand::Correct { changes, reason } => correct(case, changes, reason, context),
        CaseCommand::Retract { reason } => Ok(accepted(
            case.case_id,
            vec![RegistryEvent::CaseRetracted {
                case_id: case.case_id,
                reason,
            }],
        )),
        CaseCommand::LodgeAppeal {
            appeal_id,
            lodged_date,
        } => lodge_appeal(case, appeal_id, lodged_date, context.today),
        CaseCommand::DecideAppeal {
            appeal_id,
            decided_date,
            outcome,
        } => decide_appeal(case, appeal_id, decided_date, outcome, context.today),
    }
}

fn report(
    case: Option<&Case>,
    body: &Map<String, Value>,
    with_decision: bool,
    context: &ReportContext<'_>,
) -> Result<Accepted, CommandError> {
    let valid = validate_case(body, with_decision, REPORT_ENVELOPE, context)
        .map_err(CommandError::Invalid)?;
    if case.is_some() {
        return Err(CommandError::CaseAlreadyReported);
    }
    let mut events = vec![RegistryEvent::CaseReceived {
        case_id: valid.case_id,
        application: valid.application,
    }];
    if let Some(decision) = valid.decision {
        events.push(RegistryEvent::DecisionReported {
            case_id: valid.case_id,
            decision,
        });
    }
    Ok(Accepted {
        case_id: valid.case_id,
        events,
        warnings: valid.warnings,
    })
}

fn report_decision(
    case: &Case,
    body: &Map<String, Value>,
    context: &ReportContext<'_>,
) -> Result<Accepted, CommandError> {
    if case.decision.is_some() {
        return Err(CommandError::AlreadyDecided);
    }
    let valid = validate_decision_for(body, REPORT_ENVELOPE, &case.application, context)
        .map_err(CommandError::Invalid)?;
    let decision = valid
        .decision
        .expect("a validated decision report has a decision");
    Ok(Accepted {
        case_id: case.case_id,
        events: vec![RegistryEvent::DecisionReported {
            case_id: case.case_id,
            decision,
        }],
        warnings: valid.warnings,
    })
}

fn correct(
    case: &Case,
    changes: &Map<String, Value>,
    reason: CorrectionReason,
    context: &ReportContext<'_>,
) -> Result<Accepted, CommandError> {
    let ValidCase {
        application,
        decision,
        warnings,
        ..
    } = validate_correction(changes, &case.application, case.decision.as_ref(), context)
        .map_err(CommandError::Invalid)?;
    let changed_fields = APPLICATION_FIELDS
        .iter()
        .chain(DECISION_FIELDS)
        .filter(|field| changes.contains_key(**field))
        .map(|field| field.to_string())
        .collect();
    Ok(Accepted {
        case_id: case.case_id,
        events: vec![RegistryEvent::CaseCorrected {
            case_id: case.case_id,
            reason,
            changed_fields,
            application,
            decision,
        }],
        warnings,
    })
}

fn lodge_appeal(
    case: &Case,
    appeal_id: Uuid,
    lodged_date: NaiveDate,
    today: NaiveDate,
) -> Result<Accepted, CommandError> {
    let mut problems = Problems::new();
    match &case.decision {
        None => problems.add(
            "case",
            "no_decision_yet",
            "only a decided case can be appealed",
        ),
        Some(decision) if lodged_date < decision.decided_date => problems.add(
            "lodged_date",
            "lodged_before_decision",
            "lodged_date is before the decision it appeals",
        ),
        Some(_) => {}
    }
    if lodged_date > today {
        problems.add(
            "lodged_date",
            "date_in_future",
            "lodged_date is in the future",
        );
    }
    problems.finish(|| ()).map_err(CommandError::Invalid)?;
    Ok(accepted(
        case.case_id,
        vec![RegistryEvent::AppealLodged {
            case_id: case.case_id,
            appeal_id,
            lodged_date,
        }],
    ))
}

fn decide_appeal(
    case: &Case,
    appeal_id: Uuid,
    decided_date: NaiveDate,
    outcome: AppealOutcome,
    today: NaiveDate,
) -> Result<Accepted, CommandError> {
    let appeal = case.appeal(appeal_id).ok_or(CommandError::AppealNotFound)?;
    if appeal.outcome.is_some() {
        return Err(CommandError::AppealAlreadyDecided);
    }
    let mut problems = Problems::new();
    if decided_date < appeal.lodged_date {
        problems.add(
            "decided_date",
            "decided_before_lodged",
            "decided_date is before the appeal was lodged",
        );
    }
    if decided_date > today {
        problems.add(
            "decided_date",
            "date_in_future",
            "decided_date is in the future",
        );
    }
    problems.finish(|| ()).map_err(CommandError::Invalid)?;
    Ok(accepted(
        case.case_id,
        vec![RegistryEvent::AppealDecided {
            case_id: case.case_id,
            appeal_id,
            decided_date,
            outcome,
        }],
    ))
}

fn accepted(case_id: Uuid, events: Vec<RegistryEvent>) -> Accepted {
    Accepted {
        case_id,
        events,
        warnings: Vec::new(),
    }
}
