//! Command-line interface. Every option can also come from an `UNNTAK_*` environment
//! variable (DATABASE_URL for the database), so deployments configure by environment.

use clap::{Args, Parser, Subcommand};
use secrecy::{ExposeSecret, SecretString};

use crate::telemetry::LogFormat;

#[derive(Debug, Parser)]
#[command(
    name = "unntak",
    version,
    about = "Nasjonalt register over unntak og individuell tilgang"
)]
pub struct Cli {
    #[arg(
        long,
        env = "UNNTAK_LOG_FORMAT",
        value_enum,
        default_value = "text",
        global = true
    )]
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

#[derive(Debug, Args, Clone)]
pub struct ServeArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Address to listen on.
    #[arg(long, env = "UNNTAK_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// Secret key of the patient pseudonyms (at least 32 bytes). Keep it outside the
    /// database; see docs/key-custody.md.
    #[arg(long, env = "UNNTAK_PSEUDONYM_KEY", hide_env_values = true, value_parser = secret)]
    pub pseudonym_key: SecretString,
    /// Id of the pseudonym key, written in front of every pseudonym.
    #[arg(long, env = "UNNTAK_PSEUDONYM_KEY_ID", default_value = "k1")]
    pub pseudonym_key_id: String,
    /// Accept synthetic test identity numbers (test environments only).
    #[arg(long, env = "UNNTAK_ACCEPT_SYNTHETIC_IDS", default_value_t = false)]
    pub accept_synthetic_ids: bool,
    /// The sealer's Ed25519 private key (PKCS#8 PEM), kept outside the database: it signs
    /// the checkpoints of the event tree. See docs/operations.md.
    #[arg(long, env = "UNNTAK_SEAL_SIGNING_KEY_FILE")]
    pub seal_signing_key_file: std::path::PathBuf,
    /// Seconds at least between two seals; the sealer seals as soon as appends are final.
    #[arg(long, env = "UNNTAK_SEAL_INTERVAL", default_value_t = 1)]
    pub seal_interval: u64,
    #[command(flatten)]
    pub limits: Limits,
}

/// The operating limits of a serving process.
#[derive(Debug, Args, Clone)]
pub struct Limits {
    /// The largest single report body, in bytes.
    #[arg(long, env = "UNNTAK_MAX_REPORT_BYTES", default_value_t = 64 * 1024)]
    pub max_report_bytes: usize,
    /// The largest batch body, in bytes.
    #[arg(long, env = "UNNTAK_MAX_BATCH_BYTES", default_value_t = 32 * 1024 * 1024)]
    pub max_batch_bytes: usize,
    /// The most decisions in one batch.
    #[arg(long, env = "UNNTAK_MAX_BATCH_ROWS", default_value_t = 5_000)]
    pub max_batch_rows: usize,
    /// /readyz answers 503 while a projection lags more events than this behind the store.
    #[arg(long, env = "UNNTAK_MAX_PROJECTION_LAG", default_value_t = 10_000)]
    pub max_projection_lag: i64,
    /// Seconds in-flight requests get to finish after SIGTERM.
    #[arg(long, env = "UNNTAK_SHUTDOWN_TIMEOUT", default_value_t = 30)]
    pub shutdown_timeout: u64,
    /// Database connections of the process (API workers, projector, sealer).
    #[arg(long, env = "UNNTAK_POOL_SIZE", default_value_t = 32)]
    pub pool_size: u32,
    /// A token the metrics scraper sends for /metrics (which otherwise needs an admin
    /// token).
    #[arg(long, env = "UNNTAK_METRICS_TOKEN", hide_env_values = true, value_parser = secret)]
    pub metrics_token: Option<SecretString>,
    /// Requests per second one token may send (bursts of twice as many).
    #[arg(long, env = "UNNTAK_RATE_LIMIT_PER_TOKEN", default_value_t = 1_000)]
    pub rate_limit_per_token: u32,
    /// Requests per second one client address may send (bursts of twice as many). Behind
    /// a reverse proxy every request comes from the proxy's address: set this to the
    /// whole service's bound.
    #[arg(long, env = "UNNTAK_RATE_LIMIT_PER_ADDRESS", default_value_t = 2_000)]
    pub rate_limit_per_address: u32,
    /// Failed authentications per minute from one address before it must wait.
    #[arg(
        long,
        env = "UNNTAK_FAILED_AUTHENTICATIONS_PER_MINUTE",
        default_value_t = 30
    )]
    pub failed_authentications_per_minute: u32,
    /// Seconds a stopping process keeps serving, not ready, before it stops accepting:
    /// long enough for the load balancer to see /readyz fail.
    #[arg(long, env = "UNNTAK_DRAIN_DELAY", default_value_t = 5)]
    pub drain_delay: u64,
    /// Seconds a client may take to send a request body.
    #[arg(long, env = "UNNTAK_BODY_TIMEOUT", default_value_t = 30)]
    pub body_timeout: u64,
    /// Seconds a request waits for a database connection before it is answered 503.
    #[arg(long, env = "UNNTAK_DATABASE_ACQUIRE_TIMEOUT", default_value_t = 2)]
    pub database_acquire_timeout: u64,
}

