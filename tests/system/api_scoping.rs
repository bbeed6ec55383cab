//! Roles and organisations: a reporter reports and reads only its own organisation's cases;
//! Helfo reports only individual reimbursement; other roles do not report.

use harness::app::{
    helfo_individual, individual_access, individual_exemption, spawn_app, BERGEN, HELFO, OUS,
};
use serde_json::json;
use uuid::Uuid;

#[tokio::test]
async fn a_reporter_may_not_report_for_another_organisation() {
    let app = spawn_app().await;
    let mut body = individual_exemption("S-1");
    body["deciding_org"] = json!(BERGEN);

    let answer = app
        .post_json("/api/v1/decisions", &app.tokens.ous, &body)
        .await;

    answer.assert_problem(403);
    let application = app
        .post_json("/api/v1/cases", &app.tokens.ous, &{
            let mut application = harness::app::application_only("S-1");
            application["deciding_org"] = json!(BERGEN);
            application
        })
        .await;
    application.assert_problem(403);
    assert_eq!(app.case_event_count().await, 0);
}

/// Issue 12, finding 11: another organisation's case answers exactly as a missing one, so
/// a reporter cannot learn which cases exist (case ids are computable from org/case_ref).
#[tokio::test]
async fn a_reporter_may_not_read_another_organisations_case() {
    let app = spawn_app().await;
    let case_id = app.reported_case(&individual_exemption("S-2")).await;
    let missing = Uuid::new_v4();

    for suffix in ["", "/history"] {
        let answer = app
            .get(
                &format!("/api/v1/cases/{case_id}{suffix}"),
                Some(&app.tokens.bergen),
            )
            .await;
        answer.assert_problem(404);
        assert!(!answer.text.contains("S-2"), "nothing of the case leaks");
        assert!(!answer.text.contains(OUS), "the owner is not named");
        let absent = app
            .get(
                &format!("/api/v1/cases/{missing}{suffix}"),
                Some(&app.tokens.bergen),
            )
            .await;
        assert_eq!(
            answer.text.replace(&case_id, "ID"),
            absent.text.replace(&missing.to_string(), "ID"),
            "an existing case of another organisation reads as a missing one"
        );
    }
}

#[tokio::test]
async fn a_reporter_may_not_change_another_organisations_case() {
    let app = spawn_app().await;
    let case_id = app.reported_case(&individual_exemption("S-3")).await;
    let attempts = [
        (
            "corrections",
            json!({"report_id": Uuid::new_v4(), "changes": {"indication_icd10": "C349"}, "reason": "registration_error"}),
        ),
        (
            "retraction",
            json!({"report_id": Uuid::new_v4(), "reason": "reported_in_error"}),
        ),
        (
            "appeals",
            json!({"report_id": Uuid::new_v4(), "lodged_date": "2024-04-02"}),
        ),
        ("decision", harness::app::decision_only()),
    ];

    let missing = Uuid::new_v4();
    for (action, body) in attempts {
        let answer = app
            .post_json(
                &format!("/api/v1/cases/{case_id}/{action}"),
                &app.tokens.bergen,
                &body,
            )
            .await;
        answer.assert_problem(404);
        assert!(!answer.text.contains(OUS), "the owner is not named");
        let absent = app
            .post_json(
                &format!("/api/v1/cases/{missing}/{action}"),
                &app.tokens.bergen,
                &body,
            )
            .await;
        assert_eq!(answer.text, absent.text, "{action}: as for a missing case");
    }
    assert_eq!(
        app.stored_event_types(&case_id).await,
        ["CaseReceived", "DecisionReported"]
    );
}

#[tokio::test]
async fn an_admin_reads_any_case_but_does_not_report() {
    let app = spawn_app().await;
    let case_id = app.reported_case(&individual_exemption("S-4")).await;

    let read = app
        .get(&format!("/api/v1/cases/{case_id}"), Some(&app.tokens.admin))
        .await;
    assert_eq!(read.status, 200, "{}", read.text);

    let report = app
        .post_json(
            "/api/v1/decisions",
            &app.tokens.admin,
            &individual_exemption("S-5"),
        )
        .await;
    report.assert_problem(403);
}

