//! `unntak demo`: a living registry on a fresh machine. Seeds the registers, creates demo
//! tokens, reports decisions over HTTP exactly as a health trust would, seals and verifies,
//! then serves. Re-running it reports nothing twice: the demo's report ids are fixed.

use std::net::TcpListener;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{anyhow, Context};
use api::ApiConfig;
use chrono::NaiveDate;
use domain::codes::{AtcCode, MethodId};
use domain::events::RegistryEvent;
use domain::methods::{MethodDescription, MethodStatus};
use domain::organisation::OrganisationNumber;
use domain::pseudonym::PseudonymKey;
use registry::tokens::{create_token, NewToken};
use registry::{Actor, Registry, RegistrySettings, Role};
use serde_json::{json, Value};
use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Executor, PgPool};
use store::EventStore;
use uuid::Uuid;

use super::prepare_database;
use super::serve::{serve, Sealer};
use super::store_admin::print_verify_report;
use crate::cli::DemoArgs;

/// The demo's pseudonym key. Demo only: a real deployment sets UNNTAK_PSEUDONYM_KEY.
const DEMO_PSEUDONYM_KEY: &[u8] = b"demo-only-pseudonym-key-never-use-in-production";
const DEMO_NAMESPACE: Uuid = Uuid::from_u128(0xde30_0000_4a1e_4b7d_9c2f_1a2b_3c4d_5e6f);

const OSLO_UNIVERSITY_HOSPITAL: &str = "993467049";
const HAUKELAND: &str = "983974724"; // Helse Bergen HF
const ST_OLAVS: &str = "883974832";
const UNN: &str = "983974899";
const HELSE_VEST_RHF: &str = "983658725";
const HELSEDIREKTORATET: &str = "983544622";

pub async fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    // The public port first: a taken port is said before anything is created, and nothing
    // is served on it until the demo's data is in.
    let public = match args.no_serve {
        true => None,
        false => Some(bind_public(&args.bind)?),
    };
    let pool = demo_database(&args).await?;
    let database_url = demo_database_url(&args.database.url, &args.database_name);
    let key = PseudonymKey::new("demo", DEMO_PSEUDONYM_KEY).map_err(|e| anyhow!("{e}"))?;
    let mut settings = RegistrySettings::new(key);
    settings.accept_synthetic_identity_numbers = true;
    let registry = Registry::new(EventStore::new(pool.clone()), settings);
    prepare_database(&registry).await?;
    seed_demo_methods(&registry).await?;
    let tokens = create_demo_tokens(&pool).await?;
    // The demo's own key, thrown away with the demo database.
    let key = store::SealingKey::generate();
    let sealer = || Sealer {
        key: key.clone(),
        interval: store::DEFAULT_SEAL_INTERVAL,
    };
    // A handful of decisions go over HTTP, to show that path: through a server on a
    // private port of its own, stopped once they are in.
    let private = TcpListener::bind("127.0.0.1:0").context("binding a private port")?;
    let private_base = format!("http://{}", private.local_addr()?);
    let private_server = tokio::spawn(serve(
        registry.clone(),
        ApiConfig::default(),
        private,
        sealer(),
    ));
    wait_until_ready(&private_base).await?;
    report_demo_decisions(&private_base, &tokens).await?;
    private_server.abort();
    import_demo_population(&registry).await?;
    seed_synthetic_registry(&registry).await?;
    let store = registry.store();
    let sealed = store.seal(&key, store::MAX_EVENTS_PER_SEAL).await?;
    println!("sealed {} events", sealed.events_sealed);
    let public_key = key.public_key();
    let trust = store::Trust {
        public_key: Some(&public_key),
        kept_checkpoint: sealed.latest.as_ref().map(|c| c.note()),
    };
    let verified = print_verify_report(&store.verify_with(&trust).await?);
    let Some(listener) = public else {
        print_tokens(&private_base, &tokens, &database_url);
        return Ok(verified);
    };
    let base = format!("http://{}", listener.local_addr()?);
    print_tokens(&base, &tokens, &database_url);
    let server = tokio::spawn(serve(
        registry.clone(),
        ApiConfig::default(),
        listener,
        sealer(),
    ));
    println!("serving on {base}; stop with Ctrl-C");
    server.await??;
    Ok(ExitCode::SUCCESS)
}

