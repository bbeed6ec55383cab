//! A case after it was reported: reading it back, corrections, retraction and appeals.

use harness::app::{individual_exemption, spawn_app, TestApp};
use serde_json::{json, Value};
use uuid::Uuid;

async fn case(app: &TestApp, case_id: &str) -> Value {
    let answer = app
        .get(&format!("/api/v1/cases/{case_id}"), Some(&app.tokens.ous))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.body
}

async fn post(app: &TestApp, case_id: &str, action: &str, body: Value) -> harness::app::Answer {
    app.post_json(
        &format!("/api/v1/cases/{case_id}/{action}"),
        &app.tokens.ous,
        &body,
    )
    .await
}

fn correction(changes: Value) -> Value {
    json!({"report_id": Uuid::new_v4(), "changes": changes, "reason": "registration_error"})
}

#[tokio::test]
async fn a_case_reads_back_as_reported() {
    let app = spawn_app().await;
    let case_id = app.reported_case(&individual_exemption("C-1")).await;

    let body = case(&app, &case_id).await;

    assert_eq!(body["case_id"], json!(case_id));
    assert_eq!(body["application"]["case_ref"], json!("C-1"));
    assert_eq!(
        body["application"]["applying_org"],
        json!(harness::app::OUS)
    );
    assert_eq!(body["application"]["patient"]["birth_year"], json!(1961));
    assert_eq!(body["decision"]["outcome"], json!("granted"));
    assert_eq!(body["retracted"], json!(false));
}

#[tokio::test]
async fn an_unknown_case_answers_404() {
    let app = spawn_app().await;
    for path in ["", "/history"] {
        let answer = app
            .get(
                &format!("/api/v1/cases/{}{path}", Uuid::new_v4()),
                Some(&app.tokens.ous),
            )
            .await;
        answer.assert_problem(404);
    }
}

#[tokio::test]
async fn the_history_lists_the_events_in_order_with_the_token_that_wrote_them() {
    let app = spawn_app().await;
    let case_id = app.reported_case(&individual_exemption("C-2")).await;
    let corrected = post(
        &app,
        &case_id,
        "corrections",
        correction(json!({"indication_icd10": "C342"})),
    )
    .await;
    assert_eq!(corrected.status, 201, "{}", corrected.text);

    let history = app
        .get(
            &format!("/api/v1/cases/{case_id}/history"),
            Some(&app.tokens.ous),
        )
        .await;

    assert_eq!(history.status, 200, "{}", history.text);
    let entries = history.body.as_array().unwrap();
    let types: Vec<&str> = entries
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["CaseReceived", "DecisionReported", "CaseCorrected"]);
    let versions: Vec<i64> = entries
        .iter()
        .map(|e| e["stream_version"].as_i64().unwrap())
        .collect();
    assert_eq!(versions, [1, 2, 3]);
    assert!(entries.iter().all(|e| e["token_id"].is_string()));
    assert_eq!(
        entries[2]["payload"]["changed_fields"],
        json!(["indication_icd10"])
    );
}

#[tokio::test]
async fn a_valid_correction_shows_up_in_the_case() {
    let app = spawn_app().await;
    let case_id = app.reported_case(&individual_exemption("C-3")).await;

    let answer = post(
        &app,
        &case_id,
        "corrections",
        correction(json!({"outcome": "refused", "refusal_reasons": ["no_expected_added_effect"]})),
    )
    .await;

    assert_eq!(answer.status, 201, "{}", answer.text);
    let body = case(&app, &case_id).await;
    assert_eq!(body["decision"]["outcome"], json!("refused"));
    assert_eq!(
        body["decision"]["refusal_reasons"],
        json!(["no_expected_added_effect"])
    );
    assert_eq!(body["corrections"], json!(1));
    assert_eq!(body["application"]["patient"]["birth_year"], json!(1961));
}

