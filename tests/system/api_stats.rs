//! The statistics API against hand-computed figures on a small fixed data set, with the
//! projector running beside the server as it does in `unntak serve`.

use harness::app::{individual_exemption, spawn_app, TestApp, BERGEN, OUS};
use projections::Projector;
use serde_json::{json, Value};

/// Reports a decision of `org` and returns the position it was written at.
async fn report(app: &TestApp, org: &str, case_ref: &str, patch: Value) -> i64 {
    let mut body = individual_exemption(case_ref);
    body["deciding_org"] = json!(org);
    for (field, value) in patch.as_object().expect("an object") {
        body[field] = value.clone();
    }
    if body["outcome"] == json!("refused") {
        body["refusal_reasons"] = json!(["criteria_not_met"]);
    }
    let token = if org == OUS {
        &app.tokens.ous
    } else {
        &app.tokens.bergen
    };
    let answer = app.post_json("/api/v1/decisions", token, &body).await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    answer.body["position"].as_i64().expect("a position")
}

/// Outcomes per organisation: (org, granted, refused).
async fn report_outcomes(app: &TestApp, outcomes: &[(&str, usize, usize)]) -> i64 {
    let mut last = 0;
    for (org, granted, refused) in outcomes {
        for n in 0..granted + refused {
            let outcome = if n < *granted { "granted" } else { "refused" };
            last = report(app, org, &format!("{org}-{n}"), json!({"outcome": outcome})).await;
        }
    }
    until_projected(app, last).await;
    last
}

/// Waits until every projection has applied the event at `last`. A statistic's
/// `min_position` waits 2 s at most, which a loaded test machine can exceed.
async fn until_projected(app: &TestApp, last: i64) {
    let path = format!("/api/v1/stats/decisions?min_position={last}");
    for _ in 0..60 {
        let answer = app.get(&path, Some(&app.tokens.reviewer)).await;
        if answer.body["as_of_position"].as_i64().unwrap_or(0) >= last {
            return;
        }
    }
    panic!("the projections did not reach position {last}");
}

async fn with_projector(app: &TestApp) {
    // The server's own store, so its appends wake this projector in process.
    let projector = Projector::new(app.registry.store().clone());
    tokio::spawn(async move { projector.run().await });
}

fn rows(answer: &harness::app::Answer) -> Vec<Value> {
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.body["rows"].as_array().expect("rows").clone()
}

#[tokio::test]
async fn decisions_match_hand_computed_counts_and_wilson_intervals() {
    let app = spawn_app().await;
    with_projector(&app).await;
    let last = report_outcomes(&app, &[(OUS, 6, 2), (BERGEN, 5, 5)]).await;
    let path = format!("/api/v1/stats/decisions?group_by=org&suppress=false&min_position={last}");
    let answer = app.get(&path, Some(&app.tokens.reviewer)).await;
    let rows = rows(&answer);
    assert!(
        answer.body["as_of_position"].as_i64().unwrap() >= last,
        "the answer includes our writes"
    );
    let ous = rows
        .iter()
        .find(|r| r["org"] == json!(OUS))
        .expect("an OUS row");
    assert_eq!(
        (
            ous["decided"].clone(),
            ous["granted"].clone(),
            ous["refused"].clone()
        ),
        (json!(8), json!(6), json!(2))
    );
    assert_eq!(ous["grant_rate"], json!(0.75));
    // Wilson 95 % for 6 of 8, as R's binom.confint(6, 8, method = "wilson"): 0.4093 to 0.9285.
    let ci = &ous["grant_rate_ci95"];
    assert!(
        (ci["lower"].as_f64().unwrap() - 0.4093).abs() < 1e-4,
        "{ci}"
    );
    assert!(
        (ci["upper"].as_f64().unwrap() - 0.9285).abs() < 1e-4,
        "{ci}"
    );
    assert_eq!(ous["org_name"], json!("Oslo universitetssykehus HF"));
    let bergen = rows
        .iter()
        .find(|r| r["org"] == json!(BERGEN))
        .expect("a Bergen row");
    assert_eq!(bergen["grant_rate"], json!(0.5));
}

