//! `unntak seed --synthetic`: a synthetic registry, reported the way trusts report: the
//! methods register through the same register functions the admin API uses, and every case
//! over HTTP to an API server started here, with a reporter token per organisation. Never
//! raw SQL. The ground truth (what was planted) is written beside the data.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::process::ExitCode;

use anyhow::{anyhow, Context};
use api::auth::{create_token, revoke_token, NewToken, Role};
use api::registers::{system_metadata, Registers};
use api::ApiConfig;
use domain::case::case_id_for;
use domain::codes::{AtcCode, MethodId};
use domain::events::RegistryEvent;
use domain::methods::{MethodDescription, MethodStatus};
use domain::organisation::OrganisationNumber;
use domain::pseudonym::PseudonymKey;
use serde_json::{json, Value};
use sqlx::PgPool;
use store::EventStore;
use synthetic::{Generated, Scenario, SyntheticCase};
use uuid::Uuid;

use super::{connect, prepare_database};
use crate::cli::SeedArgs;

const SEED_NAMESPACE: Uuid = Uuid::from_u128(0x5eed_5eed_1c3a_4f00_8b1e_2d4c_6e8f_a0b2);
const BATCH_ROWS: usize = 1_000;

pub async fn run(args: SeedArgs) -> anyhow::Result<ExitCode> {
    if !args.synthetic {
        return Err(anyhow!("only --synthetic seeding exists: say --synthetic"));
    }
    let scenario = scenario(&args)?;
    let pool = connect(&args.database).await?;
    prepare_database(&pool).await?;
    let generated = synthetic::generate(&scenario, chrono::Utc::now().date_naive());
    let report = seed(&pool, &generated, scenario.seed).await?;
    std::fs::write(
        &args.ground_truth,
        serde_json::to_string_pretty(&generated.ground_truth)?,
    )
    .with_context(|| format!("writing {}", args.ground_truth.display()))?;
    println!(
        "seeded {} methods and {} cases ({} new, {} already present); ground truth in {}",
        generated.methods.len(),
        generated.cases.len(),
        report.imported,
        report.already_present,
        args.ground_truth.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn scenario(args: &SeedArgs) -> anyhow::Result<Scenario> {
    let years = parse_years(&args.years)?;
    match &args.scenario {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            Scenario::from_toml(&text).map_err(|e| anyhow!("{}: {e}", path.display()))
        }
        None if args.plant => Ok(Scenario::with_default_effects(years, args.seed, args.scale)),
        None => Ok(Scenario::realistic(years, args.seed, args.scale)),
    }
}

pub fn parse_years(text: &str) -> anyhow::Result<std::ops::RangeInclusive<i32>> {
    let (first, last) = text.split_once('-').unwrap_or((text, text));
    let first: i32 = first
        .trim()
        .parse()
        .context("--years: a year or a range like 2020-2025")?;
    let last: i32 = last
        .trim()
        .parse()
        .context("--years: a year or a range like 2020-2025")?;
    if first > last {
        return Err(anyhow!("--years: {first} is after {last}"));
    }
    Ok(first..=last)
}

#[derive(Debug, Default)]
pub struct SeedReport {
    pub imported: u64,
    pub already_present: u64,
}

/// Reports `generated` into the registry on `pool`. Idempotent: report ids derive from the
/// scenario seed and the case, so seeding twice writes nothing the second time.
pub async fn seed(pool: &PgPool, generated: &Generated, seed: u64) -> anyhow::Result<SeedReport> {
    record_methods(pool, generated, seed).await?;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let base = format!("http://{}", listener.local_addr()?);
    let key = PseudonymKey::new("seed", &[5u8; 32]).map_err(|e| anyhow!("{e}"))?;
    let server = api::build(ApiConfig::new(key), pool.clone(), listener)?;
    let handle = server.handle();
    tokio::spawn(server);
    let tokens = reporter_tokens(pool, generated).await?;
    let result = report_cases(&base, &tokens, generated, seed).await;
    for (token_id, _) in tokens.values() {
        revoke_token(pool, *token_id)
            .await
            .map_err(|e| anyhow!("{e}"))?;
    }
    handle.stop(true).await;
    result
}

async fn record_methods(pool: &PgPool, generated: &Generated, seed: u64) -> anyhow::Result<()> {
    let registers = Registers::new(EventStore::new(pool.clone()));
    for method in &generated.methods {
        let method_id =
            MethodId::parse(&method.method_id).map_err(|e| anyhow!("{}: {e}", method.method_id))?;
        let atc = method
            .atc
            .iter()
            .map(|a| AtcCode::parse(a))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| anyhow!("{e}"))?;
        let mut events = vec![RegistryEvent::MethodDescribed {
            method_id: method_id.clone(),
            description: MethodDescription {
                name: method.name.clone(),
                atc,
                indication: method.indication.clone(),
            },
        }];
        for (status, decision_date, effective_from) in &method.statuses {
            let status: MethodStatus = serde_json::from_value(Value::String(status.clone()))?;
            events.push(RegistryEvent::MethodStatusChanged {
                method_id: method_id.clone(),
                status,
                decision_date: *decision_date,
                effective_from: *effective_from,
            });
        }
        for (index, event) in events.into_iter().enumerate() {
            let event_id = Uuid::new_v5(
                &SEED_NAMESPACE,
                format!("{seed}/{}/{index}", method.method_id).as_bytes(),
            );
            registers
                .record_method_event(
                    &method_id,
                    event,
                    event_id,
                    system_metadata("synthetic seed"),
                )
                .await
                .map_err(|e| anyhow!("{e}"))?;
        }
    }
    Ok(())
}

