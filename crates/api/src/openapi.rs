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
