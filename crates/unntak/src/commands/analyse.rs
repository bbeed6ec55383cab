//! `unntak analyse`: the year's signals as a table in the terminal.

use std::process::ExitCode;

use analysis::signals::{all_signals, signals_of_kind, Settings, Signal, SignalKind};
use anyhow::anyhow;
use chrono::Datelike;

use super::{connect, registry_for_tools};
use crate::cli::DatabaseArgs;

pub async fn run(
    database: &DatabaseArgs,
    year: Option<i32>,
    kind: Option<String>,
) -> anyhow::Result<ExitCode> {
    let registry = registry_for_tools(&connect(database).await?);
    let year = year.unwrap_or_else(|| chrono::Utc::now().year() - 1);
    let input = registry.analysis_input(year, Settings::default()).await?;
    let signals = match kind {
        Some(name) => signals_of_kind(
            &input,
            SignalKind::parse(&name).ok_or_else(|| anyhow!("unknown kind {name}"))?,
        ),
        None => all_signals(&input),
    };
    println!(
        "Signaler for {year}: {} ({} vedtak i året)\n",
        signals.len(),
        input.tallies.decisions.iter().map(|c| c.cases).sum::<u64>()
    );
    println!(
        "{:<26} {:<30} {:<11} {:<5} {:>9} {:>9}",
        "kind", "unit", "method", "icd10", "effect", "q"
    );
    for signal in &signals {
        print_row(signal);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_row(signal: &Signal) {
    let unit = signal
        .unit_name
        .clone()
        .or_else(|| signal.unit.clone())
        .unwrap_or_default();
    let q = signal
        .q_value
        .map_or("-".to_string(), |q| format!("{q:.4}"));
    let effect = signal
        .effect_size
        .map_or("-".to_string(), |e| format!("{e:.3}"));
    println!(
        "{:<26} {:<30} {:<11} {:<5} {:>9} {:>9}",
        signal.kind.as_str(),
        truncate(&unit, 30),
        signal.method_id.as_deref().unwrap_or("-"),
        signal.indication.as_deref().unwrap_or("-"),
        effect,
        q
    );
    println!("    {}", signal.message);
}

fn truncate(text: &str, width: usize) -> String {
    text.chars().take(width).collect()
}
