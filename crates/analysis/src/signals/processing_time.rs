//! Processing-time variation: a log-rank test across deciding regions per scheme, with
//! pending cases censored; and regions whose median exceeds the configured number of days.

use std::collections::BTreeMap;

use super::{nb, nb_p, with_q_values, AnalysisInput, Signal, SignalKind};
use crate::survival::{log_rank_test, KaplanMeier, Observation};

/// Regions with fewer cases than this are left out of a scheme's comparison.
const MIN_CASES: usize = 5;

struct SchemeComparison {
    scheme: String,
    regions: Vec<(String, Vec<Observation>)>,
    p_value: f64,
}

fn comparisons(input: &AnalysisInput) -> Vec<SchemeComparison> {
    let as_of = input.as_of();
    let mut by_scheme: BTreeMap<String, BTreeMap<String, Vec<Observation>>> = BTreeMap::new();
    for case in input.received_in_year() {
        let Some(region) = &case.deciding_region else {
            continue;
        };
        let observation = match case.decided {
            Some(decided) => Observation::event((decided.days - case.received.days) as f64),
            None => Observation::censored((as_of - case.received.days).max(0) as f64),
        };
        by_scheme
            .entry(case.scheme.clone())
            .or_default()
            .entry(region.clone())
            .or_default()
            .push(observation);
    }
    by_scheme
        .into_iter()
        .filter_map(|(scheme, regions)| {
            let regions: Vec<(String, Vec<Observation>)> = regions
                .into_iter()
                .filter(|(_, o)| o.len() >= MIN_CASES)
                .collect();
            if regions.len() < 2 {
                return None;
            }
            let groups: Vec<&Vec<Observation>> = regions.iter().map(|(_, o)| o).collect();
            let test = log_rank_test(&groups)?;
            Some(SchemeComparison {
                scheme,
                regions,
                p_value: test.p_value,
            })
        })
        .collect()
}

pub(super) fn units_tested(input: &AnalysisInput) -> usize {
    comparisons(input).len()
}

pub(super) fn signals(input: &AnalysisInput) -> Vec<Signal> {
    let comparisons = comparisons(input);
    let q_values = with_q_values(&comparisons.iter().map(|c| c.p_value).collect::<Vec<_>>());
    let mut signals = Vec::new();
    for (comparison, q) in comparisons.iter().zip(q_values) {
        let medians: Vec<(String, Option<f64>, usize)> = comparison
            .regions
            .iter()
            .map(|(region, observations)| {
                (
                    region.clone(),
                    KaplanMeier::fit(observations).median().estimate,
                    observations.len(),
                )
            })
            .collect();
        if q < input.settings.false_discovery_rate {
            signals.push(variation_signal(input, comparison, &medians, q));
        }
        for (region, median, n) in &medians {
            if median.is_some_and(|m| m > input.settings.max_median_processing_days) {
                signals.push(slow_region_signal(
                    input,
                    &comparison.scheme,
                    region,
                    median.expect("checked"),
                    *n,
                ));
            }
        }
    }
    signals
}

fn variation_signal(
    input: &AnalysisInput,
    comparison: &SchemeComparison,
    medians: &[(String, Option<f64>, usize)],
    q: f64,
) -> Signal {
    let slowest = medians
        .iter()
        .max_by(|a, b| {
            a.1.unwrap_or(f64::INFINITY)
                .total_cmp(&b.1.unwrap_or(f64::INFINITY))
        })
        .expect("two regions");
    let fastest = medians
        .iter()
        .min_by(|a, b| {
            a.1.unwrap_or(f64::INFINITY)
                .total_cmp(&b.1.unwrap_or(f64::INFINITY))
        })
        .expect("two regions");
    let days = |m: Option<f64>| {
        m.map_or("over observasjonstiden".to_string(), |m| {
            format!("{} dager", nb(m, 0))
        })
    };
    Signal {
        kind: SignalKind::ProcessingTimeVariation,
        unit_type: "region".into(),
        unit: Some(slowest.0.clone()),
        unit_name: Some(input.name_of(&slowest.0)),
        scheme: Some(comparison.scheme.clone()),
        method_id: None,
        indication: None,
        effect_measure: "median_days_range".into(),
        effect_size: slowest.1.zip(fastest.1).map(|(s, f)| s - f),
        counts: medians
            .iter()
            .map(|(region, median, _)| {
                (format!("{region}.median_days"), median.unwrap_or(f64::NAN))
            })
            .collect(),
        p_value: Some(comparison.p_value),
        q_value: Some(q),
        message: format!(
            "Saksbehandlingstiden for {} i {} varierer mellom regionene (log-rank, q {}). \
             Median {} i {} mot {} i {}.",
            comparison.scheme,
            input.year,
            nb_p(q),
            days(slowest.1),
            input.name_of(&slowest.0),
            days(fastest.1),
            input.name_of(&fastest.0),
        ),
    }
}

fn slow_region_signal(
    input: &AnalysisInput,
    scheme: &str,
    region: &str,
    median: f64,
    n: usize,
) -> Signal {
    Signal {
        kind: SignalKind::ProcessingTimeVariation,
        unit_type: "region".into(),
        unit: Some(region.to_string()),
        unit_name: Some(input.name_of(region)),
        scheme: Some(scheme.to_string()),
        method_id: None,
        indication: None,
        effect_measure: "median_days".into(),
        effect_size: Some(median),
        counts: BTreeMap::from([("cases".into(), n as f64), ("limit_days".into(), input.settings.max_median_processing_days)]),
        p_value: None,
        q_value: None,
        message: format!(
            "Median saksbehandlingstid for {scheme} i {} var {} dager i {}, over grensen på {} dager ({n} saker).",
            input.name_of(region),
            nb(median, 0),
            input.year,
            nb(input.settings.max_median_processing_days, 0),
        ),
    }
}
