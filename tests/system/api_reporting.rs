//! Reporting cases and decisions over HTTP: the answers, idempotent replay, conflicts,
//! validation with every problem listed, and body limits.

use domain::case::case_id_for;
use domain::organisation::OrganisationNumber;
use futures::future::join_all;
use harness::app::{
    application_only, decision_only, individual_access, individual_exemption, spawn_app, OUS,
};
use serde_json::{json, Value};
use uuid::Uuid;

#[tokio::test]
async fn reporting_a_decision_answers_201_with_the_case_id_position_and_no_warnings() {
    let app = spawn_app().await;
    let body = individual_exemption("OUS-2024-0001");

    let answer = app
        .post_json("/api/v1/decisions", &app.tokens.ous, &body)
        .await;

    assert_eq!(answer.status, 201, "{}", answer.text);
    let expected_case =
        case_id_for(&OrganisationNumber::parse(OUS).unwrap(), "OUS-2024-0001").to_string();
    assert_eq!(answer.body["case_id"], json!(expected_case));
    assert_eq!(answer.body["report_id"], body["report_id"]);
    assert!(answer.body["position"].as_i64().unwrap() > 0);
    assert_eq!(answer.body["warnings"], json!([]));
    assert_eq!(
        app.stored_event_types(&expected_case).await,
        ["CaseReceived", "DecisionReported"]
    );
}

#[tokio::test]
async fn the_same_report_sent_twice_answers_200_with_the_identical_body_and_writes_nothing() {
    let app = spawn_app().await;
    let body = individual_exemption("OUS-2024-0002");

    let first = app
        .post_json("/api/v1/decisions", &app.tokens.ous, &body)
        .await;
    let second = app
        .post_json("/api/v1/decisions", &app.tokens.ous, &body)
        .await;

    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(second.status, 200, "{}", second.text);
    assert_eq!(first.text, second.text, "the replay answers the same body");
    let case_id = first.body["case_id"].as_str().unwrap();
    let history = app
        .get(
            &format!("/api/v1/cases/{case_id}/history"),
            Some(&app.tokens.ous),
        )
        .await;
    let types: Vec<&str> = history
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["CaseReceived", "DecisionReported"]);
}

#[tokio::test]
async fn a_report_with_warnings_answers_the_same_warnings_on_replay() {
    let app = spawn_app().await;
    let mut body = individual_exemption("OUS-2024-0003");
    body["criteria"] = json!({"marketing_authorisation": true});

    let first = app
        .post_json("/api/v1/decisions", &app.tokens.ous, &body)
        .await;
    let second = app
        .post_json("/api/v1/decisions", &app.tokens.ous, &body)
        .await;

    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(
        first.body["warnings"][0]["code"],
        json!("criteria_incomplete")
    );
    assert_eq!((second.status, &second.text), (200, &first.text));
}

#[tokio::test]
async fn reusing_a_report_id_with_a_different_body_answers_409_and_writes_nothing() {
    let app = spawn_app().await;
    let body = individual_exemption("OUS-2024-0004");
    app.reported_case(&body).await;
    let mut changed = body.clone();
    changed["outcome"] = json!("refused");

    let answer = app
        .post_json("/api/v1/decisions", &app.tokens.ous, &changed)
        .await;

    answer.assert_problem(409);
    assert_eq!(app.case_event_count().await, 2);
}

#[tokio::test]
async fn reusing_a_report_id_for_another_case_answers_409() {
    let app = spawn_app().await;
    let body = individual_exemption("OUS-2024-0005");
    app.reported_case(&body).await;
    let mut other = individual_exemption("OUS-2024-0006");
    other["report_id"] = body["report_id"].clone();

    let answer = app
        .post_json("/api/v1/decisions", &app.tokens.ous, &other)
        .await;

    answer.assert_problem(409);
    assert_eq!(app.case_event_count().await, 2);
}

#[tokio::test]
async fn a_second_case_with_the_same_case_ref_from_the_same_organisation_answers_409() {
    let app = spawn_app().await;
    app.reported_case(&individual_exemption("OUS-2024-0007"))
        .await;

    let again = individual_exemption("OUS-2024-0007");
    let answer = app
        .post_json("/api/v1/decisions", &app.tokens.ous, &again)
        .await;

    answer.assert_problem(409);
    assert_eq!(app.case_event_count().await, 2);
}

