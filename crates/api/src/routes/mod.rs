//! The routes, one module per area.

pub(crate) mod batch_import;
pub(crate) mod cases;
pub(crate) mod methods;
pub(crate) mod operations;
pub(crate) mod organisations;
pub(crate) mod reports;

use actix_web::web;

pub fn configure(config: &mut web::ServiceConfig) {
    config
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
                .service(organisations::change_organisation),
        );
}
