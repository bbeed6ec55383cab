//! Signing in and out. The sign-in form takes a reviewer's, supervisor's or admin's token,
//! checks it through the same lookup as the API (rate limits and failed attempts
//! included), and sets it as the session cookie; a reporter's or researcher's token is
//! refused (403). Both forms carry a CSRF token (see `session`).

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use maud::html;
use serde::Deserialize;

use super::error::PageError;
use super::layout;
use super::session::{
    cookie, csrf_matches, random_csrf, safe_next, session_csrf, CookiePolicy, NOT_FOR_ROLE,
    PAGE_ROLES, SESSION_COOKIE, SIGN_IN_CSRF_COOKIE,
};
use crate::auth::Authenticator;
use crate::error::ApiError;

#[derive(Debug, Default, Deserialize)]
pub struct SignInQuery {
    neste: Option<String>,
    /// Set after signing out, to say so.
    ut: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    nokkel: String,
    csrf: Option<String>,
    neste: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct SignOutForm {
    csrf: Option<String>,
}

/// What the form says above its field, and how.
enum Notice {
    None,
    Info(&'static str),
    Error(String),
}

/// `GET /logg-inn`: the form, with a fresh CSRF cookie (or the one the browser has).
pub async fn form(
    request: HttpRequest,
    query: web::Query<SignInQuery>,
    cookies: web::Data<CookiePolicy>,
) -> HttpResponse {
    let notice = match query.ut {
        Some(_) => Notice::Info("Du er logget ut."),
        None => Notice::None,
    };
    let next = safe_next(query.neste.as_deref());
    sign_in_page(&request, &cookies, StatusCode::OK, &next, notice)
}

/// `POST /logg-inn`: checks the CSRF token and the key, then sets the session and goes on
/// to the page asked for.
pub async fn sign_in(
    request: HttpRequest,
    form: web::Form<SignInForm>,
    cookies: web::Data<CookiePolicy>,
    authenticator: web::Data<Authenticator>,
) -> Result<HttpResponse, PageError> {
    let next = safe_next(form.neste.as_deref());
    let expected = cookie(&request, SIGN_IN_CSRF_COOKIE).unwrap_or_default();
    if !csrf_matches(form.csrf.as_deref(), &expected) {
        return Err(csrf_refused());
    }
    let token = form.nokkel.trim();
    let refuse = |status, message: &str| {
        Ok(sign_in_page(
            &request,
            &cookies,
            status,
            &next,
            Notice::Error(message.to_string()),
        ))
    };
    if token.is_empty() {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Skriv inn tilgangsnøkkelen din.",
        );
    }
    let address = request.peer_addr().map(|peer| peer.ip());
    let actor = match authenticator.authenticate(token, address).await {
        Ok(actor) => actor,
        Err(ApiError::Unauthenticated) => {
            return refuse(
                StatusCode::UNAUTHORIZED,
                "Nøkkelen er ukjent, utløpt eller trukket tilbake.",
            )
        }
        Err(other) => return Err(other.into()),
    };
    if !PAGE_ROLES.contains(&actor.role) {
        return refuse(StatusCode::FORBIDDEN, NOT_FOR_ROLE);
    }
    tracing::info!(token_id = ?actor.token_id(), role = actor.role.as_str(), "signed in");
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, next))
        .append_header((header::SET_COOKIE, cookies.session(token)))
        .append_header((header::SET_COOKIE, cookies.removal(SIGN_IN_CSRF_COOKIE)))
        .finish())
}

/// `POST /logg-ut`: with the session's CSRF token, removes the session cookie. (The token
/// itself stays valid: it is the person's key, revoked with `unntak token revoke`.)
pub async fn sign_out(
    request: HttpRequest,
    form: web::Form<SignOutForm>,
    cookies: web::Data<CookiePolicy>,
) -> Result<HttpResponse, PageError> {
    let Some(token) = cookie(&request, SESSION_COOKIE) else {
        return Ok(see_other("/logg-inn"));
    };
    if !csrf_matches(form.csrf.as_deref(), &session_csrf(&token)) {
        return Err(csrf_refused());
    }
    let mut response = see_other("/logg-inn?ut=1");
    response.headers_mut().append(
        header::SET_COOKIE,
        header::HeaderValue::from_str(&cookies.removal(SESSION_COOKIE))
            .expect("a cookie is a header value"),
    );
    Ok(response)
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.to_string()))
        .finish()
}

fn csrf_refused() -> PageError {
    PageError::forbidden(
        "Skjemaet manglet sikkerhetsfeltet (CSRF-vern) eller hadde feil verdi, så det ble \
         avvist. Last inn siden på nytt og send skjemaet derfra.",
    )
}

fn sign_in_page(
    request: &HttpRequest,
    cookies: &CookiePolicy,
    status: StatusCode,
    next: &str,
    notice: Notice,
) -> HttpResponse {
    let csrf = cookie(request, SIGN_IN_CSRF_COOKIE)
        .filter(|value| value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()))
        .unwrap_or_else(random_csrf);
    let error = matches!(notice, Notice::Error(_));
    let content = html! {
        h1 { "Logg inn" }
        p {
            "Logg inn med tilgangsnøkkelen din for å se oversikten og årsrapporten. "
            "Sidene er for fagdirektørmøtet (rollen reviewer), tilsynsmyndighetene (supervisor) "
            "og registerets drift (admin)."
        }
        @match &notice {
            Notice::None => {},
            Notice::Info(text) => p class="notice" role="status" { (text) },
            Notice::Error(text) => p class="error" id="feil" role="alert" { (text) },
        }
        form method="post" action="/logg-inn" {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="neste" value=(next);
            p {
                label for="nokkel" { "Tilgangsnøkkel" }
                span class="hint" id="nokkel-hjelp" {
                    "Nøkkelen begynner med «unntak_». Du får den av registerets drift."
                }
                input type="password" id="nokkel" name="nokkel" required autocomplete="off"
                    spellcheck="false"
                    aria-describedby=(if error { "nokkel-hjelp feil" } else { "nokkel-hjelp" })
                    aria-invalid=[error.then_some("true")];
            }
            p { button type="submit" { "Logg inn" } }
        }
    };
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::SET_COOKIE, cookies.sign_in_csrf(&csrf)))
        .body(layout::page("Logg inn", None, content))
}