#[tokio::test]
async fn small_cells_are_withheld_with_a_complement_and_never_shown_as_zero() {
    let app = spawn_app().await;
    with_projector(&app).await;
    let last = report_outcomes(&app, &[(OUS, 6, 6), (BERGEN, 2, 5)]).await;
    let path = format!("/api/v1/stats/decisions?group_by=org&min_position={last}");
    let rows = rows(&app.get(&path, Some(&app.tokens.ous)).await);
    let bergen = rows
        .iter()
        .find(|r| r["org"] == json!(BERGEN))
        .expect("a Bergen row");
    assert_eq!(
        bergen["suppressed"],
        json!(true),
        "2 granted is a small cell"
    );
    // 7 decided is not small: it stands, and the split that holds the 2 goes.
    assert_eq!(
        (
            bergen["decided"].clone(),
            bergen["granted"].clone(),
            bergen["refused"].clone(),
            bergen["grant_rate"].clone()
        ),
        (json!(7), Value::Null, Value::Null, Value::Null)
    );
    assert_eq!(bergen["grant_rate_ci95"]["lower"], Value::Null);
    assert_eq!(bergen["suppression"], json!("primary"));
    assert!(
        bergen["suppression_reason"]
            .as_str()
            .is_some_and(|r| r.contains("fra 1 til 4")),
        "{bergen}"
    );
    let ous = rows
        .iter()
        .find(|r| r["org"] == json!(OUS))
        .expect("an OUS row");
    assert_eq!(
        ous["suppressed"],
        json!(true),
        "the complement: else Bergen's granted = total granted - OUS's"
    );
    assert_eq!(
        (ous["decided"].clone(), ous["granted"].clone()),
        (json!(12), Value::Null)
    );
    assert_eq!(ous["suppression"], json!("complementary"));
    assert!(ous["suppression_reason"].is_string(), "{ous}");

    let unsuppressed = app
        .get(&format!("{path}&suppress=false"), Some(&app.tokens.ous))
        .await;
    unsuppressed.assert_problem(403);
}

#[tokio::test]
async fn residence_and_deciding_region_differ_for_patients_treated_away_from_home() {
    let app = spawn_app().await;
    with_projector(&app).await;
    // Six patients from Vestland (Helse Vest) decided at OUS (Helse Sør-Øst).
    let mut last = 0;
    for n in 0..6 {
        let patch =
            json!({"patient": {"birth_year": 1970, "sex": "male", "residence_county": "46"}});
        last = report(&app, OUS, &format!("away-{n}"), patch).await;
    }
    until_projected(&app, last).await;
    let region_of = |basis: &str| {
        format!("/api/v1/stats/decisions?group_by=region&region_basis={basis}&min_position={last}")
    };
    let deciding = rows(
        &app.get(&region_of("deciding"), Some(&app.tokens.reviewer))
            .await,
    );
    let residence = rows(
        &app.get(&region_of("residence"), Some(&app.tokens.reviewer))
            .await,
    );
    assert_eq!(deciding.len(), 1);
    assert_eq!(deciding[0]["region"], json!("991324968"));
    assert_eq!(deciding[0]["region_name"], json!("Helse Sør-Øst RHF"));
    assert_eq!(residence[0]["region"], json!("983658725"));
    assert_eq!(residence[0]["region_name"], json!("Helse Vest RHF"));
    assert_eq!(deciding[0]["decided"], json!(6));
    assert_eq!(residence[0]["decided"], json!(6));
}

#[tokio::test]
async fn the_counts_table_and_the_case_facts_give_the_same_answer() {
    let app = spawn_app().await;
    with_projector(&app).await;
    let last = report_outcomes(&app, &[(OUS, 7, 5), (BERGEN, 9, 6)]).await;
    let base = format!(
        "/api/v1/stats/decisions?suppress=false&min_position={last}&group_by=org,year,method_id"
    );
    // Whole quarters: the counts table answers. A day off: the case facts answer.
    let quarters = rows(
        &app.get(
            &format!("{base}&from=2024-01-01&to=2024-12-31"),
            Some(&app.tokens.reviewer),
        )
        .await,
    );
    let days = rows(
        &app.get(
            &format!("{base}&from=2024-01-02&to=2024-12-31"),
            Some(&app.tokens.reviewer),
        )
        .await,
    );
    assert_eq!(quarters, days);
    assert_eq!(quarters.len(), 2);
}

#[tokio::test]
async fn processing_times_are_kaplan_meier_estimates_with_pending_cases_censored() {
    let app = spawn_app().await;
    with_projector(&app).await;
    let mut last = 0;
    for (n, days) in [10, 20, 30, 40, 50].into_iter().enumerate() {
        let decided =
            chrono::NaiveDate::from_ymd_opt(2024, 3, 1).unwrap() + chrono::Days::new(days);
        let patch = json!({"received_date": "2024-03-01", "decided_date": decided.to_string()});
        last = report(&app, OUS, &format!("pt-{n}"), patch).await;
    }
    until_projected(&app, last).await;
    let mut pending = harness::app::application_only("pt-pending");
    pending["received_date"] =
        json!((chrono::Utc::now().date_naive() - chrono::Days::new(5)).to_string());
    let answer = app
        .post_json("/api/v1/cases", &app.tokens.ous, &pending)
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    last = last.max(answer.body["position"].as_i64().unwrap());

    let path =
        format!("/api/v1/stats/processing-times?suppress=false&curve=true&min_position={last}");
    let rows = rows(&app.get(&path, Some(&app.tokens.reviewer)).await);
    let row = &rows[0];
    assert_eq!(
        (
            row["n"].clone(),
            row["decided"].clone(),
            row["censored"].clone()
        ),
        (json!(6), json!(5), json!(1))
    );
    // Censored at 5 days, before the first decision: five at risk, each decision removes a
    // fifth, so S(30) = 0.4 is the first value under one half. R's survfit gives 30.
    assert_eq!(row["median_days"]["estimate"], json!(30.0));
    let share = |field: &str| row[field].as_f64().map(|s| (s * 1e9).round() / 1e9);
    assert_eq!(share("share_within_14_days"), Some(0.2));
    assert_eq!(share("share_within_30_days"), Some(0.6));
    // One step per distinct time: the censoring at day 5 and the five decisions.
    assert_eq!(row["curve"].as_array().map(Vec::len), Some(6));
}

