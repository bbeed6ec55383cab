//! Reading a case back: its current state and its history, for the organisation that
//! reported it. No identity number is ever stored; pseudonyms are not shown either.

use actix_web::{get, web, HttpResponse};
use chrono::{DateTime, Utc};
use domain::case::{case_stream, Case};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::{Caller, Role};
use crate::error::{ApiError, Problem};
use crate::registers::decode_all;
use crate::AppState;

/// Loads a case the caller may read: a reporter its own organisation's, an admin any.
async fn readable_case(
    state: &AppState,
    caller: &Caller,
    case_id: Uuid,
) -> Result<(Case, Vec<store::RecordedEvent>), ApiError> {
    caller.require(&[Role::Reporter, Role::Admin])?;
    let events = state.store.read_stream(&case_stream(case_id)).await?;
    let case = Case::from_events(&decode_all(&events)?)
        .ok_or_else(|| ApiError::NotFound(format!("no case {case_id}")))?;
    if caller.role == Role::Reporter {
        caller.require_org(&case.application.deciding_org)?;
    }
    Ok((case, events))
}

/// Removes patient pseudonyms from a document before it leaves the registry.
fn without_pseudonyms(mut value: Value) -> Value {
    match &mut value {
        Value::Object(map) => {
            map.remove("pseudonym");
            for child in map.values_mut() {
                *child = without_pseudonyms(child.take());
            }
        }
        Value::Array(items) => {
            for child in items.iter_mut() {
                *child = without_pseudonyms(child.take());
            }
        }
        _ => {}
    }
    value
}

/// The case as it now stands, with every correction applied.
#[utoipa::path(get, path = "/api/v1/cases/{case_id}", tag = "cases", security(("bearer" = [])),
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
    let (case, _) = readable_case(&state, &caller, *case_id).await?;
    let document = serde_json::to_value(&case).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(HttpResponse::Ok().json(without_pseudonyms(document)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryEntry {
    pub position: i64,
    pub stream_version: i64,
    pub event_type: String,
    pub recorded_at: DateTime<Utc>,
    /// The token that wrote the event.
    pub token_id: Option<Uuid>,
    #[schema(value_type = Object)]
    pub payload: Value,
}

/// The case's events, oldest first.
#[utoipa::path(get, path = "/api/v1/cases/{case_id}/history", tag = "cases", security(("bearer" = [])),
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
    let (_, events) = readable_case(&state, &caller, *case_id).await?;
    let history: Vec<HistoryEntry> = events
        .into_iter()
        .map(|event| HistoryEntry {
            position: event.position,
            stream_version: event.stream_version,
            event_type: event.event_type,
            recorded_at: event.recorded_at,
            token_id: event
                .metadata
                .get("token_id")
                .and_then(Value::as_str)
                .and_then(|id| Uuid::parse_str(id).ok()),
            payload: without_pseudonyms(event.payload),
        })
        .collect();
    Ok(HttpResponse::Ok().json(history))
}