impl Limits {
    pub fn api_config(&self) -> api::ApiConfig {
        api::ApiConfig {
            max_report_bytes: self.max_report_bytes,
            max_batch_bytes: self.max_batch_bytes,
            max_batch_rows: self.max_batch_rows,
            shutdown_timeout_seconds: self.shutdown_timeout,
            max_projection_lag: self.max_projection_lag,
            metrics_token_hash: self
                .metrics_token
                .as_ref()
                .map(|token| registry::tokens::token_hash(token.expose_secret())),
            rate_limits: api::auth::RateLimits {
                per_token_per_second: self.rate_limit_per_token,
                per_address_per_second: self.rate_limit_per_address,
                failed_authentications_per_minute: self.failed_authentications_per_minute,
            },
            body_timeout_seconds: self.body_timeout,
            drain_delay_seconds: self.drain_delay,
        }
    }
}

fn secret(text: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::from(text.to_string()))
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending database migrations and seed the organisation register.
    Migrate(MigrateArgs),
    /// Serve the API until SIGTERM; applies pending migrations first.
    Serve(ServeArgs),
    /// Run the system with demo data: migrate, seed, create demo tokens, report a few
    /// decisions over HTTP, seal, verify, and serve.
    Demo(DemoArgs),
    /// Run the projector standalone, or rebuild projections afresh.
    Project {
        #[command(flatten)]
        database: DatabaseArgs,
        /// Rebuild this projection (or `all`) into new tables from position 0, swap them
        /// in atomically, and exit. The old tables serve until the swap.
        #[arg(long)]
        rebuild: Option<String>,
    },
    /// Seed a synthetic registry through the reporting API.
    Seed(SeedArgs),
    /// Print the year's signals as a table.
    Analyse {
        #[command(flatten)]
        database: DatabaseArgs,
        /// The year analysed; the last complete year by default.
        #[arg(long)]
        year: Option<i32>,
        /// One kind of signal only.
        #[arg(long)]
        kind: Option<String>,
    },
    /// Write a report: `report annual` is the year's summary for the medical directors'
    /// meeting.
    Report {
        #[command(subcommand)]
        report: ReportCommand,
    },
    /// Measure the signals on synthetic worlds: how often they fire with nothing planted
    /// (per year, per kind of null world and signal) and how often they find each planted
    /// effect. Prints markdown tables; exit code 0 whatever they show.
    Calibrate(CalibrateArgs),
    /// Recompute every event hash chain and the event tree, and check them against the
    /// checkpoints; exit code 1 names the first mismatch.
    Verify(VerifyArgs),
    /// Seal every final event not yet sealed, and print the signed checkpoint.
    Seal(SealArgs),
    /// Print and check the inclusion proof of one event in the signed tree; exit code 1
    /// when it is not in it.
    Prove(ProveArgs),
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
    /// Measure the system; see docs/benchmarks.md.
    Bench {
        #[command(subcommand)]
        target: BenchTarget,
    },
}

#[derive(Debug, Args, Clone)]
pub struct CalibrateArgs {
    /// Worlds of each kind: of each null world, and of each planted effect.
    #[arg(long, default_value_t = 200)]
    pub worlds: usize,
    /// The year analysed; each world covers it and the two years before.
    #[arg(long, default_value_t = 2025)]
    pub year: i32,
    /// Threads to run the worlds on.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: u16,
}

