//! Reporting: health trusts, hospitals, RHFs and Helfo report cases, decisions,
//! corrections, retractions and appeals. Every report is idempotent by its `report_id`.

use actix_web::{post, web, HttpResponse};
use chrono::NaiveDate;
use domain::case::{AppealOutcome, CorrectionReason, RetractionReason};
use domain::commands::CaseCommand;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tracing_actix_web::RequestId;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::{Caller, Role};
use crate::body;
use crate::error::{ApiError, Problem};
use crate::ingest::{appeal_id_for, Written};
use crate::openapi::{CaseReport, DecisionOnCase, DecisionReport};
use crate::AppState;

/// The answer to an accepted report: 201 when stored now, 200 when it had been stored
/// before (a retry), with the same body.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ReportAccepted {
    pub case_id: Uuid,
    pub report_id: Uuid,
    /// The global position of the last event the report wrote.
    pub position: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub appeal_id: Option<Uuid>,
    pub warnings: Vec<WarningItem>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WarningItem {
    pub code: String,
    pub message: String,
}

pub fn accepted(written: Written, report_id: Uuid, appeal_id: Option<Uuid>) -> HttpResponse {
    let body = ReportAccepted {
        case_id: written.case_id,
        report_id,
        position: written.position,
        appeal_id,
        warnings: written
            .warnings
            .into_iter()
            .map(|w| WarningItem {
                code: w.code,
                message: w.message,
            })
            .collect(),
    };
    if written.replayed {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::Created().json(body)
    }
}

/// Report a case together with its decision.
#[utoipa::path(post, path = "/api/v1/decisions", tag = "reporting", request_body = DecisionReport,
    security(("bearer" = [])), responses(
    (status = 201, description = "stored", body = ReportAccepted),
    (status = 200, description = "already stored (same report_id, same body)", body = ReportAccepted),
    (status = 400, description = "not JSON", body = Problem, content_type = "application/problem+json"),
    (status = 401, description = "no or unknown token", body = Problem, content_type = "application/problem+json"),
    (status = 403, description = "not a reporter for deciding_org", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "report_id reused with another body, or case_ref already reported", body = Problem, content_type = "application/problem+json"),
    (status = 413, description = "body too large", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "every validation problem", body = Problem, content_type = "application/problem+json")))]
#[post("/decisions")]
pub async fn report_decision(
    state: web::Data<AppState>,
    caller: Caller,
    request_id: RequestId,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    report_new_case(state, caller, request_id, payload, true).await
}

/// Report an application alone; its decision follows later.
#[utoipa::path(post, path = "/api/v1/cases", tag = "reporting", request_body = CaseReport,
    security(("bearer" = [])), responses(
    (status = 201, description = "stored", body = ReportAccepted),
    (status = 200, description = "already stored", body = ReportAccepted),
    (status = 409, description = "conflict", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "every validation problem", body = Problem, content_type = "application/problem+json")))]
#[post("/cases")]
pub async fn report_case(
    state: web::Data<AppState>,
    caller: Caller,
    request_id: RequestId,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    report_new_case(state, caller, request_id, payload, false).await
}

async fn report_new_case(
    state: web::Data<AppState>,
    caller: Caller,
    request_id: RequestId,
    payload: web::Payload,
    with_decision: bool,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Reporter])?;
    let body = body::read(payload, state.config.max_report_bytes).await?;
    let object = body::json_object(&body)?;
    let command = || CaseCommand::Report {
        body: &object,
        with_decision,
    };
    let report_id = report_id_or_every_problem(&state, &caller, &object, None, command).await?;
    let written = state
        .run_case_command(&caller, &request_id.to_string(), report_id, None, command)
        .await?;
    Ok(accepted(written, report_id, None))
}

