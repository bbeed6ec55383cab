//! Batch import: up to 5 000 decisions in one request, answered with an import summary.
//! `atomic=true` (the default) writes nothing unless every row is valid; `dry_run=true`
//! validates and writes nothing.

use actix_web::{post, web, HttpResponse};
use registry::batch::{BatchOptions, ImportSummary};
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;

use super::reports::DecisionReport;
use crate::auth::Caller;
use crate::body;
use crate::error::{ApiError, Problem};
use crate::query::Query;
use crate::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct BatchQuery {
    /// Validate only; write nothing.
    #[serde(default)]
    dry_run: bool,
    /// Write nothing unless every row is valid (default true).
    #[serde(default = "yes")]
    atomic: bool,
}

fn yes() -> bool {
    true
}

/// Report many decisions at once: a JSON array of bodies as for POST /api/v1/decisions.
/// An atomic import that wrote nothing because rows were rejected answers 422 with the
/// same summary; a dry run answers 200, as it writes nothing by request.
#[utoipa::path(post, tag = "reporting", params(BatchQuery),
    request_body = Vec<DecisionReport>, security(("bearer" = [])), responses(
    (status = 403, description = "not a reporter", body = Problem, content_type = "application/problem+json"),
    (status = 200, description = "the import summary", body = ImportSummary),
    (status = 400, description = "not a JSON array", body = Problem, content_type = "application/problem+json"),
    (status = 413, description = "too large or too many rows", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "atomic, and rows were rejected: nothing written (the summary); or a query parameter unknown or malformed (a problem)",
        content((ImportSummary = "application/json"), (Problem = "application/problem+json")))))]
#[post("/decisions/batch")]
pub async fn report_batch(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<BatchQuery>,
    payload: body::JsonPayload,
) -> Result<HttpResponse, ApiError> {
    let body = payload.read(state.config.batch_body()).await?;
    let Value::Array(rows) = body::json_value(&body)? else {
        return Err(ApiError::MalformedBody(
            "the body must be a JSON array of decisions".into(),
        ));
    };
    if rows.len() > state.config.max_batch_rows {
        return Err(ApiError::PayloadTooLarge(state.config.max_batch_rows));
    }
    let options = BatchOptions {
        dry_run: query.dry_run,
        atomic: query.atomic,
    };
    let summary = state
        .registry
        .import_decisions(&caller, &rows, options)
        .await?;
    Ok(match summary.refused_for_rejected_rows() {
        true => HttpResponse::UnprocessableEntity().json(summary),
        false => HttpResponse::Ok().json(summary),
    })
}
