//! Properties of reading requests, over generated input: a body (arbitrary bytes, JSON with
//! keys named twice, typed bodies with fields wrong, missing or unknown) and a query string
//! (unknown parameters, malformed values, anything percent-encoded). Nothing panics; a
//! typed body reads or lists at least one problem; and no answer repeats a run of ten or
//! more digits from the input, so an identity number sent in the wrong place never comes
//! back in an error.
//!
//! Short by default; `PROPTEST_CASES=100000` runs them long.

use actix_web::web;
use proptest::prelude::*;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use utoipa::ToSchema;

use api::body::{json_object, json_value, typed};
use api::error::ApiError;
use api::query::parse_query;
use domain::free_text::{contains_identity_number, digit_value};
use registry::registers::{MethodDescriptionRequest, MethodStatusRequest, OrganisationRequest};
use registry::statistics::{FunnelQuery, StatisticsQuery, StatisticsRequest};
use registry::{Actor, Role};

fn config() -> ProptestConfig {
    ProptestConfig::with_cases(256)
}

fn today() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 6, 1).unwrap()
}

// ---- What no answer may carry --------------------------------------------------------------

fn is_separator(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '.' | '-' | '\u{2010}'..='\u{2014}' | '\u{2212}' | '\u{FF0D}' | '\u{FF0E}'
        )
}

/// The longest run of digits (any script) with at most one separator between two digits.
fn longest_digit_run(text: &str) -> usize {
    let chars: Vec<char> = text.chars().collect();
    let (mut longest, mut current) = (0, 0);
    for (at, c) in chars.iter().enumerate() {
        if digit_value(*c).is_some() {
            current += 1;
            longest = longest.max(current);
        } else if !(current > 0
            && is_separator(*c)
            && chars
                .get(at + 1)
                .is_some_and(|next| digit_value(*next).is_some()))
        {
            current = 0;
        }
    }
    longest
}

fn assert_nothing_echoed(text: &str) -> Result<(), TestCaseError> {
    prop_assert!(
        longest_digit_run(text) < 10,
        "a long digit run in {:?}",
        text
    );
    prop_assert!(
        !contains_identity_number(text, today()),
        "an identity number in {:?}",
        text
    );
    Ok(())
}

/// The whole problem document an error answers with: its detail and every item.
fn check_error(error: &ApiError) -> Result<(), TestCaseError> {
    let problem = error.problem();
    assert_nothing_echoed(&problem.detail)?;
    for item in &problem.errors {
        assert_nothing_echoed(&item.field)?;
        assert_nothing_echoed(&item.message)?;
    }
    if let ApiError::Invalid(errors) = error {
        prop_assert!(!errors.is_empty(), "invalid without a problem");
    }
    Ok(())
}

// ---- Generated input -----------------------------------------------------------------------

const IDENTITY_NUMBERS: &[&str] = &[
    "12038512437",
    "52038512420",
    "30108299939",
    "120385 12437",
    "120385-12437",
    "１２０３８５１２４３７",
    "15056112313",
];

fn interesting_string() -> impl Strategy<Value = String> {
    let known: Vec<String> = [
        "Pembrolizumab",
        "L01FF02",
        "L01FF0",
        "introduced",
        "under_assessment",
        "nonsense",
        "2025-03-03",
        "2025-02-30",
        "99999-01-01",
        "hf",
        "rhf",
        "983658725",
        "991324969",
        "6f0c9a4e-2b1d-4c8e-9f3a-7d5e1c2b3a4d",
        "",
        "\u{0}",
        "\u{202E}",
    ]
    .iter()
    .chain(IDENTITY_NUMBERS)
    .map(|s| s.to_string())
    .collect();
    prop_oneof![
        3 => prop::sample::select(known),
        1 => prop::collection::vec(any::<char>(), 0..12).prop_map(String::from_iter),
        1 => prop::sample::select(IDENTITY_NUMBERS).prop_map(|n| format!("pasient {n}")),
    ]
}

fn interesting_key() -> impl Strategy<Value = String> {
    let known: Vec<String> = [
        "name",
        "atc",
        "indication",
        "status",
        "decision_date",
        "effective_from",
        "org_number",
        "kind",
        "region_org_number",
        "active",
        "id",
        "when",
        "inner",
        "tags",
        "report_id",
    ]
    .iter()
    .chain(IDENTITY_NUMBERS)
    .map(|s| s.to_string())
    .collect();
    prop_oneof![
        3 => prop::sample::select(known),
        1 => "[a-z_0-9]{0,10}",
        1 => prop::collection::vec(any::<char>(), 0..6).prop_map(String::from_iter),
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        Just(json!(12038512437_u64)),
        Just(json!(-15056112313_i64)),
        Just(json!(1.5e300)),
        interesting_string().prop_map(Value::String),
    ]
}

fn any_json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(interesting_key(), inner, 0..5)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

fn any_object() -> impl Strategy<Value = Value> {
    prop::collection::btree_map(interesting_key(), any_json(), 0..7)
        .prop_map(|map| Value::Object(map.into_iter().collect()))
}

