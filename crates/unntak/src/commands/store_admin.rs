//! Store administration: migrate, seal, verify.

use std::process::ExitCode;

use anyhow::Context;
use sqlx::PgPool;

use crate::cli::MigrateArgs;
use store::EventStore;

/// Events per seal: large enough to keep the seal table small, small enough to name a
/// tampered range precisely.
pub const EVENTS_PER_SEAL: i64 = 10_000;

pub async fn migrate(args: MigrateArgs) -> anyhow::Result<ExitCode> {
    let organisations = match &args.organisations {
        Some(path) => {
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
        }
        None => super::ORGANISATIONS_CSV.to_string(),
    };
    let registry = super::registry_for_tools(&super::connect(&args.database).await?);
    super::prepare_database_with(&registry, &organisations).await?;
    println!("migrations applied; organisation register seeded");
    Ok(ExitCode::SUCCESS)
}

pub async fn seal(pool: PgPool) -> anyhow::Result<ExitCode> {
    let report = EventStore::new(pool).seal(EVENTS_PER_SEAL).await?;
    println!(
        "sealed {} events in {} new seals",
        report.events_sealed, report.seals_written
    );
    Ok(ExitCode::SUCCESS)
}

pub async fn verify(pool: PgPool) -> anyhow::Result<ExitCode> {
    let report = EventStore::new(pool).verify().await?;
    Ok(print_verify_report(&report))
}

pub fn print_verify_report(report: &store::VerifyReport) -> ExitCode {
    match &report.failure {
        None => {
            println!(
                "verified: {} events in {} streams and {} seals match their hashes",
                report.events_checked, report.streams_checked, report.seals_checked
            );
            ExitCode::SUCCESS
        }
        Some(failure) => {
            println!("VERIFY FAILED: {failure}");
            ExitCode::from(1)
        }
    }
}
