//! Reading a case back: its current state and its history, for the organisation that
//! reported it.

use actix_web::{get, web, HttpResponse};
use registry::case_view::HistoryEntry;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::AppState;

/// The case as it now stands, with every correction applied.
#[utoipa::path(get, tag = "cases", security(("bearer" = [])),
    params(("case_id" = Uuid, Path, description = "the case")), responses(
    (status = 200, description = "the case"),
    (status = 403, description = "another organisation's case", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "no such case", body = Problem, content_type = "application/problem+json")))]
#[get("/cases/{case_id}")]
pub async fn get_case(
    state: web::Data<AppState>,
    caller: Caller,
    case_id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(state.registry.case(&caller, *case_id).await?))
}

/// The case's events, oldest first.
#[utoipa::path(get, tag = "cases", security(("bearer" = [])),
    params(("case_id" = Uuid, Path, description = "the case")), responses(
    (status = 200, description = "the events", body = Vec<HistoryEntry>),
    (status = 403, description = "another organisation's case", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "no such case", body = Problem, content_type = "application/problem+json")))]
#[get("/cases/{case_id}/history")]
pub async fn get_case_history(
    state: web::Data<AppState>,
    caller: Caller,
    case_id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(state.registry.case_history(&caller, *case_id).await?))
}