#[derive(Debug, Args, Clone)]
pub struct SealArgs {
    /// PostgreSQL connection URL (not needed with --generate-key).
    #[arg(
        long = "database-url",
        env = "DATABASE_URL",
        hide_env_values = true,
        required_unless_present = "generate_key"
    )]
    pub database_url: Option<String>,
    /// The sealer's Ed25519 private key (PKCS#8 PEM).
    #[arg(
        long,
        env = "UNNTAK_SEAL_SIGNING_KEY_FILE",
        required_unless_present = "generate_key"
    )]
    pub signing_key: Option<std::path::PathBuf>,
    /// Also write the latest signed checkpoint to this file, to keep outside the database.
    #[arg(long)]
    pub checkpoint_out: Option<std::path::PathBuf>,
    /// Instead of sealing: write a new private key to FILE and its public key to FILE.pub.
    #[arg(long, value_name = "FILE", conflicts_with = "checkpoint_out")]
    pub generate_key: Option<std::path::PathBuf>,
}

#[derive(Debug, Args, Clone)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// The sealer's public key (SPKI PEM): stored checkpoints count only if it signed them.
    #[arg(long, env = "UNNTAK_SEAL_PUBLIC_KEY_FILE")]
    pub public_key: Option<std::path::PathBuf>,
    /// A checkpoint kept outside the database: the store must still give its tree and
    /// extend it.
    #[arg(long, requires = "public_key")]
    pub checkpoint: Option<std::path::PathBuf>,
}

#[derive(Debug, Args, Clone)]
pub struct ProveArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// The event's id.
    pub event_id: uuid::Uuid,
    /// The sealer's public key (SPKI PEM).
    #[arg(long, env = "UNNTAK_SEAL_PUBLIC_KEY_FILE")]
    pub public_key: std::path::PathBuf,
    /// Prove against this checkpoint instead of the store's latest.
    #[arg(long)]
    pub checkpoint: Option<std::path::PathBuf>,
}

#[derive(Debug, Args, Clone)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// The organisation register's seed file (CSV: org_number, name, kind,
    /// region_org_number, region); the one shipped with the binary by default.
    #[arg(long, env = "UNNTAK_ORGANISATIONS_FILE")]
    pub organisations: Option<std::path::PathBuf>,
}

#[derive(Debug, Args, Clone)]
pub struct SeedArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Generate synthetic data (the only kind of seeding).
    #[arg(long)]
    pub synthetic: bool,
    /// The years to generate, e.g. 2020-2025.
    #[arg(long, default_value = "2020-2025")]
    pub years: String,
    /// The random seed: the same seed gives the same data.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Volume multiplier.
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// A scenario file (TOML) with the effects to plant; see deploy/scenarios/.
    #[arg(long)]
    pub scenario: Option<std::path::PathBuf>,
    /// Without --scenario: plant one effect of each kind with its documented size.
    #[arg(long)]
    pub plant: bool,
    /// Where to write the ground truth (what was planted), as JSON.
    #[arg(long, default_value = "synthetic-ground-truth.json")]
    pub ground_truth: std::path::PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// The annual summary in bokmål: rapport-YEAR.html (self-contained) and each of its
    /// tables as CSV in --out, suppressed as the statistics API suppresses them for a
    /// supervisor; with --pdf also rapport-YEAR.pdf, printed by headless Chromium.
    Annual(AnnualReportArgs),
}

#[derive(Debug, Args, Clone)]
pub struct AnnualReportArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// The year; the last complete year by default.
    #[arg(long)]
    pub year: Option<i32>,
    /// The directory to write the report and its tables into (created if missing).
    #[arg(long, default_value = ".")]
    pub out: std::path::PathBuf,
    /// Also print the report to PDF with headless Chromium (Debian's `chromium`).
    #[arg(long)]
    pub pdf: bool,
}

