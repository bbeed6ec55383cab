//! Research extracts (issue 15): projects, researcher tokens bound to them, the CSV read
//! back against its Frictionless descriptor, the audit log's checksum against the bytes
//! received, and the project key's destruction.

use std::collections::{BTreeSet, HashMap};

use harness::app::{fodselsnummer, individual_exemption, spawn_app, TestApp};
use projections::Projector;
use registry::tokens::{create_token, NewToken};
use registry::{Role, ServiceError};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const ALL_VARIABLES: &[&str] = &[
    "patient_pseudonym",
    "application_year",
    "application_quarter",
    "decision_year",
    "decision_quarter",
    "processing_days",
    "age_band",
    "sex",
    "residence",
    "deciding_region",
    "scheme",
    "method_id",
    "atc",
    "icd10",
    "outcome",
    "criteria",
    "refusal_reasons",
    "appeal_outcome",
];

fn project(id: &str, variables: &[&str]) -> Value {
    json!({
        "project_id": id,
        "title": "Variasjon i unntak",
        "institution": "Universitetet i Oslo",
        "approval_ref": "REK 2025/123",
        "valid_from": "2024-01-01",
        "valid_until": "2099-12-31",
        "variables": variables,
        "period_from": "2024-01-01",
        "period_until": "2024-12-31",
        "schemes": ["individual_exemption"],
    })
}

async fn approve(app: &TestApp, body: &Value) {
    let answer = app
        .post_json("/api/v1/research-projects", &app.tokens.admin, body)
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
}

async fn researcher(app: &TestApp, project: &str) -> Result<String, ServiceError> {
    let new = NewToken {
        role: Role::Researcher,
        org: None,
        project: Some(project.to_string()),
        label: format!("researcher {project}"),
        expires: None,
    };
    create_token(&app.db.pool, new)
        .await
        .map(|(_, token)| token)
}

/// A patient born on `ddmmyy`, in `county`: a woman, or a man when `male` (the individual
/// number's last digit is odd for men).
fn case(ddmmyy: &str, county: &str, outcome: &str, received: &str, male: bool) -> Value {
    let fnr = (100..1000)
        .filter(|n| (n % 2 == 1) == male)
        .find_map(|n| fodselsnummer(ddmmyy, &format!("{n:03}")))
        .expect("a valid number");
    // Letters only: a random run of digits could read as an identity number and be refused.
    let letters: String = uuid::Uuid::new_v4()
        .simple()
        .to_string()
        .chars()
        .map(|c| match c.to_digit(10) {
            Some(digit) => (b'g' + digit as u8) as char,
            None => c,
        })
        .collect();
    let mut body = individual_exemption(&format!("EXTRACT-{letters}"));
    body["patient"] = json!({"fnr": fnr, "residence_county": county});
    body["received_date"] = json!(received);
    body["decided_date"] = json!("2024-06-20");
    body["outcome"] = json!(outcome);
    if outcome == "refused" {
        body["refusal_reasons"] = json!(["criteria_not_met"]);
        body["criteria"]["substantially_larger_effect"] = json!(false);
    }
    body
}

/// Twenty cases of women born in 1961 in Oslo, half granted; and one man from Finnmark
/// born in 1931, alone in every grouping, who must be suppressed.
async fn report_cases(app: &TestApp) -> Vec<Value> {
    let projector = Projector::new(app.registry.store().clone());
    tokio::spawn(async move { projector.run().await });
    let mut bodies = Vec::new();
    for n in 0..20 {
        let outcome = if n % 2 == 0 { "granted" } else { "refused" };
        let day = format!("{:02}0461", n + 1);
        bodies.push(case(&day, "03", outcome, "2024-04-02", false));
    }
    bodies.push(case("010131", "56", "refused", "2024-05-02", true));
    for body in &bodies {
        app.reported_case(body).await;
    }
    wait_for_case_facts(app, bodies.len() as i64).await;
    bodies
}

