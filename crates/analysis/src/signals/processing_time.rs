//! Processing-time variation: a log-rank test across deciding regions per scheme, with
//! pending cases censored; and regions whose median exceeds the configured number of days.

use std::collections::BTreeMap;

use super::{nb, nb_p, with_q_values, AnalysisInput, Signal, SignalKind, Wait};
use crate::survival::{log_rank_test, KaplanMeier, Observation};

/// Regions with fewer cases than this are left out of a scheme's comparison.
const MIN_CASES: usize = 5;

struct SchemeComparison {
    scheme: String,
    regions: Vec<(String, Vec<Observation>)>,
    /// The log-rank test across all regions.
    p_value: f64,
    /// Each region against the others pooled (two-group log-rank): more power when one
    /// region stands out, which is the pattern that matters.
    against_rest: Vec<f64>,
}

fn cases(observations: &[Observation]) -> usize {
    observations.iter().map(|o| o.count as usize).sum()
}

fn region_against_rest(regions: &[(String, Vec<Observation>)], region: &str) -> f64 {
    let (own, rest): (Vec<_>, Vec<_>) = regions.iter().partition(|(r, _)| r == region);
    let own: Vec<Observation> = own
        .into_iter()
        .flat_map(|(_, o)| o.iter().copied())
        .collect();
    let rest: Vec<Observation> = rest
        .into_iter()
        .flat_map(|(_, o)| o.iter().copied())
        .collect();
    log_rank_test(&[own, rest]).map_or(1.0, |t| t.p_value)
}

fn comparisons(input: &AnalysisInput) -> Vec<SchemeComparison> {
    let as_of = input.tallies.as_of;
    let mut by_scheme: BTreeMap<String, BTreeMap<String, Vec<Observation>>> = BTreeMap::new();
    for cell in &input.tallies.waits {
        let observation = match cell.wait {
            Wait::Decided { days } => Observation::event(days as f64),
            Wait::Pending { since } => Observation::censored((as_of - since).max(0) as f64),
        };
        by_scheme
            .entry(cell.scheme.clone())
            .or_default()
            .entry(cell.deciding_region.clone())
            .or_default()
            .push(observation.times(cell.cases));
    }
    by_scheme
        .into_iter()
        .filter_map(|(scheme, regions)| {
            let regions: Vec<(String, Vec<Observation>)> = regions
                .into_iter()
                .filter(|(_, o)| cases(o) >= MIN_CASES)
                .collect();
            if regions.len() < 2 {
                return None;
            }
            let groups: Vec<&Vec<Observation>> = regions.iter().map(|(_, o)| o).collect();
            let test = log_rank_test(&groups)?;
            let against_rest = regions
                .iter()
                .map(|(region, _)| region_against_rest(&regions, region))
                .collect();
            Some(SchemeComparison {
                scheme,
                regions,
                p_value: test.p_value,
                against_rest,
            })
        })
        .collect()
}

/// The regions compared: each is a unit a signal could name.
pub(super) fn units_tested(input: &AnalysisInput) -> usize {
    comparisons(input).iter().map(|c| c.regions.len()).sum()
}

pub(super) fn signals(input: &AnalysisInput) -> Vec<Signal> {
    let comparisons = comparisons(input);
    let p_values: Vec<f64> = comparisons
        .iter()
        .flat_map(|c| c.against_rest.iter().copied())
        .collect();
    let mut q_values = with_q_values(&p_values).into_iter();
    let mut signals = Vec::new();
    for comparison in &comparisons {
        let medians: Vec<(String, Option<f64>, usize)> = comparison
            .regions
            .iter()
            .map(|(region, observations)| {
                (
                    region.clone(),
                    KaplanMeier::fit(observations).median().estimate,
                    cases(observations),
                )
            })
            .collect();
        for (index, p) in comparison.against_rest.iter().enumerate() {
            let q = q_values.next().expect("one q-value per test");
            if q < input.settings.false_discovery_rate {
                signals.push(variation_signal(input, comparison, &medians, index, *p, q));
            }
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
    index: usize,
    p: f64,
    q: f64,
) -> Signal {
    let (region, median, n) = &medians[index];
    let others: Vec<f64> = medians
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != index)
        .filter_map(|(_, m)| m.1)
        .collect();
    let others_median = (!others.is_empty()).then(|| {
        let mut sorted = others.clone();
        sorted.sort_by(f64::total_cmp);
        sorted[sorted.len() / 2]
    });
    let days = |m: Option<f64>| {
        m.map_or("over observasjonstiden".to_string(), |m| {
            format!("{} dager", nb(m, 0))
        })
    };
    let longer = median.zip(others_median).is_some_and(|(m, o)| m > o);
    Signal {
        kind: SignalKind::ProcessingTimeVariation,
        unit_type: "region".into(),
        unit: Some(region.clone()),
        unit_name: Some(input.name_of(region)),
        scheme: Some(comparison.scheme.clone()),
        method_id: None,
        indication: None,
        effect_measure: "median_days_difference".into(),
        effect_size: median.zip(others_median).map(|(m, o)| m - o),
        counts: BTreeMap::from([
            ("cases".into(), *n as f64),
            ("median_days".into(), median.unwrap_or(f64::NAN)),
            ("p_all_regions".into(), comparison.p_value),
        ]),
        p_value: Some(p),
        q_value: Some(q),
        message: format!(
            "Saksbehandlingstiden for {} i {} er {} i {} enn i de andre regionene (log-rank mot resten, q {}): \
             median {} mot {} ({n} saker).",
            comparison.scheme,
            input.year,
            if longer { "lengre" } else { "kortere" },
            input.name_of(region),
            nb_p(q),
            days(*median),
            days(others_median),
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
