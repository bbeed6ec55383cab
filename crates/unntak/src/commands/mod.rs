//! One module per subcommand.

mod analyse;
mod bench;
mod demo;
mod project;
mod report;
mod seed;
mod serve;
mod store_admin;
mod token;

use std::process::ExitCode;

use anyhow::Context;
use domain::pseudonym::PseudonymKey;
use registry::{Registry, RegistrySettings};
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;
use store::EventStore;

use crate::cli::{BenchTarget, Cli, Command, DatabaseArgs, ReportCommand};

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Migrate(args) => store_admin::migrate(args).await,
        Command::Serve(args) => serve::run(args).await,
        Command::Demo(args) => demo::run(args).await,
        Command::Seed(args) => seed::run(args).await,
        Command::Analyse {
            database,
            year,
            kind,
        } => analyse::run(&database, year, kind).await,
        Command::Project { database, rebuild } => project::run(&database, rebuild).await,
        Command::Report {
            report: ReportCommand::Annual(args),
        } => report::annual(args).await,
        Command::Verify(args) => store_admin::verify(args).await,
        Command::Seal(args) => store_admin::seal(args).await,
        Command::Prove(args) => store_admin::prove(args).await,
        Command::Token { action } => token::run(action).await,
        Command::Bench {
            target: BenchTarget::Store { database, seconds },
        } => bench::store::run(&database, seconds).await,
        Command::Bench {
            target:
                BenchTarget::Projections {
                    database,
                    cases,
                    keep,
                    reuse,
                },
        } => bench::projections::run(&database, cases, keep, reuse).await,
        Command::Bench {
            target: BenchTarget::Ingest { database, seconds },
        } => bench::ingest::run(&database, seconds).await,
    }
}

/// Connections for one process: enough for the API's workers and the background tasks.
pub const POOL_SIZE: u32 = 32;

pub async fn connect(database: &DatabaseArgs) -> anyhow::Result<PgPool> {
    connect_with(database, POOL_SIZE).await
}

pub async fn connect_with(database: &DatabaseArgs, pool_size: u32) -> anyhow::Result<PgPool> {
    connect_waiting(database, pool_size, DEFAULT_ACQUIRE_TIMEOUT).await
}

/// How long a tool waits for a database connection.
const DEFAULT_ACQUIRE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// A pool whose requests wait at most `acquire_timeout` for a connection: a server answers
/// 503 after that instead of holding its callers while the database is away.
pub async fn connect_waiting(
    database: &DatabaseArgs,
    pool_size: u32,
    acquire_timeout: std::time::Duration,
) -> anyhow::Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(pool_size)
        .acquire_timeout(acquire_timeout)
        .connect(&database.url)
        .await
        .context("could not connect to the database named by DATABASE_URL")
}

/// The organisation register's seed, shipped with the binary.
pub const ORGANISATIONS_CSV: &str = include_str!("../../../../deploy/reference/organisations.csv");

/// Applies pending migrations and adds any organisation of the shipped seed file that the
/// register lacks.
pub async fn prepare_database(registry: &Registry) -> anyhow::Result<()> {
    prepare_database_with(registry, ORGANISATIONS_CSV).await
}

/// Applies pending migrations and adds any organisation of `organisations_csv` that the
/// register lacks.
pub async fn prepare_database_with(
    registry: &Registry,
    organisations_csv: &str,
) -> anyhow::Result<()> {
    store::migrate(registry.pool()).await?;
    let added = registry
        .seed_organisations(organisations_csv)
        .await
        .context("seeding the organisation register")?;
    if added > 0 {
        tracing::info!(added, "organisation register seeded");
    }
    Ok(())
}

/// The registry over one event store for this process, for commands that only read, or
/// seed and benchmark with synthetic patients that carry no identity number: their
/// pseudonym key is never used to pseudonymise one.
pub fn registry_for_tools(pool: &PgPool) -> Registry {
    let key = PseudonymKey::new("tools", &[0u8; 32]).expect("a valid key");
    Registry::new(EventStore::new(pool.clone()), RegistrySettings::new(key))
}
