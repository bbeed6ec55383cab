//! `unntak bench store`: event-store appends against a plain INSERT of the same rows into
//! an equivalent table with no store logic, measured in one run against one server.
//! Runs in a database of its own, created and dropped here.

use std::process::ExitCode;
use std::time::Duration;

use serde_json::{json, Value};
use sqlx::{Executor, PgPool};
use store::{EventStore, ExpectedVersion, NewEvent};
use uuid::Uuid;

use super::database::BenchDatabase;
use super::rate;
use crate::cli::DatabaseArgs;

const BATCH_SIZE: usize = 100;

pub async fn run(database: &DatabaseArgs, seconds: u64) -> anyhow::Result<ExitCode> {
    let bench = BenchDatabase::create(&database.url).await?;
    // The same columns, constraints and indexes as `events`, and none of its logic.
    bench
        .pool
        .execute(
            "create table baseline_events (like events including defaults including identity
                 including constraints including indexes)",
        )
        .await?;
    let result = measure_all(&bench.pool, Duration::from_secs(seconds)).await;
    bench.drop_database().await?;
    let rows = result?;
    print_table(&rows);
    Ok(ExitCode::SUCCESS)
}

struct Measurement {
    workload: String,
    store_rate: f64,
    baseline_rate: f64,
}

async fn measure_all(pool: &PgPool, duration: Duration) -> anyhow::Result<Vec<Measurement>> {
    let store = EventStore::new(pool.clone());
    let mut rows = Vec::new();
    for (clients, batch) in [(1, 1), (32, 1), (1, BATCH_SIZE), (2, BATCH_SIZE)] {
        let baseline_rate = rate(clients, duration, batch, {
            let pool = pool.clone();
            move || plain_insert(pool.clone(), batch)
        })
        .await?;
        let store_rate = rate(clients, duration, batch, {
            let store = store.clone();
            move || store_append(store.clone(), batch)
        })
        .await?;
        rows.push(Measurement {
            workload: format!("{batch}-event appends, {clients} clients"),
            store_rate,
            baseline_rate,
        });
    }
    Ok(rows)
}

pub async fn store_append(store: EventStore, batch: usize) -> anyhow::Result<()> {
    let stream = format!("bench-{}", Uuid::new_v4());
    let events: Vec<NewEvent> = (0..batch).map(|_| sample_event()).collect();
    store
        .append(&stream, ExpectedVersion::NoStream, &events)
        .await?;
    Ok(())
}

async fn plain_insert(pool: PgPool, batch: usize) -> anyhow::Result<()> {
    let stream = format!("bench-{}", Uuid::new_v4());
    let events: Vec<NewEvent> = (0..batch).map(|_| sample_event()).collect();
    let columns = store::EventColumns::of(&events);
    let versions: Vec<i64> = (1..=batch as i64).collect();
    let fake_hash = vec![0u8; 32];
    sqlx::query(
        "insert into baseline_events (stream_id, stream_version, event_id, event_type,
             schema_version, payload, metadata, recorded_at, hash)
         select $1, v, id, t, s, p, m, now(), $8
           from unnest($2::bigint[], $3::uuid[], $4::text[], $5::int[], $6::jsonb[], $7::jsonb[])
             as u(v, id, t, s, p, m)",
    )
    .bind(stream)
    .bind(versions)
    .bind(columns.event_ids)
    .bind(columns.event_types)
    .bind(columns.schema_versions)
    .bind(columns.payloads)
    .bind(columns.metadata)
    .bind(fake_hash)
    .execute(&pool)
    .await?;
    Ok(())
}

/// An event the size and shape of a reported decision.
pub fn sample_event() -> NewEvent {
    NewEvent {
        event_id: Uuid::new_v4(),
        event_type: "DecisionReported".into(),
        schema_version: 1,
        payload: sample_payload(),
        metadata: json!({"actor": "bench", "token_id": Uuid::new_v4(), "request_id": Uuid::new_v4()}),
    }
}

fn sample_payload() -> Value {
    json!({
        "case_id": Uuid::new_v4(), "case_ref": "2026/004711", "scheme": "individual_exemption",
        "deciding_org": "993467049", "applying_org": "993467049", "method_id": "ID2023_045",
        "indication_icd10": "C341", "atc": "L01FF02",
        "patient": {"pseudonym": "k1:3f1c0b2a9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a",
                    "birth_year": 1961, "sex": "female", "residence_county": "03"},
        "received_date": "2026-03-02", "decided_date": "2026-03-16", "outcome": "granted",
        "criteria": {"marketing_authorisation": true, "standard_treatment_unsuitable": true,
                     "substantially_larger_effect": true},
        "refusal_reasons": []
    })
}

fn print_table(rows: &[Measurement]) {
    println!("| workload | event store (events/s) | plain INSERT (events/s) | ratio |");
    println!("|---|---:|---:|---:|");
    for row in rows {
        println!(
            "| {} | {:.0} | {:.0} | {:.2} |",
            row.workload,
            row.store_rate,
            row.baseline_rate,
            row.store_rate / row.baseline_rate
        );
    }
}
