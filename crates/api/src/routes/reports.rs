//! Reporting: health trusts, hospitals, RHFs and Helfo report cases, decisions,
//! corrections, retractions and appeals. Every report is idempotent by its `report_id`.

use actix_web::{post, web, HttpResponse};
use chrono::NaiveDate;
use domain::case::{AppealOutcome, CorrectionReason, RetractionReason};
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Caller;
use crate::body;
use crate::error::{ApiError, Problem};
use crate::render::{accepted, ReportAccepted};
use crate::AppState;

/// Report a case together with its decision.
#[utoipa::path(post, tag = "reporting", request_body = DecisionReport,
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
    payload: body::JsonPayload,
) -> Result<HttpResponse, ApiError> {
    let body = read_object(&state, payload).await?;
    let written = state.registry.report_case(&caller, &body, true).await?;
    Ok(accepted(written))
}

/// Report an application alone; its decision follows later.
#[utoipa::path(post, tag = "reporting", request_body = CaseReport,
    security(("bearer" = [])), responses(
    (status = 403, description = "not a reporter for deciding_org", body = Problem, content_type = "application/problem+json"),
    (status = 201, description = "stored", body = ReportAccepted),
    (status = 200, description = "already stored", body = ReportAccepted),
    (status = 409, description = "conflict", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "every validation problem", body = Problem, content_type = "application/problem+json")))]
#[post("/cases")]
pub async fn report_case(
    state: web::Data<AppState>,
    caller: Caller,
    payload: body::JsonPayload,
) -> Result<HttpResponse, ApiError> {
    let body = read_object(&state, payload).await?;
    let written = state.registry.report_case(&caller, &body, false).await?;
    Ok(accepted(written))
}

async fn read_object(
    state: &AppState,
    payload: body::JsonPayload,
) -> Result<Map<String, Value>, ApiError> {
    body::json_object(&payload.read(state.config.report_body()).await?)
}

async fn read_typed<T: serde::de::DeserializeOwned + utoipa::ToSchema>(
    state: &AppState,
    payload: body::JsonPayload,
) -> Result<T, ApiError> {
    body::typed(&payload.read(state.config.report_body()).await?)
}

/// Report the decision on a case reported without one.
#[utoipa::path(post, tag = "reporting", request_body = DecisionOnCase,
    security(("bearer" = [])), params(("case_id" = Uuid, Path, description = "the case")), responses(
    (status = 403, description = "not a reporter", body = Problem, content_type = "application/problem+json"),
    (status = 201, description = "stored", body = ReportAccepted),
    (status = 200, description = "already stored", body = ReportAccepted),
    (status = 404, description = "no such case", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "already decided, retracted, or report_id reused", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "every validation problem", body = Problem, content_type = "application/problem+json")))]
#[post("/cases/{case_id}/decision")]
pub async fn report_decision_on_case(
    state: web::Data<AppState>,
    caller: Caller,
    case_id: web::Path<Uuid>,
    payload: body::JsonPayload,
) -> Result<HttpResponse, ApiError> {
    let body = read_object(&state, payload).await?;
    let written = state
        .registry
        .report_decision(&caller, *case_id, &body)
        .await?;
    Ok(accepted(written))
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
#[utoipa::path(post, tag = "reporting", request_body = CorrectionRequest,
    security(("bearer" = [])), params(("case_id" = Uuid, Path, description = "the case")), responses(
    (status = 403, description = "not a reporter", body = Problem, content_type = "application/problem+json"),
    (status = 201, description = "stored", body = ReportAccepted),
    (status = 200, description = "already stored", body = ReportAccepted),
    (status = 404, description = "no such case", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "retracted, or report_id reused", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "every validation problem", body = Problem, content_type = "application/problem+json")))]
#[post("/cases/{case_id}/corrections")]
pub async fn correct_case(
    state: web::Data<AppState>,
    caller: Caller,
    case_id: web::Path<Uuid>,
    payload: body::JsonPayload,
) -> Result<HttpResponse, ApiError> {
    let request: CorrectionRequest = read_typed(&state, payload).await?;
    let (report_id, reason) = (request.report_id, request.reason);
    let written = state
        .registry
        .correct_case(&caller, *case_id, report_id, &request.changes, reason)
        .await?;
    Ok(accepted(written))
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
#[utoipa::path(post, tag = "reporting", request_body = RetractionRequest,
    security(("bearer" = [])), params(("case_id" = Uuid, Path, description = "the case")), responses(
    (status = 403, description = "not a reporter", body = Problem, content_type = "application/problem+json"),
    (status = 201, description = "stored", body = ReportAccepted),
    (status = 200, description = "already stored", body = ReportAccepted),
    (status = 404, description = "no such case", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "already retracted, or report_id reused", body = Problem, content_type = "application/problem+json")))]
#[post("/cases/{case_id}/retraction")]
pub async fn retract_case(
    state: web::Data<AppState>,
    caller: Caller,
    case_id: web::Path<Uuid>,
    payload: body::JsonPayload,
) -> Result<HttpResponse, ApiError> {
    let request: RetractionRequest = read_typed(&state, payload).await?;
    let written = state
        .registry
        .retract_case(&caller, *case_id, request.report_id, request.reason)
        .await?;
    Ok(accepted(written))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppealRequest {
    pub report_id: Uuid,
    pub lodged_date: NaiveDate,
}

/// Report that a decision was appealed. Answers the new appeal's `appeal_id`.
#[utoipa::path(post, tag = "reporting", request_body = AppealRequest,
    security(("bearer" = [])), params(("case_id" = Uuid, Path, description = "the case")), responses(
    (status = 403, description = "not a reporter", body = Problem, content_type = "application/problem+json"),
    (status = 201, description = "stored", body = ReportAccepted),
    (status = 200, description = "already stored", body = ReportAccepted),
    (status = 404, description = "no such case", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "the case has no decision, or dates are wrong", body = Problem, content_type = "application/problem+json")))]
