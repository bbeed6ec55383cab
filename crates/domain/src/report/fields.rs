//! Reading single JSON values: each helper records its problem against the field's path
//! and gives `None`, so that the caller can go on to the next field.

use chrono::NaiveDate;
use serde_json::{Map, Value};

use crate::free_text::{check_text, TextKind};
use crate::problems::{CodedError, Problems};

/// Records every top-level field of `body` that is not `allowed`.
pub(super) fn reject_unknown_fields(
    body: &Map<String, Value>,
    allowed: &[&str],
    problems: &mut Problems,
) {
    for field in body.keys() {
        if !allowed.contains(&field.as_str()) {
            problems.add(
                field.clone(),
                "unknown_field",
                format!("{field} is not a known field"),
            );
        }
    }
}

pub(super) fn required<'a>(
    body: &'a Map<String, Value>,
    field: &str,
    problems: &mut Problems,
) -> Option<&'a Value> {
    required_in(body, field, field, problems)
}

pub(super) fn required_in<'a>(
    object: &'a Map<String, Value>,
    path: &str,
    key: &str,
    problems: &mut Problems,
) -> Option<&'a Value> {
    match object.get(key) {
        Some(Value::Null) | None => {
            problems.required(path);
            None
        }
        Some(value) => Some(value),
    }
}

pub(super) fn optional<'a>(body: &'a Map<String, Value>, field: &str) -> Option<&'a Value> {
    body.get(field).filter(|v| !v.is_null())
}

/// An optional field read with `read`: `Some(None)` when it is absent, `None` when it is
/// given but cannot be read (`read` has recorded why).
pub(super) fn optional_field<T>(
    body: &Map<String, Value>,
    field: &str,
    read: impl FnOnce(&Value) -> Option<T>,
) -> Option<Option<T>> {
    match optional(body, field) {
        None => Some(None),
        Some(value) => read(value).map(Some),
    }
}

pub(super) fn string<'a>(value: &'a Value, path: &str, problems: &mut Problems) -> Option<&'a str> {
    let text = value.as_str();
    if text.is_none() {
        problems.add(path, "string_expected", format!("{path} must be a string"));
    }
    text
}

pub(super) fn object<'a>(
    value: &'a Value,
    path: &str,
    problems: &mut Problems,
) -> Option<&'a Map<String, Value>> {
    let object = value.as_object();
    if object.is_none() {
        problems.add(path, "object_expected", format!("{path} must be an object"));
    }
    object
}

pub(super) fn parsed<T, E: CodedError>(
    value: &Value,
    path: &str,
    parse: impl Fn(&str) -> Result<T, E>,
    problems: &mut Problems,
) -> Option<T> {
    let text = string(value, path, problems)?;
    problems.take(path, parse(text))
}

/// A real calendar date written `YYYY-MM-DD`, not after `today`.
pub(super) fn date(
    value: &Value,
    path: &str,
    today: NaiveDate,
    problems: &mut Problems,
) -> Option<NaiveDate> {
    let text = string(value, path, problems)?;
    // Checked byte by byte: chrono alone takes "2025-03- 3", skipping the space.
    let is_iso_shape = text.len() == 10
        && text.bytes().enumerate().all(|(at, byte)| match at {
            4 | 7 => byte == b'-',
            _ => byte.is_ascii_digit(),
        });
    let Some(date) = is_iso_shape
        .then(|| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
        .flatten()
    else {
        problems.add(
            path,
            "date_format",
            format!("{path} must be a real date written YYYY-MM-DD"),
        );
        return None;
    };
    if date > today {
        problems.add(path, "date_in_future", format!("{path} is in the future"));
        return None;
    }
    Some(date)
}

pub(super) fn list_of<T: serde::de::DeserializeOwned + PartialEq>(
    value: &Value,
    path: &str,
    expected: &str,
    problems: &mut Problems,
) -> Option<Vec<T>> {
    let Some(items) = value.as_array() else {
        problems.add(path, "list_expected", format!("{path} must be a list"));
        return None;
    };
    let mut parsed = Vec::with_capacity(items.len());
    for (index, item) in items.iter().enumerate() {
        match serde_json::from_value::<T>(item.clone()) {
            Ok(value) if !parsed.contains(&value) => parsed.push(value),
            Ok(_) => problems.add(format!("{path}[{index}]"), "duplicate", "listed twice"),
            Err(_) => problems.add(
                format!("{path}[{index}]"),
                "unknown_value",
                format!("must be one of {expected}"),
            ),
        }
    }
    (parsed.len() == items.len()).then_some(parsed)
}

/// Whether `text` is fit to store as the client's own words at `path`, each problem
/// recorded if not (see `free_text::check_text`).
pub(super) fn clean_text(
    text: &str,
    path: &str,
    today: NaiveDate,
    problems: &mut Problems,
) -> bool {
    check_text(text, path, TextKind::Line, today, problems)
}
