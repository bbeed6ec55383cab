//! The OpenAPI 3.1 description, generated from the handlers' annotations and these
//! schemas. Report bodies are validated field by field (see `domain::report`), so their
//! schemas are written out here for the description only.

use chrono::NaiveDate;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_scalar::{Scalar, Servable};
use uuid::Uuid;

use crate::routes;

/// A patient: either `fnr` (replaced by a keyed pseudonym on arrival, never stored) or
/// `birth_year` and `sex`; always `residence_county`. No other field, and no free text.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Patient {
    /// Fødselsnummer, D-number or H-number (11 digits).
    fnr: Option<String>,
    birth_year: Option<i32>,
    /// `female` or `male`; with `fnr` only for numbers that carry no sex (from 2032).
    sex: Option<String>,
    /// Two-digit county number (2024 numbering), e.g. `03` for Oslo.
    residence_county: String,
}

/// The group a group exemption concerns.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Group {
    expected_patients: u32,
    /// One line, at most 200 characters, about the group (never about a patient).
    description: String,
}

/// The grounds a decision assessed, each true or false; which ones depends on the scheme.
/// individual_exemption: marketing_authorisation, standard_treatment_unsuitable,
/// substantially_larger_effect. individual_access, reassessment_access, group_exemption:
/// benefit, resource_use, severity, and exceptional_on (benefit, severity, added_effect).
/// helfo_individual: differs_clearly_from_group. early_access: none.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct Criteria {
    marketing_authorisation: Option<bool>,
    standard_treatment_unsuitable: Option<bool>,
    substantially_larger_effect: Option<bool>,
    benefit: Option<bool>,
    resource_use: Option<bool>,
    severity: Option<bool>,
    exceptional_on: Option<Vec<String>>,
    differs_clearly_from_group: Option<bool>,
}

/// An application (POST /api/v1/cases). Unknown fields are rejected.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CaseReport {
    /// Chosen by the reporting system; the idempotency key.
    report_id: Uuid,
    /// The organisation's own case number (letters, digits, - _ / . :), at most 64.
    case_ref: String,
    /// 9-digit organisation number of the deciding trust, RHF or Helsedirektoratet.
    deciding_org: String,
    /// The trust whose doctor applied, when not the deciding organisation.
    applying_org: Option<String>,
    /// individual_exemption, group_exemption, individual_access, reassessment_access,
    /// helfo_individual or early_access.
    scheme: String,
    /// Nye metoder id, e.g. ID2021_047.
    method_id: String,
    indication_icd10: String,
    atc: Option<String>,
    patient: Option<Patient>,
    group: Option<Group>,
    received_date: NaiveDate,
}

/// A case with its decision (POST /api/v1/decisions): the application's fields and these.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct DecisionReport {
    report_id: Uuid,
    case_ref: String,
    deciding_org: String,
    applying_org: Option<String>,
    scheme: String,
    method_id: String,
    indication_icd10: String,
    atc: Option<String>,
    patient: Option<Patient>,
    group: Option<Group>,
    received_date: NaiveDate,
    decided_date: NaiveDate,
    /// `granted` or `refused`.
    outcome: String,
    criteria: Criteria,
    /// criteria_not_met, no_expected_added_effect, not_under_assessment,
    /// insufficient_documentation, other. Only with outcome refused.
    refusal_reasons: Option<Vec<String>>,
}

/// The decision on a case reported without one (POST /api/v1/cases/{case_id}/decision).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct DecisionOnCase {
    report_id: Uuid,
    decided_date: NaiveDate,
    outcome: String,
    criteria: Criteria,
    refusal_reasons: Option<Vec<String>>,
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "unntak",
        description = "Nasjonalt register over unntak og individuell tilgang til nye metoder."
    ),
    modifiers(&BearerAuth),
    paths(
        routes::reports::report_decision,
        routes::batch_import::report_batch,
        routes::reports::report_case,
        routes::reports::report_decision_on_case,
        routes::reports::correct_case,
        routes::reports::retract_case,
        routes::reports::lodge_appeal,
        routes::reports::decide_appeal,
        routes::cases::get_case,
        routes::cases::get_case_history,
        routes::methods::list_methods,
        routes::methods::get_method,
        routes::methods::describe_method,
        routes::methods::change_method_status,
        routes::organisations::list_organisations,
        routes::organisations::add_organisation,
        routes::organisations::change_organisation,
        routes::stats::decisions,
        routes::stats::applications,
        routes::stats::processing_times,
        routes::stats::appeals,
        routes::stats::reporting_quality,
        routes::signals::list_signals,
        routes::signals::funnel_data,
        routes::projections_admin::list_projections,
        routes::projections_admin::import_population,
        routes::operations::healthz,
        routes::operations::readyz,
        routes::operations::metrics,
        routes::operations::openapi_json,
    ),
    components(schemas(Patient, Group, Criteria, CaseReport, DecisionReport, DecisionOnCase))
)]
pub struct ApiDoc;

/// Interactive documentation at /api/docs. The page loads its viewer script from a CDN;
/// the description itself is served by this API.
pub fn docs_page() -> Scalar<utoipa::openapi::OpenApi> {
    Scalar::with_url("/api/docs", ApiDoc::openapi())
}
