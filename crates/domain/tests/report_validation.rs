//! Validation of report bodies, data-driven: each case is one body (a valid fixture with
//! one or more fields changed) and the outcome it must get, written as
//! `"ok"`, `"ok; warn code, code"` or `"field code; field code"` (errors sorted).

mod common;

use serde_json::json;

use common::*;
use domain::case::{case_id_for, Outcome, Scheme};
use domain::identity::Sex;
use domain::report::{validate_case, validate_correction, validate_decision_for, ValidCase};

const ENVELOPE: &[&str] = &["report_id"];

fn outcome(result: Result<ValidCase, Vec<domain::problems::FieldError>>) -> String {
    match result {
        Ok(valid) if valid.warnings.is_empty() => "ok".to_string(),
        Ok(valid) => {
            let codes: Vec<&str> = valid.warnings.iter().map(|w| w.code.as_str()).collect();
            format!("ok; warn {}", codes.join(", "))
        }
        Err(errors) => {
            let mut found: Vec<String> = errors
                .iter()
                .map(|e| format!("{} {}", e.field, e.code))
                .collect();
            found.sort();
            found.join("; ")
        }
    }
}

/// A report of a case with its decision (`POST /decisions`).
fn check(body: Body, expected: &str) {
    check_with(&Fixture::new(), body, expected);
}

fn check_with(fixture: &Fixture, body: Body, expected: &str) {
    let actual = outcome(validate_case(
        body.map(),
        true,
        ENVELOPE,
        &fixture.context(),
    ));
    assert_eq!(actual, expected, "body {}", json!(body.0));
}

/// A report of the application alone (`POST /cases`).
fn check_application(body: Body, expected: &str) {
    let fixture = Fixture::new();
    let actual = outcome(validate_case(
        body.map(),
        false,
        ENVELOPE,
        &fixture.context(),
    ));
    assert_eq!(actual, expected, "body {}", json!(body.0));
}

fn valid(body: Body) -> ValidCase {
    let fixture = Fixture::new();
    validate_case(body.map(), true, ENVELOPE, &fixture.context()).expect("a valid body")
}

// ---- Valid reports ---------------------------------------------------------------------

#[test]
fn a_valid_decision_of_each_scheme_is_accepted_without_warnings() {
    for (scheme, body) in all_schemes() {
        let fixture = Fixture::new();
        let result = validate_case(body.map(), true, ENVELOPE, &fixture.context());
        assert_eq!(outcome(result.clone()), "ok", "{scheme}");
        let valid = result.unwrap();
        assert_eq!(valid.application.scheme.as_str(), scheme);
        assert!(valid.decision.is_some(), "{scheme}");
    }
}

#[test]
fn a_valid_application_of_each_scheme_is_accepted_without_its_decision() {
    for (scheme, body) in all_schemes() {
        let fixture = Fixture::new();
        let body = body.application_only();
        let valid = validate_case(body.map(), false, ENVELOPE, &fixture.context())
            .unwrap_or_else(|e| panic!("{scheme}: {e:?}"));
        assert_eq!(valid.decision, None);
        assert!(valid.warnings.is_empty(), "{scheme}: {:?}", valid.warnings);
    }
}

#[test]
fn what_a_valid_report_becomes() {
    let valid = valid(individual_exemption());
    let patient = valid.application.patient.as_ref().unwrap();
    assert_eq!(patient.birth_year, 1985);
    assert_eq!(patient.sex, Some(Sex::Female));
    assert_eq!(patient.residence_county.as_str(), "03");
    assert!(patient
        .pseudonym
        .as_ref()
        .unwrap()
        .as_str()
        .starts_with("k1:"));
    assert_eq!(valid.application.indication_icd10.as_str(), "C341");
    // Where a trust decides, it is also the applying organisation unless told otherwise.
    assert_eq!(
        valid.application.applying_org,
        org(OSLO_UNIVERSITETSSYKEHUS)
    );
    assert_eq!(valid.decision.unwrap().outcome, Outcome::Granted);

    let group = valid_group();
    assert_eq!(group.application.patient, None);
    assert_eq!(group.application.group.unwrap().expected_patients, 12);
}

fn valid_group() -> ValidCase {
    valid(group_exemption())
}

// ---- Required fields -------------------------------------------------------------------

#[test]
fn every_required_field_missing_is_reported_as_required_on_that_field() {
    for field in [
        "case_ref",
        "deciding_org",
        "scheme",
        "method_id",
        "indication_icd10",
        "patient",
        "received_date",
        "decided_date",
        "outcome",
        "criteria",
        "patient.residence_county",
    ] {
        check(
            individual_exemption().without(field),
            &format!("{field} required"),
        );
    }
    for field in [
        "group",
        "applying_org",
        "group.expected_patients",
        "group.description",
    ] {
        check(
            group_exemption().without(field),
            &format!("{field} required"),
        );
    }
    check(
        individual_access().without("applying_org"),
        "applying_org required",
    );
    check(
        reassessment_access().without("applying_org"),
        "applying_org required",
    );
}

#[test]
fn null_counts_as_missing() {
    check(
        individual_exemption().set("case_ref", json!(null)),
        "case_ref required",
    );
    check(
        individual_exemption().set("outcome", json!(null)),
        "outcome required",
    );
    check(
        individual_access().set("applying_org", json!(null)),
        "applying_org required",
    );
}

