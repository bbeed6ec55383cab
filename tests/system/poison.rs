//! Issue 12, finding 1: no stored event may stop a projection for ever. A population
//! import that cannot be projected (here one written straight to the store, past the
//! door's validation, as an older build could have) stops the population projection; the
//! stop names the event in /api/v1/projections, the metrics and /readyz, and a new import
//! for the year supersedes it, after which the projection goes on.

use std::time::Duration;

use domain::codes::{CountyNumber, COUNTIES};
use domain::events::{population_stream, CountyPopulation, RegistryEvent};
use harness::app::{spawn_app, TestApp};
use projections::Projector;
use registry::codec::new_event;
use serde_json::{json, Value};
use store::ExpectedVersion;
use uuid::Uuid;

const RESIDENTS_PER_COUNTY: u64 = 100_000;

fn population_csv(residents: u64) -> String {
    let mut csv = String::from("county_number,population\n");
    for county in COUNTIES {
        csv.push_str(&format!("{},{residents}\n", county.number));
    }
    csv
}

/// Appends a population import for `year` straight to the store, bypassing validation.
async fn append_unvalidated_import(app: &TestApp, year: i32, residents: u64) -> Uuid {
    let counties = COUNTIES
        .iter()
        .map(|county| CountyPopulation {
            county_number: CountyNumber::parse(county.number).unwrap(),
            population: residents,
            strata: Vec::new(),
        })
        .collect();
    let event = RegistryEvent::PopulationImported { year, counties };
    let event_id = Uuid::new_v4();
    let store = app.registry.store();
    let appended = store
        .append(
            &population_stream(year),
            ExpectedVersion::Any,
            &[new_event(
                &event,
                event_id,
                json!({"actor": "an older build"}),
            )],
        )
        .await
        .expect("append");
    // A rebuild reads only final events; under load another test's open transaction can
    // hold the horizon back for a moment after the append.
    let final_in_time = store
        .wait_until_final(appended.checkpoint, std::time::Duration::from_secs(30))
        .await
        .expect("the horizon");
    assert!(final_in_time, "the import became final");
    event_id
}

async fn projection(app: &TestApp, name: &str) -> Value {
    let answer = app
        .get("/api/v1/projections", Some(&app.tokens.admin))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.body["projections"]
        .as_array()
        .or_else(|| answer.body.as_array())
        .expect("a list of projections")
        .iter()
        .find(|p| p["name"] == json!(name))
        .cloned()
        .expect("the projection is listed")
}

/// Polls until `condition` holds of the population projection's status, for 20 s at most.
async fn until_population(app: &TestApp, what: &str, condition: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..200 {
        let status = projection(app, "population").await;
        if condition(&status) {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "the population projection never {what}: {}",
        projection(app, "population").await
    );
}

#[tokio::test]
async fn a_population_of_u64_max_is_refused_at_the_door() {
    let app = spawn_app().await;
    for residents in [u64::MAX, 1_000_000_000_000_000] {
        let answer = app
            .send(
                reqwest::Method::PUT,
                "/api/v1/population/2025",
                Some(&app.tokens.admin),
                population_csv(residents),
            )
            .await;
        let errors = answer.assert_problem(422);
        assert_eq!(
            errors.len(),
            COUNTIES.len(),
            "every county is named: {errors:?}"
        );
        assert!(answer
            .problem_codes()
            .iter()
            .all(|c| c.ends_with(":population_range")));
    }
    let stored: i64 =
        sqlx::query_scalar("select count(*) from events where event_type = 'PopulationImported'")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(stored, 0);
}

#[tokio::test]
async fn an_unprojectable_event_stops_its_projection_by_name_until_a_new_import_supersedes_it() {
    let app = spawn_app().await;
    let projector = Projector::new(app.registry.store().clone());
    tokio::spawn(async move { projector.run().await });
    let poison = append_unvalidated_import(&app, 2025, u64::MAX).await;

    let stopped = until_population(&app, "stopped", |p| p["state"] == json!("stopped")).await;
    assert_eq!(
        stopped["stopped_at"]["event_id"],
        json!(poison.to_string()),
        "{stopped}"
    );
    assert_eq!(
        stopped["stopped_at"]["event_type"],
        json!("PopulationImported")
    );
    assert!(!stopped["stopped_at"]["reason"].as_str().unwrap().is_empty());

    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status, 503, "{}", ready.text);
    assert!(ready.text.contains(&poison.to_string()), "{}", ready.text);
    let metrics = app.get("/metrics", Some(&app.tokens.admin)).await.text;
    assert!(
        metrics.contains("unntak_projection_stopped{projection=\"population\"} 1"),
        "{metrics}"
    );

    let superseding = app
        .send(
            reqwest::Method::PUT,
            "/api/v1/population/2025",
            Some(&app.tokens.admin),
            population_csv(RESIDENTS_PER_COUNTY),
        )
        .await;
    assert_eq!(superseding.status, 200, "{}", superseding.text);
    until_population(&app, "went on", |p| p["state"] == json!("current")).await;
    let residents: i64 =
        sqlx::query_scalar("select sum(population)::bigint from population where year = 2025")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(
        residents as u64,
        RESIDENTS_PER_COUNTY * COUNTIES.len() as u64
    );
    assert_eq!(app.get("/readyz", None).await.status, 200);
    let metrics = app.get("/metrics", Some(&app.tokens.admin)).await.text;
    assert!(
        metrics.contains("unntak_projection_stopped{projection=\"population\"} 0"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_rebuild_passes_over_a_superseded_import_and_names_one_that_is_not() {
    let app = spawn_app().await;
    let projector = Projector::new(app.registry.store().clone());
    append_unvalidated_import(&app, 2024, u64::MAX).await;
    let error = projector
        .rebuild(projections::Projection::Population)
        .await
        .expect_err("an unprojectable event that nothing supersedes stops the rebuild");
    assert!(error.to_string().contains("PopulationImported"), "{error}");

    append_unvalidated_import(&app, 2024, RESIDENTS_PER_COUNTY).await;
    projector
        .rebuild(projections::Projection::Population)
        .await
        .expect("the superseded import is passed over");
    let residents: i64 =
        sqlx::query_scalar("select sum(population)::bigint from population where year = 2024")
            .fetch_one(&app.db.pool)
            .await
            .unwrap();
    assert_eq!(
        residents as u64,
        RESIDENTS_PER_COUNTY * COUNTIES.len() as u64
    );
}