#[derive(Debug, Args, Clone)]
pub struct DemoArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[arg(long, env = "UNNTAK_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// The demo's own database on the server DATABASE_URL names; dropped and created
    /// afresh on every run.
    #[arg(long, default_value = "unntak_demo")]
    pub database_name: String,
    /// Report the demo data, print the check, and exit instead of serving.
    #[arg(long)]
    pub no_serve: bool,
}

#[derive(Debug, Subcommand)]
pub enum TokenAction {
    /// Create a token and print it, alone, on stdout. Only its hash is stored.
    Create {
        #[command(flatten)]
        database: DatabaseArgs,
        /// What the token may do: reporter (reports its organisation's decisions; needs
        /// --org), reviewer and supervisor (statistics, signals, the report), researcher
        /// (extracts of one project; needs --project), admin (registers, tokens, metrics).
        #[arg(long, value_parser = ["reporter", "reviewer", "supervisor", "researcher", "admin"])]
        role: String,
        /// Organisation number a reporter reports for.
        #[arg(long)]
        org: Option<String>,
        /// Research project a researcher's extracts are for.
        #[arg(long)]
        project: Option<String>,
        /// Who or what holds the token, for `token list` (e.g. "OUS case system"); one line,
        /// no personal data about patients.
        #[arg(long)]
        label: String,
        /// The last day the token works (YYYY-MM-DD, UTC).
        #[arg(long)]
        expires: Option<chrono::NaiveDate>,
    },
    /// List tokens (never the tokens themselves).
    List(DatabaseArgs),
    /// Revoke a token by its id.
    Revoke {
        #[command(flatten)]
        database: DatabaseArgs,
        token_id: uuid::Uuid,
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
    /// Rebuilding the cases projection, and the decisions statistic's latency, against a
    /// bare read of the store and a plain SQL GROUP BY.
    Projections {
        #[command(flatten)]
        database: DatabaseArgs,
        /// Cases to seed (two events each).
        #[arg(long, default_value_t = 500_000)]
        cases: usize,
        /// Keep the benchmark's database afterwards (its name is printed), to look into it.
        #[arg(long)]
        keep: bool,
        /// Measure on a database an earlier `--keep` run left, instead of seeding a new one.
        #[arg(long)]
        reuse: Option<String>,
    },
    /// A research extract of every case streamed (rate and peak memory), against a
    /// `COPY ... TO STDOUT` of the same rows on the same server.
    Extracts {
        #[command(flatten)]
        database: DatabaseArgs,
        /// Cases to seed straight into the case facts, over ten years.
        #[arg(long, default_value_t = 1_000_000)]
        cases: usize,
    },
    /// Decisions over HTTP (single and batches) against the store-level append rate.
    Ingest {
        #[command(flatten)]
        database: DatabaseArgs,
        /// Seconds to run each measurement.
        #[arg(long, default_value_t = 5)]
        seconds: u64,
    },
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::{Cli, Command};

    #[test]
    fn no_debug_output_shows_the_pseudonym_key() {
        let key = "a-secret-key-of-at-least-thirty-two-bytes";
        let cli = Cli::parse_from([
            "unntak",
            "serve",
            "--database-url",
            "postgres://localhost/unntak",
            "--pseudonym-key",
            key,
            "--seal-signing-key-file",
            "/etc/unntak/seal.pem",
        ]);
        let Command::Serve(args) = &cli.command else {
            panic!("serve parses as serve");
        };
        assert!(!format!("{cli:?}").contains(key));
        assert!(!format!("{args:?}").contains(key));
        assert_eq!(args.limits.max_batch_rows, 5_000);
    }

    #[test]
    fn every_operating_limit_is_settable_by_its_variable_and_listed_in_help() {
        let help = Cli::try_parse_from(["unntak", "serve", "--help"])
            .unwrap_err()
            .to_string();
        for variable in [
            "UNNTAK_MAX_REPORT_BYTES",
            "UNNTAK_MAX_BATCH_BYTES",
            "UNNTAK_MAX_BATCH_ROWS",
            "UNNTAK_MAX_PROJECTION_LAG",
            "UNNTAK_SHUTDOWN_TIMEOUT",
            "UNNTAK_POOL_SIZE",
            "UNNTAK_PSEUDONYM_KEY",
            "UNNTAK_SEAL_SIGNING_KEY_FILE",
            "UNNTAK_SEAL_INTERVAL",
        ] {
            assert!(help.contains(variable), "{variable} missing from:\n{help}");
        }
    }
}
