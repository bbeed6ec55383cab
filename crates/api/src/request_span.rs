//! The log's span of each request. It names the route pattern, never the raw path or
//! query string: both are the client's (`/api/v1/methods/{method_id}`,
//! `?method_id=...`) and could carry a patient's identity number.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{Error, HttpMessage};
use tracing::Span;
use tracing_actix_web::{RequestId, RootSpanBuilder};

use crate::error::ApiError;
use crate::metrics::method_label;

pub struct RouteOnlySpan;

impl RootSpanBuilder for RouteOnlySpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let route = request
            .match_pattern()
            .unwrap_or_else(|| "unmatched".to_string());
        let request_id = request.extensions().get::<RequestId>().copied();
        tracing::info_span!(
            "HTTP request",
            http.method = %method_label(request.method()),
            http.route = %route,
            request_id = %request_id.map(|id| id.to_string()).unwrap_or_default(),
            http.status_code = tracing::field::Empty,
            problem = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        let (status, error) = match outcome {
            Ok(response) => (response.status(), response.response().error()),
            Err(error) => (error.as_response_error().status_code(), Some(error)),
        };
        span.record("http.status_code", status.as_u16());
        // The problem's stable code only: its messages may repeat what the client sent.
        if let Some(problem) = error.and_then(|e| e.as_error::<ApiError>()) {
            span.record("problem", problem.slug());
        }
    }
}
