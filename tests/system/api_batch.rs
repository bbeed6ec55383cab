//! Batch import: the summary in atomic and non-atomic mode, dry runs, replays and limits.

use harness::app::{individual_exemption, spawn_app, TestApp};
use serde_json::{json, Value};

fn rows(prefix: &str, count: usize) -> Vec<Value> {
    (0..count)
        .map(|i| individual_exemption(&format!("{prefix}-{i}")))
        .collect()
}

fn with_invalid_row(mut rows: Vec<Value>, at: usize) -> Vec<Value> {
    rows[at]["decided_date"] = json!("2024-01-01"); // before received_date
    rows
}

async fn case_status(app: &TestApp, case_ref: &str) -> u16 {
    let case_id = domain::case::case_id_for(
        &domain::organisation::OrganisationNumber::parse(harness::app::OUS).unwrap(),
        case_ref,
    );
    app.get(&format!("/api/v1/cases/{case_id}"), Some(&app.tokens.ous))
        .await
        .status
}

#[tokio::test]
async fn a_batch_of_valid_rows_is_imported_and_summarised() {
    let app = spawn_app().await;
    let answer = app
        .post_json(
            "/api/v1/decisions/batch",
            &app.tokens.ous,
            &json!(rows("B1", 3)),
        )
        .await;

    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.body["imported"], json!(3));
    assert_eq!(answer.body["already_present"], json!(0));
    assert_eq!(answer.body["rejected"], json!(0));
    assert_eq!(answer.body["written"], json!(true));
    assert_eq!(answer.body["atomic"], json!(true), "atomic is the default");
    assert_eq!(app.case_event_count().await, 6);
    assert_eq!(case_status(&app, "B1-2").await, 200);
}

#[tokio::test]
async fn an_atomic_batch_with_one_invalid_row_writes_nothing() {
    let app = spawn_app().await;
    let batch = with_invalid_row(rows("B2", 3), 1);

    let answer = app
        .post_json(
            "/api/v1/decisions/batch?atomic=true",
            &app.tokens.ous,
            &json!(batch),
        )
        .await;

    // Nothing was written although writing was asked for: a client reading the status
    // must not believe it succeeded. The body is the same summary.
    assert_eq!(answer.status, 422, "{}", answer.text);
    assert_eq!(answer.body["imported"], json!(0));
    assert_eq!(answer.body["rejected"], json!(1));
    assert_eq!(answer.body["written"], json!(false));
    let rejected = &answer.body["rejected_rows"][0];
    assert_eq!(rejected["index"], json!(1));
    assert_eq!(rejected["report_id"], batch[1]["report_id"]);
    assert_eq!(
        rejected["errors"][0]["code"],
        json!("decided_before_received")
    );
    assert_eq!(case_status(&app, "B2-0").await, 404);
    assert_eq!(app.case_event_count().await, 0);
}

#[tokio::test]
async fn a_non_atomic_batch_imports_the_valid_rows_and_rejects_the_rest() {
    let app = spawn_app().await;
    let mut batch = with_invalid_row(rows("B3", 4), 2);
    batch.push(json!("not an object"));

    let answer = app
        .post_json(
            "/api/v1/decisions/batch?atomic=false",
            &app.tokens.ous,
            &json!(batch),
        )
        .await;

    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.body["imported"], json!(3));
    assert_eq!(answer.body["rejected"], json!(2));
    let indexes: Vec<&Value> = answer.body["rejected_rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["index"])
        .collect();
    assert_eq!(indexes, [&json!(2), &json!(4)]);
    assert_eq!(case_status(&app, "B3-3").await, 200);
    assert_eq!(case_status(&app, "B3-2").await, 404);
    assert_eq!(app.case_event_count().await, 6);
}

#[tokio::test]
async fn a_dry_run_validates_and_writes_nothing() {
    let app = spawn_app().await;
    let batch = with_invalid_row(rows("B4", 3), 0);

    let answer = app
        .post_json(
            "/api/v1/decisions/batch?dry_run=true&atomic=false",
            &app.tokens.ous,
            &json!(batch),
        )
        .await;

    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.body["dry_run"], json!(true));
    assert_eq!(
        answer.body["imported"],
        json!(2),
        "rows that would be imported"
    );
    assert_eq!(answer.body["rejected"], json!(1));
    assert_eq!(answer.body["written"], json!(false));
    assert_eq!(app.case_event_count().await, 0);
    assert_eq!(case_status(&app, "B4-1").await, 404);

    // An atomic dry run that finds a rejected row wrote nothing by request: 200 too.
    let atomic = app
        .post_json(
            "/api/v1/decisions/batch?dry_run=true&atomic=true",
            &app.tokens.ous,
            &json!(batch),
        )
        .await;
    assert_eq!(atomic.status, 200, "{}", atomic.text);
    assert_eq!(atomic.body["rejected"], json!(1));
    assert_eq!(atomic.body["written"], json!(false));
    assert_eq!(app.case_event_count().await, 0);
}