/// Bytes a client might send: arbitrary, JSON text, JSON text cut short, or JSON with a
/// key named twice.
fn body_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..64),
        any_object().prop_map(|v| v.to_string().into_bytes()),
        (any_object(), any::<prop::sample::Index>()).prop_map(|(v, cut)| {
            let text = v.to_string().into_bytes();
            let at = cut.index(text.len() + 1);
            text[..at].to_vec()
        }),
        (interesting_key(), leaf(), leaf()).prop_map(|(key, first, second)| {
            let key = Value::String(key);
            format!("{{\"a\": 1, {key}: {first}, \"b\": [{{}}], {key}: {second}}}").into_bytes()
        }),
        prop::sample::select(IDENTITY_NUMBERS).prop_map(|n| format!("{{\"x\": {n}}}").into_bytes()),
        prop::sample::select(IDENTITY_NUMBERS)
            .prop_map(|n| format!("[\"{n}\", {n}x]").into_bytes()),
    ]
}

/// A typed request with the kinds of field serde reads: a UUID, an enum, a date, a nested
/// struct, a list and a default.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Example {
    id: uuid::Uuid,
    kind: Kind,
    when: chrono::NaiveDate,
    inner: Option<Inner>,
    #[serde(default)]
    tags: Vec<u32>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
