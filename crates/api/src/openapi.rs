//! The OpenAPI 3.1 description's frame: its title, and how callers authenticate. The
//! paths and their schemas are collected from the services the routes register (see
//! `routes::services`), so the description cannot drift from the routes.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

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
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

/// Documents on every operation the answers that come from the layers all routes share,
/// not from the handler: a token that is missing or unknown (401), the rate limits (429)
/// and an unreachable database (503) wherever a token is asked for; a malformed id in the
/// path (404); unknown or malformed query parameters (422); and for a body, its size
/// (413), its declared type (415), its JSON (400) and its fields (422). An answer the operation documents itself
/// keeps its own description.
pub(crate) fn document_shared_answers(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::ParameterIn;
    for item in openapi.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            let parameters = operation.parameters.as_deref().unwrap_or_default();
            let has = |place: ParameterIn| parameters.iter().any(|p| p.parameter_in == place);
            let (in_path, in_query) = (has(ParameterIn::Path), has(ParameterIn::Query));
            let body = operation.request_body.as_ref();
            let json_body = body.is_some_and(|b| b.content.contains_key("application/json"));
            let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
            let shared = [
                (
                    secured,
                    "401",
                    "no token, or an unknown, revoked or expired one",
                ),
                (secured, "429", "too many requests: see Retry-After"),
                (
                    secured,
                    "503",
                    "the database cannot be reached: see Retry-After",
                ),
                (
                    in_path,
                    "404",
                    "no such resource, or an id in the path is malformed",
                ),
                (in_query, "422", "an unknown or malformed query parameter"),
                (body.is_some(), "413", "the body is too large"),
                (
                    json_body,
                    "400",
                    "the body is not JSON, or names a key twice",
                ),
                (json_body, "422", "every problem with the body's fields"),
                (
                    json_body,
                    "415",
                    "the body is not declared as JSON (send Content-Type: application/json)",
                ),
            ];
            for (applies, status, description) in shared {
                if applies {
                    operation
                        .responses
                        .responses
                        .entry(status.to_string())
                        .or_insert_with(|| problem_answer(description));
                }
            }
        }
    }
}

/// An answer with an RFC 7807 problem document.
fn problem_answer(description: &str) -> utoipa::openapi::RefOr<utoipa::openapi::Response> {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let content = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("Problem")))
        .build();
    ResponseBuilder::new()
        .description(description)
        .content("application/problem+json", content)
        .build()
        .into()
}
