//! Events are the API of the past: every variant survives being stored and read back, the
//! case fold applies them in order, and no identity number is ever in them.

mod common;

use serde_json::json;
use uuid::Uuid;

use common::*;
use domain::case::{AppealOutcome, Case, CorrectionReason, Outcome, RetractionReason};
use domain::commands::{CaseCommand, CommandError};
use domain::events::{RegistryEvent, SCHEMA_VERSION};
use domain::organisation_register::Organisation;

const APPEAL: Uuid = Uuid::from_u128(0xa11);

fn case_id() -> Uuid {
    domain::case::case_id_for(&org(OSLO_UNIVERSITETSSYKEHUS), "OUS-2025/0117")
}

/// One event of every variant, with the optional parts filled in where there are any.
fn one_of_each(fixture: &Fixture) -> Vec<RegistryEvent> {
    let mut events = reported(fixture, &individual_exemption());
    let case = Case::from_events(&events).unwrap();
    events.push(RegistryEvent::CaseCorrected {
        case_id: case.case_id,
        reason: CorrectionReason::NewInformation,
        changed_fields: vec!["outcome".into()],
        application: case.application.clone(),
        decision: case.decision.clone(),
    });
    events.push(RegistryEvent::CaseRetracted {
        case_id: case.case_id,
        reason: RetractionReason::ReportedInError,
    });
    events.push(RegistryEvent::AppealLodged {
        case_id: case.case_id,
        appeal_id: APPEAL,
        lodged_date: date("2025-04-01"),
    });
    events.push(RegistryEvent::AppealDecided {
        case_id: case.case_id,
        appeal_id: APPEAL,
        decided_date: date("2025-05-01"),
        outcome: AppealOutcome::Overturned,
    });
    for method in method_events() {
        events.extend(method);
    }
    events.extend(fixture.organisations.values().map(|organisation| {
        RegistryEvent::OrganisationRegistered {
            organisation: organisation.clone(),
        }
    }));
    // The other schemes, for their other shapes: groups, criteria lists, refusal reasons.
    for (_, body) in all_schemes() {
        events.extend(reported(fixture, &body));
    }
    events.extend(reported(fixture, &group_exemption().application_only()));
    events
}

fn round_trip(event: &RegistryEvent) -> RegistryEvent {
    let payload = event.payload();
    // What is stored is text: go through it, as the store does.
    let stored = serde_json::to_string(&payload).unwrap();
    let read: serde_json::Value = serde_json::from_str(&stored).unwrap();
    RegistryEvent::from_stored(event.event_type(), SCHEMA_VERSION, &read)
        .unwrap_or_else(|e| panic!("{}: {e}", event.event_type()))
}

#[test]
fn every_event_reads_back_as_it_was_written() {
    let fixture = Fixture::new();
    let events = one_of_each(&fixture);
    let mut types: Vec<&str> = events.iter().map(|e| e.event_type()).collect();
    types.sort();
    types.dedup();
    assert_eq!(
        types,
        [
            "AppealDecided",
            "AppealLodged",
            "CaseCorrected",
            "CaseReceived",
            "CaseRetracted",
            "DecisionReported",
            "MethodDescribed",
            "MethodStatusChanged",
            "OrganisationRegistered",
        ]
    );
    for event in &events {
        assert_eq!(&round_trip(event), event);
        let text = serde_json::to_string(&event.payload()).unwrap();
        let from_text = RegistryEvent::from_stored_text(event.event_type(), SCHEMA_VERSION, &text)
            .unwrap_or_else(|e| panic!("{}: {e}", event.event_type()));
        assert_eq!(&from_text, event, "read from text as projectors do");
    }
    assert!(RegistryEvent::from_stored_text("CaseReceived", SCHEMA_VERSION + 1, "{}").is_err());
    assert!(RegistryEvent::from_stored_text("CaseArrived", SCHEMA_VERSION, "{}").is_err());
}

#[test]
fn the_payload_is_the_event_without_its_type() {
    let fixture = Fixture::new();
    for event in one_of_each(&fixture) {
        let payload = event.payload();
        let object = payload.as_object().expect("payloads are objects");
        assert!(!object.contains_key("event_type"), "{payload}");
        assert!(!object.contains_key("payload"), "{payload}");
    }
    let retracted = RegistryEvent::CaseRetracted {
        case_id: Uuid::nil(),
        reason: RetractionReason::ReportedInError,
    };
    assert_eq!(
        retracted.payload(),
        json!({"case_id": Uuid::nil(), "reason": "reported_in_error"})
    );
}

