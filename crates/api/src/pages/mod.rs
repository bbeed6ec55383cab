//! The web for people: server-rendered pages (maud, no script) for the medical directors'
//! meeting, the supervisors and the registry's operators. A sign-in page that takes a
//! reviewer's, supervisor's or admin's token and keeps it as the session cookie
//! (`session`), the dashboard at `/` (`dashboard`), the annual report at
//! `/rapport/{year}` with its tables as CSV (`report`), and the accessibility statement
//! (`accessibility`). Every form that changes state carries a CSRF token. The pages are
//! not part of the API's OpenAPI description; their security headers (a CSP that allows
//! the one stylesheet, and nothing inline) are in `security_headers`.
//!
//! Paths and their answers:
//! - `GET /logg-inn`, `POST /logg-inn`, `POST /logg-ut`
//! - `GET /` (signed in; else 303 to the sign-in page), `GET /rapport/{year}`,
//!   `GET /rapport/{year}/{table}.csv`
//! - `GET /tilgjengelighet`, `GET /static/app.css`, `GET /static/favicon.svg` (open)

mod accessibility;
mod dashboard;
mod error;
mod layout;
mod report;
mod session;
mod sign_in;
mod tables;
mod url;

use actix_web::{http::header, web, HttpResponse};

pub use session::CookiePolicy;

/// Whether `path` is one of the pages (not the API), for the security headers.
pub fn is_page(path: &str) -> bool {
    matches!(path, "/" | "/logg-inn" | "/logg-ut" | "/tilgjengelighet")
        || path.starts_with("/rapport/")
        || path.starts_with("/static/")
}

/// Registers the pages, ahead of the API's routes and its catch-all.
pub fn configure(config: &mut web::ServiceConfig, cookies: CookiePolicy) {
    config
        .app_data(web::Data::new(cookies))
        .service(
            web::resource("/")
                .app_data(query_config())
                .route(web::get().to(dashboard::dashboard)),
        )
        .service(
            web::resource("/logg-inn")
                .app_data(form_config())
                .app_data(query_config())
                .route(web::get().to(sign_in::form))
                .route(web::post().to(sign_in::sign_in)),
        )
        .service(
            web::resource("/logg-ut")
                .app_data(form_config())
                .route(web::post().to(sign_in::sign_out)),
        )
        .service(web::resource("/rapport/{year}").route(web::get().to(report::report_page)))
        .service(
            web::resource("/rapport/{year}/{table}.csv").route(web::get().to(report::report_csv)),
        )
        .service(web::resource("/tilgjengelighet").route(web::get().to(accessibility::statement)))
        .service(web::resource("/static/app.css").route(web::get().to(stylesheet)))
        .service(web::resource("/static/favicon.svg").route(web::get().to(icon)));
}

/// Forms are small; one that does not parse is answered with a page, not a problem
/// document.
fn form_config() -> web::FormConfig {
    web::FormConfig::default()
        .limit(8 * 1024)
        .error_handler(|_, _| {
            error::PageError::page(
                actix_web::http::StatusCode::BAD_REQUEST,
                "Skjemaet kunne ikke leses",
                "Last inn siden på nytt og send skjemaet derfra.",
            )
            .into()
        })
}

fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|_, _| {
        error::PageError::page(
            actix_web::http::StatusCode::BAD_REQUEST,
            "Adressen kunne ikke leses",
            "Gå til oversikten og velg utvalget der.",
        )
        .into()
    })
}

async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/css; charset=utf-8"))
        .body(include_str!("static/app.css"))
}

async fn icon() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "image/svg+xml"))
        .body(include_str!("static/favicon.svg"))
}
