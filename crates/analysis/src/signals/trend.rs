//! Unintended developments: a method, scheme or applying trust whose application volume in a
//! quarter of the year departs from its own eight earlier quarters more than chance allows;
//! and refusal reasons whose share of refusals changed from the earlier years (Fisher's
//! exact test).
//!
//! The baseline is estimated, not known: given the quarter's count O and the baseline's B,
//! O is binomial on O + B trials with probability 1/9 when the rate held (the conditional
//! test of two Poisson rates), so the baseline's own noise counts. A method whose status
//! changed in the baseline or the quarter (it entered or left assessment) is not tested:
//! its volume changed for a known reason.

use std::collections::BTreeMap;

use super::grant_rate::exact_binomial_p;
use super::{nb, nb_p, AnalysisInput, Signal, SignalKind, Tested};
use crate::calendar::{date_of, quarter_index, quarter_of};
use crate::exact::fisher_exact_2x2;

/// Earlier quarters a quarter is compared with.
const BASELINE_QUARTERS: i32 = 8;
/// A unit needs this many applications over its baseline to be tested.
const MIN_BASELINE: u64 = 8;

struct VolumeTest {
    unit_type: String,
    unit: String,
    quarter: u8,
    observed: u64,
    expected: f64,
    p_value: f64,
}

fn volume_tests(input: &AnalysisInput) -> Vec<VolumeTest> {
    let mut counts: BTreeMap<(&str, &str), BTreeMap<i32, u64>> = BTreeMap::new();
    for cell in &input.tallies.volumes {
        *counts
            .entry((&cell.unit_type, &cell.unit))
            .or_default()
            .entry(cell.quarter_index)
            .or_insert(0) += cell.cases;
    }
    let mut tests = Vec::new();
    for ((unit_type, unit), by_quarter) in counts {
        for quarter in 1..=4u8 {
            let index = quarter_index(input.year, quarter);
            if unit_type == "method" && status_changed(input, unit, index) {
                continue;
            }
            let baseline: u64 = (index - BASELINE_QUARTERS..index)
                .map(|q| by_quarter.get(&q).copied().unwrap_or(0))
                .sum();
            if baseline < MIN_BASELINE {
                continue;
            }
            let expected = baseline as f64 / f64::from(BASELINE_QUARTERS);
            let observed = by_quarter.get(&index).copied().unwrap_or(0);
            tests.push(VolumeTest {
                unit_type: unit_type.to_string(),
                unit: unit.to_string(),
                quarter,
                observed,
                expected,
                p_value: exact_binomial_p(
                    observed,
                    observed + baseline,
                    1.0 / f64::from(BASELINE_QUARTERS + 1),
                ),
            });
        }
    }
    tests
}

/// Whether the method entered or left assessment in the baseline before the quarter at
/// `index`, or in the quarter itself.
fn status_changed(input: &AnalysisInput, method: &str, index: i32) -> bool {
    let quarter_of_day = |day: i64| {
        let date = date_of(day);
        quarter_index(chrono::Datelike::year(&date), quarter_of(date))
    };
    input
        .tallies
        .assessment_changes
        .get(method)
        .is_some_and(|days| {
            days.iter()
                .map(|&day| quarter_of_day(day))
                .any(|q| (index - BASELINE_QUARTERS..=index).contains(&q))
        })
}

struct ReasonTest {
    reason: String,
    this_year: (u64, u64),
    earlier: (u64, u64),
    p_value: f64,
}

/// Refusals citing each reason this year against the earlier years.
fn reason_tests(input: &AnalysisInput) -> Vec<ReasonTest> {
    let reasons = &input.tallies.refusal_reasons;
    let (this_year, earlier) = (reasons.refusals_this_year, reasons.refusals_earlier);
    if this_year < 10 || earlier < 10 {
        return Vec::new();
    }
    reasons
        .citing
        .iter()
        .map(|(reason, &(citing_now, citing_before))| {
            let now = (citing_now, this_year);
            let before = (citing_before, earlier);
            let p_value =
                fisher_exact_2x2([[now.0, now.1 - now.0], [before.0, before.1 - before.0]]);
            ReasonTest {
                reason: reason.clone(),
                this_year: now,
                earlier: before,
                p_value,
            }
        })
        .collect()
}

pub(super) fn tests(input: &AnalysisInput) -> Vec<Tested<'_>> {
    let mut tested: Vec<Tested<'_>> = volume_tests(input)
        .into_iter()
        .map(|test| {
            Tested::new(SignalKind::Trend, test.p_value, true, move |q| {
                volume_signal(input, &test, q)
            })
        })
        .collect();
    tested.extend(reason_tests(input).into_iter().map(|test| {
        Tested::new(SignalKind::Trend, test.p_value, true, move |q| {
            reason_signal(input, &test, q)
        })
    }));
    tested
}

fn volume_signal(input: &AnalysisInput, test: &VolumeTest, q: f64) -> Signal {
    let name = match test.unit_type.as_str() {
        "organisation" => input.name_of(&test.unit),
        _ => test.unit.clone(),
    };
    let direction = if test.observed as f64 > test.expected {
        "flere"
    } else {
        "færre"
    };
    Signal {
        kind: SignalKind::Trend,
        unit_type: test.unit_type.to_string(),
        unit: Some(test.unit.clone()),
        unit_name: Some(name.clone()),
        scheme: (test.unit_type == "scheme").then(|| test.unit.clone()),
        method_id: (test.unit_type == "method").then(|| test.unit.clone()),
        indication: None,
        effect_measure: "observed_over_expected".into(),
        effect_size: Some(test.observed as f64 / test.expected),
        counts: BTreeMap::from([("observed".into(), test.observed as f64), ("expected".into(), test.expected), ("quarter".into(), f64::from(test.quarter))]),
        p_value: Some(test.p_value),
        q_value: Some(q),
        group: format!("trend/{}/{}", test.unit_type, test.unit),
        message: format!(
            "{name}: {} søknader i {}. kvartal {}, {direction} enn snittet på {} per kvartal de to foregående årene (q {}).",
            test.observed,
            test.quarter,
            input.year,
            nb(test.expected, 1),
            nb_p(q),
        ),
    }
}

fn reason_signal(input: &AnalysisInput, test: &ReasonTest, q: f64) -> Signal {
    let share = |(citing, all): (u64, u64)| citing as f64 / all as f64;
    Signal {
        kind: SignalKind::Trend,
        unit_type: "refusal_reason".into(),
        unit: Some(test.reason.clone()),
        unit_name: Some(test.reason.clone()),
        scheme: None,
        method_id: None,
        indication: None,
        effect_measure: "share_difference".into(),
        effect_size: Some(share(test.this_year) - share(test.earlier)),
        counts: BTreeMap::from([
            ("citing_this_year".into(), test.this_year.0 as f64),
            ("refusals_this_year".into(), test.this_year.1 as f64),
            ("citing_earlier".into(), test.earlier.0 as f64),
            ("refusals_earlier".into(), test.earlier.1 as f64),
        ]),
        p_value: Some(test.p_value),
        q_value: Some(q),
        group: format!("trend/refusal_reason/{}", test.reason),
        message: format!(
            "Avslagsgrunnen «{}» ble brukt i {} % av avslagene i {}, mot {} % tidligere år (eksakt test, q {}).",
            test.reason,
            nb(share(test.this_year) * 100.0, 0),
            input.year,
            nb(share(test.earlier) * 100.0, 0),
            nb_p(q),
        ),
    }
}
