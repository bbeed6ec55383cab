//! The group a group exemption concerns: how many patients, and one line about them.

use chrono::NaiveDate;
use serde_json::Value;

use crate::case::GroupFacts;
use crate::problems::Problems;

use super::fields::{clean_text, object, required_in, string};

const GROUP_DESCRIPTION_MAX_CHARS: usize = 200;
const MAX_EXPECTED_PATIENTS: u64 = 100_000;

/// The group field, read into the facts stored about a group.
pub(super) fn group(
    value: &Value,
    today: NaiveDate,
    problems: &mut Problems,
) -> Option<GroupFacts> {
    let object = object(value, "group", problems)?;
    for field in object
        .keys()
        .filter(|f| !["expected_patients", "description"].contains(&f.as_str()))
    {
        problems.add(
            format!("group.{field}"),
            "unknown_field",
            format!("group.{field} is not a known field"),
        );
    }
    let expected = required_in(
        object,
        "group.expected_patients",
        "expected_patients",
        problems,
    )
    .and_then(|v| expected_patients(v, problems));
    let description = required_in(object, "group.description", "description", problems)
        .and_then(|v| description(v, today, problems));
    Some(GroupFacts {
        expected_patients: expected? as u32,
        description: description?,
    })
}

fn expected_patients(value: &Value, problems: &mut Problems) -> Option<u64> {
    let count = value
        .as_u64()
        .filter(|n| (1..=MAX_EXPECTED_PATIENTS).contains(n));
    if count.is_none() {
        problems.add(
            "group.expected_patients",
            "expected_patients_range",
            format!("expected_patients must be a whole number from 1 to {MAX_EXPECTED_PATIENTS}"),
        );
    }
    count
}

/// One short line about the group, never about a patient in it.
fn description(value: &Value, today: NaiveDate, problems: &mut Problems) -> Option<String> {
    let text = string(value, "group.description", problems)?.trim();
    if text.is_empty()
        || text.chars().count() > GROUP_DESCRIPTION_MAX_CHARS
        || text.contains(['\n', '\r'])
    {
        problems.add(
            "group.description",
            "description_length",
            format!(
                "description must be one line of 1 to {GROUP_DESCRIPTION_MAX_CHARS} characters"
            ),
        );
        return None;
    }
    if !clean_text(text, "group.description", today, problems) {
        return None;
    }
    Some(text.to_string())
}