#[test]
fn optional_fields_may_be_left_out() {
    check(individual_exemption().without("atc"), "ok");
    check(individual_exemption().without("report_id"), "ok");
    check(
        helfo_individual().without("refusal_reasons"),
        "ok; warn refusal_reasons_missing",
    );
    // A trust deciding, or Helfo, need not name an applying organisation.
    check(early_access().without("applying_org"), "ok");
    check(helfo_individual().without("applying_org"), "ok");
}

#[test]
fn an_empty_body_reports_every_required_field() {
    check(
        Body(serde_json::Map::new()),
        "case_ref required; criteria required; decided_date required; deciding_org required; \
         indication_icd10 required; method_id required; outcome required; \
         received_date required; scheme required",
    );
}

// ---- All problems at once --------------------------------------------------------------

#[test]
fn several_bad_fields_give_several_errors() {
    check(
        individual_exemption()
            .set("case_ref", json!("has spaces in it"))
            .set("indication_icd10", json!("XYZ"))
            .set("decided_date", json!("2099-01-01"))
            .set("patient.residence_county", json!("99"))
            .set("criteria.benefit", json!(true)),
        "case_ref case_ref_format; criteria.benefit unknown_criterion; \
         decided_date date_in_future; indication_icd10 icd10_format; \
         patient.residence_county county_unknown",
    );
    check(
        group_exemption()
            .without("applying_org")
            .set("atc", json!("Z99"))
            .set("group.expected_patients", json!(0))
            .set("outcome", json!("maybe")),
        "applying_org required; atc atc_format; group.expected_patients expected_patients_range; \
         outcome outcome_value",
    );
    check(
        individual_exemption()
            .set("patient", json!({"residence_county": "3"}))
            .set("method_id", json!("2021_047"))
            .set("received_date", json!("03.03.2025")),
        "method_id method_id_format; patient.birth_year required; \
         patient.residence_county county_unknown; patient.sex required; \
         received_date date_format",
    );
}

#[test]
fn a_wrong_type_in_one_field_does_not_hide_the_others() {
    check(
        individual_exemption()
            .set("case_ref", json!(117))
            .set("deciding_org", json!(993467049))
            .set("patient", json!("12038512437"))
            .set("criteria", json!([true, true, true])),
        "case_ref string_expected; criteria object_expected; deciding_org string_expected; \
         patient object_expected",
    );
}

// ---- No problem hides another ----------------------------------------------------------

/// An identity number whose check digits are wrong.
const BAD_FNR: &str = "12038512438";
/// A day before `RECEIVED`.
const BEFORE_RECEIVED: &str = "2025-03-02";

#[test]
fn a_bad_identity_number_does_not_hide_a_decision_before_the_application() {
    check(
        individual_exemption()
            .set("patient.fnr", json!(BAD_FNR))
            .set("decided_date", json!(BEFORE_RECEIVED)),
        "decided_date decided_before_received; patient.fnr identity_number_check_digit",
    );
}

#[test]
fn a_bad_patient_does_not_hide_the_registers() {
    check(
        individual_exemption()
            .set("patient.fnr", json!(BAD_FNR))
            .set("deciding_org", json!(NOT_REGISTERED))
            .set("method_id", json!(UNKNOWN_METHOD)),
        "deciding_org unknown_organisation; method_id unknown_method; \
         patient.fnr identity_number_check_digit",
    );
    check(
        individual_exemption()
            .set("patient", json!("12038512437"))
            .set("deciding_org", json!(HELSE_SOR_OST)),
        "deciding_org wrong_deciding_organisation; patient object_expected",
    );
    check_application(
        individual_exemption()
            .application_only()
            .set("patient.residence_county", json!("99"))
            .set("method_id", json!(UNKNOWN_METHOD)),
        "method_id unknown_method; patient.residence_county county_unknown",
    );
}

#[test]
fn a_bad_group_does_not_hide_the_other_rules() {
    check(
        group_exemption()
            .set("group.expected_patients", json!(0))
            .set("decided_date", json!(BEFORE_RECEIVED))
            .set("applying_org", json!(HELSE_VEST)),
        "applying_org wrong_applying_organisation; decided_date decided_before_received; \
         group.expected_patients expected_patients_range",
    );
    check(
        group_exemption()
            .without("group")
            .set("deciding_org", json!(INACTIVE_TRUST)),
        "deciding_org inactive_organisation; group required",
    );
}

#[test]
fn a_bad_field_of_the_application_does_not_hide_the_rules_across_fields() {
    check(
        individual_exemption()
            .set("atc", json!("Z99"))
            .set("decided_date", json!(BEFORE_RECEIVED)),
        "atc atc_format; decided_date decided_before_received",
    );
    check(
        individual_exemption()
            .set("case_ref", json!("sak 17"))
            .set("indication_icd10", json!("XYZ"))
            .set("deciding_org", json!(HELSEDIREKTORATET))
            .set("refusal_reasons", json!(["other"])),
        "case_ref case_ref_format; deciding_org wrong_deciding_organisation; \
         indication_icd10 icd10_format; refusal_reasons not_allowed",
    );
    // The deciding organisation unreadable: the applying one is still looked up.
    check(
        individual_access()
            .set("deciding_org", json!("993467048"))
            .set("applying_org", json!(NOT_REGISTERED)),
        "applying_org unknown_organisation; deciding_org organisation_number_check_digit",
    );
}

