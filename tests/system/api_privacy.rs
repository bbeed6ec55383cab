//! The fødselsnummer a trust sends is replaced by a pseudonym at once: it appears in no
//! answer, no stored event and no log line, valid or not.

use harness::app::{
    captured_logs, fodselsnummer, individual_exemption, spawn_app, Answer, TestApp,
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
