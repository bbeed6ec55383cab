//! Reading request bodies: their declared type (415), size limits (413), JSON syntax
//! (400), and the report envelope.

use crate::error::ApiError;
use actix_web::error::PayloadError;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{dev, web, FromRequest, HttpRequest};
use domain::problems::Problems;
use futures::StreamExt;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// How large a body may be, and how long its sender may take over it.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit {
    pub max_bytes: usize,
    pub timeout: std::time::Duration,
}

/// The body of a request declared as JSON: `application/json` or `application/<x>+json`,
/// with any parameters. A body declared as anything else, or not declared, is refused
/// (415) before it is read, so a form post or a text file is never taken for a report.
pub struct JsonPayload(dev::Payload);

impl JsonPayload {
    /// The body, within `limit` (see [`read`]).
    pub async fn read(self, limit: BodyLimit) -> Result<web::Bytes, ApiError> {
        read(self.0, limit).await
    }
}

impl FromRequest for JsonPayload {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, payload: &mut dev::Payload) -> Self::Future {
        let declared = request
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok());
        std::future::ready(match declared.is_some_and(is_json) {
            true => Ok(JsonPayload(payload.take())),
            false => Err(ApiError::UnsupportedMediaType),
        })
    }
}

/// Whether a Content-Type names JSON (its essence, without parameters, in any case).
fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Reads a request body of at most `limit.max_bytes`; a larger one is refused (413)
/// without reading the rest, and one that takes longer than `limit.timeout` to arrive is
/// refused (408), so slow senders cannot hold connections open for ever.
pub async fn read<S>(payload: S, limit: BodyLimit) -> Result<web::Bytes, ApiError>
where
    S: futures::Stream<Item = Result<web::Bytes, PayloadError>> + Unpin,
{
    tokio::time::timeout(limit.timeout, read_all(payload, limit.max_bytes))
        .await
        .map_err(|_| ApiError::BodyTimeout(limit.timeout.as_secs()))?
}

async fn read_all<S>(mut payload: S, max_bytes: usize) -> Result<web::Bytes, ApiError>
where
    S: futures::Stream<Item = Result<web::Bytes, PayloadError>> + Unpin,
{
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

/// The body as a JSON value; 400 when it is not JSON, or when an object names a key twice
/// (`"outcome": "granted", "outcome": "refused"`: which one the sender meant is unknown).
pub fn json_value(body: &web::Bytes) -> Result<Value, ApiError> {
    serde_json::from_slice::<UniqueKeys>(body)
        .map(|unique| unique.0)
        .map_err(|e| ApiError::MalformedBody(without_input(&e)))
}

/// A JSON value whose objects name no key twice.
struct UniqueKeys(Value);

impl<'de> serde::Deserialize<'de> for UniqueKeys {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(UniqueKeysVisitor)
            .map(UniqueKeys)
    }
}

struct UniqueKeysVisitor;

impl<'de> serde::de::Visitor<'de> for UniqueKeysVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(UniqueKeys(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let UniqueKeys(value) = map.next_value()?;
            if object.insert(key, value).is_some() {
                // The key is the client's; it is not repeated.
                return Err(serde::de::Error::custom(
                    "an object names the same key twice",
                ));
            }
        }
        Ok(Value::Object(object))
    }
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

/// The body as a typed request: 400 for bad JSON, 422 listing every wrong field (unknown,
/// missing, or of the wrong type or value), not only the first.
pub fn typed<T: DeserializeOwned + ToSchema>(body: &web::Bytes) -> Result<T, ApiError> {
    let mut value = json_value(body)?;
    let mut problems = Problems::new();
    if let Value::Object(object) = &mut value {
        check_fields_against_schema::<T>(object, &mut problems);
    }
    // serde stops at the first problem: record it, take the field out, and read again,
    // until what is left reads or only a missing field (already listed) remains.
    loop {
        match serde_path_to_error::deserialize::<_, T>(value.clone()) {
            Ok(request) if problems.is_empty() => return Ok(request),
            Ok(_) => break,
            Err(error) => {
                let path = error.path().to_string();
                let message = without_input(error.inner());
                if message.starts_with("missing field") {
                    if problems.is_empty() {
                        problems.add(path_or_body(&path), "required", message);
                    }
                    break;
                }
                problems.add(path_or_body(&path), field_code(&message), message);
                if !remove_at(&mut value, error.path()) {
                    break;
                }
            }
        }
    }
    Err(ApiError::Invalid(problems.into_vec()))
}

