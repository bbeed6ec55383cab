//! The methods and organisation registers over HTTP: read by every role, kept by admins,
//! and used by validation at once.

use harness::app::{individual_exemption, spawn_app, METHOD_UNDER_ASSESSMENT, OUS};
use serde_json::json;

/// A valid organisation number starting with `first_seven`: the first eighth digit for
/// which a mod-11 check digit exists, then that check digit.
fn organisation_number(first_seven: &str) -> String {
    let weights = [3, 2, 7, 6, 5, 4, 3, 2];
    (0..10)
        .map(|eighth| format!("{first_seven}{eighth}"))
        .find_map(|first_eight| {
            let sum: u32 = first_eight
                .chars()
                .zip(weights)
                .map(|(c, w)| c.to_digit(10).unwrap() * w)
                .sum();
            let check = (11 - sum % 11) % 11;
            (check < 10).then(|| format!("{first_eight}{check}"))
        })
        .expect("some eighth digit has a check digit")
}

#[tokio::test]
async fn every_role_lists_the_seeded_methods() {
    let app = spawn_app().await;
    for token in [&app.tokens.ous, &app.tokens.reviewer, &app.tokens.admin] {
        let answer = app.get("/api/v1/methods", Some(token)).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
        let ids: Vec<&str> = answer
            .body
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["method_id"].as_str().unwrap())
            .collect();
        assert!(ids.contains(&METHOD_UNDER_ASSESSMENT), "{ids:?}");
        assert_eq!(ids.len(), 3);
    }
}

#[tokio::test]
async fn one_method_reads_with_its_statuses_and_an_unknown_one_is_404() {
    let app = spawn_app().await;
    let known = app
        .get(
            &format!("/api/v1/methods/{METHOD_UNDER_ASSESSMENT}"),
            Some(&app.tokens.ous),
        )
        .await;
    assert_eq!(known.status, 200, "{}", known.text);
    assert_eq!(known.body["description"]["atc"], json!(["L01FX02"]));
    assert_eq!(
        known.body["statuses"][0]["status"],
        json!("under_assessment")
    );

    let unknown = app
        .get("/api/v1/methods/ID2024_999", Some(&app.tokens.ous))
        .await;
    unknown.assert_problem(404);
    let malformed = app
        .get("/api/v1/methods/not-a-method", Some(&app.tokens.ous))
        .await;
    malformed.assert_problem(422);
}

#[tokio::test]
async fn an_admin_describes_a_method_and_records_its_status_and_reports_may_use_it() {
    let app = spawn_app().await;
    let path = "/api/v1/methods/ID2024_101";
    let description = json!({"name": "Nymab", "atc": ["L04AC99"], "indication": "Psoriasis"});

    let described = app.put_json(path, &app.tokens.admin, &description).await;
    assert_eq!(described.status, 200, "{}", described.text);
    assert_eq!(described.body["description"]["name"], json!("Nymab"));
    let status = json!({"status": "under_assessment", "decision_date": "2024-01-15"});
    let changed = app
        .post_json(&format!("{path}/status"), &app.tokens.admin, &status)
        .await;
    assert_eq!(changed.status, 201, "{}", changed.text);
    assert_eq!(
        changed.body["statuses"][0]["status"],
        json!("under_assessment")
    );
    let again = app
        .post_json(&format!("{path}/status"), &app.tokens.admin, &status)
        .await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.body["statuses"].as_array().unwrap().len(), 1);

    let mut report = individual_exemption("M-1");
    report["method_id"] = json!("ID2024_101");
    report["atc"] = json!("L04AC99");
    report["indication_icd10"] = json!("L40");
    let answer = app
        .post_json("/api/v1/decisions", &app.tokens.ous, &report)
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    assert_eq!(answer.body["warnings"], json!([]));
}

#[tokio::test]
async fn a_method_description_lists_every_problem() {
    let app = spawn_app().await;
    let answer = app
        .put_json(
            "/api/v1/methods/ID2024_102",
            &app.tokens.admin,
            &json!({"name": " ", "atc": ["L04AC99", "nonsense"], "indication": ""}),
        )
        .await;

    answer.assert_problem(422);
    let mut codes = answer.problem_codes();
    codes.sort();
    assert_eq!(
        codes
            .iter()
            .map(|c| c.split(':').next().unwrap())
            .collect::<Vec<_>>(),
        ["atc[1]", "indication", "name"]
    );
}

#[tokio::test]
async fn a_status_for_an_unknown_method_answers_404() {
    let app = spawn_app().await;
    let answer = app
        .post_json(
            "/api/v1/methods/ID2024_103/status",
            &app.tokens.admin,
            &json!({"status": "introduced", "decision_date": "2024-01-15"}),
        )
        .await;

    answer.assert_problem(404);
}

#[tokio::test]
async fn only_admins_change_the_methods_register() {
    let app = spawn_app().await;
    for token in [&app.tokens.ous, &app.tokens.reviewer] {
        let put = app
            .put_json(
                "/api/v1/methods/ID2024_104",
                token,
                &json!({"name": "X", "atc": [], "indication": "Y"}),
            )
            .await;
        put.assert_problem(403);
        let status = app
            .post_json(
                &format!("/api/v1/methods/{METHOD_UNDER_ASSESSMENT}/status"),
                token,
                &json!({"status": "introduced", "decision_date": "2024-01-15"}),
            )
            .await;
        status.assert_problem(403);
    }
}

