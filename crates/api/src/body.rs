//! Reading request bodies: size limits (413), JSON syntax (400), and the report envelope.

use actix_web::error::PayloadError;
use actix_web::web;
use futures::StreamExt;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::error::ApiError;

/// Reads a request body of at most `max_bytes`; a larger one is refused (413) without
/// reading the rest.
pub async fn read(mut payload: web::Payload, max_bytes: usize) -> Result<web::Bytes, ApiError> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| payload_error(&e, max_bytes))?;
        if body.len() + chunk.len() > max_bytes {
            return Err(ApiError::PayloadTooLarge(max_bytes));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

fn payload_error(error: &PayloadError, max_bytes: usize) -> ApiError {
    match error {
        PayloadError::Overflow => ApiError::PayloadTooLarge(max_bytes),
        other => ApiError::MalformedBody(other.to_string()),
    }
}

/// The body as a JSON value; 400 when it is not JSON.
pub fn json_value(body: &web::Bytes) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::MalformedBody(without_input(&e)))
}

/// The body as a JSON object.
pub fn json_object(body: &web::Bytes) -> Result<Map<String, Value>, ApiError> {
    match json_value(body)? {
        Value::Object(object) => Ok(object),
        _ => Err(ApiError::MalformedBody(
            "the body must be a JSON object".into(),
        )),
    }
}

/// The body as a typed request: 400 for bad JSON, 422 for the wrong fields or types.
pub fn typed<T: DeserializeOwned>(body: &web::Bytes) -> Result<T, ApiError> {
    let value = json_value(body)?;
    serde_json::from_value(value)
        .map_err(|e| ApiError::invalid("body", "invalid_field", without_input(&e)))
}

/// A serde message without position details (they add nothing for a client).
fn without_input(error: &serde_json::Error) -> String {
    let message = error.to_string();
    match message.find(" at line ") {
        Some(cut) => message[..cut].to_string(),
        None => message,
    }
}

/// The `report_id` of a report body: the client's idempotency key.
pub fn report_id(body: &Map<String, Value>) -> Result<Uuid, ApiError> {
    match body.get("report_id") {
        None | Some(Value::Null) => Err(ApiError::invalid(
            "report_id",
            "required",
            "report_id (a uuid chosen by the reporting system) is required",
        )),
        Some(value) => value
            .as_str()
            .and_then(|text| Uuid::parse_str(text).ok())
            .ok_or_else(|| {
                ApiError::invalid("report_id", "uuid_format", "report_id must be a uuid")
            }),
    }
}