async fn wait_for_case_facts(app: &TestApp, cases: i64) {
    for _ in 0..200 {
        let projected: i64 = sqlx::query_scalar("select count(*) from case_facts")
            .fetch_one(&app.db.pool)
            .await
            .expect("count");
        if projected >= cases {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the projector did not catch up");
}

/// The bytes exactly as the client receives them.
async fn download(app: &TestApp, path: &str, token: &str) -> (u16, Vec<u8>) {
    let answer = app
        .client
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .expect("an answer");
    let status = answer.status().as_u16();
    (status, answer.bytes().await.expect("the body").to_vec())
}

fn read_csv(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_reader(bytes);
    let header = reader
        .headers()
        .expect("a header")
        .iter()
        .map(String::from)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.expect("a record").iter().map(String::from).collect())
        .collect();
    (header, rows)
}

/// Every problem of a cell against its field in the descriptor.
fn cell_problem(field: &Value, cell: &str) -> Option<String> {
    if cell.is_empty() {
        return None; // the descriptor's missingValues
    }
    let name = field["name"].as_str().unwrap_or_default();
    let constraints = &field["constraints"];
    let typed = match field["type"].as_str() {
        Some("integer") => cell.parse::<i64>().is_ok(),
        Some("boolean") => matches!(cell, "true" | "false"),
        _ => true,
    };
    if !typed {
        return Some(format!("{name}: {cell} is not a {}", field["type"]));
    }
    if let Some(allowed) = constraints["enum"].as_array() {
        let listed = allowed.iter().any(|v| {
            v.as_str() == Some(cell) || v.as_i64().map(|n| n.to_string()).as_deref() == Some(cell)
        });
        if !listed {
            return Some(format!("{name}: {cell} is not among {allowed:?}"));
        }
    }
    if let Some(pattern) = constraints["pattern"].as_str() {
        let whole = regex::Regex::new(&format!("^(?:{pattern})$")).expect("a pattern");
        if !whole.is_match(cell) {
            return Some(format!("{name}: {cell} does not match {pattern}"));
        }
    }
    if let Some(max) = constraints["maximum"].as_i64() {
        if cell.parse::<i64>().is_ok_and(|n| n > max) {
            return Some(format!("{name}: {cell} above {max}"));
        }
    }
    None
}

#[tokio::test]
async fn an_extract_reads_back_against_its_datapackage_and_its_logged_checksum_is_the_files() {
    let app = spawn_app().await;
    let bodies = report_cases(&app).await;
    approve(&app, &project("variasjon-1", ALL_VARIABLES)).await;
    let token = researcher(&app, "variasjon-1").await.expect("a token");

    let descriptor = app
        .get(
            "/api/v1/extracts/variasjon-1/datapackage.json",
            Some(&token),
        )
        .await;
    assert_eq!(descriptor.status, 200, "{}", descriptor.text);
    let (status, bytes) = download(&app, "/api/v1/extracts/variasjon-1/cases.csv", &token).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));

    let fields = descriptor.body["resources"][0]["schema"]["fields"]
        .as_array()
        .expect("fields")
        .clone();
    let (header, rows) = read_csv(&bytes);
    let names: Vec<&str> = fields.iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(header, names);
    let problems: Vec<String> = rows
        .iter()
        .flat_map(|row| {
            row.iter()
                .zip(&fields)
                .filter_map(|(cell, field)| cell_problem(field, cell))
        })
        .collect();
    assert!(problems.is_empty(), "{problems:#?}");
    for field in &fields {
        let nb = field["descriptions"]["nb"].as_str().unwrap_or_default();
        let en = field["descriptions"]["en"].as_str().unwrap_or_default();
        assert!(!nb.is_empty() && !en.is_empty(), "{field}");
    }

    // The lone man from Finnmark is withheld; the twenty women are delivered.
    let control = &descriptor.body["disclosure_control"];
    assert_eq!(control["k"], json!(5));
    assert_eq!(control["rows_suppressed"], json!(1), "{control}");
    assert_eq!(rows.len(), 20);
    assert_eq!(control["rows"], json!(20));
    // Nothing finer than a quarter, and nothing a report sent as text.
    let text = String::from_utf8(bytes.clone()).expect("UTF-8");
    for body in &bodies {
        for secret in [&body["case_ref"], &body["patient"]["fnr"]] {
            assert!(!text.contains(secret.as_str().unwrap()), "{secret}");
        }
    }
    assert!(!text.contains("2024-04-02") && !text.contains("2024-06-20"));
    assert!(
        !header
            .iter()
            .any(|c| c.contains("case") || c.contains("org")),
        "{header:?}"
    );

    // The log holds the delivery with the SHA-256 of the bytes received.
    let log = app
        .get("/api/v1/extracts/variasjon-1/log", Some(&token))
        .await;
    assert_eq!(log.status, 200, "{}", log.text);
    let deliveries = log.body.as_array().expect("a list");
    assert_eq!(deliveries.len(), 1, "{}", log.text);
    assert_eq!(
        deliveries[0]["sha256"],
        json!(hex::encode(Sha256::digest(&bytes)))
    );
    assert_eq!(deliveries[0]["rows"], json!(20));
    assert_eq!(deliveries[0]["rows_suppressed"], json!(1));
    let admin_log = app
        .get("/api/v1/extracts/variasjon-1/log", Some(&app.tokens.admin))
        .await;
    assert_eq!(admin_log.body, log.body);
}