#[post("/cases/{case_id}/appeals")]
pub async fn lodge_appeal(
    state: web::Data<AppState>,
    caller: Caller,
    case_id: web::Path<Uuid>,
    payload: body::JsonPayload,
) -> Result<HttpResponse, ApiError> {
    let request: AppealRequest = read_typed(&state, payload).await?;
    let written = state
        .registry
        .lodge_appeal(&caller, *case_id, request.report_id, request.lodged_date)
        .await?;
    Ok(accepted(written))
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
#[utoipa::path(post, tag = "reporting",
    request_body = AppealDecisionRequest, security(("bearer" = [])),
    params(("case_id" = Uuid, Path, description = "the case"), ("appeal_id" = Uuid, Path, description = "the appeal")),
    responses(
    (status = 403, description = "not a reporter", body = Problem, content_type = "application/problem+json"),
    (status = 201, description = "stored", body = ReportAccepted),
    (status = 200, description = "already stored", body = ReportAccepted),
    (status = 404, description = "no such case or appeal", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "already decided", body = Problem, content_type = "application/problem+json")))]
#[post("/cases/{case_id}/appeals/{appeal_id}/decision")]
pub async fn decide_appeal(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(Uuid, Uuid)>,
    payload: body::JsonPayload,
) -> Result<HttpResponse, ApiError> {
    let (case_id, appeal_id) = path.into_inner();
    let request: AppealDecisionRequest = read_typed(&state, payload).await?;
    let (report_id, date, outcome) = (request.report_id, request.decided_date, request.outcome);
    let written = state
        .registry
        .decide_appeal(&caller, case_id, appeal_id, report_id, date, outcome)
        .await?;
    Ok(accepted(written))
}

// The report bodies are validated field by field in the domain (`domain::report`), so
// their schemas are written out here, beside their handlers, for the description only.

/// A patient: either `fnr` (replaced by a keyed pseudonym on arrival, never stored) or
/// `birth_year` and `sex`; always `residence_county`. No other field, and no free text.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Patient {
    /// Fødselsnummer, D-number or H-number (11 digits).
    fnr: Option<String>,
    birth_year: Option<i32>,
    /// `female` or `male`; with `fnr` only for numbers that carry no sex (from 2032).
    sex: Option<String>,
    /// Two-digit county number (2024 numbering), e.g. `03` for Oslo.
    residence_county: String,
}

/// The group a group exemption concerns.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Group {
    expected_patients: u32,
    /// One line, at most 200 characters, about the group (never about a patient).
    description: String,
}

/// The grounds a decision assessed, each true or false; which ones depends on the scheme.
/// individual_exemption: marketing_authorisation, standard_treatment_unsuitable,
/// substantially_larger_effect. individual_access, reassessment_access, group_exemption:
/// benefit, resource_use, severity, and exceptional_on (benefit, severity, added_effect).
/// helfo_individual: differs_clearly_from_group. early_access: none.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Criteria {
    marketing_authorisation: Option<bool>,
    standard_treatment_unsuitable: Option<bool>,
    substantially_larger_effect: Option<bool>,
    benefit: Option<bool>,
    resource_use: Option<bool>,
    severity: Option<bool>,
    exceptional_on: Option<Vec<String>>,
    differs_clearly_from_group: Option<bool>,
}

/// An application (POST /api/v1/cases). Unknown fields are rejected.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CaseReport {
    /// Chosen by the reporting system; the idempotency key.
    report_id: Uuid,
    /// The organisation's own case number (letters, digits, - _ / . :), at most 64.
    case_ref: String,
    /// 9-digit organisation number of the deciding trust, RHF or Helsedirektoratet.
    deciding_org: String,
    /// The trust whose doctor applied, when not the deciding organisation.
    applying_org: Option<String>,
    /// individual_exemption, group_exemption, individual_access, reassessment_access,
    /// helfo_individual or early_access.
    scheme: String,
    /// Nye metoder id, e.g. ID2021_047.
    method_id: String,
    indication_icd10: String,
    atc: Option<String>,
    patient: Option<Patient>,
    group: Option<Group>,
    received_date: NaiveDate,
}

/// A case with its decision (POST /api/v1/decisions): the application's fields and these.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct DecisionReport {
    report_id: Uuid,
    case_ref: String,
    deciding_org: String,
    applying_org: Option<String>,
    scheme: String,
    method_id: String,
    indication_icd10: String,
    atc: Option<String>,
    patient: Option<Patient>,
    group: Option<Group>,
    received_date: NaiveDate,
    decided_date: NaiveDate,
    /// `granted` or `refused`.
    outcome: String,
    criteria: Criteria,
    /// criteria_not_met, no_expected_added_effect, not_under_assessment,
    /// insufficient_documentation, other. Only with outcome refused.
    refusal_reasons: Option<Vec<String>>,
}

/// The decision on a case reported without one (POST /api/v1/cases/{case_id}/decision).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct DecisionOnCase {
    report_id: Uuid,
    decided_date: NaiveDate,
    outcome: String,
    criteria: Criteria,
    refusal_reasons: Option<Vec<String>>,
}
