//! Commands on a case, as given/when/then: given these past events, when this command,
//! then these new events or this error. No database: the events are values.

mod common;

use serde_json::{json, Map, Value};
use uuid::Uuid;

use common::*;
use domain::case::{
    case_id_for, AppealOutcome, CorrectionReason, Outcome, RefusalReason, RetractionReason, Scheme,
};
use domain::commands::{CaseCommand, CommandError};
use domain::events::RegistryEvent;
use domain::identity::{validate_identity_number, Sex};

const APPEAL: Uuid = Uuid::from_u128(0xa11);
const OTHER_APPEAL: Uuid = Uuid::from_u128(0xa12);

fn changes(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => panic!("changes are an object"),
    }
}

fn correct(changes: &Map<String, Value>) -> CaseCommand<'_> {
    CaseCommand::Correct {
        changes,
        reason: CorrectionReason::RegistrationError,
    }
}

fn lodge(lodged_date: &str) -> CaseCommand<'static> {
    CaseCommand::LodgeAppeal {
        appeal_id: APPEAL,
        lodged_date: date(lodged_date),
    }
}

fn decide_appeal(appeal_id: Uuid, decided_date: &str) -> CaseCommand<'static> {
    CaseCommand::DecideAppeal {
        appeal_id,
        decided_date: date(decided_date),
        outcome: AppealOutcome::Upheld,
    }
}

fn retract() -> CaseCommand<'static> {
    CaseCommand::Retract {
        reason: RetractionReason::ReportedInError,
    }
}

fn appeal_lodged(case_id: Uuid, appeal_id: Uuid, lodged: &str) -> RegistryEvent {
    RegistryEvent::AppealLodged {
        case_id,
        appeal_id,
        lodged_date: date(lodged),
    }
}

fn ous_case_id() -> Uuid {
    case_id_for(&org(OSLO_UNIVERSITETSSYKEHUS), "OUS-2025/0117")
}

/// The events of the individual exemption fixture, reported with its decision.
fn decided(fixture: &Fixture) -> Vec<RegistryEvent> {
    reported(fixture, &individual_exemption())
}

/// The events of the individual exemption fixture, reported without its decision.
fn undecided(fixture: &Fixture) -> Vec<RegistryEvent> {
    reported(fixture, &individual_exemption().application_only())
}

fn events_of(result: Result<domain::commands::Accepted, CommandError>) -> Vec<RegistryEvent> {
    result
        .unwrap_or_else(|e| panic!("expected events, got {e:?}"))
        .events
}

// ---- Reporting a case ------------------------------------------------------------------