#[tokio::test]
async fn a_correction_is_revalidated_as_the_case_would_stand() {
    let app = spawn_app().await;
    let case_id = app.reported_case(&individual_exemption("C-4")).await;

    let answer = post(
        &app,
        &case_id,
        "corrections",
        correction(json!({"decided_date": "2024-02-01"})),
    )
    .await;

    answer.assert_problem(422);
    assert_eq!(
        answer.problem_codes(),
        ["decided_date:decided_before_received"]
    );
    assert_eq!(
        app.stored_event_types(&case_id).await,
        ["CaseReceived", "DecisionReported"]
    );
    assert_eq!(
        case(&app, &case_id).await["decision"]["decided_date"],
        json!("2024-03-20")
    );
}

#[tokio::test]
async fn a_correction_of_the_fields_that_identify_a_case_is_refused() {
    let app = spawn_app().await;
    let case_id = app.reported_case(&individual_exemption("C-5")).await;

    let answer = post(
        &app,
        &case_id,
        "corrections",
        correction(
            json!({"case_ref": "C-5b", "deciding_org": harness::app::BERGEN, "colour": "red"}),
        ),
    )
    .await;

    answer.assert_problem(422);
    let mut codes = answer.problem_codes();
    codes.sort();
    assert_eq!(
        codes,
        [
            "changes.case_ref:not_correctable",
            "changes.colour:unknown_field",
            "changes.deciding_org:not_correctable"
        ]
    );
}

#[tokio::test]
async fn a_correction_sent_twice_is_stored_once() {
    let app = spawn_app().await;
    let case_id = app.reported_case(&individual_exemption("C-6")).await;
    let body = correction(json!({"indication_icd10": "C349"}));

    let first = post(&app, &case_id, "corrections", body.clone()).await;
    let second = post(&app, &case_id, "corrections", body).await;

    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!((second.status, &second.text), (200, &first.text));
    assert_eq!(app.stored_event_types(&case_id).await.len(), 3);
}

#[tokio::test]
async fn a_correction_with_an_unknown_reason_is_refused() {
    let app = spawn_app().await;
    let case_id = app.reported_case(&individual_exemption("C-7")).await;

    let answer = post(
        &app,
        &case_id,
        "corrections",
        json!({"report_id": Uuid::new_v4(), "changes": {"indication_icd10": "C349"}, "reason": "felt_like_it"}),
    )
    .await;

    answer.assert_problem(422);
}

#[tokio::test]
async fn a_retracted_case_takes_no_more_corrections() {
    let app = spawn_app().await;
    let case_id = app.reported_case(&individual_exemption("C-8")).await;
    let retraction = json!({"report_id": Uuid::new_v4(), "reason": "reported_in_error"});

    let retracted = post(&app, &case_id, "retraction", retraction.clone()).await;
    assert_eq!(retracted.status, 201, "{}", retracted.text);
    assert_eq!(case(&app, &case_id).await["retracted"], json!(true));
    let replayed = post(&app, &case_id, "retraction", retraction).await;
    assert_eq!(replayed.status, 200, "{}", replayed.text);

    let corrected = post(
        &app,
        &case_id,
        "corrections",
        correction(json!({"indication_icd10": "C349"})),
    )
    .await;
    corrected.assert_problem(409);
    let again = post(
        &app,
        &case_id,
        "retraction",
        json!({"report_id": Uuid::new_v4(), "reason": "reported_in_error"}),
    )
    .await;
    again.assert_problem(409);
    assert_eq!(
        app.stored_event_types(&case_id).await,
        ["CaseReceived", "DecisionReported", "CaseRetracted"]
    );
}

#[tokio::test]
async fn a_retraction_of_an_unknown_case_answers_404() {
    let app = spawn_app().await;
    let answer = post(
        &app,
        &Uuid::new_v4().to_string(),
        "retraction",
        json!({"report_id": Uuid::new_v4(), "reason": "reported_in_error"}),
    )
    .await;

    answer.assert_problem(404);
}

