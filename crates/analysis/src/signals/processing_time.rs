//! Processing-time variation: per scheme, each deciding region against the others (a
//! two-group log-rank test, pending cases censored), stepping down so that a region found
//! to differ leaves the reference of the rest; and regions whose median wait is, with 95 %
//! confidence, over the configured number of days.
//!
//! The direction comes from the test itself: a region that decided fewer cases than
//! expected had it waited like the others has longer waits, whether or not its median is
//! reached. Pending cases are censored at the data's as-of day (`Tallies::as_of`, the last
//! day any case knows of); the processing-time statistics use the same day.

use std::collections::{BTreeMap, BTreeSet};

use super::{nb, nb_p, scheme_name, AnalysisInput, Signal, SignalKind, Tested, Wait};
use crate::survival::{log_rank_test, KaplanMeier, Observation};

/// Regions with fewer cases than this are left out of a scheme's comparison.
const MIN_CASES: usize = 5;
/// The median limit is judged only for regions with at least this many cases that say
/// something about it: decided, or still pending past the limit.
const MIN_INFORMATIVE_FOR_LIMIT: u64 = 20;

type Regions = Vec<(String, Vec<Observation>)>;

fn cases(observations: &[Observation]) -> usize {
    observations.iter().map(|o| o.count as usize).sum()
}

/// Cases decided, or pending longer than `limit` days: those that tell whether the
/// median is over the limit.
fn informative(observations: &[Observation], limit: f64) -> u64 {
    observations
        .iter()
        .filter(|o| o.event_observed || o.time_days >= limit)
        .map(|o| o.count)
        .sum()
}

/// The waits of each scheme's regions, pending cases censored at the as-of day.
fn regions_by_scheme(input: &AnalysisInput) -> BTreeMap<String, Regions> {
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
        .map(|(scheme, regions)| {
            let regions: Regions = regions
                .into_iter()
                .filter(|(_, o)| cases(o) >= MIN_CASES)
                .collect();
            (scheme, regions)
        })
        .filter(|(_, regions)| regions.len() >= 2)
        .collect()
}

/// One region against the reference regions pooled.
struct RegionTest {
    scheme: String,
    region: String,
    cases: usize,
    /// Decisions observed in the region, and expected had it waited like the reference.
    observed: f64,
    expected: f64,
    p_value: f64,
    median: Option<f64>,
    reference_median: Option<f64>,
}

fn pooled<'r>(regions: impl Iterator<Item = &'r (String, Vec<Observation>)>) -> Vec<Observation> {
    regions.flat_map(|(_, o)| o.iter().copied()).collect()
}

fn against_reference(
    scheme: &str,
    regions: &Regions,
    index: usize,
    left_out: &BTreeSet<usize>,
) -> Option<RegionTest> {
    let own = &regions[index].1;
    let reference = pooled(
        regions
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != index && !left_out.contains(i))
            .map(|(_, region)| region),
    );
    if reference.is_empty() {
        return None;
    }
    let test = log_rank_test(&[own.clone(), reference.clone()])?;
    Some(RegionTest {
        scheme: scheme.to_string(),
        region: regions[index].0.clone(),
        cases: cases(own),
        observed: test.observed[0],
        expected: test.expected[0],
        p_value: test.p_value,
        median: KaplanMeier::fit(own).median().estimate,
        reference_median: KaplanMeier::fit(&reference).median().estimate,
    })
}

/// Step-down comparison of a scheme's regions: the region most unlike the rest (by Holm's
/// threshold at the false-discovery rate) is set aside from the reference, and the others
/// are compared again without it, until no region stands out. So one slow region does not
/// make every other region look fast.
fn step_down(scheme: &str, regions: &Regions, alpha: f64) -> Vec<RegionTest> {
    let mut left_out: BTreeSet<usize> = BTreeSet::new();
    let mut found: Vec<RegionTest> = Vec::new();
    loop {
        let remaining: Vec<RegionTest> = (0..regions.len())
            .filter(|i| !left_out.contains(i))
            .filter_map(|i| against_reference(scheme, regions, i, &left_out))
            .collect();
        let candidates = remaining.len();
        let most_unlike = remaining
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.p_value.total_cmp(&b.1.p_value))
            .map(|(position, test)| (position, test.p_value));
        match most_unlike {
            Some((position, p)) if candidates > 1 && p < alpha / candidates as f64 => {
                let mut remaining = remaining;
                let outlier = remaining.swap_remove(position);
                let index = regions
                    .iter()
                    .position(|(region, _)| *region == outlier.region)
                    .expect("a compared region");
                left_out.insert(index);
                found.push(outlier);
            }
            _ => {
                found.extend(remaining);
                return found;
            }
        }
    }
}