#[tokio::test]
async fn the_same_case_ref_at_another_organisation_is_another_case() {
    let app = spawn_app().await;
    let ours = app.reported_case(&individual_exemption("SAK-1")).await;
    let mut theirs = individual_exemption("SAK-1");
    theirs["deciding_org"] = json!(harness::app::BERGEN);

    let answer = app
        .post_json("/api/v1/decisions", &app.tokens.bergen, &theirs)
        .await;

    assert_eq!(answer.status, 201, "{}", answer.text);
    assert_ne!(answer.body["case_id"], json!(ours));
}

#[tokio::test]
async fn an_application_reported_alone_gets_its_decision_later() {
    let app = spawn_app().await;
    let case = app
        .post_json(
            "/api/v1/cases",
            &app.tokens.ous,
            &application_only("OUS-2024-0010"),
        )
        .await;
    assert_eq!(case.status, 201, "{}", case.text);
    let case_id = case.body["case_id"].as_str().unwrap().to_string();
    let pending = app
        .get(&format!("/api/v1/cases/{case_id}"), Some(&app.tokens.ous))
        .await;
    assert_eq!(pending.status, 200, "{}", pending.text);
    assert_eq!(pending.body["decision"], Value::Null);

    let decision = app
        .post_json(
            &format!("/api/v1/cases/{case_id}/decision"),
            &app.tokens.ous,
            &decision_only(),
        )
        .await;

    assert_eq!(decision.status, 201, "{}", decision.text);
    assert_eq!(decision.body["case_id"], json!(case_id));
    let decided = app
        .get(&format!("/api/v1/cases/{case_id}"), Some(&app.tokens.ous))
        .await;
    assert_eq!(decided.body["decision"]["outcome"], json!("refused"));
    assert_eq!(
        decided.body["decision"]["refusal_reasons"],
        json!(["criteria_not_met"])
    );
}

#[tokio::test]
async fn an_application_alone_may_not_carry_decision_fields() {
    let app = spawn_app().await;
    let answer = app
        .post_json(
            "/api/v1/cases",
            &app.tokens.ous,
            &individual_exemption("OUS-2024-0011"),
        )
        .await;

    let codes = answer.problem_codes();
    answer.assert_problem(422);
    for field in ["decided_date", "outcome", "criteria"] {
        assert!(
            codes.contains(&format!("{field}:unknown_field")),
            "{field} in {codes:?}"
        );
    }
    assert_eq!(app.case_event_count().await, 0);
}

#[tokio::test]
async fn a_decision_on_an_already_decided_case_answers_409() {
    let app = spawn_app().await;
    let case_id = app
        .reported_case(&individual_exemption("OUS-2024-0012"))
        .await;

    let answer = app
        .post_json(
            &format!("/api/v1/cases/{case_id}/decision"),
            &app.tokens.ous,
            &decision_only(),
        )
        .await;

    answer.assert_problem(409);
    assert_eq!(
        app.stored_event_types(&case_id).await,
        ["CaseReceived", "DecisionReported"]
    );
}

#[tokio::test]
async fn a_decision_on_an_unknown_case_answers_404() {
    let app = spawn_app().await;
    let answer = app
        .post_json(
            &format!("/api/v1/cases/{}/decision", Uuid::new_v4()),
            &app.tokens.ous,
            &decision_only(),
        )
        .await;

    answer.assert_problem(404);
}

#[tokio::test]
async fn a_decided_date_before_the_received_date_is_refused_on_a_later_decision() {
    let app = spawn_app().await;
    let case = app
        .post_json(
            "/api/v1/cases",
            &app.tokens.ous,
            &application_only("OUS-2024-0013"),
        )
        .await;
    let case_id = case.body["case_id"].as_str().unwrap().to_string();
    let mut decision = decision_only();
    decision["decided_date"] = json!("2024-02-01");

    let answer = app
        .post_json(
            &format!("/api/v1/cases/{case_id}/decision"),
            &app.tokens.ous,
            &decision,
        )
        .await;

    answer.assert_problem(422);
    assert!(answer
        .problem_codes()
        .contains(&"decided_date:decided_before_received".to_string()));
    assert_eq!(app.stored_event_types(&case_id).await, ["CaseReceived"]);
}

