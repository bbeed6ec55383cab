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

use std::sync::OnceLock;

use actix_web::{web, HttpRequest, HttpResponse};
use utoipa::OpenApi;

use crate::error::ApiError;

/// Why no route took a request: a path the API has, asked with another method (405, with
/// the methods it answers), or no such path (404). The paths and their methods are read
/// from the API's own OpenAPI description, so they cannot drift from the routes.
fn unmatched(method: &str, path: &str) -> ApiError {
    match documented_paths()
        .iter()
        .find(|(template, _)| path_matches(template, path))
    {
        Some((_, methods)) if !methods.contains(&method) => {
            ApiError::MethodNotAllowed(methods.clone())
        }
        _ => ApiError::NotFound("no such resource".into()),
    }
}

/// Each documented path template with the methods it answers.
fn documented_paths() -> &'static [(String, Vec<&'static str>)] {
    static PATHS: OnceLock<Vec<(String, Vec<&'static str>)>> = OnceLock::new();
    PATHS.get_or_init(|| {
        crate::openapi::ApiDoc::openapi()
            .paths
            .paths
            .into_iter()
            .map(|(template, item)| {
                let operations = [
                    ("GET", item.get.is_some()),
                    ("POST", item.post.is_some()),
                    ("PUT", item.put.is_some()),
                    ("PATCH", item.patch.is_some()),
                    ("DELETE", item.delete.is_some()),
                ];
                let methods = operations
                    .into_iter()
                    .filter_map(|(method, present)| present.then_some(method))
                    .collect();
                (template, methods)
            })
            .collect()
    })
}

/// Whether `path` fits `template`, where a `{name}` segment stands for any one segment.
fn path_matches(template: &str, path: &str) -> bool {
    let (template, path): (Vec<&str>, Vec<&str>) =
        (template.split('/').collect(), path.split('/').collect());
    template.len() == path.len()
        && template.iter().zip(&path).all(|(expected, given)| {
            expected == given || (expected.starts_with('{') && !given.is_empty())
        })
}

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
        .default_service(web::to(|request: HttpRequest| async move {
            Err::<HttpResponse, _>(unmatched(request.method().as_str(), request.path()))
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
