//! The methods register: anyone with a token may read it; admins describe methods and
//! record their status changes. Methods are event sourced like cases.

use actix_web::{get, post, put, web, HttpResponse};
use chrono::NaiveDate;
use domain::codes::{AtcCode, MethodId};
use domain::events::RegistryEvent;
use domain::methods::{Method, MethodDescription, MethodStatus};
use domain::problems::Problems;
use serde::Deserialize;
use tracing_actix_web::RequestId;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::{Caller, Role};
use crate::body;
use crate::error::{ApiError, Problem};
use crate::ingest::event_metadata;
use crate::AppState;

const ALL_ROLES: &[Role] = &[
    Role::Reporter,
    Role::Reviewer,
    Role::Supervisor,
    Role::Researcher,
    Role::Admin,
];

fn method_id(path: &str) -> Result<MethodId, ApiError> {
    MethodId::parse(path).map_err(|e| ApiError::invalid("method_id", e.code(), e.to_string()))
}

/// Every method in the register.
#[utoipa::path(get, path = "/api/v1/methods", tag = "methods", security(("bearer" = [])),
    responses((status = 200, description = "the methods")))]
#[get("/methods")]
pub async fn list_methods(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    caller.require(ALL_ROLES)?;
    Ok(HttpResponse::Ok().json(state.registers.all_methods().await?))
}

/// One method, with its statuses over time.
#[utoipa::path(get, path = "/api/v1/methods/{method_id}", tag = "methods", security(("bearer" = [])),
    params(("method_id" = String, Path, description = "Nye metoder id, e.g. ID2021_047")), responses(
    (status = 200, description = "the method"),
    (status = 404, description = "unknown method", body = Problem, content_type = "application/problem+json")))]
#[get("/methods/{method_id}")]
pub async fn get_method(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(ALL_ROLES)?;
    let id = method_id(&path)?;
    let method = known_method(&state, &id).await?;
    Ok(HttpResponse::Ok().json(method))
}

async fn known_method(state: &AppState, id: &MethodId) -> Result<Method, ApiError> {
    state
        .registers
        .method(id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("{id} is not in the methods register")))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MethodDescriptionRequest {
    pub name: String,
    /// ATC codes of the method's substances.
    pub atc: Vec<String>,
    /// The indication in words, as Nye metoder states it.
    pub indication: String,
}

impl MethodDescriptionRequest {
    fn validate(self) -> Result<MethodDescription, ApiError> {
        let mut problems = Problems::new();
        let name = self.name.trim().to_string();
        if name.is_empty() || name.chars().count() > 200 {
            problems.add("name", "length", "name must be 1 to 200 characters");
        }
        let indication = self.indication.trim().to_string();
        if indication.is_empty() || indication.chars().count() > 500 {
            problems.add(
                "indication",
                "length",
                "indication must be 1 to 500 characters",
            );
        }
        let atc: Vec<Option<AtcCode>> = self
            .atc
            .iter()
            .enumerate()
            .map(|(i, code)| problems.take(&format!("atc[{i}]"), AtcCode::parse(code)))
            .collect();
        problems
            .finish(|| MethodDescription {
                name,
                atc: atc.into_iter().flatten().collect(),
                indication,
            })
            .map_err(ApiError::Invalid)
    }
}

/// Describe a method (admin). Creates the method when it is new.
#[utoipa::path(put, path = "/api/v1/methods/{method_id}", tag = "methods", security(("bearer" = [])),
    request_body = MethodDescriptionRequest,
    params(("method_id" = String, Path, description = "Nye metoder id")), responses(
    (status = 200, description = "the method as now described"),
    (status = 403, description = "not an admin", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "invalid", body = Problem, content_type = "application/problem+json")))]
#[put("/methods/{method_id}")]
pub async fn describe_method(
    state: web::Data<AppState>,
    caller: Caller,
    request_id: RequestId,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Admin])?;
    let id = method_id(&path)?;
    let body = body::read(payload, state.config.max_report_bytes).await?;
    let description = body::typed::<MethodDescriptionRequest>(&body)?.validate()?;
    let current = state.registers.method(&id).await?;
    if current.as_ref().and_then(|m| m.description.as_ref()) != Some(&description) {
        let event = RegistryEvent::MethodDescribed {
            method_id: id.clone(),
            description,
        };
        let event_id = Uuid::new_v4();
        let metadata = event_metadata(&caller, &request_id.to_string(), event_id);
        state
            .registers
            .record_method_event(&id, event, event_id, metadata)
            .await?;
    }
    Ok(HttpResponse::Ok().json(known_method(&state, &id).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MethodStatusRequest {
    /// `under_assessment`, `introduced`, `not_introduced` or `reassessment`.
    #[schema(value_type = String, example = "introduced")]
    pub status: MethodStatus,
    /// The date of the decision (Beslutningsforum, or Bestillerforum for an assessment).
    pub decision_date: NaiveDate,
    /// The date from which the decision applies: for `introduced`, when the method can
    /// actually be used. Defaults to the decision date.
    pub effective_from: Option<NaiveDate>,
}

/// Record a status change of a method (admin).
#[utoipa::path(post, path = "/api/v1/methods/{method_id}/status", tag = "methods", security(("bearer" = [])),
    request_body = MethodStatusRequest,
    params(("method_id" = String, Path, description = "Nye metoder id")), responses(
    (status = 201, description = "recorded; the method as it now stands"),
    (status = 200, description = "this change was already recorded"),
    (status = 404, description = "unknown method: describe it first", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "invalid", body = Problem, content_type = "application/problem+json")))]
#[post("/methods/{method_id}/status")]
pub async fn change_method_status(
    state: web::Data<AppState>,
    caller: Caller,
    request_id: RequestId,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Admin])?;
    let id = method_id(&path)?;
    let body = body::read(payload, state.config.max_report_bytes).await?;
    let request: MethodStatusRequest = body::typed(&body)?;
    if request.decision_date > chrono::Utc::now().date_naive() {
        return Err(ApiError::invalid(
            "decision_date",
            "date_in_future",
            "decision_date is in the future",
        ));
    }
    let method = known_method(&state, &id).await?;
    let already = method.statuses.iter().any(|change| {
        change.status == request.status
            && change.decision_date == request.decision_date
            && change.effective_from == request.effective_from
    });
    if already {
        return Ok(HttpResponse::Ok().json(method));
    }
    let event = RegistryEvent::MethodStatusChanged {
        method_id: id.clone(),
        status: request.status,
        decision_date: request.decision_date,
        effective_from: request.effective_from,
    };
    let event_id = Uuid::new_v4();
    let metadata = event_metadata(&caller, &request_id.to_string(), event_id);
    state
        .registers
        .record_method_event(&id, event, event_id, metadata)
        .await?;
    Ok(HttpResponse::Created().json(known_method(&state, &id).await?))
}