#[test]
fn a_bad_field_of_the_decision_does_not_hide_the_rules_across_fields() {
    check(
        individual_exemption()
            .set("outcome", json!("maybe"))
            .set("decided_date", json!(BEFORE_RECEIVED)),
        "decided_date decided_before_received; outcome outcome_value",
    );
    check(
        individual_exemption()
            .set("outcome", json!("refused"))
            .set("refusal_reasons", json!(["too_expensive"]))
            .set("decided_date", json!(BEFORE_RECEIVED)),
        "decided_date decided_before_received; refusal_reasons[0] unknown_value",
    );
    check(
        individual_exemption()
            .set("criteria.benefit", json!(true))
            .set("refusal_reasons", json!(["other"])),
        "criteria.benefit unknown_criterion; refusal_reasons not_allowed",
    );
    let exemption_criteria = json!({"marketing_authorisation": true});
    check_decision_for(
        individual_exemption(),
        json!({
            "decided_date": BEFORE_RECEIVED,
            "outcome": "granted",
            "criteria": exemption_criteria,
            "refusal_reasons": "other"
        }),
        "decided_date decided_before_received; refusal_reasons list_expected",
    );
}

#[test]
fn an_unknown_scheme_does_not_hide_the_patient_the_group_or_the_criteria() {
    let unknown = |body: Body| body.set("scheme", json!("unntak"));
    check(
        unknown(individual_exemption()).set("patient.fnr", json!(BAD_FNR)),
        "patient.fnr identity_number_check_digit; scheme unknown_scheme",
    );
    check(
        unknown(group_exemption()).set("group.description", json!("")),
        "group.description description_length; scheme unknown_scheme",
    );
    check(
        unknown(individual_exemption())
            .set("criteria.marketing_authorisation", json!("yes"))
            .set("criteria.lack_of_effect", json!(true))
            .set("criteria.exceptional_on", json!(["resource_use"])),
        "criteria.exceptional_on[0] unknown_value; criteria.lack_of_effect unknown_criterion; \
         criteria.marketing_authorisation criterion_value; scheme unknown_scheme",
    );
    check(
        unknown(individual_exemption())
            .set("criteria", json!([]))
            .set("deciding_org", json!(NOT_REGISTERED)),
        "criteria object_expected; deciding_org unknown_organisation; scheme unknown_scheme",
    );
    // Whatever the scheme, the criteria of some scheme are not unknown.
    check(
        unknown(individual_exemption()).set("criteria.benefit", json!(true)),
        "scheme unknown_scheme",
    );
}

#[test]
fn a_birth_year_given_beside_a_failing_patient_is_still_checked_against_the_received_date() {
    let received_2024 = |patient: serde_json::Value| {
        individual_exemption()
            .set("patient", patient)
            .set("received_date", json!("2024-12-20"))
            .set("decided_date", json!("2024-12-21"))
    };
    check(
        received_2024(json!({"birth_year": 2025, "residence_county": "03"})),
        "patient.birth_year birth_year_after_application; patient.sex required",
    );
    check(
        received_2024(json!({"fnr": BAD_FNR, "birth_year": 2025, "residence_county": "03"})),
        "patient.birth_year birth_year_after_application; patient.fnr identity_number_check_digit",
    );
}

/// The outcome of correcting the decided individual exemption (or, with `decided` false,
/// the undecided one) with `changes`.
fn check_correction(decided: bool, changes: serde_json::Value, expected: &str) {
    let fixture = Fixture::new();
    let stored = valid(individual_exemption());
    let decision = stored.decision.as_ref().filter(|_| decided);
    let actual = outcome(validate_correction(
        changes.as_object().unwrap(),
        &stored.application,
        decision,
        &fixture.context(),
    ));
    assert_eq!(actual, expected, "changes {changes}");
}

#[test]
fn a_refused_change_does_not_hide_the_problems_of_the_others() {
    check_correction(
        true,
        json!({"case_ref": "x", "indication_icd10": "XYZ"}),
        "changes.case_ref not_correctable; indication_icd10 icd10_format",
    );
    check_correction(
        true,
        json!({"comment": "x", "decided_date": "2025-03-01"}),
        "changes.comment unknown_field; decided_date decided_before_received",
    );
    check_correction(
        false,
        json!({"outcome": "refused", "received_date": "03.03.2025"}),
        "changes.outcome no_decision_yet; received_date date_format",
    );
    // The refused changes alone: the case as it stands has no problem to add.
    check_correction(
        true,
        json!({"deciding_org": HELSE_BERGEN}),
        "changes.deciding_org not_correctable",
    );
    check_correction(true, json!({"indication_icd10": "C34.9"}), "ok");
}

// ---- Unknown fields --------------------------------------------------------------------

#[test]
fn unknown_fields_are_rejected_at_every_level() {
    check(
        individual_exemption().set("comment", json!("x")),
        "comment unknown_field",
    );
    check(
        individual_exemption().set("patient.name", json!("Kari Nordmann")),
        "patient.name unknown_field",
    );
    check(
        individual_exemption().set("patient.diagnosis", json!("x")),
        "patient.diagnosis unknown_field",
    );
    check(
        group_exemption().set("group.members", json!([])),
        "group.members unknown_field",
    );
    check(
        individual_exemption()
            .set("Case_Ref", json!("x"))
            .set("decision", json!({})),
        "Case_Ref unknown_field; decision unknown_field",
    );
}

#[test]
fn decision_fields_are_unknown_in_an_application_alone() {
    check_application(individual_exemption().application_only(), "ok");
    check_application(
        individual_exemption()
            .application_only()
            .set("outcome", json!("granted")),
        "outcome unknown_field",
    );
    check_application(
        individual_exemption(),
        "criteria unknown_field; decided_date unknown_field; outcome unknown_field",
    );
}

// ---- Who decides, who applies ----------------------------------------------------------

