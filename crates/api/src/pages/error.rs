//! What a page answers when it cannot show itself: a redirect to the sign-in page, or a
//! page in bokmål that says what went wrong (never the cause, which goes to the log).

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use maud::html;

use super::layout;
use super::url::query_value;
use crate::error::{error_chain, ApiError};

#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// No session, or its token no longer works: sign in, then come back to `back_to`.
    #[error("sign in first")]
    SignIn { back_to: String },
    #[error("{title}")]
    Page {
        status: StatusCode,
        title: &'static str,
        message: String,
        retry_after: Option<u64>,
    },
}

impl PageError {
    pub fn page(status: StatusCode, title: &'static str, message: impl Into<String>) -> Self {
        PageError::Page {
            status,
            title,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        PageError::page(StatusCode::FORBIDDEN, "Ingen tilgang", message)
    }

    pub fn not_found() -> Self {
        PageError::page(
            StatusCode::NOT_FOUND,
            "Fant ikke siden",
            "Siden finnes ikke. Gå til oversikten og velg derfra.",
        )
    }
}

impl From<ApiError> for PageError {
    fn from(error: ApiError) -> Self {
        match error {
            ApiError::Unauthenticated => PageError::SignIn {
                back_to: "/".into(),
            },
            ApiError::Forbidden(_) => {
                PageError::forbidden("Nøkkelen du er logget inn med, gir ikke tilgang til dette.")
            }
            ApiError::NotFound(_) => PageError::not_found(),
            ApiError::Invalid(problems) => PageError::page(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Utvalget kan ikke brukes",
                format!(
                    "Sjekk {}.",
                    problems
                        .iter()
                        .map(|p| p.field.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
            ApiError::TooManyRequests(seconds) => PageError::Page {
                status: StatusCode::TOO_MANY_REQUESTS,
                title: "For mange forespørsler",
                message: format!("Vent {seconds} sekunder og prøv igjen."),
                retry_after: Some(seconds),
            },
            ApiError::Unavailable(_) => PageError::Page {
                status: StatusCode::SERVICE_UNAVAILABLE,
                title: "Registeret svarer ikke nå",
                message: "Prøv igjen om litt.".into(),
                retry_after: Some(5),
            },
            ApiError::Internal(cause) => {
                tracing::error!(cause = %error_chain(cause.as_ref()), "internal error");
                PageError::page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Noe gikk galt",
                    "Feilen er logget. Prøv igjen, eller kontakt registerets drift.",
                )
            }
            other => PageError::page(
                other.status_code(),
                "Forespørselen kan ikke besvares",
                "Gå til oversikten og prøv igjen.",
            ),
        }
    }
}

impl From<registry::error::ServiceError> for PageError {
    fn from(error: registry::error::ServiceError) -> Self {
        ApiError::from(error).into()
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            PageError::SignIn { .. } => StatusCode::SEE_OTHER,
            PageError::Page { status, .. } => *status,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            PageError::SignIn { back_to } => HttpResponse::SeeOther()
                .insert_header((
                    header::LOCATION,
                    format!("/logg-inn?neste={}", query_value(back_to)),
                ))
                .finish(),
            PageError::Page {
                status,
                title,
                message,
                retry_after,
            } => {
                let mut response = HttpResponse::build(*status);
                if let Some(seconds) = retry_after {
                    response.insert_header((header::RETRY_AFTER, seconds.to_string()));
                }
                let content = html! {
                    h1 { (title) }
                    p { (message) }
                    p { a href="/" { "Til oversikten" } " · " a href="/logg-inn" { "Logg inn" } }
                };
                response
                    .content_type("text/html; charset=utf-8")
                    .body(layout::page(title, None, content))
            }
        }
    }
}
