//! The fødselsnummer a trust sends is replaced by a pseudonym at once: it appears in no
//! answer, no stored event and no log line, valid or not.

use harness::app::{
    captured_logs, fodselsnummer, individual_access, individual_exemption, spawn_app, Answer,
    TestApp,
};
use serde_json::{json, Value};
use uuid::Uuid;

/// The first individual number from `from` that gives valid check digits.
fn identity_number(ddmmyy: &str, from: u32) -> String {
    (from..1000)
        .find_map(|individual| fodselsnummer(ddmmyy, &format!("{individual:03}")))
        .expect("some individual number has valid check digits")
}

fn with_patient(case_ref: &str, patient: Value) -> Value {
    let mut body = individual_exemption(case_ref);
    body["patient"] = patient;
    body
}

fn assert_absent(number: &str, answer: &Answer, what: &str) {
    assert!(
        !answer.text.contains(number),
        "{what} echoes the identity number: {}",
        answer.text
    );
}

async fn assert_stored_nowhere(app: &TestApp, numbers: &[&str]) {
    let events = app.stored_event_text().await;
    assert!(!events.is_empty());
    let logs = captured_logs().await;
    for number in numbers {
        assert!(
            !events.contains(number),
            "an event holds the identity number"
        );
        assert!(
            !logs.contains(number),
            "a log line holds the identity number"
        );
    }
}

#[test]
fn the_test_numbers_are_what_they_claim() {
    // 15 May 1961, individual number 123: K1 = 1, K2 = 3.
    assert_eq!(
        fodselsnummer("150561", "123").as_deref(),
        Some("15056112313")
    );
    let today = chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    let d_number = identity_number("550561", 200);
    let checked = domain::identity::validate_identity_number(&d_number, today, false).unwrap();
    assert_eq!(checked.kind, domain::identity::IdentityKind::DNumber);
}

#[tokio::test]
async fn a_fodselsnummer_reaches_no_answer_event_or_log_line() {
    let app = spawn_app().await;
    let fnr = fodselsnummer("150561", "123").unwrap();
    let body = with_patient("P-1", json!({"fnr": fnr, "residence_county": "03"}));

    let created = app
        .post_json("/api/v1/decisions", &app.tokens.ous, &body)
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_absent(&fnr, &created, "the report's answer");
    let replayed = app
        .post_json("/api/v1/decisions", &app.tokens.ous, &body)
        .await;
    assert_eq!(replayed.status, 200, "{}", replayed.text);
    assert_absent(&fnr, &replayed, "the replay's answer");

    let case_id = created.body["case_id"].as_str().unwrap();
    let case = app
        .get(&format!("/api/v1/cases/{case_id}"), Some(&app.tokens.ous))
        .await;
    assert_absent(&fnr, &case, "the case");
    let patient = &case.body["application"]["patient"];
    assert_eq!(patient["birth_year"], json!(1961), "read from the number");
    assert_eq!(patient["sex"], json!("male"), "read from the number");
    assert!(patient.get("pseudonym").is_none(), "pseudonyms stay inside");
    let history = app
        .get(
            &format!("/api/v1/cases/{case_id}/history"),
            Some(&app.tokens.ous),
        )
        .await;
    assert_eq!(history.status, 200);
    assert_absent(&fnr, &history, "the history");
    assert!(!history.text.contains("pseudonym"), "{}", history.text);

    let stored: String = sqlx::query_scalar(
        "select payload::text from events where event_type = 'CaseReceived' and stream_id = $1",
    )
    .bind(format!("case-{case_id}"))
    .fetch_one(&app.db.pool)
    .await
    .unwrap();
    assert!(
        stored.contains("pseudonym"),
        "the pseudonym is stored: {stored}"
    );
    assert_stored_nowhere(&app, &[&fnr]).await;
    assert!(
        captured_logs().await.contains(case_id),
        "the log capture saw this test's requests"
    );
}