pub(super) fn tests(input: &AnalysisInput) -> Vec<Tested<'_>> {
    let alpha = input.settings.false_discovery_rate;
    regions_by_scheme(input)
        .iter()
        .flat_map(|(scheme, regions)| step_down(scheme, regions, alpha))
        .map(|test| {
            Tested::new(
                SignalKind::ProcessingTimeVariation,
                test.p_value,
                true,
                move |q| variation_signal(input, &test, q),
            )
        })
        .collect()
}

/// A median for a sentence: days, or "not reached" with the longest wait seen.
fn median_text(median: Option<f64>) -> String {
    median.map_or("ikke nådd".to_string(), |m| format!("{} dager", nb(m, 0)))
}

fn variation_signal(input: &AnalysisInput, test: &RegionTest, q: f64) -> Signal {
    let longer = test.observed < test.expected;
    Signal {
        kind: SignalKind::ProcessingTimeVariation,
        unit_type: "region".into(),
        unit: Some(test.region.clone()),
        unit_name: Some(input.name_of(&test.region)),
        scheme: Some(test.scheme.clone()),
        method_id: None,
        indication: None,
        effect_measure: "decided_over_expected".into(),
        effect_size: Some(test.observed / test.expected),
        counts: BTreeMap::from([
            ("cases".into(), test.cases as f64),
            ("observed_decisions".into(), test.observed),
            ("expected_decisions".into(), test.expected),
            ("median_days".into(), test.median.unwrap_or(f64::NAN)),
            (
                "reference_median_days".into(),
                test.reference_median.unwrap_or(f64::NAN),
            ),
        ]),
        p_value: Some(test.p_value),
        q_value: Some(q),
        group: format!("processing_time/{}/{}", test.scheme, test.region),
        message: format!(
            "Saksbehandlingstiden for {} i {} er {} i {} enn i de andre regionene: {} av {} saker ble avgjort, \
             mot {} forventet om ventetiden var som ellers (log-rank, q {}). Median {} mot {}.",
            scheme_name(&test.scheme),
            input.year,
            if longer { "lengre" } else { "kortere" },
            input.name_of(&test.region),
            nb(test.observed, 0),
            test.cases,
            nb(test.expected, 1),
            nb_p(q),
            median_text(test.median),
            median_text(test.reference_median),
        ),
    }
}

/// Whether at least half the region's cases wait past `limit` days, with 95 %
/// confidence: the lower limit of the survival curve at `limit` is above one half. A
/// median not reached counts as longer than any limit the cases were followed past.
fn surely_over(observations: &[Observation], limit: f64) -> bool {
    let followed_past = observations.iter().any(|o| o.time_days >= limit);
    let curve = KaplanMeier::fit(observations);
    let lower_at_limit = curve
        .steps()
        .iter()
        .take_while(|step| step.time <= limit)
        .last()
        .map_or(1.0, |step| step.lower.unwrap_or(step.survival));
    followed_past && lower_at_limit > 0.5
}

/// Regions whose median wait is over the limit with 95 % confidence, among those with
/// enough decided cases to say so: a rule, not a test.
pub(super) fn slow_regions(input: &AnalysisInput) -> Vec<Signal> {
    let limit = input.settings.max_median_processing_days;
    let mut signals = Vec::new();
    for (scheme, regions) in regions_by_scheme(input) {
        for (region, observations) in &regions {
            if informative(observations, limit) < MIN_INFORMATIVE_FOR_LIMIT
                || !surely_over(observations, limit)
            {
                continue;
            }
            let median = KaplanMeier::fit(observations).median();
            signals.push(slow_region_signal(
                input,
                &scheme,
                region,
                (median.estimate, median.lower),
                cases(observations),
            ));
        }
    }
    signals
}

fn slow_region_signal(
    input: &AnalysisInput,
    scheme: &str,
    region: &str,
    (median, lower): (Option<f64>, Option<f64>),
    n: usize,
) -> Signal {
    let limit = input.settings.max_median_processing_days;
    Signal {
        kind: SignalKind::ProcessingTimeVariation,
        unit_type: "region".into(),
        unit: Some(region.to_string()),
        unit_name: Some(input.name_of(region)),
        scheme: Some(scheme.to_string()),
        method_id: None,
        indication: None,
        effect_measure: "median_days".into(),
        effect_size: median,
        counts: BTreeMap::from([
            ("cases".into(), n as f64),
            ("limit_days".into(), limit),
            ("median_days_lower_95".into(), lower.unwrap_or(f64::NAN)),
        ]),
        p_value: None,
        q_value: None,
        group: format!("processing_time/{scheme}/{region}"),
        message: format!(
            "Median saksbehandlingstid for {} i {} var {} i {}, over grensen på {} dager \
             også med 95 % sikkerhet ({n} saker).",
            scheme_name(scheme),
            input.name_of(region),
            median_text(median),
            input.year,
            nb(limit, 0),
        ),
    }
}