#[tokio::test]
async fn a_method_introduced_ends_individual_exemptions_from_the_date_it_can_be_used() {
    let app = spawn_app().await;
    let introduced = app
        .post_json(
            &format!("/api/v1/methods/{METHOD_UNDER_ASSESSMENT}/status"),
            &app.tokens.admin,
            &json!({"status": "introduced", "decision_date": "2024-03-04", "effective_from": "2024-04-01"}),
        )
        .await;
    assert_eq!(introduced.status, 201, "{}", introduced.text);

    let before = app
        .post_json(
            "/api/v1/decisions",
            &app.tokens.ous,
            &individual_exemption("M-2"),
        )
        .await;
    let mut after_body = individual_exemption("M-3");
    after_body["decided_date"] = json!("2024-04-02");
    let after = app
        .post_json("/api/v1/decisions", &app.tokens.ous, &after_body)
        .await;

    assert_eq!(before.body["warnings"], json!([]), "{}", before.text);
    assert_eq!(
        after.body["warnings"][0]["code"],
        json!("method_not_under_assessment"),
        "{}",
        after.text
    );
}

#[tokio::test]
async fn the_organisation_register_is_seeded_from_the_reference_file() {
    let app = spawn_app().await;
    let answer = app
        .get("/api/v1/organisations", Some(&app.tokens.reviewer))
        .await;

    assert_eq!(answer.status, 200, "{}", answer.text);
    let organisations = answer.body.as_array().unwrap();
    let ous = organisations
        .iter()
        .find(|o| o["org_number"] == json!(OUS))
        .expect("OUS is in the register");
    assert_eq!(ous["name"], json!("Oslo universitetssykehus HF"));
    assert_eq!(ous["kind"], json!("hf"));
    assert_eq!(ous["region_org_number"], json!("991324968"));
    let distinct: std::collections::HashSet<&str> = organisations
        .iter()
        .map(|o| o["org_number"].as_str().unwrap())
        .collect();
    assert_eq!(
        distinct.len(),
        organisations.len(),
        "each organisation once"
    );
}

#[tokio::test]
async fn an_admin_adds_an_organisation_that_may_then_report() {
    let app = spawn_app().await;
    let number = organisation_number("9988771");
    let organisation = json!({
        "org_number": number,
        "name": "Nytt sykehus HF",
        "kind": "hf",
        "region_org_number": "991324968"
    });

    let added = app
        .post_json("/api/v1/organisations", &app.tokens.admin, &organisation)
        .await;
    assert_eq!(added.status, 201, "{}", added.text);
    let twice = app
        .post_json("/api/v1/organisations", &app.tokens.admin, &organisation)
        .await;
    twice.assert_problem(409);

    let listed = app
        .get("/api/v1/organisations", Some(&app.tokens.ous))
        .await;
    assert!(listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .any(|o| o["org_number"] == json!(number)));
}

#[tokio::test]
async fn a_merged_trust_marked_inactive_may_no_longer_report() {
    let app = spawn_app().await;
    let inactive = json!({
        "org_number": OUS,
        "name": "Oslo universitetssykehus HF",
        "kind": "hf",
        "region_org_number": "991324968",
        "active": false
    });

    let changed = app
        .put_json(
            &format!("/api/v1/organisations/{OUS}"),
            &app.tokens.admin,
            &inactive,
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(changed.body["active"], json!(false));

    let answer = app
        .post_json(
            "/api/v1/decisions",
            &app.tokens.ous,
            &individual_exemption("O-1"),
        )
        .await;
    answer.assert_problem(422);
    assert_eq!(
        answer.problem_codes(),
        ["deciding_org:inactive_organisation"]
    );
}

#[tokio::test]
async fn changing_an_organisation_not_in_the_register_answers_404() {
    let app = spawn_app().await;
    let number = organisation_number("9988772");
    let answer = app
        .put_json(
            &format!("/api/v1/organisations/{number}"),
            &app.tokens.admin,
            &json!({"org_number": number, "name": "Ukjent HF", "kind": "hf", "region_org_number": "991324968"}),
        )
        .await;

    answer.assert_problem(404);
}

#[tokio::test]
async fn an_organisation_with_bad_fields_lists_every_problem() {
    let app = spawn_app().await;
    let answer = app
        .post_json(
            "/api/v1/organisations",
            &app.tokens.admin,
            &json!({"org_number": "123456789", "name": "", "kind": "clinic"}),
        )
        .await;

    answer.assert_problem(422);
    let fields: Vec<String> = answer
        .problem_codes()
        .iter()
        .map(|c| c.split(':').next().unwrap().to_string())
        .collect();
    for field in ["org_number", "name", "kind"] {
        assert!(fields.iter().any(|f| f == field), "{field} in {fields:?}");
    }
}

#[tokio::test]
async fn only_admins_change_the_organisation_register() {
    let app = spawn_app().await;
    let organisation = json!({
        "org_number": organisation_number("9988773"),
        "name": "Nytt sykehus HF",
        "kind": "hf",
        "region_org_number": "991324968"
    });

    let answer = app
        .post_json("/api/v1/organisations", &app.tokens.ous, &organisation)
        .await;
    answer.assert_problem(403);
    let put = app
        .put_json(
            &format!("/api/v1/organisations/{OUS}"),
            &app.tokens.reviewer,
            &organisation,
        )
        .await;
    put.assert_problem(403);
}
