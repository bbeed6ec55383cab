//! Age- and sex-standardised application rates (issue 14): a population import by county,
//! age band and sex makes the residence rates of its year directly standardised to the
//! country's population beside the crude ones; an import of county totals leaves them
//! crude, and every row says which. A malformed stratified import lists every problem.

use harness::app::{individual_exemption, spawn_app, TestApp};
use projections::Projector;
use serde_json::{json, Value};

/// The counties of Helse Sør-Øst; the other seven belong to the other three regions.
const SOUTH_EAST: [&str; 8] = ["03", "31", "32", "33", "34", "39", "40", "42"];
const OTHERS: [&str; 7] = ["11", "46", "15", "50", "18", "55", "56"];
const BANDS: [&str; 6] = ["0-17", "18-39", "40-59", "60-69", "70-79", "80+"];

/// Every stratum 30 000 residents, except women of 60-69: 10 000 in each county of Helse
/// Sør-Øst and 20 000 elsewhere, so that the region has few of the women its applicants are.
fn stratified_csv() -> String {
    let mut csv = String::from("county_number,age_band,sex,population\n");
    for county in SOUTH_EAST.iter().chain(&OTHERS) {
        for band in BANDS {
            for sex in ["female", "male"] {
                let residents = match (band, sex) {
                    ("60-69", "female") if SOUTH_EAST.contains(county) => 10_000,
                    ("60-69", "female") => 20_000,
                    _ => 30_000,
                };
                csv.push_str(&format!("{county},{band},{sex},{residents}\n"));
            }
        }
    }
    csv
}

async fn import(app: &TestApp, year: i32, csv: &str) -> harness::app::Answer {
    app.send(
        reqwest::Method::PUT,
        &format!("/api/v1/population/{year}"),
        Some(&app.tokens.admin),
        csv.to_string(),
    )
    .await
}

/// Reports `n` granted applications of women born 1961 living in Oslo (aged 63 when they
/// apply on 2024-03-01: band 60-69), and returns the last position.
async fn report_applications(app: &TestApp, n: usize) -> i64 {
    let mut last = 0;
    for i in 0..n {
        let answer = app
            .post_json(
                "/api/v1/decisions",
                &app.tokens.ous,
                &individual_exemption(&format!("std-{i}")),
            )
            .await;
        assert_eq!(answer.status, 201, "{}", answer.text);
        last = answer.body["position"].as_i64().unwrap();
    }
    last
}

async fn south_east_row(app: &TestApp, last: i64) -> Value {
    let path = format!(
        "/api/v1/stats/applications?group_by=region,year&region_basis=residence&min_position={last}"
    );
    let answer = app.get(&path, Some(&app.tokens.reviewer)).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let rows = answer.body["rows"].as_array().expect("rows").clone();
    rows.into_iter()
        .find(|r| r["applications"].as_u64().is_some_and(|n| n > 0))
        .unwrap_or_else(|| panic!("no row with applications: {}", answer.text))
}

fn spawn_projector(app: &TestApp) {
    let projector = Projector::new(app.registry.store().clone());
    tokio::spawn(async move { projector.run().await });
}

#[tokio::test]
async fn a_stratified_import_gives_standardised_rates_beside_the_crude_ones() {
    let app = spawn_app().await;
    spawn_projector(&app);
    let imported = import(&app, 2024, &stratified_csv()).await;
    assert_eq!(imported.status, 200, "{}", imported.text);
    assert_eq!(imported.body["by_age_and_sex"], json!(true));
    let last = report_applications(&app, 20).await;
    let row = south_east_row(&app, last).await;
    assert_eq!(row["applications"], json!(20));
    assert_eq!(row["rate_basis"], json!("age_sex_standardised"));
    // Crude: 20 over Helse Sør-Øst's 8 * (11 * 30 000 + 10 000) = 2 720 000 residents.
    assert_eq!(row["residents"], json!(2_720_000));
    let crude = 20.0 / 2_720_000.0 * 100_000.0;
    assert!((row["per_100k"].as_f64().unwrap() - crude).abs() <= 0.05);
    // Standardised: all 20 are women of 60-69, 25 per 100 000 of the region's 80 000 such
    // women, weighted by their share of the country: 220 000 of 5 170 000.
    let weight = 220_000.0 / 5_170_000.0;
    let standardised = 25.0 * weight;
    let served = row["per_100k_standardised"].as_f64().unwrap();
    assert!((served - standardised).abs() <= 0.05, "{row}");
    assert!(
        (served - crude).abs() > 0.2,
        "standardising changes the rate: {row}"
    );
    // With one stratum holding every application, Fay-Feuer's lower end is Garwood's:
    // 12.21652 (R: poisson.test(20)) per 80 000, times the weight.
    let lower = 12.21652 / 80_000.0 * 100_000.0 * weight;
    let served_lower = row["per_100k_standardised_ci95"]["lower"].as_f64().unwrap();
    assert!((served_lower - lower).abs() < 1e-3, "{row}");
    assert!(row["per_100k_standardised_ci95"]["upper"].as_f64().unwrap() > served);
}