#[test]
fn a_trust_or_private_hospital_decides_individual_exemptions_and_early_access() {
    check(
        individual_exemption().set("deciding_org", json!(LOVISENBERG)),
        "ok",
    );
    check(
        individual_exemption().set("deciding_org", json!(HELSE_BERGEN)),
        "ok",
    );
    check(
        individual_exemption().set("deciding_org", json!(HELSE_SOR_OST)),
        "deciding_org wrong_deciding_organisation",
    );
    check(
        individual_exemption().set("deciding_org", json!(HELSEDIREKTORATET)),
        "deciding_org wrong_deciding_organisation",
    );
    check(early_access().set("deciding_org", json!(ST_OLAVS)), "ok");
    check(
        early_access().set("deciding_org", json!(HELSE_MIDT_NORGE)),
        "deciding_org wrong_deciding_organisation",
    );
}

#[test]
fn a_regional_authority_decides_for_the_interregional_bodies() {
    for rhf in [HELSE_SOR_OST, HELSE_VEST, HELSE_MIDT_NORGE, HELSE_NORD] {
        check(group_exemption().set("deciding_org", json!(rhf)), "ok");
        check(individual_access().set("deciding_org", json!(rhf)), "ok");
        check(reassessment_access().set("deciding_org", json!(rhf)), "ok");
    }
    check(
        individual_access().set("deciding_org", json!(OSLO_UNIVERSITETSSYKEHUS)),
        "deciding_org wrong_deciding_organisation",
    );
    check(
        group_exemption().set("deciding_org", json!(HELSEDIREKTORATET)),
        "deciding_org wrong_deciding_organisation",
    );
    check(
        reassessment_access().set("deciding_org", json!(LOVISENBERG)),
        "deciding_org wrong_deciding_organisation",
    );
}

#[test]
fn only_helsedirektoratet_decides_helfo_cases() {
    check(
        helfo_individual().set("deciding_org", json!(OSLO_UNIVERSITETSSYKEHUS)),
        "deciding_org wrong_deciding_organisation",
    );
    check(
        helfo_individual().set("deciding_org", json!(HELSE_VEST)),
        "deciding_org wrong_deciding_organisation",
    );
}

#[test]
fn the_deciding_organisation_must_be_registered_and_active() {
    check(
        individual_exemption().set("deciding_org", json!(NOT_REGISTERED)),
        "deciding_org unknown_organisation",
    );
    check(
        individual_exemption().set("deciding_org", json!(INACTIVE_TRUST)),
        "deciding_org inactive_organisation",
    );
    check(
        individual_exemption().set("deciding_org", json!("993467048")),
        "deciding_org organisation_number_check_digit",
    );
    check(
        individual_exemption().set("deciding_org", json!("99346704")),
        "deciding_org organisation_number_format",
    );
}

#[test]
fn the_applying_organisation_is_a_registered_trust_or_hospital() {
    check(
        individual_access().set("applying_org", json!(LOVISENBERG)),
        "ok",
    );
    // The committee serves every region: a trust in another region may apply.
    check(individual_access().set("applying_org", json!(UNN)), "ok");
    check(
        individual_access().set("applying_org", json!(HELSE_VEST)),
        "applying_org wrong_applying_organisation",
    );
    check(
        individual_access().set("applying_org", json!(HELSEDIREKTORATET)),
        "applying_org wrong_applying_organisation",
    );
    check(
        individual_access().set("applying_org", json!(NOT_REGISTERED)),
        "applying_org unknown_organisation",
    );
    // Naming the deciding authority itself does not name the trust that applied.
    check(
        individual_access().set("applying_org", json!(HELSE_SOR_OST)),
        "applying_org wrong_applying_organisation",
    );
    // A malformed number is reported as malformed, not also as missing.
    check(
        individual_access().set("applying_org", json!("993467048")),
        "applying_org organisation_number_check_digit",
    );
    check(
        individual_exemption().set("applying_org", json!("993467048")),
        "applying_org organisation_number_check_digit",
    );
    check(
        individual_exemption().set("applying_org", json!(OSLO_UNIVERSITETSSYKEHUS)),
        "ok",
    );
    check(
        helfo_individual().set("applying_org", json!(HELSE_BERGEN)),
        "ok",
    );
}

// ---- The patient -----------------------------------------------------------------------

#[test]
fn a_patient_is_named_by_identity_number_or_by_birth_year_and_sex() {
    let anonymous = json!({"birth_year": 1961, "sex": "female", "residence_county": "11"});
    check(individual_exemption().set("patient", anonymous), "ok");
    check(
        individual_exemption().set("patient.fnr", json!(D_NUMBER_FEMALE_1985)),
        "ok",
    );
    check(
        individual_exemption().set("patient", json!({"residence_county": "03"})),
        "patient.birth_year required; patient.sex required",
    );
    check(
        individual_exemption().set(
            "patient",
            json!({"birth_year": 1961, "residence_county": "03"}),
        ),
        "patient.sex required",
    );
    check(
        individual_exemption().set("patient", json!({"sex": "male", "residence_county": "03"})),
        "patient.birth_year required",
    );
    check(
        individual_exemption().set("patient", json!({"fnr": FNR_FEMALE_1985})),
        "patient.residence_county required",
    );
}

