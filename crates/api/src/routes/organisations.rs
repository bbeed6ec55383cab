//! The organisation register: read by anyone with a token, kept by admins (trusts merge
//! and split; an organisation that no longer exists is marked inactive, never removed).

use actix_web::{get, post, put, web, HttpResponse};
use registry::registers::OrganisationRequest;

use crate::auth::Caller;
use crate::body;
use crate::error::{ApiError, Problem};
use crate::AppState;

/// Every organisation, active or not.
#[utoipa::path(get, tag = "organisations", security(("bearer" = [])),
    responses((status = 200, description = "the organisations")))]
#[get("/organisations")]
pub async fn list_organisations(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(state.registry.organisations(&caller).await?))
}

/// Add an organisation (admin).
#[utoipa::path(post, tag = "organisations", security(("bearer" = [])),
    request_body = OrganisationRequest, responses(
    (status = 403, description = "not an admin", body = Problem, content_type = "application/problem+json"),
    (status = 201, description = "added"),
    (status = 409, description = "already in the register: use PUT", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "invalid", body = Problem, content_type = "application/problem+json")))]
#[post("/organisations")]
pub async fn add_organisation(
    state: web::Data<AppState>,
    caller: Caller,
    payload: body::JsonPayload,
) -> Result<HttpResponse, ApiError> {
    let body = payload.read(state.config.report_body()).await?;
    let request: OrganisationRequest = body::typed(&body)?;
    let organisation = state.registry.add_organisation(&caller, request).await?;
    Ok(HttpResponse::Created().json(organisation))
}

/// Change an organisation (admin): a rename, a move, or marking it inactive after a merger.
#[utoipa::path(put, tag = "organisations", security(("bearer" = [])),
    request_body = OrganisationRequest,
    params(("org_number" = String, Path, description = "9-digit organisation number")), responses(
    (status = 403, description = "not an admin", body = Problem, content_type = "application/problem+json"),
    (status = 200, description = "changed"),
    (status = 404, description = "not in the register", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "invalid", body = Problem, content_type = "application/problem+json")))]
#[put("/organisations/{org_number}")]
pub async fn change_organisation(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    payload: body::JsonPayload,
) -> Result<HttpResponse, ApiError> {
    let body = payload.read(state.config.report_body()).await?;
    let request: OrganisationRequest = body::typed(&body)?;
    let organisation = state
        .registry
        .change_organisation(&caller, &path, request)
        .await?;
    Ok(HttpResponse::Ok().json(organisation))
}
