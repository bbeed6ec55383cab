//! The organisation register: read by anyone with a token, kept by admins (trusts merge
//! and split; an organisation that no longer exists is marked inactive, never removed).

use actix_web::{get, post, put, web, HttpResponse};
use domain::organisation::OrganisationNumber;
use domain::organisation_register::{Organisation, OrganisationKind};
use domain::problems::Problems;
use serde::Deserialize;
use tracing_actix_web::RequestId;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::{Caller, Role};
use crate::body;
use crate::error::{ApiError, Problem};
use crate::ingest::event_metadata;
use crate::registers::OrganisationMap;
use crate::AppState;

/// Every organisation, active or not.
#[utoipa::path(get, path = "/api/v1/organisations", tag = "organisations", security(("bearer" = [])),
    responses((status = 200, description = "the organisations")))]
#[get("/organisations")]
pub async fn list_organisations(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[
        Role::Reporter,
        Role::Reviewer,
        Role::Supervisor,
        Role::Researcher,
        Role::Admin,
    ])?;
    let mut organisations = state.registers.all_organisations().await?;
    organisations.sort_by(|a, b| a.org_number.as_str().cmp(b.org_number.as_str()));
    Ok(HttpResponse::Ok().json(organisations))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganisationRequest {
    pub org_number: String,
    pub name: String,
    /// `rhf`, `hf`, `private_nonprofit` or `national_agency`.
    pub kind: String,
    /// The regional health authority it belongs to; for an RHF, itself.
    pub region_org_number: Option<String>,
    #[serde(default = "active_by_default")]
    pub active: bool,
}

fn active_by_default() -> bool {
    true
}

impl OrganisationRequest {
    fn validate(self, register: &OrganisationMap) -> Result<Organisation, ApiError> {
        let mut problems = Problems::new();
        let org_number = problems.take("org_number", OrganisationNumber::parse(&self.org_number));
        let name = self.name.trim().to_string();
        if name.is_empty() || name.chars().count() > 200 {
            problems.add("name", "length", "name must be 1 to 200 characters");
        }
        let kind = OrganisationKind::parse(&self.kind);
        if kind.is_none() {
            problems.add(
                "kind",
                "unknown_kind",
                "kind must be rhf, hf, private_nonprofit or national_agency",
            );
        }
        let region = self
            .region_org_number
            .as_deref()
            .and_then(|r| problems.take("region_org_number", OrganisationNumber::parse(r)));
        if let (Some(kind), Some(org_number)) = (kind, &org_number) {
            check_region(kind, org_number, region.as_ref(), register, &mut problems);
        }
        problems
            .finish(|| Organisation {
                org_number: org_number.expect("checked"),
                name,
                kind: kind.expect("checked"),
                region_org_number: region,
                active: self.active,
            })
            .map_err(ApiError::Invalid)
    }
}

fn check_region(
    kind: OrganisationKind,
    org_number: &OrganisationNumber,
    region: Option<&OrganisationNumber>,
    register: &OrganisationMap,
    problems: &mut Problems,
) {
    match (kind, region) {
        (OrganisationKind::NationalAgency, None) => {}
        (OrganisationKind::NationalAgency, Some(_)) => {
            problems.not_allowed("region_org_number", "for a national agency")
        }
        (OrganisationKind::Rhf, Some(region)) if region == org_number => {}
        (OrganisationKind::Rhf, _) => problems.add(
            "region_org_number",
            "region_mismatch",
            "an RHF is its own region",
        ),
        (_, None) => problems.required("region_org_number"),
        (_, Some(region)) => {
            let is_rhf = register
                .get(region)
                .is_some_and(|r| r.kind == OrganisationKind::Rhf);
            if !is_rhf {
                problems.add(
                    "region_org_number",
                    "unknown_region",
                    "region_org_number must be a regional health authority in the register",
                );
            }
        }
    }
}

/// Add an organisation (admin).
#[utoipa::path(post, path = "/api/v1/organisations", tag = "organisations", security(("bearer" = [])),
    request_body = OrganisationRequest, responses(
    (status = 201, description = "added"),
    (status = 409, description = "already in the register: use PUT", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "invalid", body = Problem, content_type = "application/problem+json")))]
#[post("/organisations")]
pub async fn add_organisation(
    state: web::Data<AppState>,
    caller: Caller,
    request_id: RequestId,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Admin])?;
    let body = body::read(payload, state.config.max_report_bytes).await?;
    let register = state.registers.organisations().await?;
    let organisation = body::typed::<OrganisationRequest>(&body)?.validate(&register)?;
    if register.contains_key(&organisation.org_number) {
        return Err(ApiError::Conflict(format!(
            "{} is already in the register; change it with PUT",
            organisation.org_number
        )));
    }
    record(&state, &caller, &request_id, organisation.clone()).await?;
    Ok(HttpResponse::Created().json(organisation))
}

/// Change an organisation (admin): a rename, a move, or marking it inactive after a merger.
#[utoipa::path(put, path = "/api/v1/organisations/{org_number}", tag = "organisations", security(("bearer" = [])),
    request_body = OrganisationRequest,
    params(("org_number" = String, Path, description = "9-digit organisation number")), responses(
    (status = 200, description = "changed"),
    (status = 404, description = "not in the register", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "invalid", body = Problem, content_type = "application/problem+json")))]
#[put("/organisations/{org_number}")]
pub async fn change_organisation(
    state: web::Data<AppState>,
    caller: Caller,
    request_id: RequestId,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Admin])?;
    let body = body::read(payload, state.config.max_report_bytes).await?;
    let register = state.registers.organisations().await?;
    let organisation = body::typed::<OrganisationRequest>(&body)?.validate(&register)?;
    if organisation.org_number.as_str() != path.as_str() {
        return Err(ApiError::invalid(
            "org_number",
            "path_mismatch",
            "org_number must match the path",
        ));
    }
    if !register.contains_key(&organisation.org_number) {
        return Err(ApiError::NotFound(format!(
            "{} is not in the register",
            organisation.org_number
        )));
    }
    record(&state, &caller, &request_id, organisation.clone()).await?;
    Ok(HttpResponse::Ok().json(organisation))
}

async fn record(
    state: &AppState,
    caller: &Caller,
    request_id: &RequestId,
    organisation: Organisation,
) -> Result<(), ApiError> {
    let event_id = Uuid::new_v4();
    let metadata = event_metadata(caller, &request_id.to_string(), event_id);
    state
        .registers
        .register_organisation(organisation, event_id, metadata)
        .await?;
    Ok(())
}
