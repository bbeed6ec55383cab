//! Command-line interface. Every option can also come from an `UNNTAK_*` environment
//! variable (DATABASE_URL for the database), so deployments configure by environment.

use clap::{Args, Parser, Subcommand};

use crate::telemetry::LogFormat;

#[derive(Debug, Parser)]
#[command(name = "unntak", version, about = "Nasjonalt register over unntak og individuell tilgang")]
pub struct Cli {
    #[arg(long, env = "UNNTAK_LOG_FORMAT", value_enum, default_value = "text", global = true)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args, Clone)]
pub struct DatabaseArgs {
    /// PostgreSQL connection URL.
    #[arg(long = "database-url", env = "DATABASE_URL", hide_env_values = true)]
    pub url: String,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending database migrations.
    Migrate(DatabaseArgs),
    /// Recompute every event hash chain and seal; exit code 1 names the first mismatch.
    Verify(DatabaseArgs),
    /// Seal every final event not yet sealed.
    Seal(DatabaseArgs),
    /// Measure the system; see docs/benchmarks.md.
    Bench {
        #[command(subcommand)]
        target: BenchTarget,
    },
}

#[derive(Debug, Subcommand)]
pub enum BenchTarget {
    /// Event store appends against a plain INSERT baseline, on the same server.
    Store {
        #[command(flatten)]
        database: DatabaseArgs,
        /// Seconds to run each measurement.
        #[arg(long, default_value_t = 5)]
        seconds: u64,
    },
}