#[tokio::test]
async fn applications_per_100k_residents_use_the_imported_population() {
    let app = spawn_app().await;
    with_projector(&app).await;
    let csv = "county_number,population\n03,700000\n31,300000\n32,700000\n33,250000\n34,370000\n39,250000\n40,170000\n42,310000\n11,500000\n46,650000\n15,270000\n50,480000\n18,240000\n55,170000\n56,75000\n";
    let imported = app
        .send(
            reqwest::Method::PUT,
            "/api/v1/population/2024",
            Some(&app.tokens.admin),
            csv,
        )
        .await;
    assert_eq!(imported.status, 200, "{}", imported.text);
    let mut last = imported.body["position"].as_i64().unwrap();
    for n in 0..7 {
        last = report(&app, OUS, &format!("app-{n}"), json!({})).await; // residents of Oslo (03)
    }
    until_projected(&app, last).await;
    let path = format!("/api/v1/stats/applications?group_by=region,year&region_basis=residence&min_position={last}");
    let rows = rows(&app.get(&path, Some(&app.tokens.reviewer)).await);
    let row = &rows[0];
    assert_eq!(row["applications"], json!(7));
    // Helse Sør-Øst's counties: 700000 + 300000 + 700000 + 250000 + 370000 + 250000 + 170000 + 310000.
    assert_eq!(row["residents"], json!(3_050_000));
    let expected = 7.0 / 3_050_000.0 * 100_000.0;
    // Rates per 100 000 are written with one decimal.
    assert!((row["per_100k"].as_f64().unwrap() - expected).abs() <= 0.05);
    // Garwood 95 % for 7 events: 2.8143 to 14.4219 (R: poisson.test(7)), per 100 000.
    let lower = 2.8143 / 3_050_000.0 * 100_000.0;
    assert!((row["per_100k_ci95"]["lower"].as_f64().unwrap() - lower).abs() < 1e-4);

    let missing = app
        .send(
            reqwest::Method::PUT,
            "/api/v1/population/2024",
            Some(&app.tokens.admin),
            "county_number,population\n03,12\n",
        )
        .await;
    let errors = missing.assert_problem(422);
    assert!(
        errors.len() >= 14,
        "every missing county is named: {errors:?}"
    );
}

#[tokio::test]
async fn statistics_come_as_csv_when_asked() {
    let app = spawn_app().await;
    with_projector(&app).await;
    let last = report_outcomes(&app, &[(OUS, 5, 5)]).await;
    let response = app
        .client
        .get(app.url(&format!(
            "/api/v1/stats/decisions?group_by=org&min_position={last}"
        )))
        .bearer_auth(&app.tokens.reviewer)
        .header("Accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert!(response.headers().contains_key("x-as-of-position"));
    let text = response.text().await.unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    // Group keys first with their names, then counts, then rates and intervals.
    assert_eq!(
        header,
        "org,org_name,decided,granted,refused,grant_rate,grant_rate_ci95_lower,grant_rate_ci95_upper,suppressed,suppression,suppression_reason",
    );
    assert!(lines.next().unwrap().starts_with(OUS));
}

#[tokio::test]
async fn admins_see_each_projection_and_its_lag() {
    let app = spawn_app().await;
    with_projector(&app).await;
    let last = report_outcomes(&app, &[(OUS, 1, 0)]).await;
    // Reading with min_position waits until the projector has caught up.
    app.get(
        &format!("/api/v1/stats/decisions?min_position={last}"),
        Some(&app.tokens.reviewer),
    )
    .await;
    let answer = app
        .get("/api/v1/projections", Some(&app.tokens.admin))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let cases = answer
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == json!("cases"))
        .cloned()
        .unwrap();
    assert!(cases["position"].as_i64().unwrap() >= last);
    assert_eq!(cases["lag"], json!(0));
    assert_eq!(cases["state"], json!("current"));
    app.get("/api/v1/projections", Some(&app.tokens.ous))
        .await
        .assert_problem(403);
}

