//! `unntak bench projections`: rebuilding the cases projection over a large store, against
//! reading the same events with no projection work; and the latency of the decisions
//! statistic grouped by region and method, against the same grouping as one plain SQL
//! query. Both baselines are measured in the same run on the same server.

use std::net::TcpListener;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::anyhow;
use api::ApiConfig;
use chrono::NaiveDate;
use domain::case::{
    case_id_for, case_stream, Application, Criteria, Criterion, Decision, Outcome, PatientFacts,
    Scheme,
};
use domain::codes::{CountyNumber, Icd10Code, MethodId, COUNTIES};
use domain::events::RegistryEvent;
use domain::identity::Sex;
use domain::organisation::OrganisationNumber;
use projections::projector::REBUILD_BATCH_SIZE;
use projections::{Projection, Projector};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use registry::codec::new_event;
use registry::statistics::{FunnelQuery, StatisticsQuery};
use registry::tokens::{create_token, NewToken};
use registry::{Actor, Role};
use serde_json::json;
use store::{Checkpoint, EventStore, ExpectedVersion, StreamAppend};
use uuid::Uuid;

use super::database::BenchDatabase;
use crate::cli::DatabaseArgs;

const TRUSTS: [&str; 8] = [
    "993467049",
    "983971636",
    "983974724",
    "983974678",
    "883974832",
    "997005562",
    "983974899",
    "983974910",
];
const CASES_PER_TRANSACTION: usize = 500;
const LATENCY_SAMPLES: usize = 60;

pub async fn run(
    database: &DatabaseArgs,
    cases: usize,
    keep: bool,
    reuse: Option<String>,
) -> anyhow::Result<ExitCode> {
    let (bench, seeded) = match &reuse {
        Some(name) => (BenchDatabase::existing(&database.url, name).await?, true),
        None => (BenchDatabase::create(&database.url).await?, false),
    };
    let result = measure(&bench, cases, seeded).await;
    if keep || reuse.is_some() {
        println!("kept the database {}", bench.name());
    } else {
        bench.drop_database().await?;
    }
    result?;
    Ok(ExitCode::SUCCESS)
}

async fn measure(bench: &BenchDatabase, cases: usize, seeded: bool) -> anyhow::Result<()> {
    let store = EventStore::new(bench.pool.clone());
    if !seeded {
        let started = Instant::now();
        let events = seed(&store, cases).await?;
        println!(
            "seeded {cases} cases ({events} events) in {:.0} s",
            started.elapsed().as_secs_f64()
        );
        sqlx::query("vacuum analyze events")
            .execute(&bench.pool)
            .await?;
    }

    // The faster of two bare reads, one before the rebuild and one after: a read that
    // finds the events cold would flatter the rebuild.
    let before = bare_reads(&store).await?;
    let projector = Projector::new(store.clone()).with_batch_size(REBUILD_BATCH_SIZE);
    let started = Instant::now();
    let rebuilding =
        crate::progress::spinning("rebuilding cases", projector.rebuild(Projection::Cases));
    let rebuilt = rebuilding.await?;
    let rebuild_rate = rebuilt as f64 / started.elapsed().as_secs_f64();
    let after = bare_reads(&store).await?;
    let [decoded_rate, read_rate, values_rate] =
        [0, 1, 2].map(|index| before[index].max(after[index]));
    sqlx::query("vacuum analyze case_facts")
        .execute(&bench.pool)
        .await?;
    sqlx::query("vacuum analyze decision_counts")
        .execute(&bench.pool)
        .await?;

    let cases: i64 = sqlx::query_scalar("select count(*) from case_facts")
        .fetch_one(&bench.pool)
        .await?;
    let api_p95 = api_latency_p95(bench).await?;
    let sql_p95 = plain_query_p95(bench).await?;
    let (signals_seconds, scan_seconds, signals) = signals_against_scan(bench, 2024).await?;
    let (report_seconds, report_signals_seconds) = report_against_signals(bench, 2024).await?;
    let parts = report_parts(bench, 2024).await?;
    println!("| measurement | figure | baseline | ratio |");
    println!("|---|---:|---:|---:|");
    println!("| rebuild of `cases` over {rebuilt} events (events/s) | {rebuild_rate:.0} | {decoded_rate:.0} (bare read: the events read and decoded as the rebuild does, no projection work) | {:.2} |", rebuild_rate / decoded_rate);
    println!("| the same rebuild | {rebuild_rate:.0} | {read_rate:.0} (rows only: the events' payloads as text, never decoded) | {:.2} |", rebuild_rate / read_rate);
    println!("| the same rebuild | {rebuild_rate:.0} | {values_rate:.0} (bare `EventStore::read_all`, payloads as JSON values) | {:.2} |", rebuild_rate / values_rate);
    println!("| GET /api/v1/stats/decisions?group_by=region,method_id over {cases} cases, p95 (ms) | {api_p95:.1} | {sql_p95:.1} (plain GROUP BY on case_facts) | {:.2} |", api_p95 / sql_p95);
    println!("| all signals for 2024 ({signals} signals), load and compute (ms) | {:.0} | {:.0} (one GROUP BY scan of case_facts) | {:.2} |", signals_seconds * 1000.0, scan_seconds * 1000.0, signals_seconds / scan_seconds);
    println!("| annual report for 2024, gathered and rendered as HTML (ms) | {:.0} | {:.0} (all signals for 2024, load and compute, just before) | {:.2} |", report_seconds * 1000.0, report_signals_seconds * 1000.0, report_seconds / report_signals_seconds);
    println!();
    println!("| the report's statistics of 2024, each alone | ms |");
    println!("|---|---:|");
    for (part, seconds) in parts {
        println!("| {part} | {:.0} |", seconds * 1000.0);
    }
    Ok(())
}

