//! Properties of report validation over generated bodies: arbitrary JSON, and valid bodies
//! of every scheme with fields changed, removed or added. Validation never panics; it
//! gives a case or at least one problem; and no problem (nor warning) carries a run of ten
//! or more digits, so an identity number sent anywhere in a body never comes back, not in
//! a field's path (a client-chosen key) nor in a message.
//!
//! Short by default; `PROPTEST_CASES=100000` runs them long.

mod common;

use proptest::prelude::*;
use serde_json::{json, Map, Value};

use common::*;
use domain::commands::{handle, CaseCommand};
use domain::free_text::{contains_identity_number, digit_value};
use domain::problems::FieldError;
use domain::report::{
    validate_case, validate_correction, validate_decision_for, ValidCase, Warning,
    APPLICATION_FIELDS, DECISION_FIELDS,
};

fn config() -> ProptestConfig {
    ProptestConfig::with_cases(256)
}

// ---- Generated values --------------------------------------------------------------------

/// Identity numbers in the spellings a body may carry them: plain, grouped, full width.
fn identity_numbers() -> Vec<String> {
    let plain = [
        FNR_FEMALE_1985,
        D_NUMBER_FEMALE_1985,
        FNR_2032_RULE_1982,
        FNR_MALE_1982,
    ];
    let mut spelt: Vec<String> = plain.iter().map(|n| n.to_string()).collect();
    for number in plain {
        spelt.push(format!("{} {}", &number[..6], &number[6..]));
        spelt.push(format!("{}-{}", &number[..6], &number[6..]));
        spelt.push(
            number
                .chars()
                .map(|c| char::from_u32(c as u32 - 0x30 + 0xFF10).unwrap())
                .collect(),
        );
    }
    spelt.push(synthetic_identity_number());
    spelt
}

