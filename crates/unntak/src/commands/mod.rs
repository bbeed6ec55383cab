//! One module per subcommand.

mod bench_store;
mod store_admin;

use std::process::ExitCode;

use anyhow::Context;
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

use crate::cli::{BenchTarget, Cli, Command, DatabaseArgs};

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Migrate(database) => store_admin::migrate(&connect(&database).await?).await,
        Command::Verify(database) => store_admin::verify(connect(&database).await?).await,
        Command::Seal(database) => store_admin::seal(connect(&database).await?).await,
        Command::Bench {
            target: BenchTarget::Store { database, seconds },
        } => bench_store::run(&database, seconds).await,
    }
}

pub async fn connect(database: &DatabaseArgs) -> anyhow::Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(16)
        .connect(&database.url)
        .await
        .context("could not connect to the database named by DATABASE_URL")
}