#[test]
fn birth_year_and_sex_beside_an_identity_number_must_agree_with_it() {
    let patient = |extra: serde_json::Value| {
        let mut value = json!({"fnr": FNR_FEMALE_1985, "residence_county": "03"});
        value
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        individual_exemption().set("patient", value)
    };
    check(patient(json!({"birth_year": 1985, "sex": "female"})), "ok");
    check(
        patient(json!({"birth_year": 1986})),
        "patient.birth_year birth_year_mismatch",
    );
    check(patient(json!({"sex": "male"})), "patient.sex sex_mismatch");
    check(
        patient(json!({"birth_year": 1984, "sex": "male"})),
        "patient.birth_year birth_year_mismatch; patient.sex sex_mismatch",
    );
}

#[test]
fn a_number_under_the_2032_rule_carries_no_sex_so_sex_may_be_given() {
    let with_2032_number = |sex: Option<&str>| {
        let body = individual_exemption().set("patient.fnr", json!(FNR_2032_RULE_1982));
        match sex {
            Some(sex) => body.set("patient.sex", json!(sex)),
            None => body,
        }
    };
    check(with_2032_number(Some("male")), "ok");
    check(with_2032_number(Some("female")), "ok");
    check(with_2032_number(None), "ok");
    let patient = |body: Body| valid(body).application.patient.unwrap();
    assert_eq!(
        patient(with_2032_number(Some("female"))).sex,
        Some(Sex::Female)
    );
    assert_eq!(patient(with_2032_number(None)).sex, None);
    assert_eq!(patient(with_2032_number(None)).birth_year, 1982);
    // The classic twin of the same person does carry sex, and contradicting it is refused.
    check(
        individual_exemption()
            .set("patient.fnr", json!(FNR_MALE_1982))
            .set("patient.sex", json!("female")),
        "patient.sex sex_mismatch",
    );
}

#[test]
fn bad_identity_numbers_are_refused_with_the_validators_code() {
    let fnr = |value: serde_json::Value| individual_exemption().set("patient.fnr", value);
    check(
        fnr(json!("12038512438")),
        "patient.fnr identity_number_check_digit",
    );
    check(
        fnr(json!("1203851243")),
        "patient.fnr identity_number_format",
    );
    check(
        fnr(json!("120385 12437")),
        "patient.fnr identity_number_format",
    );
    check(
        fnr(json!(12038512437_u64)),
        "patient.fnr identity_number_format",
    );
    check(
        fnr(json!(classic_identity_number("310285123"))),
        "patient.fnr identity_number_date",
    );
}

#[test]
fn synthetic_test_numbers_are_refused_unless_accepted() {
    let body = || individual_exemption().set("patient.fnr", json!(synthetic_identity_number()));
    check(body(), "patient.fnr identity_number_synthetic_not_accepted");
    check_with(&Fixture::accepting_synthetic_numbers(), body(), "ok");
}

#[test]
fn the_patient_cannot_be_born_after_the_application_was_received() {
    let born_2025 = classic_identity_number("120325500");
    check(
        individual_exemption()
            .set("patient.fnr", json!(born_2025))
            .set("received_date", json!("2024-12-20")),
        "patient.birth_year birth_year_after_application",
    );
    check(
        individual_exemption()
            .set(
                "patient",
                json!({"birth_year": 2025, "sex": "male", "residence_county": "03"}),
            )
            .set("received_date", json!("2024-12-20")),
        "patient.birth_year birth_year_after_application",
    );
    // Born in the year of the application is fine.
    check(
        individual_exemption().set(
            "patient",
            json!({"birth_year": 2025, "sex": "male", "residence_county": "03"}),
        ),
        "ok",
    );
}

#[test]
fn birth_year_and_sex_take_only_their_values() {
    let patient = |field: &str, value| {
        individual_exemption()
            .set(
                "patient",
                json!({"birth_year": 1961, "sex": "female", "residence_county": "03"}),
            )
            .set(field, value)
    };
    check(
        patient("patient.birth_year", json!(1889)),
        "patient.birth_year birth_year_range",
    );
    check(patient("patient.birth_year", json!(1890)), "ok");
    check(
        patient("patient.birth_year", json!(2026)),
        "patient.birth_year birth_year_range",
    );
    // A year written as text or as a fraction is the wrong type, not out of range.
    check(
        patient("patient.birth_year", json!("1961")),
        "patient.birth_year invalid_type",
    );
    check(
        patient("patient.birth_year", json!(1961.5)),
        "patient.birth_year invalid_type",
    );
    check(
        patient("patient.sex", json!("other")),
        "patient.sex sex_value",
    );
    check(
        patient("patient.sex", json!("Female")),
        "patient.sex sex_value",
    );
    check(patient("patient.sex", json!("male")), "ok");
}

// ---- Patient or group ------------------------------------------------------------------

#[test]
fn a_group_belongs_only_to_a_group_exemption_and_a_patient_never_does() {
    check(
        individual_exemption().set("group", json!({"expected_patients": 3, "description": "x"})),
        "group not_allowed",
    );
    check(
        helfo_individual().set("group", json!({"expected_patients": 3, "description": "x"})),
        "group not_allowed",
    );
    check(
        group_exemption().set(
            "patient",
            json!({"fnr": FNR_FEMALE_1985, "residence_county": "03"}),
        ),
        "patient not_allowed",
    );
    check(
        group_exemption().without("group").set(
            "patient",
            json!({"birth_year": 1961, "sex": "male", "residence_county": "03"}),
        ),
        "group required; patient not_allowed",
    );
}

