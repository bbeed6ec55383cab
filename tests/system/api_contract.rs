//! Issue 16: the contract's rough edges. A body not declared as JSON is refused with 415
//! before it is read; a malformed query value names its parameter; the API reference is
//! served from this binary alone, with a policy that lets it load nothing from elsewhere.

use harness::app::{individual_exemption, spawn_app, TestApp};
use serde_json::Value;

/// Sends `body` to `path` with `content_type` (none when `None`).
async fn post_with(
    app: &TestApp,
    path: &str,
    content_type: Option<&str>,
    body: String,
) -> harness::app::Answer {
    let mut request = app
        .client
        .post(app.url(path))
        .bearer_auth(&app.tokens.ous)
        .body(body);
    if let Some(content_type) = content_type {
        request = request.header("Content-Type", content_type);
    }
    harness::app::read(request.send().await.expect("the server answers")).await
}

#[tokio::test]
async fn a_body_not_declared_as_json_is_refused_with_415_and_nothing_is_stored() {
    let app = spawn_app().await;
    let body = individual_exemption("CT-1").to_string();
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("application/jsonx"),
    ] {
        let answer = post_with(&app, "/api/v1/decisions", content_type, body.clone()).await;
        let errors = answer.assert_problem(415);
        assert_eq!(
            answer.problem_codes(),
            ["content-type:unsupported_media_type"],
            "{content_type:?}: {}",
            answer.text
        );
        assert!(
            errors[0]["message"]
                .as_str()
                .unwrap()
                .contains("application/json"),
            "the problem says what to send: {}",
            answer.text
        );
        let batch = post_with(
            &app,
            "/api/v1/decisions/batch",
            content_type,
            format!("[{body}]"),
        )
        .await;
        batch.assert_problem(415);
    }
    assert_eq!(app.case_event_count().await, 0);

    let accepted = [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/merge-patch+json",
    ];
    for (n, content_type) in accepted.into_iter().enumerate() {
        let fresh = individual_exemption(&format!("CT-OK-{n}")).to_string();
        let answer = post_with(&app, "/api/v1/decisions", Some(content_type), fresh).await;
        assert_eq!(answer.status, 201, "{content_type}: {}", answer.text);
    }
}

#[tokio::test]
async fn a_malformed_query_value_names_its_parameter_and_every_one_is_listed() {
    let app = spawn_app().await;
    let reviewer = app.tokens.reviewer.clone();

    let answer = app.get("/api/v1/signals?year=abc", Some(&reviewer)).await;
    answer.assert_problem(422);
    assert_eq!(
        answer.problem_codes(),
        ["year:invalid_value"],
        "{}",
        answer.text
    );

    let answer = app
        .get(
            "/api/v1/stats/decisions?from=yesterday&suppress=perhaps&to=2025-01-01",
            Some(&reviewer),
        )
        .await;
    answer.assert_problem(422);
    assert_eq!(
        answer.problem_codes(),
        ["from:invalid_value", "suppress:invalid_value"],
        "{}",
        answer.text
    );

    // Unknown and malformed together: each named once; no value comes back.
    let answer = app
        .get(
            "/api/v1/stats/decisions?colour=15056112313&min_position=15056112313x",
            Some(&reviewer),
        )
        .await;
    answer.assert_problem(422);
    assert_eq!(
        answer.problem_codes(),
        ["colour:unknown_parameter", "min_position:invalid_value"],
        "{}",
        answer.text
    );
    assert!(!answer.text.contains("15056112313"), "{}", answer.text);

    // A parameter name is the client's: its digit runs are masked.
    let answer = app
        .get("/api/v1/stats/decisions?15056112313=1", Some(&reviewer))
        .await;
    answer.assert_problem(422);
    assert_eq!(
        answer.problem_codes(),
        ["###########:unknown_parameter"],
        "{}",
        answer.text
    );

    // What reads still reads.
    let answer = app
        .get(
            "/api/v1/stats/decisions?group_by=year&from=2020-01-01",
            Some(&reviewer),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
}

#[tokio::test]
async fn the_api_reference_is_served_from_the_binary_and_may_load_nothing_from_elsewhere() {
    let app = spawn_app().await;
    let page = app.client.get(app.url("/api/docs")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let policy = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    let html = page.text().await.unwrap();
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "{html}"
    );
    for directive in policy.split(';').map(str::trim) {
        for source in directive.split_whitespace().skip(1) {
            assert!(
                ["'self'", "'none'", "'unsafe-inline'", "data:"].contains(&source),
                "the policy names only this server: {policy}"
            );
        }
    }
    assert!(policy.contains("script-src 'self'"), "{policy}");

    let script_path = html
        .split("src=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the page loads one script");
    assert!(script_path.starts_with("/api/docs/"), "{script_path}");
    let viewer = app.client.get(app.url(script_path)).send().await.unwrap();
    assert_eq!(viewer.status(), 200);
    assert!(viewer.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    let script = viewer.text().await.unwrap();
    assert!(script.len() > 1_000_000, "the whole viewer is served");
    assert!(script.contains("createApiReference"));

    let description: Value = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        html.contains("data-url=\"/api/v1/openapi.json\""),
        "the viewer reads this API's own description: {html}"
    );
    let post = &description["paths"]["/api/v1/decisions"]["post"]["responses"];
    assert!(post["415"].is_object(), "415 is documented: {post}");
}
