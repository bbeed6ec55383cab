//! The interactive API reference at `/api/docs`: Scalar's viewer, vendored and served by
//! this binary (crates/api/assets/scalar/README.md says which build and under what
//! licence), over the description at `/api/v1/openapi.json`. Nothing is loaded from
//! elsewhere, so the page renders on a network without internet access.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use maud::{html, DOCTYPE};

/// The viewer's path carries its version, so a new build is never an old one cached.
pub(crate) const VIEWER_PATH: &str = "/api/docs/scalar-api-reference-1.76.0.js";
const VIEWER: &[u8] = include_bytes!("../assets/scalar/api-reference-1.76.0.standalone.js");

/// What the viewer may do: no fonts from its vendor's servers, no telemetry, no AI agent,
/// MCP or developer tools (they call out to the vendor), and no client button.
const VIEWER_CONFIGURATION: &str = r#"{"withDefaultFonts":false,"telemetry":false,"agent":{"disabled":true},"mcp":{"disabled":true},"showDeveloperTools":"never","hideClientButton":true,"documentDownloadType":"json"}"#;

pub(crate) fn configure(config: &mut web::ServiceConfig) {
    config
        .service(web::resource("/api/docs").route(web::get().to(page)))
        .service(
            web::resource(VIEWER_PATH)
                // Five megabytes of script, a fifth of that gzipped; it holds no secret.
                .wrap(actix_web::middleware::Compress::default())
                .route(web::get().to(viewer)),
        );
}

/// The page: the viewer reads its configuration and the description's address from the
/// `api-reference` element; the page itself runs no inline script.
async fn page() -> HttpResponse {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "unntak API reference" }
            }
            body {
                script id="api-reference" data-url="/api/v1/openapi.json"
                    data-configuration=(VIEWER_CONFIGURATION) {}
                script src=(VIEWER_PATH) {}
            }
        }
    };
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .body(markup.into_string())
}

async fn viewer() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/javascript; charset=utf-8"))
        .body(VIEWER)
}