#[tokio::test]
async fn county_totals_and_small_rows_stay_crude_and_say_so() {
    let app = spawn_app().await;
    spawn_projector(&app);
    let mut totals = String::from("county_number,population\n");
    for county in SOUTH_EAST.iter().chain(&OTHERS) {
        totals.push_str(&format!("{county},340000\n"));
    }
    let imported = import(&app, 2024, &totals).await;
    assert_eq!(imported.status, 200, "{}", imported.text);
    assert_eq!(imported.body["by_age_and_sex"], json!(false));
    let last = report_applications(&app, 20).await;
    let row = south_east_row(&app, last).await;
    assert_eq!(row["rate_basis"], json!("crude"));
    assert!(row.get("per_100k_standardised").is_none(), "{row}");
    assert!(row["per_100k"].as_f64().is_some());

    // Stratified, but too few applications for a standardised rate: crude, and saying so.
    let imported = import(&app, 2024, &stratified_csv()).await;
    assert_eq!(imported.status, 200, "{}", imported.text);
    let last = report_applications_in(&app, 5, "2024-05-02").await;
    let path = format!(
        "/api/v1/stats/applications?group_by=region&region_basis=residence&from=2024-04-01&to=2024-06-30&min_position={last}"
    );
    let answer = app.get(&path, Some(&app.tokens.reviewer)).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let rows = answer.body["rows"].as_array().unwrap();
    let may = rows
        .iter()
        .find(|r| r["applications"] == json!(5))
        .unwrap_or_else(|| panic!("{rows:?}"));
    assert_eq!(may["rate_basis"], json!("crude"), "{may}");
    assert!(may.get("per_100k_standardised").is_none(), "{may}");
}

/// Reports `n` applications received on `date` (women born 1961 in Oslo).
async fn report_applications_in(app: &TestApp, n: usize, date: &str) -> i64 {
    let mut last = 0;
    for i in 0..n {
        let mut body = individual_exemption(&format!("may-{i}"));
        body["received_date"] = json!(date);
        body["decided_date"] = json!(date);
        let answer = app
            .post_json("/api/v1/decisions", &app.tokens.ous, &body)
            .await;
        assert_eq!(answer.status, 201, "{}", answer.text);
        last = answer.body["position"].as_i64().unwrap();
    }
    last
}

#[tokio::test]
async fn a_malformed_stratified_import_lists_every_problem_and_changes_nothing() {
    let app = spawn_app().await;
    let mut csv = stratified_csv();
    // A band not in the list, a sex not in the list, a stratum twice, one left out, a
    // county whose strata add up to too many.
    csv = csv.replacen("03,0-17,female,30000", "03,0-19,female,30000", 1);
    csv = csv.replacen("31,18-39,male,30000", "31,18-39,other,30000", 1);
    csv = csv.replacen("32,40-59,male,30000", "32,40-59,female,30000", 1);
    csv = csv.replacen("33,80+,male,30000\n", "", 1);
    csv = csv.replacen("34,80+,male,30000", "34,80+,male,5990000", 1);
    let answer = import(&app, 2024, &csv).await;
    answer.assert_problem(422);
    let codes = answer.problem_codes();
    for expected in [
        "age_band",
        "sex",
        "duplicate_stratum",
        "stratum_missing",
        "population_range",
    ] {
        assert!(
            codes.iter().any(|c| c.ends_with(&format!(":{expected}"))),
            "{expected} missing from {codes:?}"
        );
    }
    // 03 lacks its 0-17 women, 31 its 18-39 men, 32 its 40-59 men, 33 its 80+ men.
    let missing = codes
        .iter()
        .filter(|c| c.ends_with(":stratum_missing"))
        .count();
    assert_eq!(missing, 4, "{codes:?}");

    let half = "county_number,age_band,population\n03,0-17,30000\n";
    let codes = import(&app, 2024, half).await.problem_codes();
    assert!(
        codes.contains(&"body:strata_columns".to_string()),
        "{codes:?}"
    );

    let stored = app
        .registry
        .store()
        .read_stream("population-2024")
        .await
        .expect("the stream reads");
    assert!(stored.is_empty(), "a refused import stores nothing");
}
