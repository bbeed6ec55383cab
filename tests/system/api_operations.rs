//! Probes, metrics, the API description and authentication.

use harness::app::{individual_exemption, spawn_app};
use serde_json::json;

#[tokio::test]
async fn healthz_answers_200_without_a_token() {
    let app = spawn_app().await;
    let answer = app.get("/healthz", None).await;

    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.body["status"], json!("ok"));
}

#[tokio::test]
async fn readyz_answers_200_when_the_migrations_are_current() {
    let app = spawn_app().await;
    let answer = app.get("/readyz", None).await;

    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.body["status"], json!("ready"));
    let newest = store::MIGRATOR.iter().map(|m| m.version).max();
    assert_eq!(answer.body["migration"], json!(newest));
}

#[tokio::test]
async fn readyz_answers_503_when_a_migration_is_missing() {
    let app = spawn_app().await;
    let newest = store::MIGRATOR.iter().map(|m| m.version).max().unwrap();
    sqlx::query("delete from _sqlx_migrations where version = $1")
        .bind(newest)
        .execute(&app.db.pool)
        .await
        .unwrap();

    let answer = app.get("/readyz", None).await;

    answer.assert_problem(503);
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status_and_the_events_appended() {
    let app = spawn_app().await;
    app.reported_case(&individual_exemption("X-1")).await;
    let unknown_id = uuid::Uuid::new_v4().to_string();
    let unknown = app
        .get(
            &format!("/api/v1/cases/{unknown_id}"),
            Some(&app.tokens.ous),
        )
        .await;
    assert_eq!(unknown.status, 404);

    let answer = app.get("/metrics", Some(&app.tokens.admin)).await;

    assert_eq!(answer.status, 200);
    assert!(
        answer.content_type.starts_with("text/plain"),
        "{}",
        answer.content_type
    );
    let text = &answer.text;
    let line = |prefix: &str| {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no line {prefix} in\n{text}"))
            .to_string()
    };
    assert!(line(
        r#"unntak_http_requests_total{method="POST",route="/api/v1/decisions",status="201"}"#
    )
    .ends_with(" 1"));
    assert!(line(
        r#"unntak_http_requests_total{method="GET",route="/api/v1/cases/{case_id}",status="404"}"#
    )
    .ends_with(" 1"));
    assert_eq!(
        line("unntak_events_appended_total "),
        "unntak_events_appended_total 2"
    );
    assert!(text.contains("unntak_http_request_duration_seconds_bucket"));
    assert!(!text.contains(&unknown_id), "raw ids never become labels");
}

/// Issue 12, finding 9: invented request methods and paths must not grow the metrics, and
/// only the metrics scraper or an admin may read them.
#[tokio::test]
async fn metrics_need_a_token_and_stay_bounded_under_invented_methods_and_paths() {
    let app = spawn_app().await;
    assert_eq!(app.get("/metrics", None).await.status, 401);
    assert_eq!(app.get("/metrics", Some(&app.tokens.ous)).await.status, 403);
    let before = app
        .get("/metrics", Some(&app.tokens.admin))
        .await
        .text
        .len();
    for n in 0..50 {
        let method = reqwest::Method::from_bytes(format!("INVENTED{n}").as_bytes()).unwrap();
        app.client
            .request(method, app.url(&format!("/no/such/path/{n}")))
            .send()
            .await
            .unwrap();
    }
    let text = app.get("/metrics", Some(&app.tokens.admin)).await.text;
    assert!(!text.contains("INVENTED"), "{text}");
    assert!(!text.contains("/no/such/path"), "{text}");
    assert!(
        text.contains(r#"method="other",route="unmatched""#),
        "{text}"
    );
    // A handful of new series (one counter and one histogram for `other`), not fifty.
    assert!(text.len() < before + 4_000, "{} -> {}", before, text.len());
}

#[tokio::test]
async fn the_openapi_description_is_version_3_1_and_lists_every_endpoint() {
    let app = spawn_app().await;
    let answer = app.get("/api/v1/openapi.json", None).await;

    assert_eq!(answer.status, 200, "{}", answer.text);
    assert!(
        answer.body["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        answer.body["openapi"]
    );
    let paths = answer.body["paths"].as_object().unwrap();
    let expected = [
        ("/api/v1/decisions", "post"),
        ("/api/v1/cases", "post"),
        ("/api/v1/cases/{case_id}/decision", "post"),
        ("/api/v1/decisions/batch", "post"),
        ("/api/v1/cases/{case_id}/corrections", "post"),
        ("/api/v1/cases/{case_id}/retraction", "post"),
        ("/api/v1/cases/{case_id}/appeals", "post"),
        (
            "/api/v1/cases/{case_id}/appeals/{appeal_id}/decision",
            "post",
        ),
        ("/api/v1/cases/{case_id}", "get"),
        ("/api/v1/cases/{case_id}/history", "get"),
        ("/api/v1/methods", "get"),
        ("/api/v1/methods/{method_id}", "get"),
        ("/api/v1/methods/{method_id}", "put"),
        ("/api/v1/methods/{method_id}/status", "post"),
        ("/api/v1/organisations", "get"),
        ("/api/v1/organisations", "post"),
        ("/api/v1/organisations/{org_number}", "put"),
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/metrics", "get"),
        ("/api/v1/openapi.json", "get"),
    ];
    for (path, method) in expected {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} missing from the description"
        );
    }
    let schemas = answer.body["components"]["schemas"].as_object().unwrap();
    for schema in ["DecisionReport", "CaseReport", "Problem", "ImportSummary"] {
        assert!(schemas.contains_key(schema), "schema {schema} missing");
    }
}

#[tokio::test]
async fn the_interactive_docs_are_an_html_page() {
    let app = spawn_app().await;
    let answer = app.get("/api/docs", None).await;

    assert_eq!(answer.status, 200);
    assert!(
        answer.content_type.starts_with("text/html"),
        "{}",
        answer.content_type
    );
    assert!(answer.text.to_lowercase().contains("<html"));
}

#[tokio::test]
async fn a_request_without_a_token_answers_401() {
    let app = spawn_app().await;
    let answer = app
        .send(
            reqwest::Method::POST,
            "/api/v1/decisions",
            None,
            individual_exemption("A-1").to_string(),
        )
        .await;

    answer.assert_problem(401);
    let list = app.get("/api/v1/methods", None).await;
    list.assert_problem(401);
    assert_eq!(app.case_event_count().await, 0);
}

#[tokio::test]
async fn a_request_with_an_unknown_token_answers_401() {
    let app = spawn_app().await;
    let forged = format!("unntak_{}", "ab".repeat(32));
    let answer = app
        .post_json("/api/v1/decisions", &forged, &individual_exemption("A-2"))
        .await;

    answer.assert_problem(401);
    let read = app.get("/api/v1/organisations", Some(&forged)).await;
    read.assert_problem(401);
    assert_eq!(app.case_event_count().await, 0);
}

#[tokio::test]
async fn a_revoked_token_answers_401() {
    let app = spawn_app().await;
    let new = registry::tokens::NewToken {
        role: registry::Role::Reporter,
        org: Some(domain::organisation::OrganisationNumber::parse(harness::app::OUS).unwrap()),
        project: None,
        label: "to be revoked".into(),
        expires: None,
    };
    let (token_id, token) = registry::tokens::create_token(&app.db.pool, new)
        .await
        .unwrap();
    // Used once first, so that a cache of the lookup would answer the next request.
    assert_eq!(app.get("/api/v1/methods", Some(&token)).await.status, 200);
    assert!(registry::tokens::revoke_token(&app.db.pool, token_id)
        .await
        .unwrap());

    // Issue 12, finding 12: revocation works at once, not after a cache's lifetime.
    let answer = app.get("/api/v1/methods", Some(&token)).await;

    answer.assert_problem(401);
}

#[tokio::test]
async fn a_known_path_asked_with_another_method_is_405_with_the_methods_it_answers() {
    let app = spawn_app().await;
    let response = app
        .client
        .delete(app.url("/api/v1/decisions"))
        .bearer_auth(&app.tokens.ous)
        .send()
        .await
        .expect("a response");
    assert_eq!(response.status().as_u16(), 405);
    assert_eq!(
        response
            .headers()
            .get("allow")
            .and_then(|v| v.to_str().ok()),
        Some("POST")
    );
    let case_path = format!("/api/v1/cases/{}", uuid::Uuid::new_v4());
    let wrong_method = app
        .send(
            reqwest::Method::PUT,
            &case_path,
            Some(&app.tokens.ous),
            "{}",
        )
        .await;
    wrong_method.assert_problem(405);
    assert!(wrong_method.text.contains("GET"), "{}", wrong_method.text);

    let unknown = app
        .get("/api/v1/no-such-thing", Some(&app.tokens.ous))
        .await;
    unknown.assert_problem(404);
}

/// A projector that hears only wake-ups from its own process: no NOTIFY, and a poll far
/// beyond the test's length.
fn deaf_projector(store: store::EventStore) -> projections::Projector {
    projections::Projector::new(store).with_wake_ups(projections::WakeUps {
        listen_for_notify: false,
        poll_interval: std::time::Duration::from_secs(3_600),
    })
}

/// Whether the cases projection reaches `position` within `patience`.
async fn reaches(
    app: &harness::app::TestApp,
    position: i64,
    patience: std::time::Duration,
) -> bool {
    let deadline = tokio::time::Instant::now() + patience;
    while tokio::time::Instant::now() < deadline {
        let reached = projections::status::has_reached(
            &app.db.pool,
            projections::Projection::Cases,
            position,
        )
        .await
        .expect("the projection's checkpoint");
        if reached {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    false
}

/// Starts `projector`, lets it project the seeded registers and go to sleep, then reports
/// a decision through the API; the decision's position.
async fn report_to_a_sleeping_projector(
    app: &harness::app::TestApp,
    projector: projections::Projector,
    case_ref: &str,
) -> i64 {
    tokio::spawn(async move { projector.run().await });
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let answer = app
        .post_json(
            "/api/v1/decisions",
            &app.tokens.ous,
            &individual_exemption(case_ref),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    answer.body["position"].as_i64().expect("a position")
}

#[tokio::test]
async fn an_append_through_the_api_wakes_the_projector_sharing_its_store() {
    let app = spawn_app().await;
    let projector = deaf_projector(app.registry.store().clone());
    let position = report_to_a_sleeping_projector(&app, projector, "W-1").await;

    assert!(
        reaches(&app, position, std::time::Duration::from_secs(20)).await,
        "the projector sharing the API's store was woken by the append"
    );
}

#[tokio::test]
async fn a_projector_on_a_store_of_its_own_hears_nothing_without_notify_or_polling() {
    let app = spawn_app().await;
    // What `serve` did before it shared one store: a second store, whose appends are not
    // the projector's to hear.
    let projector = deaf_projector(store::EventStore::new(app.db.pool.clone()));
    let position = report_to_a_sleeping_projector(&app, projector, "W-2").await;

    assert!(
        !reaches(&app, position, std::time::Duration::from_secs(3)).await,
        "nothing but a shared store could have woken it"
    );
}
