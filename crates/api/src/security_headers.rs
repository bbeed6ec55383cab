//! Security headers on every response: the API serves data only, so its answers may load
//! nothing and be framed by nobody (the pages for people load their one stylesheet); nothing it answers may be cached (cases and
//! statistics are for the token that asked).

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

/// The documentation page loads its viewer; it still runs no inline script.
const DOCS_POLICY: &str = "default-src 'self'; script-src 'self' https://cdn.jsdelivr.net; \
     style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; font-src 'self' data: https://cdn.jsdelivr.net https://fonts.scalar.com; \
     img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

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
    let page = crate::pages::is_page(request.path());
    let mut response = next.call(request).await?;
    let headers = response.headers_mut();
    for (name, value) in FIXED {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
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