#[test]
fn a_group_is_counted_and_described_in_one_short_line() {
    let group = |field: &str, value| group_exemption().set(field, value);
    check(group("group.expected_patients", json!(1)), "ok");
    check(group("group.expected_patients", json!(100_000)), "ok");
    check(
        group("group.expected_patients", json!(0)),
        "group.expected_patients expected_patients_range",
    );
    check(
        group("group.expected_patients", json!(100_001)),
        "group.expected_patients expected_patients_range",
    );
    check(
        group("group.expected_patients", json!(-3)),
        "group.expected_patients expected_patients_range",
    );
    check(
        group("group.expected_patients", json!("12")),
        "group.expected_patients expected_patients_range",
    );
    check(
        group("group.description", json!("   ")),
        "group.description description_length",
    );
    check(
        group("group.description", json!("two\nlines")),
        "group.description description_length",
    );
    check(group("group.description", json!("x".repeat(200))), "ok");
    check(
        group("group.description", json!("x".repeat(201))),
        "group.description description_length",
    );
    check(group("group", json!("everyone")), "group object_expected");
}

// ---- Dates -----------------------------------------------------------------------------

#[test]
fn dates_are_real_dates_written_yyyy_mm_dd() {
    let received = |value| individual_exemption().set("received_date", value);
    check(received(json!("2025-02-28")), "ok");
    check(received(json!("2024-02-29")), "ok");
    for bad in [
        "2025-02-29",
        "2025-02-30",
        "2025-13-01",
        "2025-00-10",
        "2025-2-3",
        "2025-02-3",
        "03.03.2025",
        "03/03/2025",
        "20250303",
        "2025-03-03T00:00:00",
        "2025-03-03Z",
        " 2025-03-03",
        "2025-03-03 ",
        "2025-03- 3",
        "+202-03-03",
        "-202-03-03",
        "",
    ] {
        check(received(json!(bad)), "received_date date_format");
    }
    check(received(json!(20250303)), "received_date string_expected");
}

#[test]
fn dates_cannot_be_in_the_future() {
    check(
        individual_exemption().set("decided_date", json!(TODAY)),
        "ok",
    );
    check(
        individual_exemption().set("decided_date", json!("2025-06-16")),
        "decided_date date_in_future",
    );
    check(
        individual_exemption()
            .set("received_date", json!("2025-06-16"))
            .set("decided_date", json!("2025-06-17")),
        "decided_date date_in_future; received_date date_in_future",
    );
}

#[test]
fn a_decision_cannot_come_before_its_application() {
    check(
        individual_exemption().set("decided_date", json!(RECEIVED)),
        "ok",
    );
    check(
        individual_exemption().set("decided_date", json!("2025-03-02")),
        "decided_date decided_before_received",
    );
}

// ---- Codes -----------------------------------------------------------------------------

#[test]
fn codes_are_checked_in_their_fields() {
    let set = |field: &str, value: &str| individual_exemption().set(field, json!(value));
    check(set("indication_icd10", "c341"), "ok");
    check(set("indication_icd10", "C34"), "ok");
    check(
        set("indication_icd10", "C34."),
        "indication_icd10 icd10_format",
    );
    check(
        set("indication_icd10", "D49"),
        "indication_icd10 icd10_format",
    );
    check(
        set("indication_icd10", "lung cancer"),
        "indication_icd10 icd10_format",
    );
    check(set("atc", "L01FF"), "ok");
    check(set("atc", "L01FF022"), "atc atc_format");
    check(set("atc", "X01"), "atc atc_format");
    check(set("method_id", "id2023_045"), "ok");
    check(set("method_id", "ID2012_001"), "method_id method_id_format");
    check(set("method_id", "ID2023-045"), "method_id method_id_format");
    check(set("method_id", "2023_045"), "method_id method_id_format");
    check(set("patient.residence_county", "50"), "ok");
    check(
        set("patient.residence_county", "16"),
        "patient.residence_county county_unknown",
    );
    check(
        set("patient.residence_county", "3"),
        "patient.residence_county county_unknown",
    );
    check(
        set("patient.residence_county", "Oslo"),
        "patient.residence_county county_unknown",
    );
    check(set("scheme", "unntak"), "scheme unknown_scheme");
}

#[test]
fn case_refs_are_short_plain_identifiers() {
    let case_ref = |value: &str| individual_exemption().set("case_ref", json!(value));
    check(case_ref("A"), "ok");
    check(case_ref("2025/OUS:17-b_c.d"), "ok");
    check(case_ref(&"x".repeat(64)), "ok");
    check(case_ref(&"x".repeat(65)), "case_ref case_ref_format");
    check(case_ref(""), "case_ref case_ref_format");
    check(case_ref("sak 17"), "case_ref case_ref_format");
    check(case_ref("sak-ø"), "case_ref case_ref_format");
}

// ---- Criteria and refusals -------------------------------------------------------------

#[test]
fn criteria_belong_to_their_scheme() {
    check(
        individual_exemption().set("criteria.benefit", json!(true)),
        "criteria.benefit unknown_criterion",
    );
    check(
        individual_access().set("criteria.marketing_authorisation", json!(true)),
        "criteria.marketing_authorisation unknown_criterion",
    );
    check(
        helfo_individual().set("criteria.severity", json!(true)),
        "criteria.severity unknown_criterion",
    );
    check(
        early_access().set("criteria.benefit", json!(true)),
        "criteria.benefit unknown_criterion",
    );
    check(
        individual_exemption().set("criteria.lack_of_effect", json!(true)),
        "criteria.lack_of_effect unknown_criterion",
    );
}

#[test]
fn criteria_are_true_or_false() {
    for value in [json!("yes"), json!(1), json!(null), json!([true])] {
        check(
            individual_exemption().set("criteria.marketing_authorisation", value),
            "criteria.marketing_authorisation criterion_value",
        );
    }
    check(
        individual_exemption().set("criteria.marketing_authorisation", json!(false)),
        "ok",
    );
}