enum Kind {
    Introduced,
    UnderAssessment,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Inner {
    name: String,
    active: bool,
}

/// Reads `bytes` as `T` and checks the answer.
fn read_typed<T: serde::de::DeserializeOwned + ToSchema>(
    bytes: &[u8],
) -> Result<(), TestCaseError> {
    match typed::<T>(&web::Bytes::copy_from_slice(bytes)) {
        Ok(_) => Ok(()),
        Err(error @ (ApiError::Invalid(_) | ApiError::MalformedBody(_))) => check_error(&error),
        Err(other) => Err(TestCaseError::fail(format!("unexpected {other:?}"))),
    }
}

/// A query string: known parameters, unknown ones (identity numbers among them), values
/// of every kind, some of it percent-encoded, or anything at all.
fn query_string() -> impl Strategy<Value = String> {
    let names: Vec<String> = [
        "from",
        "to",
        "scheme",
        "method_id",
        "deciding_org",
        "region_basis",
        "group_by",
        "suppress",
        "min_position",
        "curve",
        "year",
        "unit",
        "kind",
        "dry_run",
        "atomic",
    ]
    .iter()
    .chain(IDENTITY_NUMBERS)
    .map(|s| s.to_string())
    .collect();
    let name = prop_oneof![
        4 => prop::sample::select(names),
        1 => "[a-z_0-9]{0,10}",
        1 => prop::collection::vec(any::<char>(), 0..6).prop_map(String::from_iter),
    ];
    let value = prop_oneof![
        prop::sample::select(vec![
            "2025-01-01",
            "2025-13-01",
            "true",
            "false",
            "yes",
            "1",
            "-1",
            "99999999999999999999",
            "individual_exemption",
            "ID2021_047",
            "983658725",
            "residence",
            "region,scheme",
            "region,region",
            "year,04116101292",
            "org",
        ])
        .prop_map(String::from),
        prop::sample::select(IDENTITY_NUMBERS).prop_map(String::from),
        prop::collection::vec(any::<char>(), 0..8).prop_map(String::from_iter),
    ];
    let pair = (name, value, any::<bool>()).prop_map(|(name, value, encode)| match encode {
        true => format!("{}={}", percent_encode(&name), percent_encode(&value)),
        false => format!("{name}={value}"),
    });
    prop_oneof![
        4 => prop::collection::vec(pair, 0..5).prop_map(|pairs| pairs.join("&")),
        1 => prop::collection::vec(any::<char>(), 0..20).prop_map(String::from_iter),
    ]
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The query of `GET /api/v1/signals`, as the API declares it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct SignalQuery {
    year: Option<i32>,
    kind: Option<String>,
}

/// The query of `POST /api/v1/decisions/batch`, as the API declares it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct BatchQuery {
    #[serde(default)]
    dry_run: bool,
    #[serde(default)]
    atomic: bool,
}

/// Reads `query` as `T` and, when it does not read, checks the problem it answers.
fn read_query<T: serde::de::DeserializeOwned>(query: &str) -> Result<Option<T>, TestCaseError> {
    match parse_query::<T>(query) {
        Ok(read) => Ok(Some(read)),
        Err(problem) => {
            prop_assert!(matches!(problem, ApiError::Invalid(_)), "{:?}", problem);
            check_error(&problem)?;
            Ok(None)
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_body_reads_as_json_or_is_refused_without_echo(bytes in body_bytes()) {
        let body = web::Bytes::from(bytes);
        match json_value(&body) {
            Ok(value) => {
                // Only a JSON text reads, and it reads as serde_json reads it.
                let plain: Value = serde_json::from_slice(&body).expect("serde_json reads it too");
                prop_assert_eq!(&value, &plain);
            }
            Err(error) => {
                prop_assert!(matches!(error, ApiError::MalformedBody(_)));
                check_error(&error)?;
            }
        }
        match json_object(&body) {
            Ok(_) | Err(ApiError::MalformedBody(_)) => {}
            Err(other) => prop_assert!(false, "unexpected {:?}", other),
        }
        if let Err(error) = json_object(&body) {
            check_error(&error)?;
        }
    }

    #[test]
    fn json_without_keys_named_twice_reads_back_whole(value in any_json()) {
        let body = web::Bytes::from(value.to_string());
        let read = json_value(&body);
        prop_assert!(read.is_ok(), "{:?}", read);
        let read = read.unwrap();
        // Floats may move by one unit in the last place; integers, strings and shapes not.
        if !value.to_string().contains(['e', 'E', '.']) {
            prop_assert_eq!(read, value);
        }
    }

    #[test]
    fn a_key_named_twice_is_always_refused(key in interesting_key(), first in leaf(), second in leaf(), nested in any::<bool>()) {
        let key = Value::String(key);
        let object = format!("{{{key}: {first}, \"other\": 0, {key}: {second}}}");
        let text = if nested { format!("{{\"outer\": [1, {object}]}}") } else { object };
        let answer = json_value(&web::Bytes::from(text));
        prop_assert!(matches!(answer, Err(ApiError::MalformedBody(_))), "{:?}", answer);
        check_error(&answer.unwrap_err())?;
    }

    #[test]
    fn a_typed_body_reads_or_lists_its_problems_without_echo(
        body in prop_oneof![body_bytes(), any_object().prop_map(|v| v.to_string().into_bytes())],
    ) {
        read_typed::<Example>(&body)?;
        read_typed::<MethodDescriptionRequest>(&body)?;
        read_typed::<MethodStatusRequest>(&body)?;
        read_typed::<OrganisationRequest>(&body)?;
    }

    #[test]
    fn a_near_valid_typed_body_reads_or_lists_its_problems_without_echo(
        edits in prop::collection::vec((interesting_key(), prop_oneof![Just(None), any_json().prop_map(Some)]), 0..4),
        which in 0..3usize,
    ) {
        let mut body: Map<String, Value> = match which {
            0 => json!({"id": "6f0c9a4e-2b1d-4c8e-9f3a-7d5e1c2b3a4d", "kind": "introduced",
                        "when": "2025-03-03", "inner": {"name": "x", "active": true}, "tags": [1, 2]}),
            1 => json!({"status": "introduced", "decision_date": "2025-03-03", "effective_from": null}),
            _ => json!({"org_number": "983658725", "name": "Helse Vest RHF", "kind": "rhf"}),
        }
        .as_object()
        .cloned()
        .unwrap();
        for (key, value) in edits {
            match value {
                Some(value) => body.insert(key, value),
                None => body.remove(&key),
            };
        }
        let bytes = Value::Object(body).to_string().into_bytes();
        read_typed::<Example>(&bytes)?;
        read_typed::<MethodStatusRequest>(&bytes)?;
        read_typed::<OrganisationRequest>(&bytes)?;
    }

    #[test]
    fn a_query_reads_or_names_its_problem_without_echo(query in query_string()) {
        let actor = Actor::client("fuzz", Role::Admin, None);
        if let Some(read) = read_query::<StatisticsQuery>(&query)? {
            // The parameters' own checks: every problem at once, none repeating a number.
            match StatisticsRequest::parse(&actor, &read) {
                Ok(_) => {}
                Err(registry::ServiceError::Invalid(errors)) => {
                    check_error(&ApiError::Invalid(errors))?;
                }
                Err(other) => prop_assert!(false, "unexpected {:?}", other),
            }
        }
        read_query::<FunnelQuery>(&query)?;
        read_query::<SignalQuery>(&query)?;
        read_query::<BatchQuery>(&query)?;
    }

    #[test]
    fn an_unknown_parameter_is_named_without_its_digits(
        name in prop_oneof![
            prop::sample::select(IDENTITY_NUMBERS).prop_map(String::from),
            "[a-z]{1,6}",
            "[a-z]{0,3}[0-9]{10,14}",
        ],
        encode in any::<bool>(),
    ) {
        prop_assume!(!["from", "to", "scheme", "curve", "group_by", "suppress", "unit", "year"].contains(&name.as_str()));
        let query = match encode {
            true => format!("{}=1", percent_encode(&name)),
            false => format!("{name}=1"),
        };
        let problem = parse_query::<StatisticsQuery>(&query).unwrap_err();
        check_error(&problem)?;
        let ApiError::Invalid(errors) = problem else { unreachable!() };
        prop_assert_eq!(errors.len(), 1);
        prop_assert_eq!(errors[0].code.as_str(), "unknown_parameter");
        prop_assert_eq!(errors[0].field.chars().count(), name.chars().count());
    }
}