/// Strings a report field might be sent: each field's valid values, near misses, identity
/// numbers and arbitrary text.
fn interesting_string() -> impl Strategy<Value = String> {
    let known: Vec<String> = [
        "individual_exemption",
        "group_exemption",
        "individual_access",
        "reassessment_access",
        "helfo_individual",
        "early_access",
        "granted",
        "refused",
        "female",
        "male",
        "03",
        "46",
        "C34.1",
        "C34",
        "D49",
        "L01FF02",
        "L01FF0",
        UNDER_ASSESSMENT,
        INTRODUCED,
        NOT_INTRODUCED,
        UNKNOWN_METHOD,
        "ID2012_001",
        OSLO_UNIVERSITETSSYKEHUS,
        HELSE_VEST,
        HELSEDIREKTORATET,
        INACTIVE_TRUST,
        NOT_REGISTERED,
        "991324969",
        RECEIVED,
        DECIDED,
        TODAY,
        "2099-01-01",
        "2025-02-30",
        "2025-03- 3",
        "criteria_not_met",
        "other",
        "severity",
        "added_effect",
        "",
        " ",
        "\u{0}",
        "\u{202E}",
        "OUS-2025/0117",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain(identity_numbers())
    .collect();
    prop_oneof![
        4 => prop::sample::select(known),
        1 => "[a-zA-Z0-9_./: -]{0,20}",
        1 => prop::collection::vec(any::<char>(), 0..12).prop_map(String::from_iter),
        1 => prop::sample::select(identity_numbers()).prop_map(|n| format!("pasient {n}")),
    ]
}

/// Keys a client might send: the fields' own names, near misses, identity numbers.
fn interesting_key() -> impl Strategy<Value = String> {
    let known: Vec<String> = APPLICATION_FIELDS
        .iter()
        .chain(DECISION_FIELDS)
        .chain(&[
            "report_id",
            "fnr",
            "birth_year",
            "sex",
            "residence_county",
            "expected_patients",
            "description",
            "benefit",
            "resource_use",
            "severity",
            "exceptional_on",
            "marketing_authorisation",
            "differs_clearly_from_group",
            "name",
        ])
        .map(|s| s.to_string())
        .chain(identity_numbers())
        .collect();
    prop_oneof![
        3 => prop::sample::select(known),
        1 => "[a-z_0-9]{0,12}",
        1 => prop::collection::vec(any::<char>(), 0..8).prop_map(String::from_iter),
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        prop_oneof![
            Just(json!(0)),
            Just(json!(-1)),
            Just(json!(1890)),
            Just(json!(2025)),
            Just(json!(2026)),
            Just(json!(100_000)),
            Just(json!(100_001)),
            Just(json!(1.5)),
            Just(json!(u64::MAX)),
            Just(json!(i64::MIN)),
            Just(json!(12038512437_u64)),
            Just(json!(1e300)),
        ],
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        interesting_string().prop_map(Value::String),
    ]
}

/// Any JSON value, a few levels deep, with the keys and strings above.
fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(interesting_key(), inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

fn json_object() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map(interesting_key(), json_value(), 0..12)
        .prop_map(|map| map.into_iter().collect())
}

/// One change to a body.
#[derive(Debug, Clone)]
enum Edit {
    Set(String, Value),
    Remove(String),
}

/// Paths into a report body, nested ones included.
fn body_path() -> impl Strategy<Value = String> {
    let nested: Vec<String> = [
        "patient.fnr",
        "patient.birth_year",
        "patient.sex",
        "patient.residence_county",
        "group.expected_patients",
        "group.description",
        "criteria.benefit",
        "criteria.exceptional_on",
        "criteria.marketing_authorisation",
        "criteria.differs_clearly_from_group",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    prop_oneof![
        3 => interesting_key(),
        2 => prop::sample::select(nested),
        1 => (prop::sample::select(vec!["patient", "group", "criteria"]), interesting_key())
            .prop_map(|(parent, key)| format!("{parent}.{key}")),
    ]
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        3 => (body_path(), json_value()).prop_map(|(path, value)| Edit::Set(path, value)),
        1 => body_path().prop_map(Edit::Remove),
    ]
}

/// Applies `edit` where it can (a path through a value that is not an object is skipped).
fn apply(body: &mut Map<String, Value>, edit: &Edit) {
    let (path, value) = match edit {
        Edit::Set(path, value) => (path, Some(value)),
        Edit::Remove(path) => (path, None),
    };
    let (parent, key) = match path.split_once('.') {
        Some((parent, key)) if !parent.is_empty() => (Some(parent), key),
        _ => (None, path.as_str()),
    };
    let object = match parent {
        None => Some(body),
        Some(parent) => body
            .entry(parent.to_string())
            .or_insert_with(|| json!({}))
            .as_object_mut(),
    };
    if let Some(object) = object {
        match value {
            Some(value) => {
                object.insert(key.to_string(), value.clone());
            }
            None => {
                object.remove(key);
            }
        }
    }
}

/// A valid body of some scheme with a few fields changed.
fn near_valid_body() -> impl Strategy<Value = Map<String, Value>> {
    (0..all_schemes().len(), prop::collection::vec(edit(), 0..4)).prop_map(|(scheme, edits)| {
        let mut body = all_schemes().swap_remove(scheme).1 .0;
        for edit in &edits {
            apply(&mut body, edit);
        }
        body
    })
}

fn any_body() -> impl Strategy<Value = Map<String, Value>> {
    prop_oneof![3 => near_valid_body(), 1 => json_object()]
}

// ---- What every answer must satisfy --------------------------------------------------------

/// A space, dot or dash between digits (whitespace, and the common dashes and dots).
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
        } else {
            let bridges = current > 0
                && is_separator(*c)
                && chars
                    .get(at + 1)
                    .is_some_and(|next| digit_value(*next).is_some());
            if !bridges {
                current = 0;
            }
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
        !contains_identity_number(text, date(TODAY)),
        "an identity number in {:?}",
        text
    );
    Ok(())
}