#[test]
fn stored_codes_are_in_their_normal_form() {
    let fixture = Fixture::new();
    let events = reported(
        &fixture,
        &individual_exemption().set("method_id", json!("id2023_045")),
    );
    let payload = events[0].payload();
    assert_eq!(payload["application"]["indication_icd10"], "C341");
    assert_eq!(payload["application"]["method_id"], "ID2023_045");
    assert_eq!(payload["application"]["patient"]["residence_county"], "03");
    assert_eq!(payload["application"]["patient"]["birth_year"], 1985);
    assert_eq!(payload["application"]["patient"]["sex"], "female");
}

#[test]
fn unknown_types_versions_and_shapes_are_unreadable() {
    let fixture = Fixture::new();
    let event = &reported(&fixture, &individual_exemption())[0];
    let payload = event.payload();
    assert!(RegistryEvent::from_stored("CaseReceived", SCHEMA_VERSION + 1, &payload).is_err());
    assert!(RegistryEvent::from_stored("CaseReceived", 0, &payload).is_err());
    assert!(RegistryEvent::from_stored("CaseArrived", SCHEMA_VERSION, &payload).is_err());
    assert!(RegistryEvent::from_stored("DecisionReported", SCHEMA_VERSION, &payload).is_err());
    let error = RegistryEvent::from_stored("CaseReceived", 7, &payload).unwrap_err();
    assert_eq!(
        (error.event_type.as_str(), error.schema_version),
        ("CaseReceived", 7)
    );
    // A stored code that no longer validates is not silently accepted.
    let mut broken = payload.clone();
    broken["application"]["indication_icd10"] = json!("XYZ");
    assert!(RegistryEvent::from_stored("CaseReceived", SCHEMA_VERSION, &broken).is_err());
}

// ---- The fold --------------------------------------------------------------------------

#[test]
fn the_fold_applies_decision_correction_appeals_and_retraction_in_order() {
    let fixture = Fixture::new();
    let mut events = reported(&fixture, &individual_exemption().application_only());
    let case = Case::from_events(&events).unwrap();
    assert_eq!(case.case_id, case_id());
    assert_eq!(case.decision, None);
    assert_eq!((case.corrections, case.retracted), (0, false));

    events.extend(
        reported(&fixture, &individual_exemption())[1..]
            .iter()
            .cloned(),
    );
    let case = Case::from_events(&events).unwrap();
    assert_eq!(case.decision.as_ref().unwrap().outcome, Outcome::Granted);

    let change = serde_json::Map::from_iter([
        ("outcome".to_string(), json!("refused")),
        ("indication_icd10".to_string(), json!("C34.9")),
    ]);
    let command = CaseCommand::Correct {
        changes: &change,
        reason: CorrectionReason::RegistrationError,
    };
    events.extend(when(&fixture, Some(&case), command).unwrap().events);
    let case = Case::from_events(&events).unwrap();
    assert_eq!(case.corrections, 1);
    assert_eq!(case.decision.as_ref().unwrap().outcome, Outcome::Refused);
    assert_eq!(case.application.indication_icd10.as_str(), "C349");

    events.push(RegistryEvent::AppealLodged {
        case_id: case_id(),
        appeal_id: APPEAL,
        lodged_date: date("2025-04-01"),
    });
    events.push(RegistryEvent::AppealDecided {
        case_id: case_id(),
        appeal_id: APPEAL,
        decided_date: date("2025-05-01"),
        outcome: AppealOutcome::Upheld,
    });
    let case = Case::from_events(&events).unwrap();
    let appeal = case.appeal(APPEAL).unwrap();
    assert_eq!(appeal.lodged_date, date("2025-04-01"));
    assert_eq!(appeal.decided_date, Some(date("2025-05-01")));
    assert_eq!(appeal.outcome, Some(AppealOutcome::Upheld));

    let command = CaseCommand::Retract {
        reason: RetractionReason::ReportedInError,
    };
    events.extend(when(&fixture, Some(&case), command).unwrap().events);
    let case = Case::from_events(&events).unwrap();
    assert!(case.retracted);
    // Retraction hides nothing of the record: the case still reads as it stood.
    assert_eq!(case.corrections, 1);
    assert_eq!(case.appeals.len(), 1);
}

#[test]
fn a_correction_that_removes_the_decision_folds_to_an_undecided_case() {
    let fixture = Fixture::new();
    let mut events = reported(&fixture, &individual_exemption());
    let case = Case::from_events(&events).unwrap();
    events.push(RegistryEvent::CaseCorrected {
        case_id: case.case_id,
        reason: CorrectionReason::RegistrationError,
        changed_fields: vec![],
        application: case.application.clone(),
        decision: None,
    });
    let case = Case::from_events(&events).unwrap();
    assert_eq!(case.decision, None);
    assert_eq!(case.corrections, 1);
}