/// Records every top-level field the schema of `T` does not know (and removes it), and
/// every required field that is missing.
fn check_fields_against_schema<T: ToSchema>(
    object: &mut Map<String, Value>,
    problems: &mut Problems,
) {
    let utoipa::openapi::RefOr::T(utoipa::openapi::Schema::Object(schema)) = T::schema() else {
        return;
    };
    let unknown: Vec<String> = object
        .keys()
        .filter(|key| !schema.properties.contains_key(key.as_str()))
        .cloned()
        .collect();
    for key in unknown {
        // Problems masks digit runs: a key is the client's and could be a patient's number.
        problems.add(&key, "unknown_field", format!("{key} is not a known field"));
        object.remove(&key);
    }
    for required in &schema.required {
        if object.get(required).is_none_or(Value::is_null) {
            problems.required(required);
            // Said once: as missing, not again as a null of the wrong type.
            object.remove(required);
        }
    }
}

fn path_or_body(path: &str) -> &str {
    match path {
        "" | "." => "body",
        path => path,
    }
}

fn field_code(message: &str) -> &'static str {
    if message.starts_with("unknown field") {
        "unknown_field"
    } else if message.starts_with("invalid type") {
        "invalid_type"
    } else {
        "invalid_value"
    }
}

/// Removes the value at `path` (or, for an unknown field inside an object, the object's
/// unknown keys are reported by serde at the object's path: the object is removed). False
/// when nothing could be removed, so reading again would fail the same way.
fn remove_at(value: &mut Value, path: &serde_path_to_error::Path) -> bool {
    use serde_path_to_error::Segment;
    let segments: Vec<&Segment> = path.iter().collect();
    let Some((last, parents)) = segments.split_last() else {
        return false;
    };
    let mut parent = value;
    for segment in parents {
        let child = match (segment, parent) {
            (Segment::Map { key }, Value::Object(object)) => object.get_mut(key),
            (Segment::Seq { index }, Value::Array(items)) => items.get_mut(*index),
            _ => None,
        };
        let Some(child) = child else { return false };
        parent = child;
    }
    match (last, parent) {
        (Segment::Map { key }, Value::Object(object)) => object.remove(key).is_some(),
        (Segment::Seq { index }, Value::Array(items)) if *index < items.len() => {
            items.remove(*index);
            true
        }
        _ => false,
    }
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
pub(crate) fn without_values(message: &str) -> String {
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

    #[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Example {
        id: Uuid,
        kind: Kind,
        date: chrono::NaiveDate,
    }

    #[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
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
            "x is not a known field",
        );
        check(r#"{"id": "#, "EOF while parsing a value");
    }

    fn problems_of(body: &str) -> Vec<(String, String)> {
        match typed::<Example>(&web::Bytes::from(body.to_string())) {
            Err(ApiError::Invalid(errors)) => {
                errors.into_iter().map(|e| (e.field, e.code)).collect()
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn every_problem_of_a_typed_body_is_listed() {
        let listed = problems_of(r#"{"id": 1, "kind": "nonsense", "04116101292": 1, "y": 2}"#);
        let expected = [
            ("###########", "unknown_field"),
            ("y", "unknown_field"),
            ("date", "required"),
            ("id", "invalid_type"),
            ("kind", "invalid_value"),
        ];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(f, c)| (f.to_string(), c.to_string()))
            .collect();
        assert_eq!(listed, expected);
    }

    #[test]
    fn a_key_named_twice_is_refused() {
        let body =
            web::Bytes::from(r#"{"outcome": "granted", "x": {"a": 1}, "outcome": "refused"}"#);
        assert!(
            matches!(json_value(&body), Err(ApiError::MalformedBody(m)) if m.contains("twice"))
        );
        let nested = web::Bytes::from(r#"{"x": [{"a": 1, "a": 2}]}"#);
        assert!(json_value(&nested).is_err());
        let fine = web::Bytes::from(r#"{"x": [{"a": 1}, {"a": 2}], "y": null}"#);
        assert!(json_value(&fine).is_ok());
    }
}
