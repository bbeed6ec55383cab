//! The routes, one module per area.

pub(crate) mod batch_import;
pub(crate) mod cases;
pub(crate) mod methods;
pub(crate) mod operations;
pub(crate) mod organisations;
pub(crate) mod projections_admin;
pub(crate) mod reports;
pub(crate) mod research;
pub(crate) mod signals;
pub(crate) mod stats;

use std::sync::OnceLock;

use actix_web::{web, App, HttpRequest, HttpResponse};
use utoipa::OpenApi;
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_actix_web::{scope, AppExt};

use crate::error::ApiError;
use crate::openapi::ApiDoc;

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
        api_description()
            .paths
            .paths
            .iter()
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
                (template.clone(), methods)
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

/// The API description: the frame of `ApiDoc` with the paths and schemas of every
/// service `services` registers, and the answers the shared layers give.
pub fn api_description() -> &'static utoipa::openapi::OpenApi {
    static DESCRIPTION: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    DESCRIPTION.get_or_init(|| {
        let (_, mut description) = App::new()
            .into_utoipa_app()
            .openapi(ApiDoc::openapi())
            .configure(services)
            .split_for_parts();
        crate::openapi::document_shared_answers(&mut description);
        description
    })
}

pub fn configure(config: &mut web::ServiceConfig) {
    // Extractor failures and unknown routes answer RFC 7807 problems too, and never echo
    // the path or query they failed on (queries are read by `crate::query::Query`).
    config
        .app_data(web::PathConfig::default().error_handler(|_, _| {
            ApiError::NotFound("no such resource: an id in the path is malformed".into()).into()
        }))
        .default_service(web::to(|request: HttpRequest| async move {
            Err::<HttpResponse, _>(unmatched(request.method().as_str(), request.path()))
        }))
        // The interactive documentation, served from this binary alone.
        .configure(crate::api_docs::configure);
    ServiceConfig::new(config).configure(services);
}

/// The API's one route list: every service registered here is served and documented.
fn services(config: &mut ServiceConfig) {
    config
        .service(operations::healthz)
        .service(operations::readyz)
        .service(operations::metrics)
        .service(operations::openapi_json)
        .service(
            scope::scope("/api/v1")
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
                .service(projections_admin::import_population)
                .service(research::approve_project)
                .service(research::change_project)
                .service(research::end_project)
                .service(research::extract_csv)
                .service(research::extract_datapackage)
                .service(research::extract_log),
        );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_description_lists_every_route_under_its_full_path() {
        let paths = &api_description().paths.paths;
        for path in [
            "/healthz",
            "/api/v1/openapi.json",
            "/api/v1/decisions",
            "/api/v1/decisions/batch",
            "/api/v1/cases/{case_id}/appeals/{appeal_id}/decision",
            "/api/v1/stats/decisions",
            "/api/v1/stats/funnel",
            "/api/v1/population/{year}",
        ] {
            assert!(
                paths.contains_key(path),
                "{path} missing: {:?}",
                paths.keys()
            );
        }
        assert!(paths.keys().all(|p| !p.starts_with("/api/v1/api/v1")));
        assert_eq!(paths.len(), 34, "{:?}", paths.keys());
    }

    #[test]
    fn every_operation_documents_the_answers_of_the_shared_layers() {
        let description = serde_json::to_value(api_description()).expect("a document");
        for (path, item) in description["paths"].as_object().expect("paths") {
            for (method, operation) in item.as_object().expect("operations") {
                let answers = &operation["responses"];
                let documents = |status: &str| answers.get(status).is_some();
                let secured = operation["security"]
                    .as_array()
                    .is_some_and(|s| !s.is_empty());
                let parameters = operation["parameters"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                let has = |place: &str| parameters.iter().any(|p| p["in"] == place);
                let name = format!("{method} {path}");
                if secured {
                    assert!(
                        documents("401") && documents("429") && documents("503"),
                        "{name}"
                    );
                }
                if has("path") {
                    assert!(documents("404"), "{name}");
                }
                if has("query") {
                    assert!(documents("422"), "{name}");
                }
                if operation.get("requestBody").is_some() {
                    assert!(documents("413"), "{name}");
                }
            }
        }
    }

    #[test]
    fn each_statistic_describes_its_rows() {
        let description = serde_json::to_value(api_description()).expect("a document");
        let schemas = &description["components"]["schemas"];
        for (row, field) in [
            ("DecisionRow", "grant_rate_ci95"),
            ("ApplicationRow", "per_100k"),
            ("ApplicationRow", "per_100k_standardised"),
            ("ApplicationRow", "rate_basis"),
            ("PopulationImported", "by_age_and_sex"),
            ("ProcessingTimeRow", "median_days"),
            ("AppealRow", "overturned"),
            ("ReportingQualityRow", "share_complete_criteria"),
            ("FunnelRow", "limits_998"),
        ] {
            // A row with its group's keys flattened in is all of the keys and its own fields.
            let schema = &schemas[row];
            let parts = schema["allOf"]
                .as_array()
                .cloned()
                .unwrap_or_else(|| vec![schema.clone()]);
            assert!(
                parts
                    .iter()
                    .any(|part| part["properties"][field].is_object()),
                "{row}.{field}: {schema}"
            );
        }
        let decisions = &description["paths"]["/api/v1/stats/decisions"]["get"];
        let answer =
            decisions["responses"]["200"]["content"]["application/json"]["schema"].to_string();
        assert!(answer.contains("DecisionRow"), "{answer}");
    }
}