#[tokio::test]
async fn malformed_json_answers_400_with_a_problem_document() {
    let app = spawn_app().await;
    let answer = app
        .send(
            reqwest::Method::POST,
            "/api/v1/decisions",
            Some(&app.tokens.ous),
            r#"{"report_id": "#,
        )
        .await;

    answer.assert_problem(400);
}

#[tokio::test]
async fn a_json_array_where_a_report_belongs_answers_400() {
    let app = spawn_app().await;
    let answer = app
        .post_json("/api/v1/decisions", &app.tokens.ous, &json!([1, 2]))
        .await;

    answer.assert_problem(400);
}

#[tokio::test]
async fn a_report_body_over_64_kib_answers_413_and_writes_nothing() {
    let app = spawn_app().await;
    let mut body = individual_exemption("OUS-2024-0014");
    body["padding"] = json!("x".repeat(65 * 1024));

    let answer = app
        .post_json("/api/v1/decisions", &app.tokens.ous, &body)
        .await;

    answer.assert_problem(413);
    assert_eq!(app.case_event_count().await, 0);
}

#[tokio::test]
async fn a_body_with_several_bad_fields_lists_every_problem_in_one_422() {
    let app = spawn_app().await;
    let mut body = individual_exemption("OUS/2024 #15");
    body["deciding_org"] = json!("993467048");
    body["indication_icd10"] = json!("XYZ");
    body["atc"] = json!("Q99");
    body["received_date"] = json!("2024-02-30");
    body["decided_date"] = json!("2999-01-01");
    body["outcome"] = json!("maybe");
    body["patient"] =
        json!({"birth_year": 1961, "sex": "unknown", "residence_county": "99", "name": "Kari"});
    body["refusal_reasons"] = json!(["bad_luck"]);
    body["comment"] = json!("free text");

    let answer = app
        .post_json("/api/v1/decisions", &app.tokens.ous, &body)
        .await;

    answer.assert_problem(422);
    let fields: Vec<String> = answer.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_string())
        .collect();
    for field in [
        "case_ref",
        "deciding_org",
        "indication_icd10",
        "atc",
        "received_date",
        "decided_date",
        "outcome",
        "patient.sex",
        "patient.residence_county",
        "patient.name",
        "refusal_reasons[0]",
        "comment",
    ] {
        assert!(
            fields.iter().any(|f| f == field),
            "{field} missing from {fields:?}"
        );
    }
    for error in answer.body["errors"].as_array().unwrap() {
        assert!(error["code"].is_string() && error["message"].is_string());
    }
    assert_eq!(app.case_event_count().await, 0);
}

#[tokio::test]
async fn a_report_without_a_report_id_still_lists_its_other_problems() {
    let app = spawn_app().await;
    let mut body = individual_exemption("OUS-2024-0016");
    body.as_object_mut().unwrap().remove("report_id");
    body["outcome"] = json!("maybe");

    let answer = app
        .post_json("/api/v1/decisions", &app.tokens.ous, &body)
        .await;

    answer.assert_problem(422);
    let mut codes = answer.problem_codes();
    codes.sort();
    assert_eq!(codes, ["outcome:outcome_value", "report_id:required"]);
}

#[tokio::test]
async fn a_decision_without_a_report_id_lists_only_its_real_problems() {
    let app = spawn_app().await;
    let case = app
        .post_json(
            "/api/v1/cases",
            &app.tokens.ous,
            &application_only("OUS-2024-0019"),
        )
        .await;
    let case_id = case.body["case_id"].as_str().unwrap().to_string();
    let mut decision = decision_only();
    decision.as_object_mut().unwrap().remove("report_id");

    let answer = app
        .post_json(
            &format!("/api/v1/cases/{case_id}/decision"),
            &app.tokens.ous,
            &decision,
        )
        .await;

    answer.assert_problem(422);
    assert_eq!(answer.problem_codes(), ["report_id:required"]);
}

