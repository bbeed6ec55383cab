//! One module per subcommand.

mod analyse;
mod bench;
mod calibrate;
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
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::ConnectOptions;
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
        Command::Calibrate(args) => calibrate::run(&args),
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
        Command::Bench {
            target: BenchTarget::Extracts { database, cases },
        } => bench::extracts::run(&database, cases).await,
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

/// How long a tool gives PostgreSQL to answer its first connection before saying why not.
const FIRST_CONNECTION_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// A pool whose requests wait at most `acquire_timeout` for a connection: a server answers
/// 503 after that instead of holding its callers while the database is away. One connection
/// is made first, within a few seconds, so that a wrong URL, a server that is not running
/// or a database that does not exist is named at once, with what to do about it.
pub async fn connect_waiting(
    database: &DatabaseArgs,
    pool_size: u32,
    acquire_timeout: std::time::Duration,
) -> anyhow::Result<PgPool> {
    let options: PgConnectOptions = database.url.parse().map_err(|_| {
        anyhow::anyhow!(
            "DATABASE_URL is not a PostgreSQL URL; it looks like postgres://user@host:5432/database"
        )
    })?;
    let first = tokio::time::timeout(FIRST_CONNECTION_TIMEOUT, options.connect()).await;
    match first {
        Ok(Ok(connection)) => drop(connection),
        Ok(Err(error)) => return Err(cannot_connect(&options, error)),
        Err(_) => {
            return Err(anyhow::anyhow!(
                "PostgreSQL at {} did not answer within {} s: is the host right, and is a firewall in the way?",
                place(&options),
                FIRST_CONNECTION_TIMEOUT.as_secs()
            ))
        }
    }
    Ok(PgPoolOptions::new()
        .max_connections(pool_size)
        .acquire_timeout(acquire_timeout)
        .connect_lazy_with(options))
}

fn place(options: &PgConnectOptions) -> String {
    format!("{}:{}", options.get_host(), options.get_port())
}

/// Why the first connection failed, in words an operator can act on.
fn cannot_connect(options: &PgConnectOptions, error: sqlx::Error) -> anyhow::Error {
    let database = options.get_database().unwrap_or("(the user's own)");
    match &error {
        sqlx::Error::Io(_) => anyhow::anyhow!(
            "nothing answers at {} ({}): is PostgreSQL running there? \
             DATABASE_URL says where it is; `bash scripts/with-postgres.sh COMMAND` runs a command \
             with a PostgreSQL it finds or starts",
            place(options),
            error_kind(&error)
        ),
        sqlx::Error::Database(db) if db.code().as_deref() == Some("3D000") => anyhow::anyhow!(
            "PostgreSQL at {} has no database {database}: create it (`createdb {database}`) \
             or point DATABASE_URL at one that exists",
            place(options)
        ),
        sqlx::Error::Database(db)
            if db.code().as_deref() == Some("28000") || db.code().as_deref() == Some("28P01") =>
        {
            anyhow::anyhow!(
                "PostgreSQL at {} refused the user in DATABASE_URL: {}",
                place(options),
                db.message()
            )
        }
        _ => anyhow::anyhow!(
            "cannot connect to PostgreSQL at {}: {error}",
            place(options)
        ),
    }
}

fn error_kind(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Io(io) => io.kind().to_string(),
        other => other.to_string(),
    }
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
