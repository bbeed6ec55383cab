//! Probes and metrics for operators, and the API description.

use actix_web::{get, web, FromRequest, HttpRequest, HttpResponse};
use registry::Role;
use serde_json::json;

use crate::auth::{bearer_token, Caller};
use crate::error::ApiError;
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
    let readiness = state
        .registry
        .readiness(state.config.max_projection_lag)
        .await?;
    Ok(HttpResponse::Ok().json(readiness))
}

/// Prometheus metrics in the text exposition format, for the metrics token
/// (`UNNTAK_METRICS_TOKEN`, given to the scraper) or an admin token.
#[utoipa::path(get, path = "/metrics", tag = "operations", security(("bearer" = [])), responses(
    (status = 403, description = "a token other than the metrics token or an admin token", body = crate::error::Problem, content_type = "application/problem+json"),
    (status = 200, description = "metrics", content_type = "text/plain"),
    (status = 401, description = "no metrics or admin token", body = crate::error::Problem, content_type = "application/problem+json")))]
#[get("/metrics")]
pub async fn metrics(
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    if !state
        .config
        .is_metrics_token(bearer_token(&request).as_deref())
    {
        let Caller(actor) = Caller::extract(&request).await?;
        actor.require(&[Role::Admin])?;
    }
    let stopped = state.registry.stopped_projections().await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(
            state
                .metrics
                .render(state.registry.events_appended(), &stopped),
        ))
}

/// This API's OpenAPI 3.1 description, generated from the code.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "operations", responses((status = 200, description = "OpenAPI document")))]
#[get("/api/v1/openapi.json")]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(super::api_description())
}