#[test]
fn exceptionality_is_recorded_only_where_a_regional_authority_decides() {
    for body in [
        group_exemption(),
        individual_access(),
        reassessment_access(),
    ] {
        check(
            body.set(
                "criteria.exceptional_on",
                json!(["benefit", "severity", "added_effect"]),
            ),
            "ok",
        );
    }
    check(
        individual_access().set("criteria.exceptional_on", json!([])),
        "ok",
    );
    for body in [individual_exemption(), helfo_individual(), early_access()] {
        check(
            body.set("criteria.exceptional_on", json!(["severity"])),
            "criteria.exceptional_on not_allowed",
        );
    }
    check(
        individual_access().set("criteria.exceptional_on", json!(["resource_use"])),
        "criteria.exceptional_on[0] unknown_value",
    );
    check(
        individual_access().set("criteria.exceptional_on", json!(["severity", "severity"])),
        "criteria.exceptional_on[1] duplicate",
    );
    check(
        individual_access().set("criteria.exceptional_on", json!("severity")),
        "criteria.exceptional_on list_expected",
    );
}

#[test]
fn criteria_left_out_give_a_warning_not_an_error() {
    check(
        individual_exemption().without("criteria.substantially_larger_effect"),
        "ok; warn criteria_incomplete",
    );
    check(
        individual_exemption().set("criteria", json!({})),
        "ok; warn criteria_incomplete",
    );
    check(
        group_exemption().without("criteria.severity"),
        "ok; warn criteria_incomplete",
    );
    check(
        helfo_individual().set("criteria", json!({})),
        "ok; warn criteria_incomplete",
    );
    // Early access has no criteria, so nothing is ever missing.
    check(early_access(), "ok");
    let fixture = Fixture::new();
    let body = individual_access()
        .without("criteria.benefit")
        .without("criteria.severity");
    let warnings = validate_case(body.map(), true, ENVELOPE, &fixture.context())
        .unwrap()
        .warnings;
    assert_eq!(warnings.len(), 1);
    assert!(
        warnings[0].message.contains("benefit, severity"),
        "{}",
        warnings[0].message
    );
}

#[test]
fn refusal_reasons_go_with_refusals() {
    let granted = || individual_exemption();
    let refused = || individual_exemption().set("outcome", json!("refused"));
    check(
        granted().set("refusal_reasons", json!(["criteria_not_met"])),
        "refusal_reasons not_allowed",
    );
    check(granted().set("refusal_reasons", json!([])), "ok");
    check(refused(), "ok; warn refusal_reasons_missing");
    check(
        refused().set("refusal_reasons", json!([])),
        "ok; warn refusal_reasons_missing",
    );
    check(
        refused().set(
            "refusal_reasons",
            json!([
                "criteria_not_met",
                "no_expected_added_effect",
                "not_under_assessment",
                "insufficient_documentation",
                "other"
            ]),
        ),
        "ok",
    );
    check(
        refused().set("refusal_reasons", json!(["too_expensive"])),
        "refusal_reasons[0] unknown_value",
    );
    check(
        refused().set("refusal_reasons", json!(["other", "other"])),
        "refusal_reasons[1] duplicate",
    );
    check(
        refused().set("refusal_reasons", json!("other")),
        "refusal_reasons list_expected",
    );
    check(
        individual_exemption().set("outcome", json!("innvilget")),
        "outcome outcome_value",
    );
}

// ---- The methods register --------------------------------------------------------------

#[test]
fn a_decision_for_an_unknown_method_is_refused() {
    for (_, body) in all_schemes() {
        check(
            body.set("method_id", json!(UNKNOWN_METHOD)),
            "method_id unknown_method",
        );
    }
    check_application(
        individual_exemption()
            .application_only()
            .set("method_id", json!(UNKNOWN_METHOD)),
        "method_id unknown_method",
    );
}

#[test]
fn an_individual_exemption_outside_assessment_is_accepted_with_a_warning() {
    let exemption = |method: &str, decided: &str| {
        individual_exemption()
            .without("atc")
            .set("method_id", json!(method))
            .set("decided_date", json!(decided))
    };
    check(
        exemption(NOT_INTRODUCED, DECIDED),
        "ok; warn method_not_under_assessment",
    );
    // Under assessment until the "yes" can actually be used, not until the meeting.
    check(exemption(INTRODUCED, "2025-04-21"), "ok");
    check(exemption(INTRODUCED, INTRODUCED_DECIDED), "ok");
    check(exemption(INTRODUCED, "2025-05-14"), "ok");
    check(
        exemption(INTRODUCED, INTRODUCED_USABLE_FROM),
        "ok; warn method_not_under_assessment",
    );
    check(
        exemption(INTRODUCED, "2025-06-01"),
        "ok; warn method_not_under_assessment",
    );
    // Before the method was ever under assessment.
    check(
        exemption(UNDER_ASSESSMENT, "2023-03-05").set("received_date", json!("2023-03-01")),
        "ok; warn method_not_under_assessment",
    );
    // The rule is about individual exemptions only: access after a "no" is its purpose.
    check(
        individual_access().set("method_id", json!(NOT_INTRODUCED)),
        "ok",
    );
    check(early_access().set("method_id", json!(NOT_INTRODUCED)), "ok");
}

