//! The routes, one module per area.

pub(crate) mod batch_import;
pub(crate) mod cases;
pub(crate) mod methods;
pub(crate) mod operations;
pub(crate) mod organisations;
pub(crate) mod projections_admin;
pub(crate) mod reports;
pub(crate) mod signals;
pub(crate) mod stats;

use actix_web::{web, HttpResponse};

use crate::error::ApiError;

pub fn configure(config: &mut web::ServiceConfig) {
    // Extractor failures and unknown routes answer RFC 7807 problems too, and never echo
    // the path or query they failed on.
    config
        .app_data(web::PathConfig::default().error_handler(|_, _| {
            ApiError::NotFound("no such resource: an id in the path is malformed".into()).into()
        }))
        .app_data(web::QueryConfig::default().error_handler(|error, _| {
            ApiError::invalid("query", "invalid_query", error.to_string()).into()
        }))
        .default_service(web::to(|| async {
            Err::<HttpResponse, _>(ApiError::NotFound("no such resource".into()))
        }))
        .service(operations::healthz)
        .service(operations::readyz)
        .service(operations::metrics)
        .service(operations::openapi_json)
        .service(crate::openapi::docs_page())
        .service(
            web::scope("/api/v1")
                .service(reports::report_decision)
                .service(batch_import::report_batch)
                .service(reports::report_case)
                .service(reports::report_decision_on_case)
                .service(reports::correct_case)
                .service(reports::retract_case)
                .service(reports::lodge_appeal)
                .service(reports::decide_appeal)
                .service(cases::get_case)
                .service(cases::get_case_history)
                .service(methods::list_methods)
                .service(methods::get_method)
                .service(methods::describe_method)
                .service(methods::change_method_status)
                .service(organisations::list_organisations)
                .service(organisations::add_organisation)
                .service(organisations::change_organisation)
                .service(stats::decisions)
                .service(stats::applications)
                .service(stats::processing_times)
                .service(stats::appeals)
                .service(stats::reporting_quality)
                .service(signals::list_signals)
                .service(signals::funnel_data)
                .service(projections_admin::list_projections)
                .service(projections_admin::import_population),
        );
}
