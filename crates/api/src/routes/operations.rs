//! Probes and metrics for operators, and the API description.

use actix_web::{get, web, HttpResponse};
use serde_json::json;
use utoipa::OpenApi;

use crate::error::ApiError;
use crate::openapi::ApiDoc;
use crate::AppState;

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "up")))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// The database answers, every migration this build knows is applied, and no projection
/// lags more than the configured bound behind the store.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses(
    (status = 200, description = "ready"),
    (status = 503, description = "not ready", body = crate::error::Problem, content_type = "application/problem+json")))]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let applied: Option<i64> =
        sqlx::query_scalar("select max(version) from _sqlx_migrations where success")
            .fetch_one(&state.pool)
            .await
            .map_err(|e| ApiError::Unavailable(format!("the database does not answer: {e}")))?;
    let known = store::MIGRATOR.iter().map(|m| m.version).max();
    if applied < known {
        return Err(ApiError::Unavailable(format!(
            "migrations are behind: applied {applied:?}, this build needs {known:?}"
        )));
    }
    let projections = projections::status::projection_status(&state.pool)
        .await
        .map_err(|e| ApiError::Unavailable(format!("projection status: {e}")))?;
    if let Some(behind) = projections
        .iter()
        .find(|p| p.lag > state.config.max_projection_lag)
    {
        return Err(ApiError::Unavailable(format!(
            "projection {} lags {} events behind the store (bound {})",
            behind.name, behind.lag, state.config.max_projection_lag
        )));
    }
    Ok(HttpResponse::Ok()
        .json(json!({"status": "ready", "migration": applied, "projections": projections})))
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(get, path = "/metrics", tag = "operations", responses((status = 200, description = "metrics", content_type = "text/plain")))]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render())
}

/// This API's OpenAPI 3.1 description, generated from the code.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "operations", responses((status = 200, description = "OpenAPI document")))]
#[get("/api/v1/openapi.json")]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