/// The report's id, or every problem with the report when it has none.
async fn report_id_or_every_problem<'a>(
    state: &AppState,
    caller: &Caller,
    object: &Map<String, Value>,
    case_id: Option<Uuid>,
    command: impl Fn() -> CaseCommand<'a>,
) -> Result<Uuid, ApiError> {
    match body::report_id(object) {
        Ok(report_id) => Ok(report_id),
        Err(ApiError::Invalid(mut problems)) => {
            problems.extend(state.problems_with(caller, case_id, command).await?);
            Err(ApiError::Invalid(problems))
        }
        Err(other) => Err(other),
    }
}

/// Report the decision on a case reported without one.
#[utoipa::path(post, path = "/api/v1/cases/{case_id}/decision", tag = "reporting", request_body = DecisionOnCase,
    security(("bearer" = [])), params(("case_id" = Uuid, Path, description = "the case")), responses(
    (status = 201, description = "stored", body = ReportAccepted),
    (status = 200, description = "already stored", body = ReportAccepted),
    (status = 404, description = "no such case", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "already decided, retracted, or report_id reused", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "every validation problem", body = Problem, content_type = "application/problem+json")))]
#[post("/cases/{case_id}/decision")]
pub async fn report_decision_on_case(
    state: web::Data<AppState>,
    caller: Caller,
    request_id: RequestId,
    case_id: web::Path<Uuid>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Reporter])?;
    let case_id = case_id.into_inner();
    let body = body::read(payload, state.config.max_report_bytes).await?;
    let object = body::json_object(&body)?;
    let command = || CaseCommand::ReportDecision { body: &object };
    let report_id =
        report_id_or_every_problem(&state, &caller, &object, Some(case_id), command).await?;
    let written = state
        .run_case_command(
            &caller,
            &request_id.to_string(),
            report_id,
            Some(case_id),
            command,
        )
        .await?;
    Ok(accepted(written, report_id, None))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CorrectionRequest {
    pub report_id: Uuid,
    /// Field name to new value, for any field of the case except case_ref and deciding_org.
    #[schema(value_type = Object)]
    pub changes: Map<String, Value>,
    /// `registration_error` or `new_information`.
    #[schema(value_type = String, example = "registration_error")]
    pub reason: CorrectionReason,
}

/// Correct a case; the case is validated again as it would stand.
#[utoipa::path(post, path = "/api/v1/cases/{case_id}/corrections", tag = "reporting", request_body = CorrectionRequest,
    security(("bearer" = [])), params(("case_id" = Uuid, Path, description = "the case")), responses(
    (status = 201, description = "stored", body = ReportAccepted),
    (status = 200, description = "already stored", body = ReportAccepted),
    (status = 404, description = "no such case", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "retracted, or report_id reused", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "every validation problem", body = Problem, content_type = "application/problem+json")))]
#[post("/cases/{case_id}/corrections")]
pub async fn correct_case(
    state: web::Data<AppState>,
    caller: Caller,
    request_id: RequestId,
    case_id: web::Path<Uuid>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Reporter])?;
    let body = body::read(payload, state.config.max_report_bytes).await?;
    let request: CorrectionRequest = body::typed(&body)?;
    let command = || CaseCommand::Correct {
        changes: &request.changes,
        reason: request.reason,
    };
    let written = state
        .run_case_command(
            &caller,
            &request_id.to_string(),
            request.report_id,
            Some(*case_id),
            command,
        )
        .await?;
    Ok(accepted(written, request.report_id, None))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetractionRequest {
    pub report_id: Uuid,
    /// `reported_in_error`.
    #[schema(value_type = String, example = "reported_in_error")]
    pub reason: RetractionReason,
}

/// Retract a case reported in error: it leaves every statistic.
#[utoipa::path(post, path = "/api/v1/cases/{case_id}/retraction", tag = "reporting", request_body = RetractionRequest,
    security(("bearer" = [])), params(("case_id" = Uuid, Path, description = "the case")), responses(
    (status = 201, description = "stored", body = ReportAccepted),
    (status = 200, description = "already stored", body = ReportAccepted),
    (status = 404, description = "no such case", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "already retracted, or report_id reused", body = Problem, content_type = "application/problem+json")))]
