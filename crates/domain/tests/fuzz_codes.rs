//! Properties of the code parsers (ICD-10, ATC, Nye metoder ids, county numbers,
//! organisation numbers, schemes, criteria, organisation kinds) and of the event codec,
//! over generated input: none panics on any string; what parses is normalised, and
//! parsing its display gives it back; serde reads exactly what `parse` accepts.
//!
//! Short by default; `PROPTEST_CASES=100000` runs them long.

use proptest::prelude::*;

use domain::case::{Criterion, Scheme};
use domain::codes::{AtcCode, CountyNumber, Icd10Code, MethodId, COUNTIES};
use domain::events::RegistryEvent;
use domain::organisation::OrganisationNumber;
use domain::organisation_register::OrganisationKind;

fn config() -> ProptestConfig {
    ProptestConfig::with_cases(256)
}

/// Any text, control characters and odd code points included.
fn any_text() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 0..16).prop_map(String::from_iter)
}

/// Text near the shape of a code: letters, digits, the dot and underscore, some noise.
fn code_like() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z][0-9]{2}(\\.?[0-9A-Za-z]{0,3})?",
        "[A-Za-z]([0-9]{2}([A-Za-z]([A-Za-z]([0-9]{2})?)?)?)?",
        "[Ii][Dd][0-9]{4}_[0-9]{3}",
        "[A-Za-z0-9._ ]{0,11}",
        "[0-9]{1,3}",
        any_text(),
    ]
}