#[tokio::test]
async fn appeals_and_reporting_quality_are_counted_per_group() {
    let app = spawn_app().await;
    with_projector(&app).await;
    report_outcomes(&app, &[(OUS, 2, 3)]).await;
    let case_id = app
        .reported_case(&{
            let mut body = individual_exemption("appealed");
            body["outcome"] = json!("refused");
            body["refusal_reasons"] = json!(["criteria_not_met"]);
            body
        })
        .await;
    let lodged = app
        .post_json(
            &format!("/api/v1/cases/{case_id}/appeals"),
            &app.tokens.ous,
            &json!({"report_id": uuid::Uuid::new_v4(), "lodged_date": "2024-04-01"}),
        )
        .await;
    assert_eq!(lodged.status, 201, "{}", lodged.text);
    let appeal_id = lodged.body["appeal_id"].as_str().unwrap().to_string();
    let decided = app
        .post_json(
            &format!("/api/v1/cases/{case_id}/appeals/{appeal_id}/decision"),
            &app.tokens.ous,
            &json!({"report_id": uuid::Uuid::new_v4(), "decided_date": "2024-04-21", "outcome": "overturned"}),
        )
        .await;
    assert_eq!(decided.status, 201, "{}", decided.text);
    let correction = app
        .post_json(
            &format!("/api/v1/cases/{case_id}/corrections"),
            &app.tokens.ous,
            &json!({"report_id": uuid::Uuid::new_v4(), "changes": {"indication_icd10": "C349"}, "reason": "registration_error"}),
        )
        .await;
    assert_eq!(correction.status, 201, "{}", correction.text);
    let last = correction.body["position"].as_i64().unwrap();

    let appeals = rows(
        &app.get(
            &format!("/api/v1/stats/appeals?suppress=false&min_position={last}"),
            Some(&app.tokens.reviewer),
        )
        .await,
    );
    assert_eq!(appeals.len(), 1);
    let row = &appeals[0];
    assert_eq!(
        (
            row["lodged"].clone(),
            row["decided"].clone(),
            row["overturned"].clone(),
            row["upheld"].clone()
        ),
        (json!(1), json!(1), json!(1), json!(0))
    );
    assert_eq!(row["median_duration_days"]["estimate"], json!(20.0));
    let suppressed = rows(
        &app.get(
            &format!("/api/v1/stats/appeals?min_position={last}"),
            Some(&app.tokens.reviewer),
        )
        .await,
    );
    assert_eq!(
        suppressed[0]["lodged"],
        Value::Null,
        "one appeal is a small cell"
    );

    let quality = rows(
        &app.get(
            &format!("/api/v1/stats/reporting-quality?suppress=false&min_position={last}"),
            Some(&app.tokens.reviewer),
        )
        .await,
    );
    let ous = quality
        .iter()
        .find(|r| r["org"] == json!(OUS))
        .expect("an OUS row");
    assert_eq!(
        (
            ous["cases"].clone(),
            ous["decisions"].clone(),
            ous["corrections"].clone()
        ),
        (json!(6), json!(6), json!(1))
    );
    assert_eq!(ous["share_complete_criteria"], json!(1.0));
}

/// Helse Bergen decides twelve cases and OUS ten, both for their own patients; Helse
/// Vest RHF two, applied for by `applying_org` (Helse Bergen when None). Returns the
/// position of the last, projected. OUS, in another region, could hide a small count of
/// Helse Vest's from the nation's total, not from the region's.
async fn two_in_helse_vest_beside_bergen_and_ous(app: &TestApp, applying_org: Option<&str>) -> i64 {
    report_outcomes(app, &[(BERGEN, 8, 4), (OUS, 6, 4)]).await;
    let mut last = 0;
    for n in 0..2 {
        let mut body = harness::app::individual_access(&format!("HV-{}", ["a", "b"][n]));
        if let Some(org) = applying_org {
            body["applying_org"] = json!(org);
        }
        body["received_date"] = json!("2024-03-01");
        let answer = app
            .post_json("/api/v1/decisions", &app.tokens.helse_vest, &body)
            .await;
        assert_eq!(answer.status, 201, "{}", answer.text);
        last = answer.body["position"].as_i64().expect("a position");
    }
    until_projected(app, last).await;
    last
}

/// Helse Vest RHF decides two cases, Helse Bergen twelve, OUS ten: the region's 14 are published
/// by the other statistics, so Bergen's row must be withheld beside the RHF's, or 14 less
/// 12 tells the RHF's 2. (Reporting quality once published its rows on their own.)
#[tokio::test]
async fn reporting_quality_by_trust_gives_nothing_away_to_the_region() {
    let app = spawn_app().await;
    with_projector(&app).await;
    let last = two_in_helse_vest_beside_bergen_and_ous(&app, None).await;
    let region = rows(
        &app.get(
            &format!("/api/v1/stats/applications?group_by=region&min_position={last}"),
            Some(&app.tokens.reviewer),
        )
        .await,
    );
    let helse_vest = region
        .iter()
        .find(|r| r["region"] == json!(harness::app::HELSE_VEST))
        .expect("Helse Vest's row");
    assert_eq!(helse_vest["applications"], json!(14), "{region:?}");
    let quality = rows(
        &app.get(
            &format!("/api/v1/stats/reporting-quality?min_position={last}"),
            Some(&app.tokens.reviewer),
        )
        .await,
    );
    let row_of = |org: &str| {
        quality
            .iter()
            .find(|r| r["org"] == json!(org))
            .cloned()
            .expect("a row")
    };
    assert_eq!(row_of(harness::app::HELSE_VEST)["cases"], Value::Null);
    let bergen = row_of(BERGEN);
    assert_eq!(bergen["cases"], Value::Null, "{bergen}");
    assert_eq!(bergen["suppression"], json!("complementary"), "{bergen}");
}