fn check_problems(errors: &[FieldError]) -> Result<(), TestCaseError> {
    prop_assert!(!errors.is_empty(), "refused without a problem");
    for error in errors {
        assert_nothing_echoed(&error.field)?;
        assert_nothing_echoed(&error.message)?;
        prop_assert!(
            !error.code.is_empty()
                && error
                    .code
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_' || b.is_ascii_digit())
        );
    }
    Ok(())
}

fn check_warnings(warnings: &[Warning]) -> Result<(), TestCaseError> {
    for warning in warnings {
        assert_nothing_echoed(&warning.message)?;
    }
    Ok(())
}

fn check_answer(result: &Result<ValidCase, Vec<FieldError>>) -> Result<(), TestCaseError> {
    match result {
        Ok(valid) => check_warnings(&valid.warnings),
        Err(errors) => check_problems(errors),
    }
}

/// A stored case to decide or correct: the individual exemption, without or with its decision.
fn stored_case() -> ValidCase {
    let fixture = Fixture::new();
    validate_case(
        individual_exemption().map(),
        true,
        &["report_id"],
        &fixture.context(),
    )
    .expect("the fixture is valid")
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_report_gives_a_case_or_problems_that_echo_no_number(
        body in any_body(),
        with_decision in any::<bool>(),
        synthetic in any::<bool>(),
    ) {
        let fixture = if synthetic { Fixture::accepting_synthetic_numbers() } else { Fixture::new() };
        let result = validate_case(&body, with_decision, &["report_id"], &fixture.context());
        check_answer(&result)?;
        // The command gives the same answer, and its subject never panics either.
        let command = CaseCommand::Report { body: &body, with_decision };
        let _ = command.subject();
        let handled = handle(None, command, &fixture.context());
        prop_assert_eq!(handled.is_ok(), result.is_ok());
    }

    #[test]
    fn a_decision_on_a_stored_case_gives_a_case_or_problems_that_echo_no_number(
        body in any_body(),
    ) {
        let fixture = Fixture::new();
        let stored = stored_case();
        let result = validate_decision_for(&body, &["report_id"], &stored.application, &fixture.context());
        check_answer(&result)?;
    }

    #[test]
    fn a_correction_gives_a_case_or_problems_that_echo_no_number(
        changes in prop_oneof![
            json_object(),
            prop::collection::vec(edit(), 0..4).prop_map(|edits| {
                let mut changes = Map::new();
                for edit in &edits {
                    apply(&mut changes, edit);
                }
                changes
            }),
        ],
        decided in any::<bool>(),
    ) {
        let fixture = Fixture::new();
        let stored = stored_case();
        let decision = stored.decision.as_ref().filter(|_| decided);
        let result = validate_correction(&changes, &stored.application, decision, &fixture.context());
        check_answer(&result)?;
        if changes.is_empty() {
            prop_assert!(result.is_err());
        }
    }

    #[test]
    fn an_identity_number_under_any_key_never_comes_back(
        scheme in 0..6usize,
        number in prop::sample::select(identity_numbers()),
        parent in prop::sample::select(vec!["", "patient.", "group.", "criteria."]),
        as_value in any::<bool>(),
    ) {
        let mut body = all_schemes().swap_remove(scheme).1 .0;
        let edit = match as_value {
            // As a key, whose path and message name the key.
            false => Edit::Set(format!("{parent}{number}"), json!(true)),
            // As the value of an unknown field, and as the value of known ones.
            true => Edit::Set(format!("{parent}note"), json!(number)),
        };
        apply(&mut body, &edit);
        for field in ["case_ref", "method_id", "atc", "indication_icd10", "deciding_org"] {
            let mut changed = body.clone();
            changed.insert(field.to_string(), json!(number));
            let fixture = Fixture::new();
            let result = validate_case(&changed, true, &["report_id"], &fixture.context());
            prop_assert!(result.is_err());
            check_answer(&result)?;
        }
    }
}