#[test]
fn an_atc_code_outside_the_methods_substances_is_a_warning() {
    let atc = |code: &str| individual_exemption().set("atc", json!(code));
    check(atc("L01FF02"), "ok");
    check(atc("L01FF"), "ok");
    check(atc("L01"), "ok");
    check(atc("A10BJ06"), "ok; warn atc_not_in_method");
    // A method described without substances gives no warning.
    check(
        individual_exemption()
            .set("method_id", json!(INTRODUCED))
            .set("atc", json!("A10BJ06")),
        "ok",
    );
}

#[test]
fn several_warnings_come_together() {
    check(
        individual_exemption()
            .set("method_id", json!(NOT_INTRODUCED))
            .set("outcome", json!("refused"))
            .without("criteria.marketing_authorisation"),
        "ok; warn method_not_under_assessment, refusal_reasons_missing, criteria_incomplete",
    );
}

// ---- The case id -----------------------------------------------------------------------

#[test]
fn the_case_id_depends_only_on_the_deciding_organisation_and_its_case_ref() {
    let id = |body: Body| valid(body).case_id;
    let original = id(individual_exemption());
    assert_eq!(
        original,
        case_id_for(&org(OSLO_UNIVERSITETSSYKEHUS), "OUS-2025/0117")
    );
    assert_eq!(
        original,
        id(individual_exemption()
            .set("outcome", json!("refused"))
            .set(
                "patient",
                json!({"birth_year": 1950, "sex": "male", "residence_county": "42"})
            )
            .set("received_date", json!("2025-01-02"))
            .set("report_id", json!("another")))
    );
    assert_ne!(
        original,
        id(individual_exemption().set("case_ref", json!("OUS-2025/0118")))
    );
    assert_ne!(
        original,
        id(individual_exemption().set("deciding_org", json!(HELSE_BERGEN)))
    );
    // The same case_ref at two organisations is two cases.
    assert_ne!(
        case_id_for(&org(HELSE_BERGEN), "17"),
        case_id_for(&org(OSLO_UNIVERSITETSSYKEHUS), "17")
    );
    // Application alone and with its decision: the same case.
    let fixture = Fixture::new();
    let application = individual_exemption().application_only();
    let alone = validate_case(application.map(), false, ENVELOPE, &fixture.context()).unwrap();
    assert_eq!(alone.case_id, original);
}

// ---- A decision for a case reported earlier --------------------------------------------

fn check_decision_for(application_body: Body, decision_body: serde_json::Value, expected: &str) {
    let fixture = Fixture::new();
    let application = validate_case(
        application_body.application_only().map(),
        false,
        ENVELOPE,
        &fixture.context(),
    )
    .unwrap()
    .application;
    let decision = decision_body.as_object().unwrap();
    let actual = outcome(validate_decision_for(
        decision,
        ENVELOPE,
        &application,
        &fixture.context(),
    ));
    assert_eq!(actual, expected, "decision {decision_body}");
}

#[test]
fn a_later_decision_is_validated_against_its_case() {
    let exemption_criteria = json!({
        "marketing_authorisation": true,
        "standard_treatment_unsuitable": false,
        "substantially_larger_effect": true
    });
    let decision = |decided: &str, outcome: &str| json!({"report_id": "r", "decided_date": decided, "outcome": outcome, "criteria": exemption_criteria});
    check_decision_for(individual_exemption(), decision(DECIDED, "granted"), "ok");
    check_decision_for(
        individual_exemption(),
        decision("2025-03-01", "granted"),
        "decided_date decided_before_received",
    );
    check_decision_for(
        individual_exemption(),
        decision(DECIDED, "refused"),
        "ok; warn refusal_reasons_missing",
    );
    // The criteria are the scheme's of the stored case.
    check_decision_for(
        helfo_individual(),
        decision(DECIDED, "granted"),
        "criteria.marketing_authorisation unknown_criterion; \
         criteria.standard_treatment_unsuitable unknown_criterion; \
         criteria.substantially_larger_effect unknown_criterion",
    );
    check_decision_for(
        individual_exemption(),
        json!({"outcome": "granted", "case_ref": "x"}),
        "case_ref unknown_field; criteria required; decided_date required",
    );
    let not_introduced = individual_exemption()
        .without("atc")
        .set("method_id", json!(NOT_INTRODUCED));
    check_decision_for(
        not_introduced,
        decision(DECIDED, "granted"),
        "ok; warn method_not_under_assessment",
    );
}

#[test]
fn scheme_names_round_trip() {
    for scheme in Scheme::ALL {
        assert_eq!(Scheme::parse(scheme.as_str()), Some(scheme));
    }
}

#[test]
fn an_identity_number_in_a_reference_or_free_text_is_refused_without_being_repeated() {
    check(
        individual_exemption().set("case_ref", json!(format!("SAK-{FNR_FEMALE_1985}"))),
        "case_ref identity_number_in_text",
    );
    check(
        individual_exemption().set("case_ref", json!(D_NUMBER_FEMALE_1985)),
        "case_ref identity_number_in_text",
    );
    check(
        group_exemption().set(
            "group.description",
            json!(format!("Pasienter som {FNR_MALE_1982} med samme diagnose")),
        ),
        "group.description identity_number_in_text",
    );
    let fixture = Fixture::new();
    let body = individual_exemption().set("case_ref", json!(format!("X{FNR_FEMALE_1985}")));
    let errors = validate_case(body.map(), true, ENVELOPE, &fixture.context()).unwrap_err();
    assert!(errors.iter().all(|e| !e.message.contains(FNR_FEMALE_1985)));
    // Eleven digits that are no identity number are an ordinary reference.
    check(
        individual_exemption().set("case_ref", json!("2024-12038512438")),
        "ok",
    );
}