/// Appends `cases` decided cases (two events each) in transactions of 500 cases.
async fn seed(store: &EventStore, cases: usize) -> anyhow::Result<usize> {
    let mut rng = StdRng::seed_from_u64(2026);
    let mut written = 0;
    let progress = crate::progress::bar(cases as u64, "seeding cases");
    for chunk_start in (0..cases).step_by(CASES_PER_TRANSACTION) {
        let count = CASES_PER_TRANSACTION.min(cases - chunk_start);
        let appends: Vec<StreamAppend> = (0..count)
            .map(|n| case_append(&mut rng, chunk_start + n))
            .collect();
        written += appends.iter().map(|a| a.events.len()).sum::<usize>();
        store
            .append_all(&appends)
            .await
            .map_err(|(_, e)| anyhow!("seeding: {e}"))?;
        progress.inc(count as u64);
    }
    progress.finish_and_clear();
    Ok(written)
}

fn case_append(rng: &mut StdRng, n: usize) -> StreamAppend {
    let deciding_org =
        OrganisationNumber::parse(TRUSTS[rng.gen_range(0..TRUSTS.len())]).expect("valid");
    let case_ref = format!("B-{n}");
    let case_id = case_id_for(&deciding_org, &case_ref);
    let received = NaiveDate::from_ymd_opt(2020, 1, 1).expect("a date")
        + chrono::Days::new(rng.gen_range(0..2000));
    let county = COUNTIES[rng.gen_range(0..COUNTIES.len())].number;
    let application = Application {
        case_ref,
        applying_org: deciding_org.clone(),
        deciding_org,
        scheme: Scheme::IndividualExemption,
        method_id: MethodId::parse(&format!("ID2020_{:03}", rng.gen_range(1..60))).expect("valid"),
        indication_icd10: Icd10Code::parse(
            ["C64", "C50", "C34", "C18", "G12"][rng.gen_range(0..5)],
        )
        .expect("valid"),
        atc: None,
        patient: Some(PatientFacts {
            pseudonym: None,
            birth_year: rng.gen_range(1930..2015),
            // Alternating, so the standardised rates have strata (and the generator's
            // sequence, hence every other figure, stays as it was).
            sex: Some(if n.is_multiple_of(2) {
                Sex::Female
            } else {
                Sex::Male
            }),
            residence_county: CountyNumber::parse(county).expect("valid"),
        }),
        group: None,
        received_date: received,
    };
    let granted = rng.gen_bool(0.75);
    let mut criteria = Criteria::default();
    criteria
        .assessed
        .insert(Criterion::MarketingAuthorisation, true);
    let decision = Decision {
        decided_date: received + chrono::Days::new(rng.gen_range(0..120)),
        outcome: if granted {
            Outcome::Granted
        } else {
            Outcome::Refused
        },
        criteria,
        refusal_reasons: Vec::new(),
    };
    let events = [
        RegistryEvent::CaseReceived {
            case_id,
            application,
        },
        RegistryEvent::DecisionReported { case_id, decision },
    ];
    StreamAppend {
        stream_id: case_stream(case_id),
        expected: ExpectedVersion::NoStream,
        events: events
            .iter()
            .map(|event| new_event(event, Uuid::new_v4(), json!({"actor": "bench"})))
            .collect(),
    }
}

/// Events per second of the three bare reads: read and decoded, rows only, `read_all`.
async fn bare_reads(store: &EventStore) -> anyhow::Result<[f64; 3]> {
    Ok([
        decoded_read_rate(store).await?,
        bare_read_rate(store).await?,
        read_all_rate(store).await?,
    ])
}

