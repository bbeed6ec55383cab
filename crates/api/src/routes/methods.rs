//! The methods register: anyone with a token may read it; admins describe methods and
//! record their status changes. Methods are event sourced like cases.

use actix_web::{get, post, put, web, HttpResponse};
use registry::registers::{MethodDescriptionRequest, MethodStatusRequest, Recorded};

use crate::auth::Caller;
use crate::body;
use crate::error::{ApiError, Problem};
use crate::AppState;

/// Every method in the register.
#[utoipa::path(get, tag = "methods", security(("bearer" = [])),
    responses((status = 200, description = "the methods")))]
#[get("/methods")]
pub async fn list_methods(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(state.registry.methods(&caller).await?))
}

/// One method, with its statuses over time.
#[utoipa::path(get, tag = "methods", security(("bearer" = [])),
    params(("method_id" = String, Path, description = "Nye metoder id, e.g. ID2021_047")), responses(
    (status = 422, description = "not a Nye metoder id", body = Problem, content_type = "application/problem+json"),
    (status = 200, description = "the method"),
    (status = 404, description = "unknown method", body = Problem, content_type = "application/problem+json")))]
#[get("/methods/{method_id}")]
pub async fn get_method(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(state.registry.method(&caller, &path).await?))
}

/// Describe a method (admin). Creates the method when it is new.
#[utoipa::path(put, tag = "methods", security(("bearer" = [])),
    request_body = MethodDescriptionRequest,
    params(("method_id" = String, Path, description = "Nye metoder id")), responses(
    (status = 200, description = "the method as now described"),
    (status = 403, description = "not an admin", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "invalid", body = Problem, content_type = "application/problem+json")))]
#[put("/methods/{method_id}")]
pub async fn describe_method(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    payload: body::JsonPayload,
) -> Result<HttpResponse, ApiError> {
    let body = payload.read(state.config.report_body()).await?;
    let request: MethodDescriptionRequest = body::typed(&body)?;
    let method = state
        .registry
        .describe_method(&caller, &path, request)
        .await?;
    Ok(HttpResponse::Ok().json(method))
}

/// Record a status change of a method (admin).
#[utoipa::path(post, tag = "methods", security(("bearer" = [])),
    request_body = MethodStatusRequest,
    params(("method_id" = String, Path, description = "Nye metoder id")), responses(
    (status = 403, description = "not an admin", body = Problem, content_type = "application/problem+json"),
    (status = 201, description = "recorded; the method as it now stands"),
    (status = 200, description = "this change was already recorded"),
    (status = 404, description = "unknown method: describe it first", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "invalid", body = Problem, content_type = "application/problem+json")))]
#[post("/methods/{method_id}/status")]
pub async fn change_method_status(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    payload: body::JsonPayload,
) -> Result<HttpResponse, ApiError> {
    let body = payload.read(state.config.report_body()).await?;
    let request: MethodStatusRequest = body::typed(&body)?;
    let today = chrono::Utc::now().date_naive();
    let (recorded, method) = state
        .registry
        .change_method_status(&caller, &path, request, today)
        .await?;
    Ok(match recorded {
        Recorded::Now => HttpResponse::Created().json(method),
        Recorded::Before => HttpResponse::Ok().json(method),
    })
}
