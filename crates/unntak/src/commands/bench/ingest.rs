//! `unntak bench ingest`: decisions over HTTP (single at 32 connections, and batches of
//! 1 000) against the store-level append of the same events, measured in one run.

use std::net::TcpListener;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::anyhow;
use api::ApiConfig;
use chrono::NaiveDate;
use domain::codes::MethodId;
use domain::events::RegistryEvent;
use domain::methods::MethodStatus;
use domain::organisation::OrganisationNumber;
use registry::tokens::{create_token, NewToken};
use registry::{Actor, Registry, Role};
use serde_json::{json, Value};
use store::ExpectedVersion;
use uuid::Uuid;

use super::database::BenchDatabase;
use super::rate;
use super::store::sample_event;
use crate::cli::DatabaseArgs;

const CONNECTIONS: usize = 32;
const BATCH_ROWS: usize = 1_000;
const REPORTER: &str = "993467049";
const METHOD: &str = "ID2023_045";

pub async fn run(database: &DatabaseArgs, seconds: u64) -> anyhow::Result<ExitCode> {
    let bench = BenchDatabase::create(&database.url).await?;
    let result = measure(&bench, Duration::from_secs(seconds)).await;
    bench.drop_database().await?;
    print_table(&result?);
    Ok(ExitCode::SUCCESS)
}

struct Figures {
    store_decisions_per_second: f64,
    http_decisions_per_second: f64,
    http_p50_ms: f64,
    http_p99_ms: f64,
    batch_decisions_per_second: f64,
}

async fn measure(bench: &BenchDatabase, duration: Duration) -> anyhow::Result<Figures> {
    let pool = bench.pool.clone();
    seed_method(&bench.registry).await?;
    let token = reporter_token(&pool).await?;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let base = format!("http://{}", listener.local_addr()?);
    let server = api::build(bench.registry.clone(), ApiConfig::default(), listener)?;
    tokio::spawn(server);

    let store = bench.registry.store().clone();
    // A decision is two events: the application and its decision.
    let store_decisions_per_second = rate(CONNECTIONS, duration, 1, move || {
        let store = store.clone();
        async move {
            let stream = format!("case-{}", Uuid::new_v4());
            let events = [sample_event(), sample_event()];
            store
                .append(&stream, ExpectedVersion::NoStream, &events)
                .await?;
            Ok(())
        }
    })
    .await?;

    let client = reqwest::Client::new();
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let http_decisions_per_second = rate(CONNECTIONS, duration, 1, {
        let (client, base, token, latencies) = (
            client.clone(),
            base.clone(),
            token.clone(),
            latencies.clone(),
        );
        move || {
            let (client, base, token, latencies) = (
                client.clone(),
                base.clone(),
                token.clone(),
                latencies.clone(),
            );
            async move {
                let started = Instant::now();
                let response = client
                    .post(format!("{base}/api/v1/decisions"))
                    .bearer_auth(&token)
                    .json(&decision())
                    .send()
                    .await?;
                if response.status() != reqwest::StatusCode::CREATED {
                    return Err(anyhow!(
                        "a bench decision was refused: {}",
                        response.text().await?
                    ));
                }
                latencies
                    .lock()
                    .expect("latency lock")
                    .push(started.elapsed());
                Ok(())
            }
        }
    })
    .await?;

    let batch_decisions_per_second = rate(1, duration, BATCH_ROWS, move || {
        let (client, base, token) = (client.clone(), base.clone(), token.clone());
        async move {
            let rows: Vec<Value> = (0..BATCH_ROWS).map(|_| decision()).collect();
            let summary: Value = client
                .post(format!("{base}/api/v1/decisions/batch"))
                .bearer_auth(&token)
                .json(&rows)
                .send()
                .await?
                .json()
                .await?;
            if summary["imported"] != json!(BATCH_ROWS) {
                return Err(anyhow!("a bench batch was not imported whole: {summary}"));
            }
            Ok(())
        }
    })
    .await?;

    let mut latencies = latencies.lock().expect("latency lock").clone();
    latencies.sort();
    Ok(Figures {
        store_decisions_per_second,
        http_decisions_per_second,
        http_p50_ms: percentile_ms(&latencies, 0.50),
        http_p99_ms: percentile_ms(&latencies, 0.99),
        batch_decisions_per_second,
    })
}

fn percentile_ms(sorted: &[Duration], quantile: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() as f64 * quantile).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[index].as_secs_f64() * 1000.0
}

async fn seed_method(registry: &Registry) -> anyhow::Result<()> {
    let seeder = Actor::client("bench", Role::Admin, None);
    let event_id = Uuid::new_v4();
    let method_id = MethodId::parse(METHOD).expect("a valid method id");
    let event = RegistryEvent::MethodStatusChanged {
        method_id: method_id.clone(),
        status: MethodStatus::UnderAssessment,
        decision_date: NaiveDate::from_ymd_opt(2023, 3, 1).expect("a real date"),
        effective_from: None,
    };
    registry
        .registers()
        .record_method_event(&method_id, event, event_id, seeder.metadata(event_id))
        .await?;
    Ok(())
}

async fn reporter_token(pool: &sqlx::PgPool) -> anyhow::Result<String> {
    let new = NewToken {
        role: Role::Reporter,
        org: Some(OrganisationNumber::parse(REPORTER).expect("a valid organisation")),
        project: None,
        label: "bench".into(),
        expires: None,
    };
    let (_, token) = create_token(pool, new).await?;
    Ok(token)
}

/// A new, valid decision of Oslo universitetssykehus.
fn decision() -> Value {
    let id = Uuid::new_v4();
    json!({
        "report_id": id, "case_ref": case_ref(id), "deciding_org": REPORTER,
        "scheme": "individual_exemption", "method_id": METHOD, "indication_icd10": "C64",
        "atc": "L01FF02", "patient": {"birth_year": 1961, "sex": "female", "residence_county": "03"},
        "received_date": "2025-03-02", "decided_date": "2025-03-16", "outcome": "granted",
        "criteria": {"marketing_authorisation": true, "standard_treatment_unsuitable": true,
                     "substantially_larger_effect": true}
    })
}

/// A case reference unique to `id`, in letters only: a run of hex digits now and then
/// spells a valid fødselsnummer, which the registry rightly refuses in a case_ref.
fn case_ref(id: Uuid) -> String {
    let letters: String = id
        .as_bytes()
        .iter()
        .flat_map(|byte| [byte >> 4, byte & 0x0f])
        .map(|nibble| char::from(b'a' + nibble))
        .collect();
    format!("BENCH-{letters}")
}

fn print_table(figures: &Figures) {
    let store = figures.store_decisions_per_second;
    println!("| workload | decisions/s | ratio to store | p50 ms | p99 ms |");
    println!("|---|---:|---:|---:|---:|");
    println!("| store append of a decision's 2 events, {CONNECTIONS} clients (baseline) | {store:.0} | 1.00 | | |");
    println!(
        "| POST /api/v1/decisions, {CONNECTIONS} connections | {:.0} | {:.2} | {:.1} | {:.1} |",
        figures.http_decisions_per_second,
        figures.http_decisions_per_second / store,
        figures.http_p50_ms,
        figures.http_p99_ms
    );
    println!(
        "| POST /api/v1/decisions/batch, {BATCH_ROWS} rows, 1 connection | {:.0} | {:.2} | | |",
        figures.batch_decisions_per_second,
        figures.batch_decisions_per_second / store
    );
}
