//! Issue 12: the server under hostile or broken conditions. Control characters are
//! refused with a field error, never a 500; an unreachable database answers 503 with
//! Retry-After at once; every answer carries security headers; guessing tokens, flooding
//! with one token and sending a body slowly are each cut short; tokens are made only for
//! what exists.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use api::ApiConfig;
use domain::organisation::OrganisationNumber;
use domain::pseudonym::PseudonymKey;
use harness::app::{individual_exemption, spawn_app, spawn_app_with, BERGEN};
use registry::tokens::{create_token, NewToken};
use registry::{Registry, RegistrySettings, Role};
use serde_json::{json, Value};
use sqlx::postgres::PgPoolOptions;
use store::EventStore;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Finding 4: a NUL (or any control character) in any text of a report, a register
/// change or a query is a field error, and a batch's dry run agrees with its import.
#[tokio::test]
async fn a_nul_in_any_text_is_a_field_error_never_a_500() {
    let app = spawn_app().await;
    let report = individual_exemption("NUL-1");
    for (field, value) in report.as_object().unwrap() {
        let Value::String(text) = value else { continue };
        let mut body = report.clone();
        body[field] = json!(format!("{text}\u{0}"));
        let answer = app
            .post_json("/api/v1/decisions", &app.tokens.ous, &body)
            .await;
        assert!(
            answer.status == 422 || answer.status == 400,
            "{field}: {} {}",
            answer.status,
            answer.text
        );
    }
    let mut group = harness::app::individual_access("NUL-G");
    group["scheme"] = json!("group_exemption");
    group["method_id"] = json!(harness::app::METHOD_UNDER_ASSESSMENT);
    group.as_object_mut().unwrap().remove("patient");
    group["group"] = json!({"expected_patients": 3, "description": "Gruppe\u{0}"});
    let answer = app
        .post_json("/api/v1/decisions", &app.tokens.helse_vest, &group)
        .await;
    assert_eq!(
        answer.problem_codes(),
        ["group.description:control_character"],
        "{}",
        answer.text
    );

    let method = json!({"name": "Navn\u{0}", "atc": [], "indication": "Indikasjon\u{202E}"});
    let answer = app
        .put_json("/api/v1/methods/ID2024_302", &app.tokens.admin, &method)
        .await;
    assert_eq!(
        answer.problem_codes(),
        ["name:control_character", "indication:bidi_control"],
        "{}",
        answer.text
    );
    let organisation = json!({"org_number": BERGEN, "name": "Klinikk\u{0}", "kind": "hf", "region_org_number": "983658725"});
    let answer = app
        .put_json(
            &format!("/api/v1/organisations/{BERGEN}"),
            &app.tokens.admin,
            &organisation,
        )
        .await;
    assert_eq!(
        answer.problem_codes(),
        ["name:control_character"],
        "{}",
        answer.text
    );

    for parameter in ["scheme", "method_id", "deciding_org"] {
        let answer = app
            .get(
                &format!("/api/v1/stats/decisions?{parameter}=%00"),
                Some(&app.tokens.reviewer),
            )
            .await;
        assert_eq!(answer.status, 422, "{parameter}: {}", answer.text);
        assert!(
            answer.problem_codes()[0].starts_with(parameter),
            "{}",
            answer.text
        );
    }

    let mut bad_row = individual_exemption("NUL-B");
    bad_row["case_ref"] = json!("NUL\u{0}B");
    let rows = json!([individual_exemption("NUL-A"), bad_row]);
    let dry = app
        .post_json(
            "/api/v1/decisions/batch?dry_run=true",
            &app.tokens.ous,
            &rows,
        )
        .await;
    assert_eq!(dry.status, 200, "{}", dry.text);
    let atomic = app
        .post_json("/api/v1/decisions/batch", &app.tokens.ous, &rows)
        .await;
    assert_eq!(atomic.status, 422, "{}", atomic.text);
    assert_eq!(
        dry.body["rejected"], atomic.body["rejected"],
        "the dry run says what the import does"
    );
    assert_eq!(app.case_event_count().await, 0);
}

