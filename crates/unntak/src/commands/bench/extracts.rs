//! `unntak bench extracts`: a research extract of every case (all variables, k = 5)
//! streamed through the registry as the API streams it, against a `COPY ... TO STDOUT`
//! (CSV) of the same rows from the same query on the same server. Memory is the process's
//! peak resident set (VmHWM), read after an extract of a tenth of the cases and again
//! after all of them: flat memory means the two agree.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::anyhow;
use chrono::NaiveDate;
use futures::TryStreamExt;
use registry::research::ResearchProjectRequest;
use registry::{Actor, Role};

use super::database::BenchDatabase;
use crate::cli::DatabaseArgs;

pub async fn run(database: &DatabaseArgs, cases: usize) -> anyhow::Result<ExitCode> {
    let bench = BenchDatabase::create(&database.url).await?;
    let result = measure(&bench, cases).await;
    bench.drop_database().await?;
    result?;
    Ok(ExitCode::SUCCESS)
}

async fn measure(bench: &BenchDatabase, cases: usize) -> anyhow::Result<()> {
    let started = Instant::now();
    seed(bench, cases).await?;
    println!(
        "seeded {cases} case facts in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let today = chrono::Utc::now().date_naive();
    let admin = Actor::client("bench", Role::Admin, None);
    for (id, from) in [("bench-tenth", "2025-01-01"), ("bench-all", "2016-01-01")] {
        let request = project(id, from);
        bench
            .registry
            .approve_project(&admin, request, today)
            .await?;
    }
    println!("peak RSS before extracts: {} kB", peak_rss_kb()?);
    for id in ["bench-tenth", "bench-all"] {
        let mut researcher = Actor::client("bench", Role::Researcher, None);
        researcher.project = Some(id.to_string());
        let started = Instant::now();
        let mut chunks = bench.registry.extract_csv(&researcher, id, today).await?;
        let mut bytes = 0usize;
        while let Some(chunk) = chunks.recv().await {
            bytes += chunk?.len();
        }
        let seconds = started.elapsed().as_secs_f64();
        let rows = delivered_rows(bench, id).await?;
        println!(
            "extract {id}: {rows} rows, {:.1} MB in {seconds:.2} s = {:.0} rows/s; peak RSS {} kB",
            bytes as f64 / 1e6,
            rows as f64 / seconds,
            peak_rss_kb()?
        );
    }
    let (rows, seconds) = copy_baseline(bench).await?;
    println!(
        "COPY ... TO STDOUT of the same rows: {rows} rows in {seconds:.2} s = {:.0} rows/s",
        rows as f64 / seconds
    );
    Ok(())
}

fn project(id: &str, from: &str) -> ResearchProjectRequest {
    let day = |text: &str| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok();
    ResearchProjectRequest {
        project_id: Some(id.to_string()),
        title: Some("Benchmark".into()),
        institution: Some("unntak".into()),
        approval_ref: Some("bench".into()),
        valid_from: day("2020-01-01"),
        valid_until: day("2099-12-31"),
        variables: Some(
            domain::research::Variable::ALL
                .iter()
                .map(|v| v.as_str().to_string())
                .collect(),
        ),
        period_from: day(from),
        period_until: day("2025-12-31"),
        schemes: Some(vec![
            "individual_exemption".into(),
            "helfo_individual".into(),
        ]),
        k: Some(5),
    }
}

/// Case facts straight into their table: the extract reads nothing else.
async fn seed(bench: &BenchDatabase, cases: usize) -> anyhow::Result<()> {
    sqlx::query(
        "insert into case_facts (case_id, scheme, method_id, atc, icd10, icd10_category,
             icd10_chapter, deciding_org, deciding_region, applying_org, applying_region,
             residence_county, residence_region, birth_year, age_at_application, age_band, sex,
             received_date, decided_date, outcome, criteria, criteria_complete, refusal_reasons,
             processing_days, reported_at, patient_pseudonym)
         select gen_random_uuid(),
                case when n % 4 = 0 then 'helfo_individual' else 'individual_exemption' end,
                'ID2021_047', 'L01FX02', 'C34' || (n % 10), 'C' || lpad((30 + n % 20)::text, 2, '0'),
                'II', '993467049', '991324968', '993467049', '991324968',
                (array['03','31','32','11','46','15','50','18'])[1 + n % 8],
                (array['991324968','991324968','991324968','983658725','983658725','983658776','983658776','883658752'])[1 + n % 8],
                (1940 + n % 60)::int, (20 + n % 60)::int, '40-59',
                case when n % 2 = 0 then 'female' else 'male' end,
                received, received + (n % 90)::int, case when n % 3 = 0 then 'refused' else 'granted' end,
                '{\"marketing_authorisation\": true}'::jsonb, true,
                case when n % 3 = 0 then array['criteria_not_met'] else '{}' end,
                (n % 90)::int, now(), 't1:' || md5(n::text) || md5((n / 3)::text)
           from (select n, date '2016-01-01' + (n * 3652 / $1)::int as received
                   from generate_series(0, $1 - 1) n) s",
    )
    .bind(cases as i64)
    .execute(&bench.pool)
    .await?;
    sqlx::query("analyze case_facts")
        .execute(&bench.pool)
        .await?;
    Ok(())
}

async fn delivered_rows(bench: &BenchDatabase, id: &str) -> anyhow::Result<u64> {
    let admin = Actor::client("bench", Role::Admin, None);
    let log = bench.registry.extract_log(&admin, id).await?;
    log.last()
        .map(|delivery| delivery.rows)
        .ok_or_else(|| anyhow!("no delivery of {id} recorded"))
}

/// The extract's own query over every case, as CSV through COPY, read to the end.
async fn copy_baseline(bench: &BenchDatabase) -> anyhow::Result<(u64, f64)> {
    let query = format!(
        "select {} {} order by case_id",
        registry::extracts::ROW_COLUMNS,
        registry::extracts::CASES
    )
    .replace("$1", "date '2016-01-01'")
    .replace("$2", "date '2025-12-31'")
    .replace("$3", "array['individual_exemption', 'helfo_individual']");
    let mut connection = bench.pool.acquire().await?;
    let started = Instant::now();
    let mut lines = 0u64;
    let mut stream = connection
        .copy_out_raw(&format!("copy ({query}) to stdout (format csv, header)"))
        .await?;
    while let Some(chunk) = stream.try_next().await? {
        lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
    }
    Ok((lines.saturating_sub(1), started.elapsed().as_secs_f64()))
}

/// The process's peak resident set, from /proc/self/status (Linux).
fn peak_rss_kb() -> anyhow::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| anyhow!("no VmHWM in /proc/self/status"))
}