#[tokio::test]
async fn a_d_number_in_a_correction_batch_or_error_reaches_no_answer_event_or_log_line() {
    let app = spawn_app().await;
    let d_number = identity_number("550561", 200);
    let fnr = identity_number("010190", 300);
    let case_id = app.reported_case(&individual_exemption("P-2")).await;

    let corrected = app
        .post_json(
            &format!("/api/v1/cases/{case_id}/corrections"),
            &app.tokens.ous,
            &json!({
                "report_id": Uuid::new_v4(),
                "changes": {"patient": {"fnr": d_number, "residence_county": "03"}},
                "reason": "new_information"
            }),
        )
        .await;
    assert_eq!(corrected.status, 201, "{}", corrected.text);
    assert_absent(&d_number, &corrected, "the correction's answer");
    let case = app
        .get(&format!("/api/v1/cases/{case_id}"), Some(&app.tokens.ous))
        .await;
    assert_absent(&d_number, &case, "the corrected case");
    assert_eq!(
        case.body["application"]["patient"]["birth_year"],
        json!(1961)
    );

    let mut bad_row = with_patient("P-4", json!({"fnr": fnr, "residence_county": "03"}));
    bad_row["decided_date"] = json!("2024-01-01");
    let batch = app
        .post_json(
            "/api/v1/decisions/batch?atomic=false",
            &app.tokens.ous,
            &json!([
                with_patient("P-3", json!({"fnr": fnr, "residence_county": "03"})),
                bad_row
            ]),
        )
        .await;
    assert_eq!(batch.body["imported"], json!(1), "{}", batch.text);
    assert_eq!(batch.body["rejected"], json!(1), "{}", batch.text);
    assert_absent(&fnr, &batch, "the batch summary");

    let mut invalid = with_patient("P-5", json!({"fnr": fnr, "residence_county": "03"}));
    invalid["outcome"] = json!("maybe");
    let refused = app
        .post_json("/api/v1/decisions", &app.tokens.ous, &invalid)
        .await;
    refused.assert_problem(422);
    assert_absent(&fnr, &refused, "a validation error about other fields");

    assert_stored_nowhere(&app, &[&d_number, &fnr]).await;
}

#[tokio::test]
async fn an_invalid_fodselsnummer_is_refused_without_being_echoed() {
    let app = spawn_app().await;
    let valid = fodselsnummer("150561", "123").unwrap();
    let wrong_check_digit = format!("{}4", &valid[..10]);
    let impossible_date = identity_number("310261", 100);
    let cases = [
        (wrong_check_digit.as_str(), "identity_number_check_digit"),
        (impossible_date.as_str(), "identity_number_date"),
        ("1505611231", "identity_number_format"),
    ];

    for (number, code) in cases {
        let body = with_patient(
            &format!("P-{code}"),
            json!({"fnr": number, "residence_county": "03"}),
        );
        let answer = app
            .post_json("/api/v1/decisions", &app.tokens.ous, &body)
            .await;
        answer.assert_problem(422);
        assert_eq!(answer.problem_codes(), [format!("patient.fnr:{code}")]);
        assert_absent(number, &answer, "the validation error");
    }
    assert_eq!(app.case_event_count().await, 0);
    let logs = captured_logs().await;
    for (number, _) in cases {
        assert!(!logs.contains(number), "a log line holds {number}");
    }
}

#[tokio::test]
async fn an_identity_number_in_the_wrong_field_is_not_echoed() {
    let app = spawn_app().await;
    let fnr = identity_number("020370", 400);
    let case_id = app.reported_case(&individual_exemption("P-6")).await;
    let attempts = [
        ("/api/v1/decisions".to_string(), {
            let mut body = individual_exemption("P-7");
            body["report_id"] = json!(fnr);
            body["case_ref"] = json!(fnr.parse::<u64>().unwrap());
            body["outcome"] = json!(fnr);
            body
        }),
        (
            format!("/api/v1/cases/{case_id}/retraction"),
            json!({"report_id": Uuid::new_v4(), "reason": fnr}),
        ),
        (
            format!("/api/v1/cases/{case_id}/retraction"),
            json!({"report_id": fnr.parse::<u64>().unwrap(), "reason": "reported_in_error"}),
        ),
        (
            format!("/api/v1/cases/{case_id}/appeals"),
            json!({"report_id": Uuid::new_v4(), "lodged_date": fnr.parse::<u64>().unwrap()}),
        ),
        (
            format!("/api/v1/cases/{case_id}/corrections"),
            json!({"report_id": Uuid::new_v4(), "changes": {"patient": {"fnr": fnr.parse::<u64>().unwrap(), "residence_county": "03"}}, "reason": "registration_error"}),
        ),
    ];

    for (path, body) in attempts {
        let answer = app.post_json(&path, &app.tokens.ous, &body).await;
        assert!(answer.status >= 400, "{path}: {}", answer.text);
        assert_absent(&fnr, &answer, &path);
    }
    assert!(
        !captured_logs().await.contains(&fnr),
        "a log line holds the number"
    );
}