/// A registry whose database does not answer: nothing listens on port 1.
fn registry_without_a_database() -> Registry {
    let pool = PgPoolOptions::new()
        .acquire_timeout(Duration::from_secs(1))
        .connect_lazy("postgres://postgres@127.0.0.1:1/unntak")
        .expect("a lazy pool");
    let key = PseudonymKey::new("t1", &[7u8; 32]).unwrap();
    Registry::new(EventStore::new(pool), RegistrySettings::new(key))
}

/// Finding 5: with the database away, requests answer 503 problem+json with Retry-After
/// within the pool's acquire timeout, and /readyz within a second.
#[tokio::test]
async fn an_unreachable_database_answers_503_with_retry_after_at_once() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let server = api::build(
        registry_without_a_database(),
        ApiConfig::default(),
        listener,
    )
    .unwrap();
    tokio::spawn(server);
    let client = reqwest::Client::new();

    let started = Instant::now();
    let ready = client
        .get(format!("{address}/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    assert!(
        started.elapsed() < Duration::from_millis(1_500),
        "{:?}",
        started.elapsed()
    );

    let started = Instant::now();
    let report = client
        .post(format!("{address}/api/v1/decisions"))
        .bearer_auth("unntak_0000")
        .json(&individual_exemption("DB-1"))
        .send()
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(report.status(), 503);
    assert!(report.headers().contains_key("retry-after"));
    assert_eq!(report.headers()["content-type"], "application/problem+json");
}

