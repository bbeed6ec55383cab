//! Reading request bodies: size limits (413), JSON syntax (400), and the report envelope.

use crate::error::ApiError;
use actix_web::error::PayloadError;
use actix_web::web;
use futures::StreamExt;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

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

/// A serde message without position details (they add nothing for a client) and without
/// the values it would quote from the input.
fn without_input(error: &serde_json::Error) -> String {
    let message = error.to_string();
    let message = match message.rfind(" at line ") {
        Some(cut) => &message[..cut],
        None => &message,
    };
    without_values(message)
}

/// Drops the input values serde quotes ("invalid type: integer `15056112313`", "unknown
/// variant `...`"): an identity number sent in the wrong field must not come back in an
/// error, nor reach a log line through one. What is expected, which the API defines, stays.
fn without_values(message: &str) -> String {
    let expected = [", expected ", ", there are no variants"]
        .iter()
        .filter_map(|marker| message.rfind(marker))
        .max()
        .map(|at| &message[at..])
        .unwrap_or_default();
    if message.starts_with("unknown variant ") {
        return format!("unknown variant{expected}");
    }
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix) {
            // The kind of value ("integer", "string", "map"), without the value itself.
            let kind = rest
                .split(['`', '"', ','])
                .next()
                .unwrap_or_default()
                .trim();
            return format!("{prefix}{kind}{expected}");
        }
    }
    message.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn check(body: &str, expected: &str) {
        let bytes = web::Bytes::from(body.to_string());
        let message = match typed::<Example>(&bytes) {
            Err(ApiError::Invalid(errors)) => errors[0].message.clone(),
            Err(ApiError::MalformedBody(message)) => message,
            other => panic!("unexpected {other:?}"),
        };
        assert_eq!(message, expected, "body {body}");
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Example {
        id: Uuid,
        kind: Kind,
        date: chrono::NaiveDate,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        ReportedInError,
    }

    const ID: &str = "6f0c9a4e-2b1d-4c8e-9f3a-7d5e1c2b3a4d";

    #[test]
    fn serde_messages_keep_what_was_expected_but_not_the_values_sent() {
        check(
            r#"{"id": 15056112313, "kind": "reported_in_error", "date": "2024-01-01"}"#,
            "invalid type: integer, expected a formatted UUID string",
        );
        check(
            &format!(r#"{{"id": "{ID}", "kind": "15056112313", "date": "2024-01-01"}}"#),
            "unknown variant, expected `reported_in_error`",
        );
        check(
            &format!(r#"{{"id": "{ID}", "kind": "reported_in_error", "date": 15056112313}}"#),
            "invalid type: integer, expected a formatted date string",
        );
        check(
            &format!(r#"{{"id": "{ID}", "kind": 15056112313, "date": "2024-01-01"}}"#),
            "invalid type: integer, expected string or map",
        );
        check(
            &format!(
                r#"{{"id": "{ID}", "kind": "reported_in_error", "date": "2024-01-01", "x": 1}}"#
            ),
            "unknown field `x`, expected one of `id`, `kind`, `date`",
        );
        check(r#"{"id": "#, "EOF while parsing a value");
    }
}
