//! The OpenAPI 3.1 description, generated from the handlers' annotations and these
//! schemas. Report bodies are validated field by field (see `domain::report`), so their
//! schemas are written out here for the description only.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_scalar::{Scalar, Servable};

use crate::routes;

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
    components(schemas(
        routes::reports::Patient,
        routes::reports::Group,
        routes::reports::Criteria,
        routes::reports::CaseReport,
        routes::reports::DecisionReport,
        routes::reports::DecisionOnCase
    ))
)]
pub struct ApiDoc;

/// Interactive documentation at /api/docs. The page loads its viewer script from a CDN;
/// the description itself is served by this API.
pub fn docs_page() -> Scalar<utoipa::openapi::OpenApi> {
    Scalar::with_url("/api/docs", ApiDoc::openapi())
}
