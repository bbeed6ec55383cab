//! Research projects (admin) and their extracts (the project's researcher): the CSV,
//! streamed; its codebook; and the log of deliveries.

use actix_web::http::header;
use actix_web::{get, patch, post, web, HttpResponse};
use registry::research::{DeliveryView, ProjectView, ResearchProjectRequest};

use crate::auth::Caller;
use crate::body;
use crate::error::{ApiError, Problem};
use crate::AppState;

fn today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}

/// Approve a research project (admin).
#[utoipa::path(post, tag = "research", security(("bearer" = [])),
    request_body = ResearchProjectRequest, responses(
    (status = 201, description = "approved; the project", body = ProjectView),
    (status = 403, description = "not an admin", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "the project exists already", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "every problem with the terms", body = Problem, content_type = "application/problem+json")))]
#[post("/research-projects")]
pub async fn approve_project(
    state: web::Data<AppState>,
    caller: Caller,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = body::read(payload, state.config.report_body()).await?;
    let request: ResearchProjectRequest = body::typed(&body)?;
    let project = state
        .registry
        .approve_project(&caller, request, today())
        .await?;
    Ok(HttpResponse::Created().json(project))
}

/// Change a project's terms (admin): the fields given replace the old ones.
#[utoipa::path(patch, tag = "research", security(("bearer" = [])),
    request_body = ResearchProjectRequest,
    params(("project_id" = String, Path, description = "the project's id")), responses(
    (status = 200, description = "the project as it now stands", body = ProjectView),
    (status = 403, description = "not an admin", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "no such project", body = Problem, content_type = "application/problem+json"),
    (status = 409, description = "the project has ended", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "every problem with the terms", body = Problem, content_type = "application/problem+json")))]
#[patch("/research-projects/{project_id}")]
pub async fn change_project(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = body::read(payload, state.config.report_body()).await?;
    let change: ResearchProjectRequest = body::typed(&body)?;
    let project = state
        .registry
        .change_project(&caller, &path, change, today())
        .await?;
    Ok(HttpResponse::Ok().json(project))
}

/// End a project (admin): no more extracts, and its pseudonym key is destroyed.
#[utoipa::path(post, tag = "research", security(("bearer" = [])),
    params(("project_id" = String, Path, description = "the project's id")), responses(
    (status = 200, description = "ended; the project", body = ProjectView),
    (status = 403, description = "not an admin", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "no such project", body = Problem, content_type = "application/problem+json")))]
#[post("/research-projects/{project_id}/end")]
pub async fn end_project(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let project = state.registry.end_project(&caller, &path, today()).await?;
    Ok(HttpResponse::Ok().json(project))
}

/// The project's extract, one row per case, under disclosure control (its researcher).
#[utoipa::path(get, tag = "research", security(("bearer" = [])),
    params(("project_id" = String, Path, description = "the project's id")), responses(
    (status = 200, description = "the extract, streamed", content_type = "text/csv"),
    (status = 403, description = "not this project's researcher, or the project is unknown, not valid yet, expired or ended (the detail says which)", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "malformed project id", body = Problem, content_type = "application/problem+json")))]
#[get("/extracts/{project_id}/cases.csv")]
pub async fn extract_csv(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let chunks = state.registry.extract_csv(&caller, &path, today()).await?;
    let body = futures::stream::unfold(chunks, |mut chunks| async move {
        let chunk = chunks.recv().await?;
        let chunk = chunk
            .map(web::Bytes::from)
            .map_err(|_| std::io::Error::other("the extract ended short"));
        Some((chunk, chunks))
    });
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"cases.csv\"",
        ))
        .streaming(body))
}

/// The extract's codebook: a Frictionless Data Package descriptor (its researcher, admins).
#[utoipa::path(get, tag = "research", security(("bearer" = [])),
    params(("project_id" = String, Path, description = "the project's id")), responses(
    (status = 200, description = "the descriptor"),
    (status = 403, description = "not this project's researcher or an admin, or the project is not open", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "no such project", body = Problem, content_type = "application/problem+json")))]
#[get("/extracts/{project_id}/datapackage.json")]
pub async fn extract_datapackage(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let descriptor = state
        .registry
        .extract_datapackage(&caller, &path, today())
        .await?;
    Ok(HttpResponse::Ok().json(descriptor))
}

/// Every delivery of the project's extracts (its researcher, admins).
#[utoipa::path(get, tag = "research", security(("bearer" = [])),
    params(("project_id" = String, Path, description = "the project's id")), responses(
    (status = 200, description = "the deliveries, oldest first", body = [DeliveryView]),
    (status = 403, description = "not this project's researcher or an admin", body = Problem, content_type = "application/problem+json"),
    (status = 404, description = "no such project", body = Problem, content_type = "application/problem+json")))]
#[get("/extracts/{project_id}/log")]
pub async fn extract_log(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(state.registry.extract_log(&caller, &path).await?))
}
