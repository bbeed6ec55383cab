//! Sessions for people. The session cookie carries the person's own bearer token, so every
//! page request goes through the same per-request token lookup as the API
//! (`auth::Authenticator`): revoking the token ends the session at once, on every
//! instance, and there is no session table to keep. The cookie is HttpOnly (no script
//! reads it), SameSite=Strict (no other site's page sends it) and Secure unless the server
//! is bound to loopback.
//!
//! CSRF: every form that changes state carries a token in a hidden field. Signed in, it is
//! derived from the session token (a synchroniser token no one can compute without the
//! session itself, and the same on every instance); on the sign-in form, before there is a
//! session, it is a random value also set as a cookie of its own (double submit).

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use rand::RngCore;
use registry::{Actor, Role};
use sha2::{Digest, Sha256};
use tracing_actix_web::RequestId;

use super::error::PageError;
use crate::auth::Authenticator;
use crate::error::ApiError;

/// The session cookie: the person's token.
pub const SESSION_COOKIE: &str = "unntak_okt";
/// The sign-in form's CSRF cookie, before there is a session.
pub const SIGN_IN_CSRF_COOKIE: &str = "unntak_csrf";
/// How long a session lasts in the browser: a working day.
const SESSION_SECONDS: u32 = 8 * 3600;
const SIGN_IN_CSRF_SECONDS: u32 = 3600;

/// The roles that see the pages: the medical directors' meeting, the supervisors, and the
/// registry's operators. Reporters and researchers work through the API only.
pub const PAGE_ROLES: &[Role] = &[Role::Reviewer, Role::Supervisor, Role::Admin];

/// How cookies are set by this server.
#[derive(Debug, Clone, Copy)]
pub struct CookiePolicy {
    /// Whether cookies carry `Secure`: always, unless the server is bound to loopback
    /// (a demo or a test on plain HTTP, which browsers would otherwise never send back).
    pub secure: bool,
}

impl CookiePolicy {
    /// A `Set-Cookie` value for `name`, HttpOnly, SameSite=Strict, Path=/.
    pub fn cookie(&self, name: &str, value: &str, max_age: u32) -> String {
        let secure = if self.secure { "; Secure" } else { "" };
        format!("{name}={value}; Max-Age={max_age}; Path=/; HttpOnly; SameSite=Strict{secure}")
    }

    pub fn session(&self, token: &str) -> String {
        self.cookie(SESSION_COOKIE, token, SESSION_SECONDS)
    }

    pub fn sign_in_csrf(&self, value: &str) -> String {
        self.cookie(SIGN_IN_CSRF_COOKIE, value, SIGN_IN_CSRF_SECONDS)
    }

    /// A `Set-Cookie` value that removes the cookie `name`.
    pub fn removal(&self, name: &str) -> String {
        self.cookie(name, "", 0)
    }
}

/// The value of the cookie `name` in the request, if it has one that is not empty.
pub fn cookie(request: &HttpRequest, name: &str) -> Option<String> {
    request
        .headers()
        .get_all(header::COOKIE)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, value)| *key == name && !value.is_empty())
        .map(|(_, value)| value.to_string())
}

/// The CSRF token of a session: a digest of the session token under a label of its own,
/// so it says nothing about the token, and is neither the stored token hash nor usable as
/// one.
pub fn session_csrf(session_token: &str) -> String {
    let mut digest = Sha256::new();
    digest.update(b"unntak web csrf v1\n");
    digest.update(session_token.as_bytes());
    hex::encode(digest.finalize())
}

