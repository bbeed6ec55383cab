//! Security headers on every response: the API serves data only, so its answers may load
//! nothing and be framed by nobody (the pages for people load their one stylesheet, the
//! API reference its one viewer script); nothing it answers may be cached (cases and
//! statistics are for the token that asked), but for that script.

use actix_web::dev::ServiceResponse;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{body::MessageBody, dev::ServiceRequest, Error};

/// The policy of every answer but the interactive documentation.
const API_POLICY: &str =
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// The pages for people: their one stylesheet and icon from this server, forms only to
/// this server, no script at all.
const PAGE_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The documentation page loads its viewer from this server (crates/api/src/api_docs.rs)
/// and nothing from anywhere else; it runs no inline script. The viewer sets styles inline.
const DOCS_POLICY: &str =
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     font-src 'self' data:; img-src 'self' data:; connect-src 'self'; \
     frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

const FIXED: [(&str, &str); 5] = [
    (
        "strict-transport-security",
        "max-age=63072000; includeSubDomains",
    ),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "no-referrer"),
    ("x-frame-options", "DENY"),
    ("cache-control", "no-store"),
];

pub async fn add(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let docs = request.path().starts_with("/api/docs");
    let viewer = request.path() == crate::api_docs::VIEWER_PATH;
    let page = crate::pages::is_page(request.path());
    let mut response = next.call(request).await?;
    let headers = response.headers_mut();
    for (name, value) in FIXED {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    if viewer {
        // The same for everyone and versioned in its path: it may be kept.
        headers.insert(
            HeaderName::from_static("cache-control"),
            HeaderValue::from_static("public, max-age=31536000, immutable"),
        );
    }
    let policy = match (docs, page) {
        (true, _) => DOCS_POLICY,
        (_, true) => PAGE_POLICY,
        _ => API_POLICY,
    };
    headers.insert(
        HeaderName::from_static("content-security-policy"),
        HeaderValue::from_static(policy),
    );
    Ok(response)
}
