//! The `unntak` command: wires the crates together. Each subcommand lives in `commands/`.

mod cli;
mod commands;
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
            eprintln!("error: {error:#}");
            std::process::ExitCode::from(2)
        }
    }
}