#[tokio::test]
async fn a_report_without_a_report_id_but_otherwise_valid_lists_only_that() {
    let app = spawn_app().await;
    let mut body = individual_exemption("OUS-2024-0021");
    body.as_object_mut().unwrap().remove("report_id");

    let answer = app
        .post_json("/api/v1/decisions", &app.tokens.ous, &body)
        .await;

    answer.assert_problem(422);
    assert_eq!(answer.problem_codes(), ["report_id:required"]);
}

#[tokio::test]
async fn a_decision_on_a_case_sent_twice_is_stored_once() {
    let app = spawn_app().await;
    let case = app
        .post_json(
            "/api/v1/cases",
            &app.tokens.ous,
            &application_only("OUS-2024-0020"),
        )
        .await;
    let case_id = case.body["case_id"].as_str().unwrap().to_string();
    let path = format!("/api/v1/cases/{case_id}/decision");
    let decision = decision_only();

    let first = app.post_json(&path, &app.tokens.ous, &decision).await;
    let second = app.post_json(&path, &app.tokens.ous, &decision).await;

    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!((second.status, &second.text), (200, &first.text));
    assert_eq!(
        app.stored_event_types(&case_id).await,
        ["CaseReceived", "DecisionReported"]
    );
}

#[tokio::test]
async fn a_malformed_case_id_in_the_path_answers_a_problem_document() {
    let app = spawn_app().await;
    let read = app
        .get("/api/v1/cases/not-a-uuid", Some(&app.tokens.ous))
        .await;
    read.assert_problem(404);
    assert!(!read.text.contains("not-a-uuid"));
    let decision = app
        .post_json(
            "/api/v1/cases/not-a-uuid/decision",
            &app.tokens.ous,
            &decision_only(),
        )
        .await;
    decision.assert_problem(404);
}

#[tokio::test]
async fn an_unknown_route_answers_a_problem_document() {
    let app = spawn_app().await;
    let answer = app.get("/api/v1/nothing-here", Some(&app.tokens.ous)).await;

    answer.assert_problem(404);
}

#[tokio::test]
async fn a_decision_for_an_unknown_method_answers_422_unknown_method() {
    let app = spawn_app().await;
    let mut body = individual_exemption("OUS-2024-0017");
    body["method_id"] = json!("ID2024_999");

    let answer = app
        .post_json("/api/v1/decisions", &app.tokens.ous, &body)
        .await;

    answer.assert_problem(422);
    assert_eq!(answer.problem_codes(), ["method_id:unknown_method"]);
    assert_eq!(app.case_event_count().await, 0);
}