#[tokio::test]
async fn every_quasi_identifier_group_in_an_extract_has_k_rows() {
    let app = spawn_app().await;
    report_cases(&app).await;
    let variables = [
        "age_band",
        "sex",
        "residence",
        "icd10",
        "application_quarter",
        "outcome",
    ];
    let mut body = project("k-sjekk", &variables);
    body["k"] = json!(7);
    approve(&app, &body).await;
    let token = researcher(&app, "k-sjekk").await.expect("a token");
    let (status, bytes) = download(&app, "/api/v1/extracts/k-sjekk/cases.csv", &token).await;
    assert_eq!(status, 200);
    let (header, rows) = read_csv(&bytes);
    // Columns come in the catalogue's order, the quasi-identifiers first here.
    let columns = [
        "application_quarter",
        "age_band",
        "sex",
        "residence",
        "icd10",
        "outcome",
    ];
    assert_eq!(header, columns);
    let mut groups: HashMap<Vec<String>, (usize, BTreeSet<String>)> = HashMap::new();
    for row in &rows {
        let entry = groups.entry(row[..5].to_vec()).or_default();
        entry.0 += 1;
        entry.1.insert(row[5].clone());
    }
    assert!(!groups.is_empty());
    for (key, (count, outcomes)) in groups {
        assert!(count >= 7, "{key:?}: {count}");
        assert!(count >= 10 || outcomes.len() >= 2, "{key:?}");
    }
}

/// Group exemptions name no patient: no age, sex or residence. Such cases form groups of
/// their own, held to k like every other (the first pass once counted a missing age as 90
/// and over, so their rows were never found in a withheld group and went out).
#[tokio::test]
async fn cases_without_a_patient_are_held_to_k_like_the_others() {
    let app = spawn_app().await;
    report_cases(&app).await;
    for n in 0..3 {
        let mut body = harness::app::individual_access(&format!("GRUPPE-{}", ["a", "b", "c"][n]));
        body["scheme"] = json!("group_exemption");
        body["group"] = json!({"expected_patients": 12, "description": "Sjelden mutasjon"});
        body["method_id"] = json!(harness::app::METHOD_UNDER_ASSESSMENT);
        body.as_object_mut().unwrap().remove("patient");
        let answer = app
            .post_json("/api/v1/decisions", &app.tokens.helse_vest, &body)
            .await;
        assert_eq!(answer.status, 201, "{}", answer.text);
    }
    wait_for_case_facts(&app, 24).await;
    let variables = [
        "age_band",
        "sex",
        "residence",
        "application_quarter",
        "outcome",
    ];
    let mut body = project("uten-pasient", &variables);
    body["schemes"] = json!(["individual_exemption", "group_exemption"]);
    approve(&app, &body).await;
    let token = researcher(&app, "uten-pasient").await.expect("a token");
    let (status, bytes) = download(&app, "/api/v1/extracts/uten-pasient/cases.csv", &token).await;
    assert_eq!(status, 200);
    let (header, rows) = read_csv(&bytes);
    let outcome = header
        .iter()
        .position(|c| c == "outcome")
        .expect("an outcome column");
    let mut groups: HashMap<Vec<String>, usize> = HashMap::new();
    for row in &rows {
        let key: Vec<String> = (0..row.len())
            .filter(|i| *i != outcome)
            .map(|i| row[i].clone())
            .collect();
        *groups.entry(key).or_default() += 1;
    }
    assert!(!groups.is_empty());
    for (key, count) in groups {
        assert!(count >= 5, "{key:?} has {count} rows");
    }
}