#[test]
fn the_fold_starts_at_the_cases_receipt() {
    let fixture = Fixture::new();
    let reported = reported(&fixture, &individual_exemption());
    // Nothing before CaseReceived makes a case, and a second receipt changes nothing.
    assert_eq!(Case::from_events(&reported[1..]), None);
    assert_eq!(Case::from_events(&[]), None);
    let mut twice = reported.clone();
    twice.push(reported[0].clone());
    assert_eq!(Case::from_events(&twice), Case::from_events(&reported));
}

#[test]
fn the_organisation_register_keeps_the_latest_entry() {
    let fixture = Fixture::new();
    let entry = fixture.organisations[&org(INACTIVE_TRUST)].clone();
    let active = Organisation {
        active: true,
        ..entry.clone()
    };
    let events = [
        RegistryEvent::OrganisationRegistered {
            organisation: active.clone(),
        },
        RegistryEvent::OrganisationRegistered {
            organisation: entry.clone(),
        },
    ];
    assert_eq!(Organisation::from_events(&events), Some(entry));
    assert_eq!(Organisation::from_events(&events[..1]), Some(active));
    assert_eq!(Organisation::from_events(&[]), None);
}

// ---- No identity number in the record --------------------------------------------------

/// Every identity number the tests send, and the cases that carry them.
fn identified_reports() -> Vec<(String, Body)> {
    let with = |fnr: &str| individual_exemption().set("patient.fnr", json!(fnr));
    vec![
        (FNR_FEMALE_1985.to_string(), with(FNR_FEMALE_1985)),
        (D_NUMBER_FEMALE_1985.to_string(), with(D_NUMBER_FEMALE_1985)),
        (FNR_MALE_1982.to_string(), with(FNR_MALE_1982)),
        (
            FNR_2032_RULE_1982.to_string(),
            with(FNR_2032_RULE_1982).set("patient.sex", json!("male")),
        ),
        (
            classic_identity_number("150690125"),
            with(&classic_identity_number("150690125")),
        ),
    ]
}

#[test]
fn the_pseudonym_never_contains_the_identity_number() {
    let fixture = Fixture::new();
    for (fnr, body) in identified_reports() {
        let events = reported(&fixture, &body);
        let case = Case::from_events(&events).unwrap();
        let pseudonym = case.application.patient.unwrap().pseudonym.unwrap();
        let text = pseudonym.as_str();
        assert!(text.starts_with("k1:"), "{text}");
        assert_eq!(text.len(), 3 + 64);
        assert!(!text.contains(&fnr), "{text}");
        assert!(!text.contains(&fnr[..6]), "birth date in {text}");
        assert!(!text.contains(&fnr[6..]), "personal number in {text}");
    }
}

#[test]
fn the_identity_number_appears_nowhere_in_the_stored_events() {
    let fixture = Fixture::new();
    for (fnr, body) in identified_reports() {
        let mut events = reported(&fixture, &body);
        let case = Case::from_events(&events).unwrap();
        // A correction that sends the number again stores the pseudonym again, not the number.
        let change = serde_json::Map::from_iter([(
            "patient".to_string(),
            json!({"fnr": fnr, "residence_county": "46"}),
        )]);
        let command = CaseCommand::Correct {
            changes: &change,
            reason: CorrectionReason::RegistrationError,
        };
        events.extend(when(&fixture, Some(&case), command).unwrap().events);
        for event in &events {
            let stored = serde_json::to_string(&event.payload()).unwrap();
            assert!(
                !stored.contains(&fnr),
                "{} holds the number",
                event.event_type()
            );
            assert!(
                !stored.contains(&fnr[6..]),
                "{} holds the personal number",
                event.event_type()
            );
            let debug = format!("{event:?}");
            assert!(
                !debug.contains(&fnr),
                "{} debug holds the number",
                event.event_type()
            );
        }
    }
}

#[test]
fn refused_identity_numbers_appear_in_no_error() {
    let fixture = Fixture::new();
    let wrong_check_digit = "12038512438".to_string();
    let synthetic = synthetic_identity_number();
    for (fnr, extra) in [
        (wrong_check_digit, json!({})),
        (synthetic, json!({})),
        (
            FNR_FEMALE_1985.to_string(),
            json!({"birth_year": 1990, "sex": "male"}),
        ),
    ] {
        let mut patient = json!({"fnr": fnr, "residence_county": "03"});
        patient
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let body = individual_exemption().set("patient", patient);
        let result = when(
            &fixture,
            None,
            CaseCommand::Report {
                body: body.map(),
                with_decision: true,
            },
        );
        let Err(CommandError::Invalid(errors)) = result else {
            panic!("{fnr} should be refused")
        };
        let text = serde_json::to_string(&errors).unwrap() + &format!("{errors:?}");
        assert!(!text.contains(&fnr), "{text}");
    }
}