/// The same by applying organisation: Helse Stavanger applies for two cases Helse Vest
/// RHF decides, Helse Bergen for twelve, OUS for ten; the region's 14 are published.
#[tokio::test]
async fn applications_by_applying_trust_give_nothing_away_to_the_region() {
    const STAVANGER: &str = "983974678";
    let app = spawn_app().await;
    with_projector(&app).await;
    let last = two_in_helse_vest_beside_bergen_and_ous(&app, Some(STAVANGER)).await;
    let by_applying = rows(
        &app.get(
            &format!("/api/v1/stats/applications?group_by=applying_org&min_position={last}"),
            Some(&app.tokens.reviewer),
        )
        .await,
    );
    let row_of = |org: &str| {
        by_applying
            .iter()
            .find(|r| r["applying_org"] == json!(org))
            .cloned()
            .unwrap_or_else(|| panic!("no row for {org}: {by_applying:?}"))
    };
    assert_eq!(row_of(STAVANGER)["applications"], Value::Null);
    let bergen = row_of(BERGEN);
    assert_eq!(bergen["applications"], Value::Null, "{bergen}");
}

/// Cases less decisions are the pending ones: a row with one pending case is withheld.
#[tokio::test]
async fn reporting_quality_withholds_a_row_whose_pending_cases_are_few() {
    let app = spawn_app().await;
    with_projector(&app).await;
    report_outcomes(&app, &[(OUS, 6, 4)]).await;
    let mut pending = harness::app::application_only("pending-one");
    pending["deciding_org"] = json!(OUS);
    let answer = app
        .post_json("/api/v1/cases", &app.tokens.ous, &pending)
        .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    let last = answer.body["position"].as_i64().expect("a position");
    until_projected(&app, last).await;
    let quality = rows(
        &app.get(
            &format!("/api/v1/stats/reporting-quality?min_position={last}"),
            Some(&app.tokens.reviewer),
        )
        .await,
    );
    let ous = quality
        .iter()
        .find(|r| r["org"] == json!(OUS))
        .expect("an OUS row");
    assert_eq!(ous["cases"], Value::Null, "11 cases, 10 decisions: {ous}");
    assert_eq!(ous["suppression"], json!("primary"), "{ous}");
}

#[tokio::test]
async fn signals_name_unequal_treatment_and_the_funnel_has_its_points() {
    let app = spawn_app().await;
    with_projector(&app).await;
    // The same subgroup: refused every time at OUS (Helse Sør-Øst), granted at Bergen (Helse Vest).
    let last = report_outcomes(&app, &[(OUS, 0, 10), (BERGEN, 10, 0)]).await;
    // Wait for the projection through a statistic that takes min_position.
    app.get(
        &format!("/api/v1/stats/decisions?min_position={last}"),
        Some(&app.tokens.reviewer),
    )
    .await;

    let answer = app
        .get("/api/v1/signals?year=2024", Some(&app.tokens.reviewer))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let signals = answer.body["signals"].as_array().expect("signals").clone();
    let unequal = signals
        .iter()
        .find(|s| s["kind"] == json!("unequal_treatment"))
        .expect("an unequal-treatment signal");
    assert_eq!(unequal["unit"], json!("991324968"), "the refusing region");
    assert_eq!(unequal["indication"], json!("C34"));
    assert!(unequal["q_value"].as_f64().unwrap() < 0.05);
    assert!(
        unequal["message"]
            .as_str()
            .unwrap()
            .contains("Helse Vest RHF"),
        "{}",
        unequal["message"]
    );
    assert!(signals
        .iter()
        .any(|s| s["kind"] == json!("grant_rate_variation") && s["unit"] == json!(OUS)));

    let only = app
        .get(
            "/api/v1/signals?year=2024&kind=unequal_treatment",
            Some(&app.tokens.reviewer),
        )
        .await;
    assert!(only.body["signals"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s["kind"] == json!("unequal_treatment")));
    app.get(
        "/api/v1/signals?year=2024&kind=hunch",
        Some(&app.tokens.reviewer),
    )
    .await
    .assert_problem(422);
    app.get("/api/v1/signals?year=2024", Some(&app.tokens.ous))
        .await
        .assert_problem(403);

    let funnel = app
        .get("/api/v1/stats/funnel?year=2024", Some(&app.tokens.reviewer))
        .await;
    assert_eq!(funnel.status, 200, "{}", funnel.text);
    let points = funnel.body["points"].as_array().expect("points");
    assert_eq!(points.len(), 2);
    let ous = points
        .iter()
        .find(|p| p["unit"] == json!(OUS))
        .expect("an OUS point");
    assert_eq!(
        (
            ous["decided"].clone(),
            ous["granted"].clone(),
            ous["target"].clone()
        ),
        (json!(10), json!(0), json!(0.5))
    );
    assert!(ous["limits_998"]["lower"].as_f64().unwrap() > 0.0, "{ous}");
    assert_eq!(ous["outside_998"], json!(true));
}