#[tokio::test]
async fn pseudonyms_differ_between_projects_and_ending_a_project_destroys_its_key() {
    let app = spawn_app().await;
    report_cases(&app).await;
    let variables = ["patient_pseudonym", "outcome"];
    approve(&app, &project("prosjekt-a", &variables)).await;
    approve(&app, &project("prosjekt-b", &variables)).await;
    let a = researcher(&app, "prosjekt-a").await.expect("a token");
    let b = researcher(&app, "prosjekt-b").await.expect("a token");
    let pseudonyms = |bytes: Vec<u8>| -> BTreeSet<String> {
        read_csv(&bytes)
            .1
            .into_iter()
            .map(|row| row[0].clone())
            .collect()
    };
    let first = pseudonyms(
        download(&app, "/api/v1/extracts/prosjekt-a/cases.csv", &a)
            .await
            .1,
    );
    let again = pseudonyms(
        download(&app, "/api/v1/extracts/prosjekt-a/cases.csv", &a)
            .await
            .1,
    );
    let other = pseudonyms(
        download(&app, "/api/v1/extracts/prosjekt-b/cases.csv", &b)
            .await
            .1,
    );
    // No quasi-identifier is approved: the one group of 21 is kept whole.
    assert_eq!(first.len(), 21, "{first:?}");
    assert_eq!(first, again, "stable within a project");
    assert!(
        first.is_disjoint(&other),
        "two projects' files cannot be linked"
    );
    // Neither is the registry's own pseudonym.
    let stored: Vec<String> = sqlx::query_scalar("select patient_pseudonym from case_facts")
        .fetch_all(&app.db.pool)
        .await
        .expect("pseudonyms");
    assert!(stored
        .iter()
        .all(|p| !first.iter().any(|f| p.contains(f.as_str()))));

    // A researcher may not take another project's extract.
    let (status, _) = download(&app, "/api/v1/extracts/prosjekt-b/cases.csv", &a).await;
    assert_eq!(status, 403);

    let ended = app
        .post_json(
            "/api/v1/research-projects/prosjekt-a/end",
            &app.tokens.admin,
            &json!(null),
        )
        .await;
    assert_eq!(ended.status, 200, "{}", ended.text);
    let keys: i64 = sqlx::query_scalar(
        "select count(*) from research_project_keys where project_id = 'prosjekt-a'",
    )
    .fetch_one(&app.db.pool)
    .await
    .expect("count");
    assert_eq!(keys, 0, "the key is destroyed");
    let refused = app
        .get("/api/v1/extracts/prosjekt-a/cases.csv", Some(&a))
        .await;
    refused.assert_problem(403);
    assert!(refused.text.contains("has ended"), "{}", refused.text);
    // Ending it again is harmless, and no new token can be bound to it.
    let again = app
        .post_json(
            "/api/v1/research-projects/prosjekt-a/end",
            &app.tokens.admin,
            &json!(null),
        )
        .await;
    assert_eq!(again.status, 200);
    assert!(matches!(
        researcher(&app, "prosjekt-a").await,
        Err(ServiceError::Invalid(_))
    ));
    // The log stays readable.
    let log = app.get("/api/v1/extracts/prosjekt-a/log", Some(&a)).await;
    assert_eq!(log.body.as_array().map(Vec::len), Some(2), "{}", log.text);
}

