//! Planted patterns: over 20 seeds, every effect planted at its documented size is
//! signalled in at least 95 % of runs; with nothing planted, at most 5 % of the units
//! tested are signalled. The figures are printed (`cargo test -- --nocapture`) and kept in
//! docs/analysis.md.

use std::collections::BTreeMap;

use analysis::signals::{all_signals, units_tested, AnalysisInput, SignalKind};
use chrono::NaiveDate;
use synthetic::{generate, Generated, Scenario};

const SEEDS: u64 = 20;
const YEAR: i32 = 2025;

/// The analysis input the read models would give for the generated registry.
fn input(generated: &Generated) -> AnalysisInput {
    synthetic::analysis_input(generated, YEAR)
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(YEAR + 1, 3, 1).unwrap()
}

#[test]
fn planted_effects_are_signalled_in_at_least_95_percent_of_seeds() {
    let mut found: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for seed in 0..SEEDS {
        let scenario = Scenario::with_default_effects(YEAR - 2..=YEAR, seed, 1.0);
        let generated = generate(&scenario, today());
        let signals = all_signals(&input(&generated));
        for effect in &generated.ground_truth {
            let entry = found.entry(effect.kind()).or_insert((0, 0));
            entry.1 += 1;
            entry.0 += u64::from(signals.iter().any(|s| effect.is_reported_by(s)));
        }
    }
    for (effect, (hits, runs)) in &found {
        println!("planted {effect}: signalled in {hits} of {runs} runs");
    }
    assert_eq!(
        found.len(),
        5,
        "every kind of effect was planted: {found:?}"
    );
    for (effect, (hits, runs)) in found {
        assert!(
            hits * 100 >= runs * 95,
            "{effect}: signalled in only {hits} of {runs} runs"
        );
    }
}

#[test]
fn with_nothing_planted_at_most_5_percent_of_tested_units_are_signalled() {
    let tested_kinds = [
        SignalKind::GrantRateVariation,
        SignalKind::ApplicationRateVariation,
        SignalKind::ProcessingTimeVariation,
        SignalKind::UnequalTreatment,
        SignalKind::Trend,
    ];
    let mut totals: BTreeMap<SignalKind, (usize, usize)> = BTreeMap::new();
    for seed in 0..SEEDS {
        let generated = generate(
            &Scenario::realistic(YEAR - 2..=YEAR, 1000 + seed, 1.0),
            today(),
        );
        let input = input(&generated);
        let signals = all_signals(&input);
        for kind in tested_kinds {
            let entry = totals.entry(kind).or_insert((0, 0));
            entry.0 += signals
                .iter()
                .filter(|s| s.kind == kind && s.p_value.is_some())
                .count();
            entry.1 += units_tested(&input, kind);
        }
    }
    for (kind, (signalled, tested)) in &totals {
        println!(
            "nothing planted, {}: {signalled} signals over {tested} units tested",
            kind.as_str()
        );
    }
    for (kind, (signalled, tested)) in totals {
        assert!(tested > 0, "{}: something was tested", kind.as_str());
        assert!(
            signalled * 100 <= tested * 5,
            "{}: {signalled} of {tested} units signalled",
            kind.as_str()
        );
    }
}
