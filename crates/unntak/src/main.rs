//! The `unntak` command: wires the crates together. Each subcommand lives in `commands/`.

mod cli;
mod commands;
mod progress;
mod telemetry;

use clap::Parser;

// The projector's rebuild holds a national registry's cases in memory and the analysis
// counts hundreds of thousands of cells: millions of small allocations, which mimalloc
// serves several times faster than the system allocator (docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    telemetry::init(cli.log_format);
    match commands::run(cli).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {}", explained(&error));
            std::process::ExitCode::from(2)
        }
    }
}

/// The error as an operator can act on it: a database without the registry's tables says
/// to migrate it; anything else is its chain of causes.
fn explained(error: &anyhow::Error) -> String {
    let undefined_table = error.chain().any(|cause| {
        cause
            .downcast_ref::<sqlx::Error>()
            .and_then(|e| e.as_database_error())
            .and_then(|e| e.code())
            .is_some_and(|code| code == "42P01")
    });
    if undefined_table {
        return "the database has no registry tables yet: run `unntak migrate` first (with the same DATABASE_URL)".to_string();
    }
    format!("{error:#}")
}