#[tokio::test]
async fn an_unknown_expired_or_not_yet_valid_project_is_refused_saying_which() {
    let app = spawn_app().await;
    match researcher(&app, "finnes-ikke").await {
        Err(ServiceError::Invalid(problems)) => {
            assert_eq!(problems[0].field, "project");
            assert_eq!(problems[0].code, "unknown_project");
        }
        other => panic!("an unknown project must be refused: {other:?}"),
    }
    let mut expired = project("utlopt", &["outcome"]);
    expired["valid_from"] = json!("2020-01-01");
    expired["valid_until"] = json!("2021-12-31");
    approve(&app, &expired).await;
    let mut future = project("framtidig", &["outcome"]);
    future["valid_from"] = json!("2098-01-01");
    approve(&app, &future).await;
    for (id, says) in [
        ("utlopt", "project_expired"),
        ("framtidig", "project_not_yet_valid"),
    ] {
        let token = researcher(&app, id).await.expect("a token");
        let answer = app
            .get(&format!("/api/v1/extracts/{id}/cases.csv"), Some(&token))
            .await;
        answer.assert_problem(403);
        assert!(answer.text.contains(says), "{}", answer.text);
    }
    // A project the token is not bound to reads as forbidden, naming the project asked for.
    let token = researcher(&app, "utlopt").await.expect("a token");
    let answer = app
        .get("/api/v1/extracts/annet/cases.csv", Some(&token))
        .await;
    answer.assert_problem(403);
    assert!(
        answer.text.contains("another research project"),
        "{}",
        answer.text
    );
}

#[tokio::test]
async fn a_bad_project_lists_every_problem_and_writes_nothing() {
    let app = spawn_app().await;
    let mut body = project("ok-id", &["outcome", "case_ref", "fnr"]);
    body["project_id"] = json!("a/b");
    body["valid_until"] = json!("2023-01-01");
    body["k"] = json!(2);
    body.as_object_mut().unwrap().remove("title");
    let answer = app
        .post_json("/api/v1/research-projects", &app.tokens.admin, &body)
        .await;
    let problems = answer.assert_problem(422);
    let fields: Vec<&str> = problems
        .iter()
        .map(|p| p["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "project_id",
            "title",
            "valid_until",
            "variables[1]",
            "variables[2]",
            "k"
        ],
        "{}",
        answer.text
    );
    let projects: i64 =
        sqlx::query_scalar("select count(*) from events where stream_id like 'research-project-%'")
            .fetch_one(&app.db.pool)
            .await
            .expect("count");
    assert_eq!(projects, 0);
    let keys: i64 = sqlx::query_scalar("select count(*) from research_project_keys")
        .fetch_one(&app.db.pool)
        .await
        .expect("count");
    assert_eq!(keys, 0);
}

#[tokio::test]
async fn a_change_is_an_event_the_codebook_follows_and_an_ended_project_cannot_change() {
    let app = spawn_app().await;
    approve(&app, &project("endres", &["outcome", "age_band"])).await;
    let token = researcher(&app, "endres").await.expect("a token");
    let change = |body: Value| {
        app.send(
            reqwest::Method::PATCH,
            "/api/v1/research-projects/endres",
            Some(&app.tokens.admin),
            body.to_string(),
        )
    };
    let changed = change(json!({"k": 8, "variables": ["outcome"]})).await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(changed.body["k"], json!(8));
    assert_eq!(changed.body["title"], json!("Variasjon i unntak"));
    let descriptor = app
        .get("/api/v1/extracts/endres/datapackage.json", Some(&token))
        .await;
    assert_eq!(descriptor.body["disclosure_control"]["k"], json!(8));
    let names: Vec<&str> = descriptor.body["resources"][0]["schema"]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["outcome"]);
    let types: Vec<String> = sqlx::query_scalar(
        "select event_type from events where stream_id = 'research-project-endres' order by stream_version",
    )
    .fetch_all(&app.db.pool)
    .await
    .expect("events");
    assert_eq!(types, ["ResearchProjectApproved", "ResearchProjectChanged"]);

    let refused = change(json!({"k": 3, "variables": ["nope"]})).await;
    let problems = refused.assert_problem(422);
    assert_eq!(problems.len(), 2, "{}", refused.text);

    let ended = app
        .post_json(
            "/api/v1/research-projects/endres/end",
            &app.tokens.admin,
            &json!(null),
        )
        .await;
    assert_eq!(ended.status, 200);
    assert!(ended.body["ended_on"].is_string(), "{}", ended.text);
    change(json!({"k": 9})).await.assert_problem(409);
}