/// Finding 10: security headers on every answer, and no caching.
#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let app = spawn_app().await;
    let case_id = app.reported_case(&individual_exemption("H-1")).await;
    for (path, token) in [
        ("/healthz".to_string(), None),
        (
            format!("/api/v1/cases/{case_id}"),
            Some(app.tokens.ous.clone()),
        ),
        ("/api/v1/no/such/thing".to_string(), None),
    ] {
        let mut request = app.client.get(app.url(&path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["cache-control"], "no-store", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        assert!(headers["strict-transport-security"]
            .to_str()
            .unwrap()
            .starts_with("max-age="));
        let policy = headers["content-security-policy"].to_str().unwrap();
        assert!(
            policy.contains("frame-ancestors 'none'"),
            "{path}: {policy}"
        );
        assert!(!policy.contains("unsafe-inline"), "{path}: {policy}");
    }
}

fn limited(per_token: u32, failures_per_minute: u32) -> ApiConfig {
    ApiConfig {
        rate_limits: api::auth::RateLimits {
            per_token_per_second: per_token,
            per_address_per_second: 10_000,
            failed_authentications_per_minute: failures_per_minute,
        },
        body_timeout_seconds: 1,
        ..ApiConfig::default()
    }
}

/// Finding 10: guessing tokens from one address is cut short with 429 and Retry-After.
#[tokio::test]
async fn guessing_tokens_is_answered_429_after_a_few_failures() {
    let app = spawn_app_with(limited(1_000, 5)).await;
    let mut statuses = Vec::new();
    for guess in 0..20 {
        let answer = app
            .get("/api/v1/methods", Some(&format!("unntak_guess{guess}")))
            .await;
        statuses.push(answer.status);
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        15,
        "{statuses:?}"
    );
    let response = app
        .client
        .get(app.url("/api/v1/methods"))
        .bearer_auth("unntak_guess-more")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert!(response.headers().contains_key("retry-after"));
}

/// Finding 10: one token may not flood the registry.
#[tokio::test]
async fn one_token_going_too_fast_is_answered_429() {
    let app = spawn_app_with(limited(5, 30)).await;
    let mut too_many = 0;
    for _ in 0..40 {
        if app
            .get("/api/v1/methods", Some(&app.tokens.ous))
            .await
            .status
            == 429
        {
            too_many += 1;
        }
    }
    assert!(too_many >= 20, "{too_many} of 40 refused");
    // Another token is not held back by the first one's pace.
    assert_eq!(
        app.get("/api/v1/methods", Some(&app.tokens.bergen))
            .await
            .status,
        200
    );
}

/// Finding 10: a body that arrives too slowly is cut off.
#[tokio::test]
async fn a_slow_body_is_cut_off_after_the_body_timeout() {
    let app = spawn_app_with(limited(1_000, 30)).await;
    let host = app.address.trim_start_matches("http://");
    let mut socket = tokio::net::TcpStream::connect(host).await.unwrap();
    let head = format!(
        "POST /api/v1/decisions HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{",
        app.tokens.ous
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), socket.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the connection was held open");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

/// Finding 12: a token is made only for an organisation in the register, with an expiry
/// still to come, and every problem is named.
#[tokio::test]
async fn a_token_for_an_unknown_organisation_or_a_past_expiry_is_refused() {
    let app = spawn_app().await;
    // A valid organisation number that is not in the register.
    let unknown = OrganisationNumber::parse("998877202").expect("a valid organisation number");
    let new = NewToken {
        role: Role::Reporter,
        org: Some(unknown),
        project: None,
        label: "ny\u{0}".into(),
        expires: chrono::NaiveDate::from_ymd_opt(2020, 1, 1),
    };
    let error = create_token(&app.db.pool, new).await.expect_err("refused");
    let problems = match error {
        registry::ServiceError::Invalid(problems) => problems,
        other => panic!("{other}"),
    };
    let codes: Vec<&str> = problems.iter().map(|p| p.code.as_str()).collect();
    assert_eq!(
        codes,
        ["unknown_organisation", "date_in_past", "control_character"]
    );
    let count: i64 = sqlx::query_scalar("select count(*) from api_tokens")
        .fetch_one(&app.db.pool)
        .await
        .unwrap();
    assert_eq!(count, 6, "only the harness's own tokens");
}

/// Finding 12: every typed body lists all its problems, and a key named twice is refused
/// instead of the last one silently winning.
#[tokio::test]
async fn typed_bodies_list_every_problem_and_refuse_a_key_named_twice() {
    let app = spawn_app().await;
    let case_id = app.reported_case(&individual_exemption("T-1")).await;
    let cases = [
        (
            format!("/api/v1/cases/{case_id}/appeals"),
            json!({"lodged_date": 5, "extra": 1}),
            vec![
                "extra:unknown_field",
                "report_id:required",
                "lodged_date:invalid_type",
            ],
        ),
        (
            format!("/api/v1/cases/{case_id}/retraction"),
            json!({"report_id": "not-a-uuid", "reason": "because"}),
            vec!["reason:invalid_value", "report_id:invalid_value"],
        ),
        (
            format!("/api/v1/cases/{case_id}/corrections"),
            json!({"changes": [], "reason": 1}),
            vec![
                "report_id:required",
                "changes:invalid_type",
                "reason:invalid_type",
            ],
        ),
    ];
    for (path, body, expected) in cases {
        let answer = app.post_json(&path, &app.tokens.ous, &body).await;
        answer.assert_problem(422);
        assert_eq!(answer.problem_codes(), expected, "{path}: {}", answer.text);
    }
    let method = json!({"name": 1, "atc": "L01", "indication": null});
    let answer = app
        .put_json("/api/v1/methods/ID2024_303", &app.tokens.admin, &method)
        .await;
    assert_eq!(
        answer.problem_codes(),
        [
            "indication:required",
            "atc:invalid_type",
            "name:invalid_type"
        ],
        "{}",
        answer.text
    );

    let mut twice = individual_exemption("T-2").to_string();
    twice.insert_str(1, r#""outcome": "refused", "#);
    let answer = app
        .send(
            reqwest::Method::POST,
            "/api/v1/decisions",
            Some(&app.tokens.ous),
            twice,
        )
        .await;
    answer.assert_problem(400);
    assert!(answer.text.contains("twice"), "{}", answer.text);
    assert_eq!(app.case_event_count().await, 2, "only T-1 is stored");
}