/// A fresh random value for the sign-in form's double-submit cookie.
pub fn random_csrf() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Whether a form's CSRF field equals what was expected, in time that does not depend on
/// where they differ.
pub fn csrf_matches(given: Option<&str>, expected: &str) -> bool {
    let Some(given) = given else { return false };
    !expected.is_empty()
        && given.len() == expected.len()
        && given
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// A signed-in person: a reviewer, supervisor or admin whose session token is valid now.
/// Without a session (or with one whose token no longer works) a page redirects to the
/// sign-in page, which comes back here afterwards.
pub struct Person {
    pub actor: Actor,
    /// The CSRF token this person's forms carry.
    pub csrf: String,
}

impl FromRequest for Person {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<Person, PageError>>>>;

    fn from_request(request: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let authenticator = request
            .app_data::<web::Data<Authenticator>>()
            .expect("the Authenticator is registered as app data")
            .clone();
        let token = cookie(request, SESSION_COOKIE);
        let address = request.peer_addr().map(|peer| peer.ip());
        let back_to = back_to(request);
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(|id| id.to_string());
        Box::pin(async move {
            let Some(token) = token else {
                return Err(PageError::SignIn { back_to });
            };
            let actor = match authenticator.authenticate(&token, address).await {
                Ok(actor) => actor,
                Err(ApiError::Unauthenticated) => return Err(PageError::SignIn { back_to }),
                Err(other) => return Err(other.into()),
            };
            if !PAGE_ROLES.contains(&actor.role) {
                return Err(PageError::forbidden(NOT_FOR_ROLE));
            }
            Ok(Person {
                csrf: session_csrf(&token),
                actor: match request_id {
                    Some(id) => actor.with_request_id(id),
                    None => actor,
                },
            })
        })
    }
}

/// What a reporter or researcher is told.
pub const NOT_FOR_ROLE: &str = "Disse sidene er for fagdirektørmøtet, tilsynsmyndighetene og \
     registerets drift (nøkler med rollen reviewer, supervisor eller admin). Rapportører og \
     forskere bruker registerets API.";

/// Where the sign-in page sends the person afterwards: the page asked for.
fn back_to(request: &HttpRequest) -> String {
    match request.query_string() {
        "" => request.path().to_string(),
        query => format!("{}?{query}", request.path()),
    }
}

/// `next` if it is one of these pages (a path on this server, never another site), else
/// the dashboard.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(next)
            if next.starts_with('/')
                && !next.starts_with("//")
                && !next.contains('\\')
                && !next.chars().any(char::is_control)
                && super::is_page(next.split('?').next().unwrap_or(""))
                && !next.starts_with("/logg-") =>
        {
            next.to_string()
        }
        _ => "/".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_these_pages_are_places_to_come_back_to() {
        let check = |next: Option<&str>, expected: &str| assert_eq!(safe_next(next), expected);
        check(Some("/rapport/2025"), "/rapport/2025");
        check(
            Some("/?aar=2025&ordning=group_exemption"),
            "/?aar=2025&ordning=group_exemption",
        );
        check(Some("/tilgjengelighet"), "/tilgjengelighet");
        check(Some("//evil.example/"), "/");
        check(Some("/\\evil.example"), "/");
        check(Some("https://evil.example/"), "/");
        check(Some("/api/v1/cases"), "/");
        check(Some("/logg-ut"), "/");
        check(Some("/rapport/2025\n"), "/");
        check(None, "/");
    }

    #[test]
    fn a_csrf_field_matches_only_its_own_value() {
        let expected = session_csrf("unntak_abc");
        assert!(csrf_matches(Some(&expected), &expected));
        assert!(!csrf_matches(Some(&session_csrf("unntak_abd")), &expected));
        assert!(!csrf_matches(None, &expected));
        assert!(!csrf_matches(Some(""), ""));
        assert_ne!(
            expected,
            hex::encode(registry::tokens::token_hash("unntak_abc"))
        );
    }

    #[test]
    fn cookies_are_http_only_strict_and_secure_unless_on_loopback() {
        let secure = CookiePolicy { secure: true }.session("t");
        assert_eq!(
            secure,
            "unntak_okt=t; Max-Age=28800; Path=/; HttpOnly; SameSite=Strict; Secure"
        );
        assert!(!CookiePolicy { secure: false }
            .session("t")
            .contains("Secure"));
    }
}
