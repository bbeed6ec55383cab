//! `unntak seed --synthetic`: a synthetic registry, reported the way trusts report: the
//! methods register through the register service the admin API uses, and every case
//! through the case service the reporting API calls, as each deciding organisation. Never
//! raw SQL. The ground truth (what was planted) is written beside the data.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::{anyhow, Context};
use domain::case::case_id_for;
use domain::codes::{AtcCode, MethodId};
use domain::events::RegistryEvent;
use domain::methods::{MethodDescription, MethodStatus};
use domain::organisation::OrganisationNumber;
use registry::batch::BatchOptions;
use registry::{Actor, Registry, Role};
use serde_json::{Map, Value};
use synthetic::{Generated, Scenario, SyntheticCase};
use uuid::Uuid;

use super::{connect, prepare_database, registry_for_tools};
use crate::cli::SeedArgs;

const SEED_NAMESPACE: Uuid = Uuid::from_u128(0x5eed_5eed_1c3a_4f00_8b1e_2d4c_6e8f_a0b2);
const BATCH_ROWS: usize = 1_000;
const SEED_CLIENT: &str = "synthetic seed";

pub async fn run(args: SeedArgs) -> anyhow::Result<ExitCode> {
    if !args.synthetic {
        return Err(anyhow!("only --synthetic seeding exists: say --synthetic"));
    }
    let scenario = scenario(&args)?;
    // The synthetic patients carry no identity number, so the tools' key serves.
    let registry = registry_for_tools(&connect(&args.database).await?);
    prepare_database(&registry).await?;
    let generated = synthetic::generate(&scenario, chrono::Utc::now().date_naive());
    let report = seed(&registry, &generated, scenario.seed).await?;
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

/// Reports `generated` into `registry`. Idempotent: report ids derive from the scenario
/// seed and the case, so seeding twice writes nothing the second time.
pub async fn seed(
    registry: &Registry,
    generated: &Generated,
    seed: u64,
) -> anyhow::Result<SeedReport> {
    record_methods(registry, generated, seed).await?;
    let reporters = reporters(generated)?;
    let mut report = SeedReport::default();
    let appealed = generated.cases.iter().filter(|c| !c.appeals.is_empty());
    let progress = crate::progress::bar(
        (generated.cases.len() + appealed.count()) as u64,
        "reporting synthetic cases",
    );
    let mut decided: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for case in &generated.cases {
        let body = case.report_body(report_id(seed, case, "report"));
        if case.decision.is_some() {
            decided.entry(&case.deciding_org).or_default().push(body);
        } else {
            let written = registry
                .report_case(&reporters[&case.deciding_org], &object(body)?, false)
                .await?;
            report.imported += u64::from(!written.replayed);
            report.already_present += u64::from(written.replayed);
            progress.inc(1);
        }
    }
    for (org, bodies) in decided {
        import_decisions(registry, &reporters[org], &bodies, &mut report, &progress).await?;
    }
    progress.set_message("reporting synthetic appeals");
    for case in generated.cases.iter().filter(|c| !c.appeals.is_empty()) {
        report_appeals(registry, &reporters[&case.deciding_org], case, seed).await?;
        progress.inc(1);
    }
    progress.finish_and_clear();
    Ok(report)
}

fn object(body: Value) -> anyhow::Result<Map<String, Value>> {
    match body {
        Value::Object(map) => Ok(map),
        other => Err(anyhow!("a synthetic report is not an object: {other}")),
    }
}

/// A reporter for each deciding organisation, as each trust reports for itself.
fn reporters(generated: &Generated) -> anyhow::Result<BTreeMap<String, Actor>> {
    let mut reporters = BTreeMap::new();
    for case in &generated.cases {
        if !reporters.contains_key(&case.deciding_org) {
            let org = OrganisationNumber::parse(&case.deciding_org).map_err(|e| anyhow!("{e}"))?;
            let actor = Actor::client(SEED_CLIENT, Role::Reporter, Some(org));
            reporters.insert(case.deciding_org.clone(), actor);
        }
    }
    Ok(reporters)
}

async fn import_decisions(
    registry: &Registry,
    reporter: &Actor,
    bodies: &[Value],
    report: &mut SeedReport,
    progress: &indicatif::ProgressBar,
) -> anyhow::Result<()> {
    let options = BatchOptions {
        dry_run: false,
        atomic: true,
    };
    for chunk in bodies.chunks(BATCH_ROWS) {
        let summary = registry.import_decisions(reporter, chunk, options).await?;
        if summary.rejected > 0 {
            return Err(anyhow!(
                "a synthetic batch was refused: {}",
                serde_json::to_string(&summary.rejected_rows)?
            ));
        }
        report.imported += summary.imported as u64;
        report.already_present += summary.already_present as u64;
        progress.inc(chunk.len() as u64);
    }
    Ok(())
}

async fn record_methods(
    registry: &Registry,
    generated: &Generated,
    seed: u64,
) -> anyhow::Result<()> {
    let seeder = Actor::client(SEED_CLIENT, Role::Admin, None);
    for method in &generated.methods {
        let method_id =
            MethodId::parse(&method.method_id).map_err(|e| anyhow!("{}: {e}", method.method_id))?;
        for (index, event) in method_events(&method_id, method)?.into_iter().enumerate() {
            let event_id = Uuid::new_v5(
                &SEED_NAMESPACE,
                format!("{seed}/{}/{index}", method.method_id).as_bytes(),
            );
            registry
                .registers()
                .record_method_event(&method_id, event, event_id, seeder.metadata(event_id))
                .await?;
        }
    }
    Ok(())
}

/// A synthetic method as its register events: described, then each status change.
fn method_events(
    method_id: &MethodId,
    method: &synthetic::SyntheticMethod,
) -> anyhow::Result<Vec<RegistryEvent>> {
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
    Ok(events)
}

fn report_id(seed: u64, case: &SyntheticCase, part: &str) -> Uuid {
    Uuid::new_v5(
        &SEED_NAMESPACE,
        format!("{seed}/{}/{}/{part}", case.deciding_org, case.case_ref).as_bytes(),
    )
}

async fn report_appeals(
    registry: &Registry,
    reporter: &Actor,
    case: &SyntheticCase,
    seed: u64,
) -> anyhow::Result<()> {
    let org = OrganisationNumber::parse(&case.deciding_org).map_err(|e| anyhow!("{e}"))?;
    let case_id = case_id_for(&org, &case.case_ref);
    for (n, appeal) in case.appeals.iter().enumerate() {
        let lodged = registry
            .lodge_appeal(
                reporter,
                case_id,
                report_id(seed, case, &format!("appeal-{n}")),
                appeal.lodged,
            )
            .await?;
        let appeal_id = lodged.appeal_id.expect("a lodged appeal has an id");
        if let Some((decided, outcome)) = &appeal.decided {
            let outcome = serde_json::from_value(Value::String(outcome.clone()))?;
            let decision_report = report_id(seed, case, &format!("appeal-{n}-decision"));
            registry
                .decide_appeal(
                    reporter,
                    case_id,
                    appeal_id,
                    decision_report,
                    *decided,
                    outcome,
                )
                .await?;
        }
    }
    Ok(())
}