/// Whether serde reads `text` as `T` exactly when `parse` does, and to the same value.
fn serde_agrees<T, E>(text: &str, parsed: &Result<T, E>) -> bool
where
    T: serde::de::DeserializeOwned + PartialEq,
{
    let json = serde_json::Value::String(text.to_string());
    match (serde_json::from_value::<T>(json), parsed) {
        (Ok(read), Ok(value)) => read == *value,
        (Err(_), Err(_)) => true,
        _ => false,
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn icd10_codes_parse_to_a_normal_form_that_parses_to_itself(text in code_like()) {
        let parsed = Icd10Code::parse(&text);
        prop_assert!(serde_agrees(&text, &parsed));
        if let Ok(code) = parsed {
            let shown = code.to_string();
            prop_assert!((3..=5).contains(&shown.len()), "{}", shown);
            prop_assert!(shown.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
            prop_assert_eq!(code.category(), &shown[..3]);
            prop_assert_eq!(&shown, &text.to_ascii_uppercase().replace('.', ""));
            prop_assert_eq!(Icd10Code::parse(&shown), Ok(code.clone()));
            prop_assert_eq!(Icd10Code::parse(&shown.to_ascii_lowercase()), Ok(code.clone()));
            let json = serde_json::to_string(&code).unwrap();
            prop_assert_eq!(serde_json::from_str::<Icd10Code>(&json).unwrap(), code);
        }
    }

    #[test]
    fn atc_codes_parse_to_their_level_and_back(text in code_like()) {
        let parsed = AtcCode::parse(&text);
        prop_assert!(serde_agrees(&text, &parsed));
        if let Ok(code) = parsed {
            let shown = code.to_string();
            let level = match shown.len() { 1 => 1, 3 => 2, 4 => 3, 5 => 4, 7 => 5, _ => 0 };
            prop_assert_eq!(code.level(), level, "{}", shown);
            prop_assert_eq!(&shown, &text.to_ascii_uppercase());
            prop_assert_eq!(AtcCode::parse(&shown), Ok(code));
        }
    }

    #[test]
    fn method_ids_parse_with_their_year_and_back(text in code_like()) {
        let parsed = MethodId::parse(&text);
        prop_assert!(serde_agrees(&text, &parsed));
        if let Ok(id) = parsed {
            let shown = id.to_string();
            prop_assert!((2013..=2099).contains(&id.year()));
            prop_assert_eq!(&shown[2..6], id.year().to_string());
            prop_assert_eq!(MethodId::parse(&shown), Ok(id));
        }
    }

    #[test]
    fn well_formed_method_ids_are_accepted_exactly_in_nye_metoders_years(
        year in 1990u16..2200,
        number in 0u16..1000,
    ) {
        let text = format!("ID{year}_{number:03}");
        prop_assert_eq!(MethodId::parse(&text).is_ok(), (2013..=2099).contains(&year));
    }

    #[test]
    fn county_numbers_are_exactly_the_fifteen_from_2024(text in code_like()) {
        let parsed = CountyNumber::parse(&text);
        prop_assert!(serde_agrees(&text, &parsed));
        prop_assert_eq!(parsed.is_ok(), COUNTIES.iter().any(|c| c.number == text));
        if let Ok(county) = parsed {
            prop_assert_eq!(CountyNumber::parse(&county.to_string()), Ok(county));
        }
    }

    #[test]
    fn organisation_numbers_are_nine_digits_with_their_check_digit(
        text in prop_oneof![code_like(), "[0-9]{9}", "[0-9]{8,10}"],
    ) {
        let parsed = OrganisationNumber::parse(&text);
        prop_assert!(serde_agrees(&text, &parsed));
        if let Ok(number) = parsed {
            prop_assert!(text.len() == 9 && text.bytes().all(|b| b.is_ascii_digit()));
            prop_assert_eq!(number.as_str(), text.as_str());
            prop_assert_eq!(OrganisationNumber::parse(&number.to_string()), Ok(number));
        }
    }

    #[test]
    fn an_organisation_number_is_valid_exactly_with_its_check_digit(
        first_eight in prop::collection::vec(0u32..10, 8),
        at in 0usize..9,
        by in 1u32..10,
    ) {
        const WEIGHTS: [u32; 8] = [3, 2, 7, 6, 5, 4, 3, 2];
        let sum: u32 = first_eight.iter().zip(WEIGHTS).map(|(d, w)| d * w).sum();
        let check = (11 - sum % 11) % 11;
        let mut digits = first_eight.clone();
        if check == 10 {
            // No digit fits: every last digit is refused.
            for last in 0..10 {
                digits.push(last);
                let text: String = digits.iter().map(|d| char::from_digit(*d, 10).unwrap()).collect();
                prop_assert!(OrganisationNumber::parse(&text).is_err(), "{}", text);
                digits.pop();
            }
            return Ok(());
        }
        digits.push(check);
        let text: String = digits.iter().map(|d| char::from_digit(*d, 10).unwrap()).collect();
        prop_assert!(OrganisationNumber::parse(&text).is_ok(), "{}", text);
        digits[at] = (digits[at] + by) % 10;
        let wrong: String = digits.iter().map(|d| char::from_digit(*d, 10).unwrap()).collect();
        prop_assert!(OrganisationNumber::parse(&wrong).is_err(), "{}", wrong);
    }

    #[test]
    fn schemes_criteria_and_kinds_parse_only_their_own_names(text in prop_oneof![
        any_text(),
        "[a-z_]{3,30}",
        prop::sample::select(Scheme::ALL.map(Scheme::as_str).to_vec()).prop_map(String::from),
        prop::sample::select(Criterion::ALL.map(Criterion::as_str).to_vec()).prop_map(String::from),
    ]) {
        if let Some(scheme) = Scheme::parse(&text) {
            prop_assert_eq!(scheme.as_str(), text.as_str());
        }
        if let Some(criterion) = Criterion::parse(&text) {
            prop_assert_eq!(criterion.as_str(), text.as_str());
        }
        if let Some(kind) = OrganisationKind::parse(&text) {
            prop_assert_eq!(serde_json::to_value(kind).unwrap(), serde_json::json!(text));
        }
    }

    /// Stored events are the registry's own, but a damaged row must be an error, not a panic.
    #[test]
    fn the_event_codec_never_panics_on_a_damaged_payload(
        event_type in prop_oneof![
            Just("DecisionReported".to_string()),
            Just("PopulationImported".to_string()),
            Just("MethodStatusChanged".to_string()),
            "[A-Za-z]{0,20}",
        ],
        version in -1i32..4,
        payload in prop_oneof![
            any_text(),
            Just("{}".to_string()),
            "\\{\"[a-z_]{1,12}\": ?(1|\"x\"|null|\\[\\]|\\{\\})\\}",
        ],
    ) {
        let _ = RegistryEvent::from_stored_text(&event_type, version, &payload);
        if let Ok(value) = serde_json::from_str::<serde_json::Value>(&payload) {
            let _ = RegistryEvent::from_stored(&event_type, version, &value);
        }
    }
}