#[tokio::test]
async fn an_appeal_is_lodged_and_decided_and_shows_in_the_case() {
    let app = spawn_app().await;
    let case_id = app.reported_case(&individual_exemption("C-9")).await;
    let lodging = json!({"report_id": Uuid::new_v4(), "lodged_date": "2024-04-02"});

    let lodged = post(&app, &case_id, "appeals", lodging.clone()).await;
    assert_eq!(lodged.status, 201, "{}", lodged.text);
    let appeal_id = lodged.body["appeal_id"].as_str().unwrap().to_string();
    let replayed = post(&app, &case_id, "appeals", lodging).await;
    assert_eq!((replayed.status, &replayed.text), (200, &lodged.text));
    let pending = case(&app, &case_id).await;
    assert_eq!(pending["appeals"][0]["appeal_id"], json!(appeal_id));
    assert_eq!(pending["appeals"][0]["outcome"], Value::Null);

    let decision =
        json!({"report_id": Uuid::new_v4(), "decided_date": "2024-05-02", "outcome": "overturned"});
    let path = format!("appeals/{appeal_id}/decision");
    let decided = post(&app, &case_id, &path, decision.clone()).await;

    assert_eq!(decided.status, 201, "{}", decided.text);
    assert_eq!(decided.body["appeal_id"], json!(appeal_id));
    let replayed = post(&app, &case_id, &path, decision).await;
    assert_eq!((replayed.status, &replayed.text), (200, &decided.text));
    assert_eq!(
        app.stored_event_types(&case_id).await,
        [
            "CaseReceived",
            "DecisionReported",
            "AppealLodged",
            "AppealDecided"
        ]
    );
    let body = case(&app, &case_id).await;
    assert_eq!(body["appeals"].as_array().unwrap().len(), 1);
    assert_eq!(body["appeals"][0]["outcome"], json!("overturned"));
    assert_eq!(body["appeals"][0]["decided_date"], json!("2024-05-02"));
}

#[tokio::test]
async fn deciding_an_appeal_twice_answers_409() {
    let app = spawn_app().await;
    let case_id = app.reported_case(&individual_exemption("C-10")).await;
    let lodged = post(
        &app,
        &case_id,
        "appeals",
        json!({"report_id": Uuid::new_v4(), "lodged_date": "2024-04-02"}),
    )
    .await;
    let appeal_id = lodged.body["appeal_id"].as_str().unwrap().to_string();
    let path = format!("appeals/{appeal_id}/decision");
    let first = post(
        &app,
        &case_id,
        &path,
        json!({"report_id": Uuid::new_v4(), "decided_date": "2024-05-02", "outcome": "upheld"}),
    )
    .await;
    assert_eq!(first.status, 201, "{}", first.text);

    let second = post(
        &app,
        &case_id,
        &path,
        json!({"report_id": Uuid::new_v4(), "decided_date": "2024-05-03", "outcome": "overturned"}),
    )
    .await;

    second.assert_problem(409);
    assert_eq!(
        case(&app, &case_id).await["appeals"][0]["outcome"],
        json!("upheld")
    );
}

#[tokio::test]
async fn an_appeal_before_the_decision_it_appeals_is_refused() {
    let app = spawn_app().await;
    let case_id = app.reported_case(&individual_exemption("C-11")).await;

    let answer = post(
        &app,
        &case_id,
        "appeals",
        json!({"report_id": Uuid::new_v4(), "lodged_date": "2024-03-01"}),
    )
    .await;

    answer.assert_problem(422);
    assert_eq!(
        answer.problem_codes(),
        ["lodged_date:lodged_before_decision"]
    );
}

#[tokio::test]
async fn a_decision_on_an_unknown_appeal_answers_404() {
    let app = spawn_app().await;
    let case_id = app.reported_case(&individual_exemption("C-12")).await;

    let answer = post(
        &app,
        &case_id,
        &format!("appeals/{}/decision", Uuid::new_v4()),
        json!({"report_id": Uuid::new_v4(), "decided_date": "2024-05-02", "outcome": "upheld"}),
    )
    .await;

    answer.assert_problem(404);
}