/// Events per second when reading the whole store in order and decoding every event as the
/// rebuild does (payloads as text, in batches of the rebuild's size, parsed into domain
/// events), and doing nothing with them.
async fn decoded_read_rate(store: &EventStore) -> anyhow::Result<f64> {
    events_per_second(|after| async move {
        let batch = store::read_all_text(store.pool(), after, REBUILD_BATCH_SIZE).await?;
        for event in &batch {
            std::hint::black_box(RegistryEvent::from_stored_text(
                &event.event_type,
                event.schema_version,
                &event.payload,
            )?);
        }
        Ok(batch.last().map(|last| (batch.len(), last.checkpoint())))
    })
    .await
}

/// Events per second when reading the whole store in order as the projector does (payloads
/// as text, in batches of the rebuild's size) and doing nothing with them, not even
/// decoding them.
async fn bare_read_rate(store: &EventStore) -> anyhow::Result<f64> {
    events_per_second(|after| async move {
        let batch = store::read_all_text(store.pool(), after, REBUILD_BATCH_SIZE).await?;
        Ok(batch.last().map(|last| (batch.len(), last.checkpoint())))
    })
    .await
}

/// Events per second through the store's general read, `EventStore::read_all`, which also
/// parses every payload and metadata into JSON values.
async fn read_all_rate(store: &EventStore) -> anyhow::Result<f64> {
    events_per_second(|after| async move {
        let batch = store.read_all(after, REBUILD_BATCH_SIZE).await?;
        Ok(batch.last().map(|last| (batch.len(), last.checkpoint())))
    })
    .await
}

/// Reads batch after batch from the origin until `read_batch` (which gives how many events
/// it read and the last one's checkpoint) finds none; returns events per second.
async fn events_per_second<F, Fut>(read_batch: F) -> anyhow::Result<f64>
where
    F: Fn(Checkpoint) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Option<(usize, Checkpoint)>>>,
{
    let started = Instant::now();
    let mut after = Checkpoint::ORIGIN;
    let mut read = 0usize;
    while let Some((count, last)) = read_batch(after).await? {
        read += count;
        after = last;
    }
    Ok(read as f64 / started.elapsed().as_secs_f64())
}

async fn api_latency_p95(bench: &BenchDatabase) -> anyhow::Result<f64> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let base = format!("http://{}", listener.local_addr()?);
    let server = api::build(bench.registry.clone(), ApiConfig::default(), listener)?;
    tokio::spawn(server);
    let new = NewToken {
        role: Role::Reviewer,
        org: None,
        project: None,
        label: "bench".into(),
        expires: None,
    };
    let (_, token) = create_token(&bench.pool, new).await?;
    let client = reqwest::Client::new();
    let url = format!("{base}/api/v1/stats/decisions?group_by=region,method_id");
    let mut samples = Vec::with_capacity(LATENCY_SAMPLES);
    for _ in 0..LATENCY_SAMPLES + 5 {
        let started = Instant::now();
        let response = client.get(&url).bearer_auth(&token).send().await?;
        if !response.status().is_success() {
            return Err(anyhow!("stats request failed: {}", response.text().await?));
        }
        response.bytes().await?;
        samples.push(started.elapsed());
    }
    Ok(p95(&mut samples[5..].to_vec()))
}

async fn plain_query_p95(bench: &BenchDatabase) -> anyhow::Result<f64> {
    let mut samples = Vec::with_capacity(LATENCY_SAMPLES);
    for _ in 0..LATENCY_SAMPLES + 5 {
        let started = Instant::now();
        let rows: Vec<(Option<String>, String, i64, i64)> = sqlx::query_as(
            "select deciding_region, method_id,
                    count(*) filter (where outcome = 'granted'), count(*) filter (where outcome = 'refused')
               from case_facts where not retracted and decided_date is not null
              group by 1, 2 order by 1, 2",
        )
        .fetch_all(&bench.pool)
        .await?;
        std::hint::black_box(rows);
        samples.push(started.elapsed());
    }
    Ok(p95(&mut samples[5..].to_vec()))
}

/// Seconds to load one year's analysis input and compute every signal, and seconds for one
/// plain GROUP BY scan of the whole case-facts table, in the same run.
async fn signals_against_scan(
    bench: &BenchDatabase,
    year: i32,
) -> anyhow::Result<(f64, f64, usize)> {
    let started = Instant::now();
    let input = bench
        .registry
        .analysis_input(year, analysis::signals::Settings::default())
        .await?;
    let signals = analysis::signals::all_signals(&input).len();
    let signals_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
        "select deciding_org, method_id, coalesce(outcome, 'pending'), count(*)
           from case_facts group by 1, 2, 3",
    )
    .fetch_all(&bench.pool)
    .await?;
    std::hint::black_box(rows);
    Ok((signals_seconds, started.elapsed().as_secs_f64(), signals))
}