/// A supervisor sees every signal, but none of their figures (one grant in twelve is
/// among them); a reviewer sees them all.
#[tokio::test]
async fn signals_withhold_their_figures_from_a_supervisor() {
    let app = spawn_app().await;
    with_projector(&app).await;
    let last = report_outcomes(&app, &[(OUS, 1, 11), (BERGEN, 11, 1)]).await;
    until_projected(&app, last).await;
    let supervisor = registry::tokens::create_token(
        &app.db.pool,
        registry::tokens::NewToken {
            role: registry::Role::Supervisor,
            org: None,
            project: None,
            label: "Helsetilsynet".into(),
            expires: None,
        },
    )
    .await
    .map(|(_, token)| token)
    .expect("a supervisor token");
    let signals_of = |token: &str| {
        let token = token.to_string();
        let app = &app;
        async move {
            let answer = app.get("/api/v1/signals?year=2024", Some(&token)).await;
            assert_eq!(answer.status, 200, "{}", answer.text);
            answer.body["signals"].as_array().expect("signals").clone()
        }
    };
    let small = |signal: &Value| {
        let counts: Vec<i64> = signal["counts"]
            .as_object()
            .map(|c| c.values().filter_map(Value::as_i64).collect())
            .unwrap_or_default();
        counts.iter().any(|c| (1..=4).contains(c))
            || counts
                .iter()
                .any(|a| counts.iter().any(|b| (1..=4).contains(&(a - b))))
    };
    let reviewers = signals_of(&app.tokens.reviewer).await;
    assert!(
        reviewers.iter().any(small),
        "the world has a small count: {reviewers:?}"
    );
    let supervisors = signals_of(&supervisor).await;
    assert_eq!(
        supervisors.len(),
        reviewers.len(),
        "every signal, figures or not"
    );
    for signal in &supervisors {
        assert!(!small(signal), "{signal}");
    }
    for (signal, as_reviewed) in supervisors.iter().zip(&reviewers) {
        assert_eq!(
            signal["message"],
            json!(registry::analysis_input::FIGURES_WITHHELD)
        );
        assert_eq!(signal["counts"], json!({}), "{signal}");
        assert_eq!(signal["p_value"], Value::Null, "{signal}");
        assert_eq!(
            signal["q_value"], as_reviewed["q_value"],
            "the q-value stays"
        );
        assert_eq!(signal["unit"], as_reviewed["unit"], "and what it is about");
    }
}

/// Eight grants and two refusals in all: the decisions statistic publishes the 10 and
/// withholds the split, so the funnel's target (8 / 10) must go too, or it tells the 2.
/// Twelve decisions assess every criterion: two find the standard treatment suitable,
/// three find no substantially larger effect. Each criterion's "met" and "not met" add up
/// to the 12, so "met" is withheld beside a withheld "not met" (10 would tell the 2).
#[tokio::test]
async fn a_criterion_met_is_withheld_beside_a_withheld_not_met() {
    let app = spawn_app().await;
    with_projector(&app).await;
    let mut last = 0;
    for n in 0..12 {
        let (outcome, unsuitable, larger) = match n {
            0..=6 => ("granted", true, true),
            7..=8 => ("refused", false, true),
            _ => ("refused", true, false),
        };
        let patch = json!({
            "outcome": outcome,
            "criteria": {
                "marketing_authorisation": true,
                "standard_treatment_unsuitable": unsuitable,
                "substantially_larger_effect": larger
            }
        });
        last = report(
            &app,
            OUS,
            &format!("KRIT-{}", "abcdefghijkl".as_bytes()[n] as char),
            patch,
        )
        .await;
    }
    until_projected(&app, last).await;
    let criteria = rows(
        &app.get(
            &format!("/api/v1/stats/decisions?group_by=scheme,criterion&min_position={last}"),
            Some(&app.tokens.reviewer),
        )
        .await,
    );
    let decided = |key: &str| {
        criteria
            .iter()
            .find(|r| r["criterion"] == json!(key))
            .map(|r| r["decided"].clone())
            .unwrap_or_else(|| panic!("no row {key}: {criteria:?}"))
    };
    assert_eq!(decided("standard_treatment_unsuitable=false"), Value::Null);
    assert_eq!(
        decided("standard_treatment_unsuitable=true"),
        Value::Null,
        "{criteria:?}"
    );
    assert_eq!(decided("substantially_larger_effect=false"), Value::Null);
    assert_eq!(
        decided("substantially_larger_effect=true"),
        Value::Null,
        "{criteria:?}"
    );
}