/// Binds the demo's public address, or says how to choose another.
fn bind_public(address: &str) -> anyhow::Result<TcpListener> {
    TcpListener::bind(address).map_err(|error| {
        anyhow!(
            "cannot listen on {address} ({error}): another program uses it; \
             choose another address with UNNTAK_BIND, e.g. UNNTAK_BIND=127.0.0.1:8081"
        )
    })
}

/// Creates the demo's own database afresh on the server and connects to it.
async fn demo_database(args: &DemoArgs) -> anyhow::Result<PgPool> {
    let server = PgConnectOptions::from_str(&args.database.url)?;
    let mut admin = server.connect().await?;
    // The demo starts from a clean slate each run, so what it shows is what it reported.
    let name = args.database_name.replace('"', "");
    for statement in [
        format!(r#"drop database if exists "{name}" with (force)"#),
        format!(r#"create database "{name}""#),
    ] {
        admin.execute(statement.as_str()).await?;
    }
    let url = server.database(&args.database_name);
    Ok(PgPoolOptions::new()
        .max_connections(32)
        .connect_with(url)
        .await?)
}

struct DemoToken {
    role: Role,
    org: Option<&'static str>,
    label: &'static str,
    token: String,
}

async fn create_demo_tokens(pool: &PgPool) -> anyhow::Result<Vec<DemoToken>> {
    let wanted = [
        (Role::Admin, None, "demo admin"),
        (
            Role::Reporter,
            Some(OSLO_UNIVERSITY_HOSPITAL),
            "demo: Oslo universitetssykehus",
        ),
        (Role::Reporter, Some(HAUKELAND), "demo: Helse Bergen"),
        (Role::Reporter, Some(ST_OLAVS), "demo: St. Olavs hospital"),
        (
            Role::Reporter,
            Some(UNN),
            "demo: Universitetssykehuset Nord-Norge",
        ),
        (
            Role::Reporter,
            Some(HELSE_VEST_RHF),
            "demo: Helse Vest RHF (interregional)",
        ),
        (Role::Reporter, Some(HELSEDIREKTORATET), "demo: Helfo"),
        (Role::Reviewer, None, "demo: fagdirektørmøtet"),
        (Role::Supervisor, None, "demo: Statens helsetilsyn"),
    ];
    let mut tokens = Vec::new();
    for (role, org, label) in wanted {
        let new = NewToken {
            role,
            org: org.map(|o| OrganisationNumber::parse(o).expect("a valid demo organisation")),
            project: None,
            label: label.to_string(),
            expires: None,
        };
        let (_, token) = create_token(pool, new).await?;
        tokens.push(DemoToken {
            role,
            org,
            label,
            token,
        });
    }
    Ok(tokens)
}

/// An illustrative methods register: names and dates are examples, not Nye metoder's.
async fn seed_demo_methods(registry: &Registry) -> anyhow::Result<()> {
    let registers = registry.registers();
    let seeder = Actor::client("demo", Role::Admin, None);
    let methods = [
        (
            "ID2023_245",
            "Pembrolizumab, adjuvant ved nyrecellekarsinom",
            "L01FF02",
            "Nyrecellekarsinom etter nefrektomi",
            &[(MethodStatus::UnderAssessment, "2023-03-01", None)][..],
        ),
        (
            "ID2022_301",
            "Trastuzumab deruxtecan ved HER2-lav brystkreft",
            "L01FD04",
            "HER2-lav metastatisk brystkreft",
            &[
                (MethodStatus::UnderAssessment, "2022-11-01", None),
                (MethodStatus::Introduced, "2024-06-17", Some("2024-08-01")),
            ][..],
        ),
        (
            "ID2021_247",
            "Semaglutid til vektregulering",
            "A10BJ06",
            "Fedme, KMI over 30",
            &[
                (MethodStatus::UnderAssessment, "2021-09-01", None),
                (MethodStatus::NotIntroduced, "2022-05-23", None),
            ][..],
        ),
        (
            "ID2024_212",
            "Genterapi ved spinal muskelatrofi",
            "M09AX09",
            "Spinal muskelatrofi type 1",
            &[(MethodStatus::UnderAssessment, "2024-02-01", None)][..],
        ),
    ];
    for (id, name, atc, indication, statuses) in methods {
        let method_id = MethodId::parse(id).expect("a valid demo method id");
        if registers.method(&method_id).await?.is_some() {
            continue;
        }
        let description = MethodDescription {
            name: name.into(),
            atc: vec![AtcCode::parse(atc).expect("a valid demo ATC code")],
            indication: indication.into(),
        };
        let mut events = vec![RegistryEvent::MethodDescribed {
            method_id: method_id.clone(),
            description,
        }];
        for (status, decided, effective) in statuses {
            events.push(RegistryEvent::MethodStatusChanged {
                method_id: method_id.clone(),
                status: *status,
                decision_date: date(decided),
                effective_from: effective.map(date),
            });
        }
        for (index, event) in events.into_iter().enumerate() {
            let event_id = Uuid::new_v5(&DEMO_NAMESPACE, format!("{id}/{index}").as_bytes());
            registers
                .record_method_event(&method_id, event, event_id, seeder.metadata(event_id))
                .await?;
        }
    }
    Ok(())
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a valid demo date")
}

async fn wait_until_ready(base: &str) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if let Ok(response) = client.get(format!("{base}/readyz")).send().await {
            if response.status().is_success() {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(anyhow!("the demo server did not become ready"))
}

/// A few decisions, as the trusts' case systems would send them.
fn demo_decisions() -> Vec<(&'static str, Value)> {
    let exemption = |case_ref: &str,
                     org: &str,
                     county: &str,
                     year: i32,
                     sex: &str,
                     outcome: &str,
                     decided: &str| {
        let mut body = json!({
            "case_ref": case_ref, "deciding_org": org, "scheme": "individual_exemption",
            "method_id": "ID2023_245", "indication_icd10": "C64", "atc": "L01FF02",
            "patient": {"birth_year": year, "sex": sex, "residence_county": county},
            "received_date": "2025-02-03", "decided_date": decided, "outcome": outcome,
            "criteria": {"marketing_authorisation": true, "standard_treatment_unsuitable": outcome == "granted",
                         "substantially_larger_effect": outcome == "granted"}
        });
        if outcome == "refused" {
            body["refusal_reasons"] = json!(["criteria_not_met"]);
        }
        body
    };
    vec![
        (
            OSLO_UNIVERSITY_HOSPITAL,
            exemption(
                "OUS-2025-0012",
                OSLO_UNIVERSITY_HOSPITAL,
                "03",
                1961,
                "female",
                "granted",
                "2025-02-17",
            ),
        ),
        (
            OSLO_UNIVERSITY_HOSPITAL,
            exemption(
                "OUS-2025-0031",
                OSLO_UNIVERSITY_HOSPITAL,
                "32",
                1954,
                "male",
                "granted",
                "2025-03-04",
            ),
        ),
        (
            HAUKELAND,
            exemption(
                "HB-25-114",
                HAUKELAND,
                "46",
                1970,
                "male",
                "refused",
                "2025-03-20",
            ),
        ),
        (
            ST_OLAVS,
            exemption(
                "STO/2025/77",
                ST_OLAVS,
                "50",
                1949,
                "female",
                "granted",
                "2025-02-28",
            ),
        ),
        (
            UNN,
            exemption(
                "UNN-2025-9",
                UNN,
                "55",
                1958,
                "female",
                "refused",
                "2025-04-11",
            ),
        ),
        (
            HELSE_VEST_RHF,
            json!({
                "case_ref": "IR-2025-003", "deciding_org": HELSE_VEST_RHF, "applying_org": HAUKELAND,
                "scheme": "individual_access", "method_id": "ID2024_212", "indication_icd10": "G120",
                "patient": {"birth_year": 2023, "sex": "male", "residence_county": "11"},
                "received_date": "2025-05-02", "decided_date": "2025-06-10", "outcome": "granted",
                "criteria": {"benefit": true, "resource_use": false, "severity": true, "exceptional_on": ["severity"]}
            }),
        ),
        (
            HELSEDIREKTORATET,
            json!({
                "case_ref": "HELFO-2025-118733", "deciding_org": HELSEDIREKTORATET, "scheme": "helfo_individual",
                "method_id": "ID2021_247", "indication_icd10": "E66", "atc": "A10BJ06",
                "patient": {"birth_year": 1979, "sex": "female", "residence_county": "42"},
                "received_date": "2025-01-09", "decided_date": "2025-02-21", "outcome": "refused",
                "criteria": {"differs_clearly_from_group": false}, "refusal_reasons": ["criteria_not_met"]
            }),
        ),
    ]
}

async fn report_demo_decisions(base: &str, tokens: &[DemoToken]) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    for (org, mut body) in demo_decisions() {
        let token = tokens
            .iter()
            .find(|t| t.org == Some(org))
            .expect("a demo token for every demo organisation");
        let case_ref = body["case_ref"].as_str().unwrap_or_default().to_string();
        body["report_id"] = json!(Uuid::new_v5(&DEMO_NAMESPACE, case_ref.as_bytes()));
        let response = client
            .post(format!("{base}/api/v1/decisions"))
            .bearer_auth(&token.token)
            .json(&body)
            .send()
            .await?;
        let status = response.status();
        let answer: Value = response.json().await?;
        if !status.is_success() {
            return Err(anyhow!(
                "demo report {case_ref} was refused ({status}): {answer}"
            ));
        }
        println!(
            "reported {case_ref}: {status} position {}",
            answer["position"]
        );
    }
    Ok(())
}

/// Six years of synthetic reports with one effect of each kind planted, so the statistics
/// and signals have something to show. What was planted is written to
/// target/demo-ground-truth.json.
async fn seed_synthetic_registry(registry: &Registry) -> anyhow::Result<()> {
    let scenario = synthetic::Scenario::with_default_effects(2020..=2025, 1, 1.0);
    let generated = synthetic::generate(&scenario, chrono::Utc::now().date_naive());
    let report = super::seed::seed(registry, &generated, scenario.seed).await?;
    std::fs::create_dir_all("target")?;
    std::fs::write(
        "target/demo-ground-truth.json",
        serde_json::to_string_pretty(&generated.ground_truth)?,
    )?;
    println!(
        "seeded {} synthetic cases ({} new) with {} planted effects (target/demo-ground-truth.json)",
        generated.cases.len(),
        report.imported,
        generated.ground_truth.len()
    );
    wait_for_projections(registry.pool()).await;
    Ok(())
}

/// Waits (up to a minute) until the projector has caught up, so statistics are current.
async fn wait_for_projections(pool: &PgPool) {
    for _ in 0..600 {
        match projections::status::projection_status(pool).await {
            Ok(statuses) if statuses.iter().all(|s| s.lag == 0) => return,
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    println!("the projector is still catching up; statistics will follow shortly");
}

/// The county list shipped with the binary, with populations rounded from public statistics.
const COUNTIES_CSV: &str = include_str!("../../../../deploy/reference/counties.csv");

/// Norway's residents by age band and sex, as shares in per mille (rounded from Statistics
/// Norway's table 07459 for 2024): the demo gives every county this make-up, so its
/// standardised rates differ from the crude ones only by what the applicants are.
const DEMO_STRATA: [(&str, &str, u64); 12] = [
    ("0-17", "female", 99),
    ("0-17", "male", 104),
    ("18-39", "female", 142),
    ("18-39", "male", 151),
    ("40-59", "female", 128),
    ("40-59", "male", 135),
    ("60-69", "female", 56),
    ("60-69", "male", 56),
    ("70-79", "female", 45),
    ("70-79", "male", 42),
    ("80+", "female", 24),
    ("80+", "male", 18),
];

/// The demo's population file: every county's residents by age band and sex.
pub(crate) fn demo_population_csv() -> anyhow::Result<String> {
    let mut body = String::from("county_number,age_band,sex,population\n");
    for record in csv::Reader::from_reader(COUNTIES_CSV.as_bytes()).records() {
        let record = record?;
        let residents: u64 = record[4].parse().context("a county's residents")?;
        let mut left = residents;
        for (at, (band, sex, per_mille)) in DEMO_STRATA.iter().enumerate() {
            // The last stratum takes what rounding left, so the county adds up.
            let stratum = match at + 1 == DEMO_STRATA.len() {
                true => left,
                false => (residents * per_mille / 1000).min(left),
            };
            left -= stratum;
            body.push_str(&format!("{},{band},{sex},{stratum}\n", &record[0]));
        }
    }
    Ok(body)
}

/// Imports the approximate county populations for the demo's years, by age band and sex,
/// through the admin API. A real deployment imports Statistics Norway's exact figures for
/// each year.
async fn import_demo_population(registry: &Registry) -> anyhow::Result<()> {
    let admin = Actor::client("demo", Role::Admin, None);
    let body = demo_population_csv()?;
    for year in 2024..=2025 {
        registry
            .import_population(&admin, year, body.as_bytes())
            .await
            .with_context(|| format!("population import for {year}"))?;
    }
    println!("imported county populations by age band and sex for 2024 and 2025");
    Ok(())
}

fn print_tokens(base: &str, tokens: &[DemoToken], database_url: &str) {
    println!("\nDemo tokens (shown once; only their hashes are stored):");
    for token in tokens {
        println!(
            "  {:<10} {:<42} {}",
            token.role.as_str(),
            token.label,
            token.token
        );
    }
    if let Some(oslo) = tokens
        .iter()
        .find(|t| t.org == Some(OSLO_UNIVERSITY_HOSPITAL))
    {
        println!("\nReport a decision for Oslo universitetssykehus:\n");
        println!(
            "  curl -s -X POST {base}/api/v1/decisions -H 'Authorization: Bearer {}' \\\n    -H 'Content-Type: application/json' -d @docs/examples/decision.json\n",
            oslo.token
        );
    }
    if let Some(reviewer) = tokens.iter().find(|t| t.role == Role::Reviewer) {
        println!("The dashboard: {base}/");
        println!(
            "  sign in at {base}/logg-inn with the reviewer token {}\n",
            reviewer.token
        );
    }
    println!("API description: {base}/api/v1/openapi.json, interactive docs: {base}/api/docs");
    let unntak = std::env::current_exe()
        .map(|exe| exe.display().to_string())
        .unwrap_or_else(|_| "unntak".to_string());
    println!("\nSignals of 2025 (planted effects among them), or GET {base}/api/v1/signals?year=2025 with the reviewer token:\n");
    println!("  DATABASE_URL='{database_url}' {unntak} analyse --year 2025\n");
    println!("The annual report of 2025 as HTML and CSV, in target/rapport:\n");
    println!(
        "  DATABASE_URL='{database_url}' {unntak} report annual --year 2025 --out target/rapport\n"
    );
}

/// The URL of the demo's own database: DATABASE_URL with its database name replaced.
fn demo_database_url(server_url: &str, database: &str) -> String {
    let (address, query) = match server_url.split_once('?') {
        Some((address, query)) => (address, format!("?{query}")),
        None => (server_url, String::new()),
    };
    let after_scheme = address.find("://").map_or(0, |at| at + 3);
    let host_end = address[after_scheme..]
        .find('/')
        .map_or(address.len(), |at| after_scheme + at);
    format!("{}/{database}{query}", &address[..host_end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_population_gives_every_county_by_age_and_sex_adding_up_to_its_total() {
        let csv = demo_population_csv().unwrap();
        let counties = registry::population::parse_population(csv.as_bytes()).unwrap();
        let totals: Vec<(String, u64)> = csv::Reader::from_reader(COUNTIES_CSV.as_bytes())
            .records()
            .map(|r| {
                let r = r.unwrap();
                (r[0].to_string(), r[4].parse().unwrap())
            })
            .collect();
        assert_eq!(counties.len(), totals.len());
        for county in &counties {
            assert_eq!(county.strata.len(), 12);
            let (_, total) = totals
                .iter()
                .find(|(number, _)| number == county.county_number.as_str())
                .unwrap();
            assert_eq!(county.population, *total);
        }
    }
}