#[tokio::test]
async fn a_reviewer_may_not_report_or_read_single_cases() {
    let app = spawn_app().await;
    let case_id = app.reported_case(&individual_exemption("S-6")).await;

    let report = app
        .post_json(
            "/api/v1/decisions",
            &app.tokens.reviewer,
            &individual_exemption("S-7"),
        )
        .await;
    report.assert_problem(403);
    let read = app
        .get(
            &format!("/api/v1/cases/{case_id}"),
            Some(&app.tokens.reviewer),
        )
        .await;
    read.assert_problem(403);
    let correction = app
        .post_json(
            &format!("/api/v1/cases/{case_id}/retraction"),
            &app.tokens.reviewer,
            &json!({"report_id": Uuid::new_v4(), "reason": "reported_in_error"}),
        )
        .await;
    correction.assert_problem(403);
    assert_eq!(app.case_event_count().await, 2);
}

#[tokio::test]
async fn helfo_reports_individual_reimbursement() {
    let app = spawn_app().await;
    let answer = app
        .post_json(
            "/api/v1/decisions",
            &app.tokens.helfo,
            &helfo_individual("HELFO-2023-1"),
        )
        .await;

    assert_eq!(answer.status, 201, "{}", answer.text);
    assert_eq!(answer.body["warnings"], json!([]));
}

#[tokio::test]
async fn helfo_may_not_report_an_individual_exemption_in_its_own_name() {
    let app = spawn_app().await;
    let mut body = individual_exemption("HELFO-2023-2");
    body["deciding_org"] = json!(HELFO);

    let answer = app
        .post_json("/api/v1/decisions", &app.tokens.helfo, &body)
        .await;

    assert!(
        answer.status == 403 || answer.status == 422,
        "{} {}",
        answer.status,
        answer.text
    );
    answer.assert_problem(answer.status);
    assert_eq!(app.case_event_count().await, 0);
}

#[tokio::test]
async fn helfo_may_not_report_for_a_trust() {
    let app = spawn_app().await;
    let answer = app
        .post_json(
            "/api/v1/decisions",
            &app.tokens.helfo,
            &individual_exemption("HELFO-2023-3"),
        )
        .await;

    answer.assert_problem(403);
    assert_eq!(app.case_event_count().await, 0);
}

#[tokio::test]
async fn a_trust_may_not_report_helfo_individual_in_its_own_name() {
    let app = spawn_app().await;
    let mut body = helfo_individual("OUS-H-1");
    body["deciding_org"] = json!(OUS);

    let answer = app
        .post_json("/api/v1/decisions", &app.tokens.ous, &body)
        .await;

    answer.assert_problem(422);
    assert_eq!(
        answer.problem_codes(),
        ["deciding_org:wrong_deciding_organisation"]
    );
}

#[tokio::test]
async fn the_applying_trust_may_not_report_what_its_regional_authority_decides() {
    let app = spawn_app().await;
    let body = individual_access("HV-IT-2024-9");

    let answer = app
        .post_json("/api/v1/decisions", &app.tokens.bergen, &body)
        .await;

    answer.assert_problem(403);
    assert_eq!(app.case_event_count().await, 0);
}

#[tokio::test]
async fn a_regional_authority_may_not_report_an_individual_exemption_in_its_own_name() {
    let app = spawn_app().await;
    let mut body = individual_exemption("HV-1");
    body["deciding_org"] = json!(harness::app::HELSE_VEST);

    let answer = app
        .post_json("/api/v1/decisions", &app.tokens.helse_vest, &body)
        .await;

    answer.assert_problem(422);
    assert_eq!(
        answer.problem_codes(),
        ["deciding_org:wrong_deciding_organisation"]
    );
}