/// One reporter token per deciding organisation, as each trust would have its own.
async fn reporter_tokens(
    pool: &PgPool,
    generated: &Generated,
) -> anyhow::Result<BTreeMap<String, (Uuid, String)>> {
    let mut tokens = BTreeMap::new();
    for case in &generated.cases {
        if tokens.contains_key(&case.deciding_org) {
            continue;
        }
        let org = OrganisationNumber::parse(&case.deciding_org).map_err(|e| anyhow!("{e}"))?;
        let new = NewToken {
            role: Role::Reporter,
            org: Some(org),
            project: None,
            label: "synthetic seed".into(),
            expires: None,
        };
        let created = create_token(pool, new).await.map_err(|e| anyhow!("{e}"))?;
        tokens.insert(case.deciding_org.clone(), created);
    }
    Ok(tokens)
}

fn report_id(seed: u64, case: &SyntheticCase, part: &str) -> Uuid {
    Uuid::new_v5(
        &SEED_NAMESPACE,
        format!("{seed}/{}/{}/{part}", case.deciding_org, case.case_ref).as_bytes(),
    )
}

async fn report_cases(
    base: &str,
    tokens: &BTreeMap<String, (Uuid, String)>,
    generated: &Generated,
    seed: u64,
) -> anyhow::Result<SeedReport> {
    let client = reqwest::Client::new();
    let mut report = SeedReport::default();
    let mut decided: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for case in &generated.cases {
        let token = &tokens[&case.deciding_org].1;
        let body = case.report_body(report_id(seed, case, "report"));
        if case.decision.is_some() {
            decided.entry(&case.deciding_org).or_default().push(body);
        } else {
            let answer = post(&client, &format!("{base}/api/v1/cases"), token, &body).await?;
            count(&mut report, &answer);
        }
    }
    for (org, bodies) in decided {
        for chunk in bodies.chunks(BATCH_ROWS) {
            let summary = post(
                &client,
                &format!("{base}/api/v1/decisions/batch"),
                &tokens[org].1,
                &json!(chunk),
            )
            .await?;
            if summary["rejected"] != json!(0) {
                return Err(anyhow!("a synthetic batch was refused: {summary}"));
            }
            report.imported += summary["imported"].as_u64().unwrap_or(0);
            report.already_present += summary["already_present"].as_u64().unwrap_or(0);
        }
    }
    for case in generated.cases.iter().filter(|c| !c.appeals.is_empty()) {
        report_appeals(&client, base, &tokens[&case.deciding_org].1, case, seed).await?;
    }
    Ok(report)
}

async fn report_appeals(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    case: &SyntheticCase,
    seed: u64,
) -> anyhow::Result<()> {
    let org = OrganisationNumber::parse(&case.deciding_org).map_err(|e| anyhow!("{e}"))?;
    let case_id = case_id_for(&org, &case.case_ref);
    for (n, appeal) in case.appeals.iter().enumerate() {
        let body = json!({"report_id": report_id(seed, case, &format!("appeal-{n}")), "lodged_date": appeal.lodged});
        let lodged = post(
            client,
            &format!("{base}/api/v1/cases/{case_id}/appeals"),
            token,
            &body,
        )
        .await?;
        let appeal_id = lodged["appeal_id"]
            .as_str()
            .ok_or_else(|| anyhow!("no appeal_id: {lodged}"))?
            .to_string();
        if let Some((decided, outcome)) = &appeal.decided {
            let body = json!({"report_id": report_id(seed, case, &format!("appeal-{n}-decision")), "decided_date": decided, "outcome": outcome});
            post(
                client,
                &format!("{base}/api/v1/cases/{case_id}/appeals/{appeal_id}/decision"),
                token,
                &body,
            )
            .await?;
        }
    }
    Ok(())
}

fn count(report: &mut SeedReport, answer: &Value) {
    if answer.get("position").is_some() {
        report.imported += 1;
    }
}

/// Posts JSON and returns the answer, failing on anything but 200 or 201.
async fn post(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    body: &Value,
) -> anyhow::Result<Value> {
    let response = client
        .post(url)
        .bearer_auth(token)
        .json(body)
        .send()
        .await?;
    let status = response.status();
    let answer: Value = response.json().await?;
    if !status.is_success() {
        return Err(anyhow!("{url} answered {status}: {answer}"));
    }
    Ok(answer)
}