/// Issue 12, finding 2: an identity number in any spelling, in any free text of a report
/// or a register, is refused and stored nowhere; ordinary case numbers pass.
#[tokio::test]
async fn every_spelling_of_an_identity_number_is_refused_in_every_free_text() {
    let app = spawn_app().await;
    let spellings = [
        "041161-01292",
        "OUS.041161.01292",
        "104116101292",
        "Pasient 041161 01292",
        "430970-30279",
        "０４１１６１０１２９２",
    ];
    for (n, spelling) in spellings.iter().enumerate() {
        let mut report = individual_exemption(spelling);
        let answer = app
            .post_json("/api/v1/decisions", &app.tokens.ous, &report)
            .await;
        answer.assert_problem(422);
        assert!(
            answer
                .problem_codes()
                .contains(&"case_ref:identity_number_in_text".to_string()),
            "case_ref {spelling}: {}",
            answer.text
        );

        report = individual_access(&format!("HV-GU-{n}"));
        report["scheme"] = json!("group_exemption");
        report["method_id"] = json!(harness::app::METHOD_UNDER_ASSESSMENT);
        report.as_object_mut().unwrap().remove("patient");
        report["group"] =
            json!({"expected_patients": 12, "description": format!("Gruppe {spelling}")});
        let answer = app
            .post_json("/api/v1/decisions", &app.tokens.helse_vest, &report)
            .await;
        assert_eq!(
            answer.problem_codes(),
            ["group.description:identity_number_in_text"],
            "{spelling}: {}",
            answer.text
        );

        let method = json!({"name": format!("Metode {spelling}"), "atc": [], "indication": format!("Indikasjon {spelling}")});
        let answer = app
            .put_json("/api/v1/methods/ID2024_301", &app.tokens.admin, &method)
            .await;
        assert_eq!(
            answer.problem_codes(),
            [
                "name:identity_number_in_text",
                "indication:identity_number_in_text"
            ],
            "{spelling}: {}",
            answer.text
        );

        let organisation = json!({"org_number": harness::app::BERGEN, "name": format!("Klinikk {spelling}"), "kind": "hf", "region_org_number": "983658725"});
        let answer = app
            .put_json(
                &format!("/api/v1/organisations/{}", harness::app::BERGEN),
                &app.tokens.admin,
                &organisation,
            )
            .await;
        assert!(
            answer
                .problem_codes()
                .contains(&"name:identity_number_in_text".to_string()),
            "{spelling}: {}",
            answer.text
        );
    }
    let stored = app.stored_event_text().await;
    for needle in ["01292", "30279", "０４１"] {
        assert!(!stored.contains(needle), "an event holds {needle}");
    }
    for ordinary in ["OUS-2025-000123", "sak-12345-678", "HB/2025/41"] {
        let answer = app
            .post_json(
                "/api/v1/decisions",
                &app.tokens.ous,
                &individual_exemption(ordinary),
            )
            .await;
        assert_eq!(answer.status, 201, "{ordinary}: {}", answer.text);
    }
}

/// Issue 12, finding 3: names the client chose (unknown fields, group_by values, path
/// segments) are repeated with their digit runs masked, in answers and in the log.
#[tokio::test]
async fn client_chosen_names_are_never_echoed_with_an_identity_number() {
    let app = spawn_app().await;
    let fnr = "04116101292";
    let case_id = app.reported_case(&individual_exemption("P-8")).await;
    let mut top = individual_exemption("P-9");
    top[fnr] = json!(1);
    let mut in_patient = individual_exemption("P-10");
    in_patient["patient"][fnr] = json!(1);
    let mut in_criteria = individual_exemption("P-11");
    in_criteria["criteria"][fnr] = json!(true);
    let mut batch_row = individual_exemption("P-12");
    batch_row[fnr] = json!(1);
    let posts = [
        ("/api/v1/decisions".to_string(), top),
        ("/api/v1/decisions".to_string(), in_patient),
        ("/api/v1/decisions".to_string(), in_criteria),
        ("/api/v1/decisions/batch".to_string(), json!([batch_row])),
        (
            format!("/api/v1/cases/{case_id}/corrections"),
            json!({"report_id": Uuid::new_v4(), "changes": {fnr: 1}, "reason": "registration_error"}),
        ),
        (
            format!("/api/v1/cases/{case_id}/appeals"),
            json!({"report_id": Uuid::new_v4(), "lodged_date": "2024-01-01", fnr: 1}),
        ),
    ];
    for (path, body) in posts {
        let answer = app.post_json(&path, &app.tokens.ous, &body).await;
        assert!(answer.status >= 400, "{path}: {}", answer.text);
        assert_absent(fnr, &answer, &path);
        assert!(
            answer.text.contains("###########"),
            "{path} names the field masked: {}",
            answer.text
        );
    }
    for path in [
        format!("/api/v1/stats/decisions?group_by={fnr}"),
        format!("/api/v1/stats/decisions?method_id={fnr}"),
        format!("/api/v1/stats/decisions?{fnr}=1"),
        format!("/api/v1/methods/{fnr}"),
        format!("/api/v1/cases/{fnr}"),
    ] {
        let answer = app.get(&path, Some(&app.tokens.reviewer)).await;
        assert!(answer.status >= 400, "{path}: {}", answer.text);
        assert_absent(fnr, &answer, &path);
    }
    assert!(
        !captured_logs().await.contains(fnr),
        "a log line holds the number"
    );
}