#[post("/cases/{case_id}/retraction")]
pub async fn retract_case(
    state: web::Data<AppState>,
    caller: Caller,
    request_id: RequestId,
    case_id: web::Path<Uuid>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Reporter])?;
    let body = body::read(payload, state.config.max_report_bytes).await?;
    let request: RetractionRequest = body::typed(&body)?;
    let command = || CaseCommand::Retract {
        reason: request.reason,
    };
    let written = state
        .run_case_command(
            &caller,
            &request_id.to_string(),
            request.report_id,
            Some(*case_id),
            command,
        )
        .await?;
    Ok(accepted(written, request.report_id, None))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppealRequest {
    pub report_id: Uuid,
    pub lodged_date: NaiveDate,
}

/// Report that a decision was appealed. Answers the new appeal's `appeal_id`.
#[utoipa::path(post, path = "/api/v1/cases/{case_id}/appeals", tag = "reporting", request_body = AppealRequest,
    security(("bearer" = [])), params(("case_id" = Uuid, Path, description = "the case")), responses(
    (status = 201, description = "stored", body = ReportAccepted),
    (status = 200, description = "already stored", body = ReportAccepted),
    (status = 404, description = "no such case", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "the case has no decision, or dates are wrong", body = Problem, content_type = "application/problem+json")))]
#[post("/cases/{case_id}/appeals")]
pub async fn lodge_appeal(
    state: web::Data<AppState>,
    caller: Caller,
    request_id: RequestId,
    case_id: web::Path<Uuid>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Reporter])?;
    let body = body::read(payload, state.config.max_report_bytes).await?;
    let request: AppealRequest = body::typed(&body)?;
    let appeal_id = appeal_id_for(request.report_id);
    let command = || CaseCommand::LodgeAppeal {
        appeal_id,
        lodged_date: request.lodged_date,
    };
    let written = state
        .run_case_command(
            &caller,
            &request_id.to_string(),
            request.report_id,
            Some(*case_id),
            command,
        )
        .await?;
    Ok(accepted(written, request.report_id, Some(appeal_id)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppealDecisionRequest {
    pub report_id: Uuid,
    pub decided_date: NaiveDate,
    /// `upheld`, `overturned` or `partly_overturned`.
    #[schema(value_type = String, example = "upheld")]
    pub outcome: AppealOutcome,
}

/// Report the outcome of an appeal.
#[utoipa::path(post, path = "/api/v1/cases/{case_id}/appeals/{appeal_id}/decision", tag = "reporting",
    request_body = AppealDecisionRequest, security(("bearer" = [])),
    params(("case_id" = Uuid, Path, description = "the case"), ("appeal_id" = Uuid, Path, description = "the appeal")),
    responses(
    (status = 201, description = "stored", body = ReportAccepted),
    (status = 200, description = "already stored", body = ReportAccepted),
    (status = 404, description = "no such case or appeal", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "already decided", body = Problem, content_type = "application/problem+json")))]
#[post("/cases/{case_id}/appeals/{appeal_id}/decision")]
pub async fn decide_appeal(
    state: web::Data<AppState>,
    caller: Caller,
    request_id: RequestId,
    path: web::Path<(Uuid, Uuid)>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Reporter])?;
    let (case_id, appeal_id) = path.into_inner();
    let body = body::read(payload, state.config.max_report_bytes).await?;
    let request: AppealDecisionRequest = body::typed(&body)?;
    let command = || CaseCommand::DecideAppeal {
        appeal_id,
        decided_date: request.decided_date,
        outcome: request.outcome,
    };
    let written = state
        .run_case_command(
            &caller,
            &request_id.to_string(),
            request.report_id,
            Some(case_id),
            command,
        )
        .await?;
    Ok(accepted(written, request.report_id, Some(appeal_id)))
}