#[tokio::test]
async fn the_funnel_withholds_its_target_where_the_national_split_is_withheld() {
    let app = spawn_app().await;
    with_projector(&app).await;
    let last = report_outcomes(&app, &[(OUS, 5, 1), (BERGEN, 3, 1)]).await;
    let national = rows(
        &app.get(
            &format!("/api/v1/stats/decisions?from=2024-01-01&to=2024-12-31&scheme=individual_exemption&min_position={last}"),
            Some(&app.tokens.reviewer),
        )
        .await,
    );
    assert_eq!(national[0]["decided"], json!(10), "{national:?}");
    assert_eq!(national[0]["granted"], Value::Null, "{national:?}");
    let funnel = app
        .get("/api/v1/stats/funnel?year=2024", Some(&app.tokens.reviewer))
        .await;
    assert_eq!(funnel.status, 200, "{}", funnel.text);
    for point in funnel.body["points"].as_array().expect("points") {
        assert_eq!(point["target"], Value::Null, "{point}");
        assert_eq!(point["granted"], Value::Null, "{point}");
    }
}

#[tokio::test]
async fn the_funnel_withholds_units_with_small_counts_as_the_decisions_statistic_does() {
    let app = spawn_app().await;
    with_projector(&app).await;
    let last = report_outcomes(&app, &[(OUS, 0, 10), (BERGEN, 2, 0)]).await;
    app.get(
        &format!("/api/v1/stats/decisions?min_position={last}"),
        Some(&app.tokens.reviewer),
    )
    .await;

    let funnel = app
        .get("/api/v1/stats/funnel?year=2024", Some(&app.tokens.reviewer))
        .await;
    assert_eq!(funnel.status, 200, "{}", funnel.text);
    let points = funnel.body["points"].as_array().expect("points");
    let bergen = points
        .iter()
        .find(|p| p["unit"] == json!(BERGEN))
        .expect("a Bergen point, withheld");
    assert_eq!(bergen["suppressed"], json!(true), "{bergen}");
    assert!(
        bergen["decided"].is_null() && bergen["granted"].is_null(),
        "{bergen}"
    );
    assert!(
        bergen["limits_95"]["lower"].is_null(),
        "the limits tell n: {bergen}"
    );
    // With one unit withheld, the other would give it away against the national total.
    let ous = points
        .iter()
        .find(|p| p["unit"] == json!(OUS))
        .expect("OUS");
    assert!(ous["decided"].is_null(), "{ous}");

    let unsuppressed = app
        .get(
            "/api/v1/stats/funnel?year=2024&suppress=false",
            Some(&app.tokens.reviewer),
        )
        .await;
    let points = unsuppressed.body["points"].as_array().expect("points");
    let bergen = points.iter().find(|p| p["unit"] == json!(BERGEN)).unwrap();
    assert_eq!(bergen["decided"], json!(2), "a reviewer may ask to see it");
}

#[tokio::test]
async fn reporting_quality_refuses_a_grouping_it_cannot_give() {
    let app = spawn_app().await;
    let answer = app
        .get(
            "/api/v1/stats/reporting-quality?group_by=region",
            Some(&app.tokens.reviewer),
        )
        .await;
    let problems = answer.assert_problem(422);
    assert_eq!(problems[0]["field"], json!("group_by"), "{problems:?}");
    assert_eq!(
        problems[0]["code"],
        json!("unsupported_grouping"),
        "{problems:?}"
    );
    let by_org = app
        .get(
            "/api/v1/stats/reporting-quality?group_by=org",
            Some(&app.tokens.reviewer),
        )
        .await;
    assert_eq!(by_org.status, 200, "{}", by_org.text);
}

#[tokio::test]
async fn a_table_says_it_is_suppressed_only_when_a_row_was_withheld() {
    let app = spawn_app().await;
    with_projector(&app).await;
    let last = report_outcomes(&app, &[(OUS, 5, 5)]).await;
    let path = |last: i64| format!("/api/v1/stats/decisions?group_by=org&min_position={last}");
    let whole = app.get(&path(last), Some(&app.tokens.reviewer)).await;
    let whole: Value = serde_json::from_str(&whole.text).unwrap();
    assert_eq!(whole["suppressed"], json!(false), "{whole}");
    let last = report_outcomes(&app, &[(BERGEN, 2, 0)]).await;
    let withheld = app.get(&path(last), Some(&app.tokens.reviewer)).await;
    let withheld: Value = serde_json::from_str(&withheld.text).unwrap();
    assert_eq!(withheld["suppressed"], json!(true), "{withheld}");
}

