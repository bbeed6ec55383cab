//! One error story for the whole API: every failure is an `ApiError`, answered as an
//! RFC 7807 `application/problem+json` body with the problems listed field by field.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use domain::problems::FieldError;
use registry::ServiceError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What `Retry-After` tells a client when the registry cannot answer for now.
const RETRY_UNAVAILABLE_AFTER_SECONDS: u64 = 5;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("the request body is not valid JSON: {0}")]
    MalformedBody(String),
    #[error("the request is invalid")]
    Invalid(Vec<FieldError>),
    #[error("authentication required: send Authorization: Bearer <token>")]
    Unauthenticated,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("this resource answers only {}", .0.join(", "))]
    MethodNotAllowed(Vec<&'static str>),
    #[error("{0}")]
    Conflict(String),
    #[error("the request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// A body declared as something other than JSON, or not declared at all.
    #[error("the request body must be sent as JSON")]
    UnsupportedMediaType,
    #[error("the service is not ready: {0}")]
    Unavailable(String),
    #[error("too many requests: try again in {0} s")]
    TooManyRequests(u64),
    #[error("the request body did not arrive within {0} s")]
    BodyTimeout(u64),
    /// The registry failed; the cause goes to the log, never to the caller.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// An RFC 7807 problem document.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Every problem found, one per field.
    pub errors: Vec<ProblemItem>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProblemItem {
    pub field: String,
    pub code: String,
    pub message: String,
}

impl ApiError {
    pub(crate) fn slug(&self) -> &'static str {
        match self {
            ApiError::MalformedBody(_) => "malformed-body",
            ApiError::Invalid(_) => "validation-failed",
            ApiError::Unauthenticated => "unauthenticated",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not-found",
            ApiError::MethodNotAllowed(_) => "method-not-allowed",
            ApiError::Conflict(_) => "conflict",
            ApiError::PayloadTooLarge(_) => "payload-too-large",
            ApiError::UnsupportedMediaType => "unsupported-media-type",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::TooManyRequests(_) => "too-many-requests",
            ApiError::BodyTimeout(_) => "body-timeout",
            ApiError::Internal(_) => "internal",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            ApiError::MalformedBody(_) => "Malformed request body",
            ApiError::Invalid(_) => "Validation failed",
            ApiError::Unauthenticated => "Authentication required",
            ApiError::Forbidden(_) => "Forbidden",
            ApiError::NotFound(_) => "Not found",
            ApiError::MethodNotAllowed(_) => "Method not allowed",
            ApiError::Conflict(_) => "Conflict",
            ApiError::PayloadTooLarge(_) => "Payload too large",
            ApiError::UnsupportedMediaType => "Unsupported media type",
            ApiError::Unavailable(_) => "Service unavailable",
            ApiError::TooManyRequests(_) => "Too many requests",
            ApiError::BodyTimeout(_) => "Request body timed out",
            ApiError::Internal(_) => "Internal error",
        }
    }

    pub fn problem(&self) -> Problem {
        let errors = match self {
            ApiError::Invalid(errors) => errors
                .iter()
                .map(|e| ProblemItem {
                    field: e.field.clone(),
                    code: e.code.clone(),
                    message: e.message.clone(),
                })
                .collect(),
            ApiError::UnsupportedMediaType => vec![ProblemItem {
                field: "content-type".into(),
                code: "unsupported_media_type".into(),
                message: "send the body as JSON, with Content-Type: application/json".into(),
            }],
            _ => Vec::new(),
        };
        Problem {
            problem_type: format!("https://unntak.no/problems/{}", self.slug()),
            title: self.title().to_string(),
            status: self.status_code().as_u16(),
            detail: self.to_string(),
            errors,
        }
    }

    pub fn invalid(field: &str, code: &str, message: impl Into<String>) -> ApiError {
        ApiError::Invalid(vec![FieldError {
            field: field.to_string(),
            code: code.to_string(),
            message: message.into(),
        }])
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::MalformedBody(_) => StatusCode::BAD_REQUEST,
            ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unauthenticated => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Internal(cause) = self {
            // The cause goes to the log only; it may name tables or constraints.
            tracing::error!(cause = %error_chain(cause.as_ref()), "internal error");
        }
        let mut response = HttpResponse::build(self.status_code());
        if matches!(self, ApiError::Unauthenticated) {
            response.insert_header(("WWW-Authenticate", "Bearer"));
        }
        if let ApiError::MethodNotAllowed(allowed) = self {
            response.insert_header(("Allow", allowed.join(", ")));
        }
        match self {
            ApiError::Unavailable(_) => {
                response
                    .insert_header(("Retry-After", RETRY_UNAVAILABLE_AFTER_SECONDS.to_string()));
            }
            ApiError::TooManyRequests(seconds) => {
                response.insert_header(("Retry-After", seconds.to_string()));
            }
            _ => {}
        }
        response
            .content_type("application/problem+json")
            .json(self.problem())
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::Invalid(problems) => ApiError::Invalid(problems),
            ServiceError::Forbidden(why) => ApiError::Forbidden(why),
            ServiceError::NotFound(what) => ApiError::NotFound(what),
            ServiceError::Conflict(why) => ApiError::Conflict(why),
            ServiceError::Unavailable(why) => ApiError::Unavailable(why),
            unreachable if unreachable.is_database_unreachable() => {
                tracing::warn!(cause = %error_chain(&unreachable), "the database is unreachable");
                ApiError::Unavailable("the database cannot be reached; try again shortly".into())
            }
            internal => ApiError::Internal(Box::new(internal)),
        }
    }
}

/// An error and each of its causes, for the log.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut chain = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    chain
}