#[test]
fn reporting_a_decided_case_gives_the_case_and_its_decision() {
    let fixture = Fixture::new();
    let body = individual_exemption();
    let accepted = when(
        &fixture,
        None,
        CaseCommand::Report {
            body: body.map(),
            with_decision: true,
        },
    )
    .unwrap();
    assert_eq!(accepted.case_id, ous_case_id());
    assert!(accepted.warnings.is_empty());
    let types: Vec<&str> = accepted.events.iter().map(|e| e.event_type()).collect();
    assert_eq!(types, ["CaseReceived", "DecisionReported"]);
    match &accepted.events[..] {
        [RegistryEvent::CaseReceived {
            case_id,
            application,
        }, RegistryEvent::DecisionReported {
            case_id: decided_id,
            decision,
        }] => {
            assert_eq!((*case_id, *decided_id), (ous_case_id(), ous_case_id()));
            assert_eq!(application.scheme, Scheme::IndividualExemption);
            assert_eq!(decision.outcome, Outcome::Granted);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn reporting_an_application_alone_gives_only_the_case() {
    let fixture = Fixture::new();
    let types: Vec<&str> = undecided(&fixture).iter().map(|e| e.event_type()).collect();
    assert_eq!(types, ["CaseReceived"]);
}

#[test]
fn reporting_passes_on_the_warnings() {
    let fixture = Fixture::new();
    let body = individual_exemption().set("outcome", json!("refused"));
    let accepted = when(
        &fixture,
        None,
        CaseCommand::Report {
            body: body.map(),
            with_decision: true,
        },
    )
    .unwrap();
    assert_eq!(accepted.warnings[0].code, "refusal_reasons_missing");
    assert_eq!(accepted.events.len(), 2);
}

#[test]
fn an_invalid_report_gives_every_problem_and_no_events() {
    let fixture = Fixture::new();
    let body = individual_exemption()
        .set("decided_date", json!("2025-03-01"))
        .set("patient.residence_county", json!("99"));
    let result = when(
        &fixture,
        None,
        CaseCommand::Report {
            body: body.map(),
            with_decision: true,
        },
    );
    // Every problem at once: the bad county does not hide the dates in the wrong order.
    assert_eq!(
        field_errors(result),
        [
            "decided_date decided_before_received",
            "patient.residence_county county_unknown"
        ]
    );
    let body = individual_exemption().set("decided_date", json!("2025-03-01"));
    let result = when(
        &fixture,
        None,
        CaseCommand::Report {
            body: body.map(),
            with_decision: true,
        },
    );
    assert_eq!(
        field_errors(result),
        ["decided_date decided_before_received"]
    );
}

#[test]
fn a_case_ref_reported_twice_by_one_organisation_is_refused() {
    let fixture = Fixture::new();
    let past = undecided(&fixture);
    let case = given(&past);
    // Even with other facts: the case_ref names the case.
    let again = individual_exemption().set("outcome", json!("refused"));
    let result = when(
        &fixture,
        case.as_ref(),
        CaseCommand::Report {
            body: again.map(),
            with_decision: true,
        },
    );
    assert_eq!(result, Err(CommandError::CaseAlreadyReported));
    // A retracted case keeps its case_ref.
    let mut past = decided(&fixture);
    past.extend(events_of(when(&fixture, given(&past).as_ref(), retract())));
    let result = when(
        &fixture,
        given(&past).as_ref(),
        CaseCommand::Report {
            body: individual_exemption().map(),
            with_decision: true,
        },
    );
    assert_eq!(result, Err(CommandError::CaseAlreadyReported));
}

#[test]
fn an_invalid_report_for_an_existing_case_ref_is_answered_with_its_problems() {
    let fixture = Fixture::new();
    let past = decided(&fixture);
    let body = individual_exemption().set("indication_icd10", json!("XYZ"));
    let result = when(
        &fixture,
        given(&past).as_ref(),
        CaseCommand::Report {
            body: body.map(),
            with_decision: true,
        },
    );
    assert_eq!(field_errors(result), ["indication_icd10 icd10_format"]);
}

// ---- Reporting the decision later ------------------------------------------------------

fn decision_body() -> Map<String, Value> {
    changes(json!({
        "report_id": "4a7d1c0e-0000-4000-8000-000000000001",
        "decided_date": "2025-04-02",
        "outcome": "refused",
        "criteria": {
            "marketing_authorisation": true,
            "standard_treatment_unsuitable": false,
            "substantially_larger_effect": false
        },
        "refusal_reasons": ["criteria_not_met"]
    }))
}

#[test]
fn a_decision_on_an_undecided_case_is_reported() {
    let fixture = Fixture::new();
    let past = undecided(&fixture);
    let body = decision_body();
    let accepted = when(
        &fixture,
        given(&past).as_ref(),
        CaseCommand::ReportDecision { body: &body },
    )
    .unwrap();
    assert_eq!(accepted.case_id, ous_case_id());
    match &accepted.events[..] {
        [RegistryEvent::DecisionReported { case_id, decision }] => {
            assert_eq!(*case_id, ous_case_id());
            assert_eq!(decision.decided_date, date("2025-04-02"));
            assert_eq!(decision.outcome, Outcome::Refused);
            assert_eq!(decision.refusal_reasons, [RefusalReason::CriteriaNotMet]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_second_decision_is_refused() {
    let fixture = Fixture::new();
    let past = decided(&fixture);
    let body = decision_body();
    let result = when(
        &fixture,
        given(&past).as_ref(),
        CaseCommand::ReportDecision { body: &body },
    );
    assert_eq!(result, Err(CommandError::AlreadyDecided));
}

#[test]
fn a_later_decision_is_checked_against_the_case() {
    let fixture = Fixture::new();
    let past = undecided(&fixture);
    let mut body = decision_body();
    body.insert("decided_date".into(), json!("2025-03-02"));
    body.insert("scheme".into(), json!("helfo_individual"));
    let result = when(
        &fixture,
        given(&past).as_ref(),
        CaseCommand::ReportDecision { body: &body },
    );
    assert_eq!(
        field_errors(result),
        [
            "decided_date decided_before_received",
            "scheme unknown_field"
        ]
    );
}

#[test]
fn commands_on_a_case_never_reported_find_no_case() {
    let fixture = Fixture::new();
    let body = decision_body();
    let empty = changes(json!({"outcome": "refused"}));
    for command in [
        CaseCommand::ReportDecision { body: &body },
        correct(&empty),
        retract(),
        lodge("2025-04-01"),
        decide_appeal(APPEAL, "2025-04-01"),
    ] {
        assert_eq!(
            when(&fixture, None, command),
            Err(CommandError::CaseNotFound)
        );
    }
    // Events of other streams do not make a case.
    assert_eq!(given(&method_events()[0]), None);
}

// ---- Retraction ------------------------------------------------------------------------

#[test]
fn a_case_is_retracted() {
    let fixture = Fixture::new();
    let past = undecided(&fixture);
    let events = events_of(when(&fixture, given(&past).as_ref(), retract()));
    assert_eq!(
        events,
        [RegistryEvent::CaseRetracted {
            case_id: ous_case_id(),
            reason: RetractionReason::ReportedInError,
        }]
    );
}

#[test]
fn a_retracted_case_takes_no_further_command() {
    let fixture = Fixture::new();
    let mut past = undecided(&fixture);
    past.extend(events_of(when(&fixture, given(&past).as_ref(), retract())));
    let case = given(&past);
    assert!(case.as_ref().unwrap().retracted);
    let body = decision_body();
    let change = changes(json!({"indication_icd10": "C34.9"}));
    for command in [
        CaseCommand::ReportDecision { body: &body },
        correct(&change),
        retract(),
        lodge("2025-04-01"),
        decide_appeal(APPEAL, "2025-04-01"),
    ] {
        assert_eq!(
            when(&fixture, case.as_ref(), command),
            Err(CommandError::Retracted)
        );
    }
}

#[test]
fn a_retracted_case_with_an_appeal_takes_no_appeal_decision() {
    let fixture = Fixture::new();
    let mut past = decided(&fixture);
    past.push(appeal_lodged(ous_case_id(), APPEAL, "2025-04-01"));
    past.extend(events_of(when(&fixture, given(&past).as_ref(), retract())));
    assert_eq!(
        when(
            &fixture,
            given(&past).as_ref(),
            decide_appeal(APPEAL, "2025-05-01")
        ),
        Err(CommandError::Retracted)
    );
}

// ---- Appeals ---------------------------------------------------------------------------

#[test]
fn an_appeal_is_lodged_against_a_decision() {
    let fixture = Fixture::new();
    let past = decided(&fixture);
    let events = events_of(when(&fixture, given(&past).as_ref(), lodge("2025-04-01")));
    assert_eq!(events, [appeal_lodged(ous_case_id(), APPEAL, "2025-04-01")]);
    // On the day of the decision is not too early.
    let events = events_of(when(&fixture, given(&past).as_ref(), lodge(DECIDED)));
    assert_eq!(events, [appeal_lodged(ous_case_id(), APPEAL, DECIDED)]);
}

#[test]
fn an_undecided_case_cannot_be_appealed() {
    let fixture = Fixture::new();
    let past = undecided(&fixture);
    let result = when(&fixture, given(&past).as_ref(), lodge("2025-04-01"));
    assert_eq!(field_errors(result), ["case no_decision_yet"]);
}

#[test]
fn an_appeal_cannot_be_lodged_before_the_decision_or_in_the_future() {
    let fixture = Fixture::new();
    let past = decided(&fixture);
    let case = given(&past);
    let result = when(&fixture, case.as_ref(), lodge("2025-03-19"));
    assert_eq!(field_errors(result), ["lodged_date lodged_before_decision"]);
    let result = when(&fixture, case.as_ref(), lodge("2025-06-16"));
    assert_eq!(field_errors(result), ["lodged_date date_in_future"]);
    assert!(when(&fixture, case.as_ref(), lodge(TODAY)).is_ok());
}

#[test]
fn an_appeal_is_decided() {
    let fixture = Fixture::new();
    let mut past = decided(&fixture);
    past.push(appeal_lodged(ous_case_id(), APPEAL, "2025-04-01"));
    let command = CaseCommand::DecideAppeal {
        appeal_id: APPEAL,
        decided_date: date("2025-05-02"),
        outcome: AppealOutcome::PartlyOverturned,
    };
    let events = events_of(when(&fixture, given(&past).as_ref(), command));
    assert_eq!(
        events,
        [RegistryEvent::AppealDecided {
            case_id: ous_case_id(),
            appeal_id: APPEAL,
            decided_date: date("2025-05-02"),
            outcome: AppealOutcome::PartlyOverturned,
        }]
    );
}

#[test]
fn deciding_an_unknown_appeal_is_refused() {
    let fixture = Fixture::new();
    let mut past = decided(&fixture);
    let result = when(
        &fixture,
        given(&past).as_ref(),
        decide_appeal(APPEAL, "2025-05-02"),
    );
    assert_eq!(result, Err(CommandError::AppealNotFound));
    past.push(appeal_lodged(ous_case_id(), APPEAL, "2025-04-01"));
    let result = when(
        &fixture,
        given(&past).as_ref(),
        decide_appeal(OTHER_APPEAL, "2025-05-02"),
    );
    assert_eq!(result, Err(CommandError::AppealNotFound));
}

#[test]
fn an_appeal_is_decided_once() {
    let fixture = Fixture::new();
    let mut past = decided(&fixture);
    past.push(appeal_lodged(ous_case_id(), APPEAL, "2025-04-01"));
    past.extend(events_of(when(
        &fixture,
        given(&past).as_ref(),
        decide_appeal(APPEAL, "2025-05-02"),
    )));
    let result = when(
        &fixture,
        given(&past).as_ref(),
        decide_appeal(APPEAL, "2025-05-03"),
    );
    assert_eq!(result, Err(CommandError::AppealAlreadyDecided));
}

#[test]
fn an_appeal_is_decided_after_it_was_lodged_and_not_in_the_future() {
    let fixture = Fixture::new();
    let mut past = decided(&fixture);
    past.push(appeal_lodged(ous_case_id(), APPEAL, "2025-04-01"));
    let case = given(&past);
    let result = when(&fixture, case.as_ref(), decide_appeal(APPEAL, "2025-03-31"));
    assert_eq!(field_errors(result), ["decided_date decided_before_lodged"]);
    let result = when(&fixture, case.as_ref(), decide_appeal(APPEAL, "2025-06-16"));
    assert_eq!(field_errors(result), ["decided_date date_in_future"]);
    assert!(when(&fixture, case.as_ref(), decide_appeal(APPEAL, "2025-04-01")).is_ok());
}

#[test]
fn of_two_appeals_each_is_decided_on_its_own() {
    let fixture = Fixture::new();
    let mut past = decided(&fixture);
    past.push(appeal_lodged(ous_case_id(), APPEAL, "2025-04-01"));
    past.push(appeal_lodged(ous_case_id(), OTHER_APPEAL, "2025-04-10"));
    past.extend(events_of(when(
        &fixture,
        given(&past).as_ref(),
        decide_appeal(OTHER_APPEAL, "2025-05-02"),
    )));
    let case = given(&past).unwrap();
    assert_eq!(case.appeal(APPEAL).unwrap().outcome, None);
    assert_eq!(
        case.appeal(OTHER_APPEAL).unwrap().outcome,
        Some(AppealOutcome::Upheld)
    );
    assert!(when(&fixture, Some(&case), decide_appeal(APPEAL, "2025-05-02")).is_ok());
}

// ---- Corrections -----------------------------------------------------------------------

#[test]
fn a_correction_carries_the_whole_case_as_it_now_stands() {
    let fixture = Fixture::new();
    let past = decided(&fixture);
    let case = given(&past).unwrap();
    let change = changes(json!({"outcome": "refused", "refusal_reasons": ["other"]}));
    let accepted = when(&fixture, Some(&case), correct(&change)).unwrap();
    assert!(accepted.warnings.is_empty(), "{:?}", accepted.warnings);
    let mut decision = case.decision.clone().unwrap();
    decision.outcome = Outcome::Refused;
    decision.refusal_reasons = vec![RefusalReason::Other];
    assert_eq!(
        accepted.events,
        [RegistryEvent::CaseCorrected {
            case_id: ous_case_id(),
            reason: CorrectionReason::RegistrationError,
            changed_fields: vec!["outcome".into(), "refusal_reasons".into()],
            application: case.application.clone(),
            decision: Some(decision),
        }]
    );
}

#[test]
fn a_correction_can_warn() {
    let fixture = Fixture::new();
    let past = decided(&fixture);
    let change = changes(json!({"outcome": "refused"}));
    let accepted = when(&fixture, given(&past).as_ref(), correct(&change)).unwrap();
    let codes: Vec<&str> = accepted.warnings.iter().map(|w| w.code.as_str()).collect();
    assert_eq!(codes, ["refusal_reasons_missing"]);
}

/// The field errors a correction of the decided individual exemption gets.
fn check_correction(change: Value, expected: &[&str]) {
    let fixture = Fixture::new();
    let past = decided(&fixture);
    let change = changes(change);
    let result = when(&fixture, given(&past).as_ref(), correct(&change));
    assert_eq!(field_errors(result), expected, "changes {}", json!(change));
}

#[test]
fn the_fields_that_name_a_case_cannot_be_corrected() {
    check_correction(
        json!({"case_ref": "OUS-2025/0118"}),
        &["changes.case_ref not_correctable"],
    );
    check_correction(
        json!({"deciding_org": HELSE_BERGEN, "case_ref": "x"}),
        &[
            "changes.case_ref not_correctable",
            "changes.deciding_org not_correctable",
        ],
    );
    check_correction(
        json!({"deciding_org": OSLO_UNIVERSITETSSYKEHUS}),
        &["changes.deciding_org not_correctable"],
    );
}

#[test]
fn a_correction_names_known_fields_and_changes_at_least_one() {
    check_correction(json!({}), &["changes required"]);
    check_correction(
        json!({"report_id": "x"}),
        &["changes.report_id unknown_field"],
    );
    check_correction(json!({"comment": "x"}), &["changes.comment unknown_field"]);
}

#[test]
fn a_corrected_field_is_checked_like_a_reported_one() {
    check_correction(
        json!({"indication_icd10": "XYZ"}),
        &["indication_icd10 icd10_format"],
    );
    check_correction(
        json!({"decided_date": "2025-06-16"}),
        &["decided_date date_in_future"],
    );
    check_correction(
        json!({"criteria": {"benefit": true}}),
        &["criteria.benefit unknown_criterion"],
    );
    check_correction(
        json!({"patient": {"fnr": "12038512438", "residence_county": "03"}}),
        &["patient.fnr identity_number_check_digit"],
    );
}

#[test]
fn a_correction_that_breaks_a_rule_across_fields_is_refused() {
    check_correction(
        json!({"decided_date": "2025-03-01"}),
        &["decided_date decided_before_received"],
    );
    check_correction(
        json!({"received_date": "2025-03-21"}),
        &["decided_date decided_before_received"],
    );
    check_correction(
        json!({"refusal_reasons": ["criteria_not_met"]}),
        &["refusal_reasons not_allowed"],
    );
    check_correction(
        json!({"method_id": UNKNOWN_METHOD}),
        &["method_id unknown_method"],
    );
    // A trust cannot decide individual access, and the criteria are another scheme's.
    check_correction(
        json!({"scheme": "individual_access"}),
        &[
            "criteria.marketing_authorisation unknown_criterion",
            "criteria.standard_treatment_unsuitable unknown_criterion",
            "criteria.substantially_larger_effect unknown_criterion",
            "deciding_org wrong_deciding_organisation",
        ],
    );
    check_correction(
        json!({"group": {"expected_patients": 3, "description": "x"}}),
        &["group not_allowed"],
    );
}

#[test]
fn a_patient_kept_by_a_correction_is_still_checked_against_the_received_date() {
    let fixture = Fixture::new();
    let body = individual_exemption().set(
        "patient",
        json!({"birth_year": 2025, "sex": "male", "residence_county": "03"}),
    );
    let past = reported(&fixture, &body);
    let change = changes(json!({"received_date": "2024-12-20"}));
    let result = when(&fixture, given(&past).as_ref(), correct(&change));
    assert_eq!(
        field_errors(result),
        ["patient.birth_year birth_year_after_application"]
    );
}

#[test]
fn decision_fields_cannot_be_corrected_before_there_is_a_decision() {
    let fixture = Fixture::new();
    let past = undecided(&fixture);
    let change = changes(json!({"outcome": "refused", "decided_date": DECIDED}));
    let result = when(&fixture, given(&past).as_ref(), correct(&change));
    assert_eq!(
        field_errors(result),
        [
            "changes.decided_date no_decision_yet",
            "changes.outcome no_decision_yet"
        ]
    );
    // The application itself can be corrected, and the case stays undecided.
    let change = changes(json!({"indication_icd10": "C34.9"}));
    let events = events_of(when(&fixture, given(&past).as_ref(), correct(&change)));
    match &events[..] {
        [RegistryEvent::CaseCorrected {
            decision,
            application,
            changed_fields,
            ..
        }] => {
            assert_eq!(*decision, None);
            assert_eq!(application.indication_icd10.as_str(), "C349");
            assert_eq!(changed_fields, &["indication_icd10"]);
        }
        other => panic!("{other:?}"),
    }
}

fn corrected_application(
    fixture: &Fixture,
    past: &[RegistryEvent],
    change: Value,
) -> domain::case::Application {
    let change = changes(change);
    match &events_of(when(fixture, given(past).as_ref(), correct(&change)))[..] {
        [RegistryEvent::CaseCorrected { application, .. }] => application.clone(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_patient_left_unchanged_keeps_their_pseudonym() {
    let fixture = Fixture::new();
    let past = decided(&fixture);
    let before = given(&past).unwrap().application.patient.unwrap();
    assert!(before.pseudonym.is_some());
    for change in [
        json!({"indication_icd10": "C34.9"}),
        json!({"received_date": "2025-03-04"}),
        json!({"scheme": "early_access", "criteria": {}}),
    ] {
        let after = corrected_application(&fixture, &past, change.clone());
        assert_eq!(after.patient.as_ref(), Some(&before), "{change}");
    }
}

#[test]
fn a_patient_corrected_with_a_new_identity_number_is_pseudonymised_anew() {
    let fixture = Fixture::new();
    let past = decided(&fixture);
    let before = given(&past).unwrap().application.patient.unwrap();
    let after = corrected_application(
        &fixture,
        &past,
        json!({"patient": {"fnr": FNR_MALE_1982, "residence_county": "46"}}),
    )
    .patient
    .unwrap();
    let identity = validate_identity_number(FNR_MALE_1982, fixture.today, false).unwrap();
    assert_eq!(after.pseudonym, Some(fixture.key.pseudonymise(&identity)));
    assert_ne!(after.pseudonym, before.pseudonym);
    assert_eq!((after.birth_year, after.sex), (1982, Some(Sex::Male)));
    assert_eq!(after.residence_county.as_str(), "46");
    // The same number again gives the same pseudonym: the patient still links up.
    let same = corrected_application(
        &fixture,
        &past,
        json!({"patient": {"fnr": FNR_FEMALE_1985, "residence_county": "11"}}),
    )
    .patient
    .unwrap();
    assert_eq!(same.pseudonym, before.pseudonym);
    // Without a number the patient has no pseudonym.
    let anonymous = corrected_application(
        &fixture,
        &past,
        json!({"patient": {"birth_year": 1985, "sex": "female", "residence_county": "03"}}),
    )
    .patient
    .unwrap();
    assert_eq!(anonymous.pseudonym, None);
}

#[test]
fn a_correction_can_move_a_case_between_a_patient_and_a_group() {
    let fixture = Fixture::new();
    // From a group exemption to individual access: the group goes, a patient comes.
    let past = reported(&fixture, &group_exemption());
    let application = corrected_application(
        &fixture,
        &past,
        json!({
            "scheme": "individual_access",
            "group": null,
            "patient": {"birth_year": 1961, "sex": "female", "residence_county": "46"}
        }),
    );
    assert_eq!(application.scheme, Scheme::IndividualAccess);
    assert_eq!(application.group, None);
    assert_eq!(application.patient.unwrap().birth_year, 1961);
    // And back: the patient goes, a group comes.
    let past = reported(&fixture, &individual_access());
    let application = corrected_application(
        &fixture,
        &past,
        json!({
            "scheme": "group_exemption",
            "group": {"expected_patients": 4, "description": "barn med SMA type 1"}
        }),
    );
    assert_eq!(application.patient, None);
    assert_eq!(application.group.unwrap().expected_patients, 4);
}

#[test]
fn a_correction_records_its_reason() {
    let fixture = Fixture::new();
    let past = decided(&fixture);
    let change = changes(json!({"atc": null}));
    let command = CaseCommand::Correct {
        changes: &change,
        reason: CorrectionReason::NewInformation,
    };
    match &events_of(when(&fixture, given(&past).as_ref(), command))[..] {
        [RegistryEvent::CaseCorrected {
            reason,
            application,
            changed_fields,
            ..
        }] => {
            assert_eq!(*reason, CorrectionReason::NewInformation);
            assert_eq!(application.atc, None);
            assert_eq!(changed_fields, &["atc"]);
        }
        other => panic!("{other:?}"),
    }
}