#[tokio::test]
async fn an_individual_exemption_for_a_method_no_longer_under_assessment_gets_a_warning() {
    let app = spawn_app().await;
    let mut body = individual_exemption("OUS-2024-0018");
    body["method_id"] = json!(harness::app::METHOD_NOT_INTRODUCED);
    body.as_object_mut().unwrap().remove("atc");

    let answer = app
        .post_json("/api/v1/decisions", &app.tokens.ous, &body)
        .await;

    assert_eq!(answer.status, 201, "{}", answer.text);
    let codes: Vec<&str> = answer.body["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["method_not_under_assessment"]);
}

#[tokio::test]
async fn a_regional_authority_reports_individual_access_on_a_trusts_application() {
    let app = spawn_app().await;
    let body = individual_access("HV-IT-2024-1");

    let answer = app
        .post_json("/api/v1/decisions", &app.tokens.helse_vest, &body)
        .await;

    assert_eq!(answer.status, 201, "{}", answer.text);
    let case_id = answer.body["case_id"].as_str().unwrap();
    let case = app
        .get(
            &format!("/api/v1/cases/{case_id}"),
            Some(&app.tokens.helse_vest),
        )
        .await;
    assert_eq!(
        case.body["application"]["applying_org"],
        json!(harness::app::BERGEN)
    );
    assert_eq!(
        case.body["decision"]["criteria"]["exceptional_on"],
        json!(["severity"])
    );
}

#[tokio::test]
async fn individual_access_without_the_applying_trust_is_refused() {
    let app = spawn_app().await;
    let mut body = individual_access("HV-IT-2024-2");
    body.as_object_mut().unwrap().remove("applying_org");

    let answer = app
        .post_json("/api/v1/decisions", &app.tokens.helse_vest, &body)
        .await;

    answer.assert_problem(422);
    assert_eq!(answer.problem_codes(), ["applying_org:required"]);
}

#[tokio::test]
async fn a_group_exemption_describes_a_group_and_no_patient() {
    let app = spawn_app().await;
    let mut body = individual_access("HV-GU-2024-1");
    body["scheme"] = json!("group_exemption");
    body["group"] =
        json!({"expected_patients": 12, "description": "Pasienter med sjelden mutasjon"});
    body["method_id"] = json!(harness::app::METHOD_UNDER_ASSESSMENT);

    let with_patient = app
        .post_json("/api/v1/decisions", &app.tokens.helse_vest, &body)
        .await;
    with_patient.assert_problem(422);
    assert_eq!(with_patient.problem_codes(), ["patient:not_allowed"]);

    body.as_object_mut().unwrap().remove("patient");
    let answer = app
        .post_json("/api/v1/decisions", &app.tokens.helse_vest, &body)
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
}

#[tokio::test]
async fn concurrent_reports_of_one_case_ref_under_different_report_ids_store_one() {
    let app = spawn_app().await;
    let bodies: Vec<Value> = (0..10)
        .map(|_| individual_exemption("OUS-2024-0060"))
        .collect();

    let answers = join_all(
        bodies
            .iter()
            .map(|body| app.post_json("/api/v1/decisions", &app.tokens.ous, body)),
    )
    .await;

    let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    for answer in answers.iter().filter(|a| a.status != 201) {
        answer.assert_problem(409);
    }
    assert_eq!(app.case_event_count().await, 2);
}

#[tokio::test]
async fn fifty_concurrent_clients_sending_the_same_report_make_one_case() {
    let app = spawn_app().await;
    let body = individual_exemption("OUS-2024-0050");

    let answers = join_all((0..50).map(|_| {
        let app = &app;
        let body = &body;
        async move {
            app.post_json("/api/v1/decisions", &app.tokens.ous, body)
                .await
        }
    }))
    .await;

    let created = answers.iter().filter(|a| a.status == 201).count();
    for answer in &answers {
        assert!(
            answer.status == 200 || answer.status == 201,
            "{} {}",
            answer.status,
            answer.text
        );
        assert_eq!(answer.body["case_id"], answers[0].body["case_id"]);
        assert_eq!(answer.body["position"], answers[0].body["position"]);
    }
    assert_eq!(created, 1, "exactly one client stored the report");
    let case_id = answers[0].body["case_id"].as_str().unwrap();
    let history = app
        .get(
            &format!("/api/v1/cases/{case_id}/history"),
            Some(&app.tokens.ous),
        )
        .await;
    let received = history
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event_type"] == json!("CaseReceived"))
        .count();
    assert_eq!(received, 1);
    assert_eq!(app.case_event_count().await, 2);
}

#[tokio::test]
async fn a_report_hears_of_every_problem_at_once() {
    let app = spawn_app().await;
    let mut body = individual_exemption("OUS-2024-0099");
    // A fødselsnummer whose check digits are wrong, and a decision before the application.
    body["patient"] = json!({"fnr": "15056112399", "residence_county": "03"});
    body["decided_date"] = json!("2024-02-01");

    let answer = app
        .post_json("/api/v1/decisions", &app.tokens.ous, &body)
        .await;

    answer.assert_problem(422);
    let codes = answer.problem_codes();
    assert!(
        codes.iter().any(|c| c.starts_with("patient.fnr:")),
        "the identity number's problem: {codes:?}"
    );
    assert!(
        codes.contains(&"decided_date:decided_before_received".to_string()),
        "the dates' problem too: {codes:?}"
    );
    assert!(
        !answer.text.contains("15056112399"),
        "the number is not echoed"
    );
    assert_eq!(app.case_event_count().await, 0);
}