/// Two suppressed answers a day apart would differ by that day's cases: suppressed
/// periods are whole quarters, and both ends are named when both are wrong.
#[tokio::test]
async fn suppressed_periods_are_whole_quarters() {
    let app = spawn_app().await;
    let base = "/api/v1/stats/decisions?group_by=org";
    let answer = app
        .get(
            &format!("{base}&from=2025-01-02&to=2025-06-29"),
            Some(&app.tokens.reviewer),
        )
        .await;
    let problems = answer.assert_problem(422);
    let fields: Vec<&str> = problems
        .iter()
        .filter_map(|p| p["field"].as_str())
        .collect();
    assert_eq!(fields, ["from", "to"], "{}", answer.text);
    let quarters = app
        .get(
            &format!("{base}&from=2025-04-01&to=2025-09-30"),
            Some(&app.tokens.reviewer),
        )
        .await;
    assert_eq!(quarters.status, 200, "{}", quarters.text);
    // Unsuppressed figures (reviewers, admins) may be for any days.
    let days = app
        .get(
            &format!("{base}&from=2025-01-02&to=2025-06-29&suppress=false"),
            Some(&app.tokens.reviewer),
        )
        .await;
    assert_eq!(days.status, 200, "{}", days.text);
}

/// A filter is a slice of the grouping by its dimension, suppressed alike: asked alone,
/// OUS's 6 granted of 12 would be published, and the national total less it would give
/// Bergen's withheld 2 granted.
#[tokio::test]
async fn a_filtered_answer_withholds_what_the_grouped_answer_withholds() {
    let app = spawn_app().await;
    with_projector(&app).await;
    let last = report_outcomes(&app, &[(OUS, 6, 6), (BERGEN, 2, 5)]).await;
    let get = |query: String| {
        let app = &app;
        async move {
            let path = format!("/api/v1/stats/decisions?min_position={last}&{query}");
            rows(&app.get(&path, Some(&app.tokens.reviewer)).await)
        }
    };
    let by_org = get("group_by=org".into()).await;
    for org in [OUS, BERGEN] {
        let grouped: Vec<Value> = by_org
            .iter()
            .filter(|r| r["org"] == json!(org))
            .cloned()
            .collect();
        assert_eq!(grouped.len(), 1);
        let filtered = get(format!("group_by=org&deciding_org={org}")).await;
        assert_eq!(filtered, grouped, "the slice of {org}");
        // Without group_by the organisation is not a column, and the figures are the same.
        let mut alone = get(format!("deciding_org={org}")).await;
        assert_eq!(alone.len(), 1);
        let mut expected = grouped[0].clone();
        for key in ["org", "org_name"] {
            expected.as_object_mut().unwrap().remove(key);
        }
        alone[0].as_object_mut().unwrap().remove("org");
        assert_eq!(alone[0], expected, "{org} alone");
    }
    let ous = get(format!("deciding_org={OUS}")).await;
    assert_eq!(
        ous[0]["granted"],
        Value::Null,
        "OUS's granted would give Bergen's away"
    );
}

/// A supervisor's table names what it counts: the method's name beside its id.
#[tokio::test]
async fn methods_are_named_beside_their_ids() {
    let app = spawn_app().await;
    with_projector(&app).await;
    let last = report_outcomes(&app, &[(OUS, 5, 0)]).await;
    let path = format!("/api/v1/stats/decisions?group_by=method_id&min_position={last}");
    let rows = rows(&app.get(&path, Some(&app.tokens.reviewer)).await);
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0]["method_id"],
        json!(harness::app::METHOD_UNDER_ASSESSMENT)
    );
    assert!(
        rows[0]["method_id_name"]
            .as_str()
            .is_some_and(|n| !n.is_empty()),
        "{}",
        rows[0]
    );
}

/// OWASP's rule for CSV injection: an organisation named as a formula is written so that a
/// spreadsheet shows it as text, in every statistic's CSV that names organisations.
#[tokio::test]
async fn a_name_that_looks_like_a_formula_is_text_in_every_csv() {
    let app = spawn_app().await;
    with_projector(&app).await;
    let formula = r#"=HYPERLINK("http://evil.example/x","Klikk")"#;
    let renamed = app
        .put_json(
            &format!("/api/v1/organisations/{OUS}"),
            &app.tokens.admin,
            &json!({"org_number": OUS, "name": formula, "kind": "hf",
                    "region_org_number": "991324968"}),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    let last = report_outcomes(&app, &[(OUS, 5, 5)]).await;
    for statistic in ["decisions", "applications", "reporting-quality"] {
        let response = app
            .client
            .get(app.url(&format!(
                "/api/v1/stats/{statistic}?group_by=org&min_position={last}"
            )))
            .bearer_auth(&app.tokens.reviewer)
            .header("Accept", "text/csv")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{statistic}");
        let text = response.text().await.unwrap();
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let headers = reader.headers().unwrap().clone();
        let name_at = headers
            .iter()
            .position(|h| h == "org_name")
            .expect("org_name");
        let names: Vec<String> = reader
            .records()
            .map(|r| r.unwrap()[name_at].to_string())
            .collect();
        assert!(
            names.iter().any(|n| n == &format!("'{formula}")),
            "{statistic}: {names:?}"
        );
        assert!(
            names.iter().all(|n| !n.starts_with('=')),
            "{statistic}: {names:?}"
        );
    }
}