/// Seconds for the annual report of `year` (every statistic and the signals gathered as a
/// reviewer, then rendered as HTML and CSV), and for the year's signals measured just
/// before it. The year's population is imported by age band and sex first, so the rates
/// are standardised as well.
async fn report_against_signals(bench: &BenchDatabase, year: i32) -> anyhow::Result<(f64, f64)> {
    let admin = Actor::client("bench", Role::Admin, None);
    let population = crate::commands::demo::demo_population_csv()?;
    bench
        .registry
        .import_population(&admin, year, population.as_bytes())
        .await?;
    Projector::new(EventStore::new(bench.pool.clone()))
        .rebuild(Projection::Population)
        .await?;
    let started = Instant::now();
    let input = bench
        .registry
        .analysis_input(year, analysis::signals::Settings::default())
        .await?;
    std::hint::black_box(analysis::signals::all_signals(&input));
    let signals_seconds = started.elapsed().as_secs_f64();
    let reviewer = Actor::client("bench", Role::Reviewer, None);
    let started = Instant::now();
    let annual = report::annual_report(&bench.registry, &reviewer, year).await?;
    std::hint::black_box((annual.html(), annual.csv_files()));
    Ok((started.elapsed().as_secs_f64(), signals_seconds))
}

/// Seconds of each statistic the annual report gathers, one at a time, as a reviewer:
/// where the report's time goes.
async fn report_parts(bench: &BenchDatabase, year: i32) -> anyhow::Result<Vec<(String, f64)>> {
    let reviewer = Actor::client("bench", Role::Reviewer, None);
    let registry = &bench.registry;
    let of_year = |group_by: &str| StatisticsQuery {
        from: NaiveDate::from_ymd_opt(year, 1, 1),
        to: NaiveDate::from_ymd_opt(year, 12, 31),
        group_by: (!group_by.is_empty()).then(|| group_by.to_string()),
        ..StatisticsQuery::default()
    };
    let mut parts = Parts::default();
    for group_by in [
        "",
        "scheme",
        "region",
        "org",
        "method_id",
        "scheme,refusal_reason",
        "scheme,criterion",
    ] {
        let query = of_year(group_by);
        let work = registry.decision_statistics(&reviewer, &query);
        parts
            .time(format!("decisions by `{group_by}`"), work)
            .await?;
    }
    for group_by in ["", "scheme", "quarter", "method_id"] {
        let query = of_year(group_by);
        let work = registry.application_statistics(&reviewer, &query);
        parts
            .time(format!("applications by `{group_by}`"), work)
            .await?;
    }
    let residence = StatisticsQuery {
        region_basis: Some("residence".into()),
        ..of_year("region")
    };
    let work = registry.application_statistics(&reviewer, &residence);
    parts
        .time("applications by residence region, standardised", work)
        .await?;
    let curves = StatisticsQuery {
        curve: Some(true),
        ..of_year("region")
    };
    let work = registry.processing_time_statistics(&reviewer, &curves);
    parts
        .time("processing times by region, curves", work)
        .await?;
    let national = of_year("");
    let work = registry.processing_time_statistics(&reviewer, &national);
    parts.time("processing times, national", work).await?;
    let by_scheme = of_year("scheme");
    let work = registry.appeal_statistics(&reviewer, &by_scheme);
    parts.time("appeals by scheme", work).await?;
    let work = registry.reporting_quality_statistics(&reviewer, &national);
    parts.time("reporting quality", work).await?;
    let funnel = FunnelQuery {
        year: Some(year),
        scheme: None,
        method_id: None,
        unit: None,
        suppress: None,
    };
    let work = registry.funnel(&reviewer, &funnel, year);
    parts.time("funnel by trust", work).await?;
    let work = registry.signals(&reviewer, year, None);
    parts.time("signals", work).await?;
    Ok(parts.0)
}

/// Seconds of each part, by label, in the order they ran.
#[derive(Default)]
struct Parts(Vec<(String, f64)>);

impl Parts {
    async fn time<T>(
        &mut self,
        label: impl Into<String>,
        work: impl std::future::Future<Output = Result<T, registry::ServiceError>>,
    ) -> anyhow::Result<()> {
        let started = Instant::now();
        std::hint::black_box(work.await?);
        self.0.push((label.into(), started.elapsed().as_secs_f64()));
        Ok(())
    }
}

fn p95(samples: &mut [Duration]) -> f64 {
    samples.sort();
    let index = ((samples.len() as f64 * 0.95).ceil() as usize).clamp(1, samples.len()) - 1;
    samples[index].as_secs_f64() * 1000.0
}