#[tokio::test]
async fn replaying_a_batch_counts_its_rows_as_already_present() {
    let app = spawn_app().await;
    let batch = json!(rows("B5", 3));
    let first = app
        .post_json("/api/v1/decisions/batch", &app.tokens.ous, &batch)
        .await;
    assert_eq!(first.body["imported"], json!(3), "{}", first.text);

    let mut grown = batch.as_array().unwrap().clone();
    grown.push(individual_exemption("B5-new"));
    let second = app
        .post_json("/api/v1/decisions/batch", &app.tokens.ous, &json!(grown))
        .await;

    assert_eq!(second.status, 200, "{}", second.text);
    assert_eq!(second.body["already_present"], json!(3));
    assert_eq!(second.body["imported"], json!(1));
    assert_eq!(second.body["rejected"], json!(0));
    assert_eq!(app.case_event_count().await, 8);
}

#[tokio::test]
async fn a_batch_row_reusing_a_stored_report_id_with_another_body_is_rejected() {
    let app = spawn_app().await;
    let stored = individual_exemption("B6-0");
    app.reported_case(&stored).await;
    let mut changed = stored.clone();
    changed["outcome"] = json!("refused");

    let answer = app
        .post_json(
            "/api/v1/decisions/batch?atomic=false",
            &app.tokens.ous,
            &json!([changed, individual_exemption("B6-1")]),
        )
        .await;

    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.body["imported"], json!(1));
    assert_eq!(answer.body["rejected"], json!(1));
    assert_eq!(
        answer.body["rejected_rows"][0]["errors"][0]["code"],
        json!("report_id_conflict")
    );
}

#[tokio::test]
async fn two_rows_with_the_same_case_ref_in_one_batch_are_not_both_imported() {
    let app = spawn_app().await;
    let answer = app
        .post_json(
            "/api/v1/decisions/batch?atomic=false",
            &app.tokens.ous,
            &json!([individual_exemption("B7"), individual_exemption("B7")]),
        )
        .await;

    assert_eq!(answer.body["imported"], json!(1), "{}", answer.text);
    assert_eq!(answer.body["rejected_rows"][0]["index"], json!(1));
    assert_eq!(
        answer.body["rejected_rows"][0]["errors"][0]["code"],
        json!("duplicate_in_batch")
    );
    assert_eq!(app.case_event_count().await, 2);
}

#[tokio::test]
async fn a_batch_row_for_another_organisation_is_rejected() {
    let app = spawn_app().await;
    let mut foreign = individual_exemption("B8-1");
    foreign["deciding_org"] = json!(harness::app::BERGEN);

    let answer = app
        .post_json(
            "/api/v1/decisions/batch?atomic=false",
            &app.tokens.ous,
            &json!([individual_exemption("B8-0"), foreign]),
        )
        .await;

    assert_eq!(answer.body["imported"], json!(1), "{}", answer.text);
    assert_eq!(answer.body["rejected_rows"][0]["index"], json!(1));
    assert_eq!(app.case_event_count().await, 2);
}

#[tokio::test]
async fn a_batch_of_more_than_5000_rows_answers_413() {
    let app = spawn_app().await;
    let batch = vec![json!({}); 5001];

    let answer = app
        .post_json("/api/v1/decisions/batch", &app.tokens.ous, &json!(batch))
        .await;

    answer.assert_problem(413);
}

#[tokio::test]
async fn a_batch_that_is_not_a_json_array_answers_400() {
    let app = spawn_app().await;
    let answer = app
        .post_json(
            "/api/v1/decisions/batch",
            &app.tokens.ous,
            &individual_exemption("B9"),
        )
        .await;

    answer.assert_problem(400);
}

#[tokio::test]
async fn only_reporters_may_send_batches() {
    let app = spawn_app().await;
    let answer = app
        .post_json(
            "/api/v1/decisions/batch",
            &app.tokens.reviewer,
            &json!(rows("B10", 1)),
        )
        .await;

    answer.assert_problem(403);
    assert_eq!(app.case_event_count().await, 0);
}

#[tokio::test]
async fn a_batch_option_that_is_not_a_boolean_answers_a_problem_document() {
    let app = spawn_app().await;
    let answer = app
        .post_json(
            "/api/v1/decisions/batch?atomic=maybe",
            &app.tokens.ous,
            &json!(rows("B11", 1)),
        )
        .await;

    answer.assert_problem(422);
    assert_eq!(answer.problem_codes(), ["atomic:invalid_value"]);
    assert_eq!(app.case_event_count().await, 0);
}
