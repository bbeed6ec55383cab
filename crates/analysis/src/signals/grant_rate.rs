//! Grant-rate variation: funnel plots of each trust's (and region's) grant rate against
//! the national rate, with exact binomial limits widened for overdispersion, per scheme
//! and per method; and a test of equal grant rates across regions per method.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{
    add_decisions, grant_rate, lowest_and_highest, nb, nb_p, region_counts, region_tables,
    with_q_values, AnalysisInput, DecisionCell, Signal, SignalKind,
};
use crate::exact::{homogeneity_test, GrantCounts};
use crate::overdispersion::{assess_overdispersion, UnitCounts};
use crate::proportion::{binomial_funnel_limits, Interval, FUNNEL_INNER, FUNNEL_OUTER};

/// Units with fewer decisions than this are plotted but never tested.
const MIN_DECISIONS: u64 = 5;
/// A funnel needs this many units to say anything about variation between them.
const MIN_UNITS: usize = 3;
/// Overdispersion is estimated only from this many units or more.
const MIN_UNITS_FOR_OVERDISPERSION: usize = 5;

/// One unit on a funnel plot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunnelPoint {
    pub unit: String,
    pub unit_name: String,
    pub decided: u64,
    pub granted: u64,
    pub grant_rate: f64,
    pub target: f64,
    pub limits_95: Interval,
    pub limits_998: Interval,
    /// Whether the limits were widened for overdispersion.
    pub overdispersion_adjusted: bool,
    /// Two-sided p-value of the unit's rate against the target, after adjustment.
    pub p_value: f64,
    pub outside_998: bool,
}

/// Funnel data for the decisions given, one point per unit `unit_of` names.
pub fn funnel<'a>(
    input: &AnalysisInput,
    cells: impl Iterator<Item = &'a DecisionCell>,
    unit_of: impl Fn(&DecisionCell) -> Option<String>,
) -> Vec<FunnelPoint> {
    let mut counts: BTreeMap<String, UnitCounts> = BTreeMap::new();
    for cell in cells {
        let Some(unit) = unit_of(cell) else {
            continue;
        };
        let entry = counts.entry(unit).or_insert(UnitCounts {
            successes: 0,
            trials: 0,
        });
        entry.trials += cell.cases;
        if cell.granted {
            entry.successes += cell.cases;
        }
    }
    let (granted, decided) = counts
        .values()
        .fold((0, 0), |(g, d), u| (g + u.successes, d + u.trials));
    if decided == 0 {
        return Vec::new();
    }
    let target = granted as f64 / decided as f64;
    let units: Vec<UnitCounts> = counts.values().copied().collect();
    // Everyone granted (or everyone refused): no variation to assess. With few units the
    // overdispersion factor is itself noise, so the limits stay exact.
    let varies = target > 0.0 && target < 1.0 && counts.len() >= MIN_UNITS_FOR_OVERDISPERSION;
    let overdispersion = varies
        .then(|| assess_overdispersion(&units, target))
        .flatten()
        .filter(|o| o.detected);
    counts
        .into_iter()
        .map(|(unit, count)| {
            let (limits_95, limits_998) = match &overdispersion {
                Some(o) => (
                    o.multiplicative_limits(count.trials, FUNNEL_INNER),
                    o.multiplicative_limits(count.trials, FUNNEL_OUTER),
                ),
                None => (
                    binomial_funnel_limits(target, count.trials, FUNNEL_INNER),
                    binomial_funnel_limits(target, count.trials, FUNNEL_OUTER),
                ),
            };
            let rate = count.successes as f64 / count.trials as f64;
            let inflation = overdispersion.as_ref().map_or(1.0, |o| o.phi);
            FunnelPoint {
                unit_name: input.name_of(&unit),
                unit,
                decided: count.trials,
                granted: count.successes,
                grant_rate: rate,
                target,
                limits_95,
                limits_998,
                overdispersion_adjusted: overdispersion.is_some(),
                p_value: binomial_p_value(count, target, inflation),
                outside_998: !limits_998.contains(rate),
            }
        })
        .collect()
}

/// Two-sided p-value of a unit's rate against the target, on the normal approximation
/// with the variance inflated by the overdispersion factor. Exact limits decide the
/// flag; this p-value orders and corrects the flags across units.
fn binomial_p_value(count: UnitCounts, target: f64, inflation: f64) -> f64 {
    use statrs::distribution::{ContinuousCDF, Normal};
    let variance = inflation * target * (1.0 - target) / count.trials as f64;
    if variance <= 0.0 {
        return 1.0;
    }
    let z = (count.successes as f64 / count.trials as f64 - target) / variance.sqrt();
    let normal = Normal::new(0.0, 1.0).expect("standard normal");
    2.0 * (1.0 - normal.cdf(z.abs()))
}

/// A funnel to test: its cases' description, and its units.
struct Test {
    scheme: String,
    method_id: Option<String>,
    unit_type: &'static str,
    point: FunnelPoint,
}

fn tests(input: &AnalysisInput) -> Vec<Test> {
    let mut tests = Vec::new();
    let decisions = &input.tallies.decisions;
    let schemes: Vec<String> = unique(decisions.iter().map(|c| c.scheme.clone()));
    for scheme in &schemes {
        let of_scheme = || decisions.iter().filter(move |c| &c.scheme == scheme);
        add(
            &mut tests,
            scheme,
            None,
            "organisation",
            funnel(input, of_scheme(), |c| Some(c.deciding_org.clone())),
        );
        add(
            &mut tests,
            scheme,
            None,
            "region",
            funnel(input, of_scheme(), |c| c.deciding_region.clone()),
        );
    }
    tests
}

fn add(
    tests: &mut Vec<Test>,
    scheme: &str,
    method: Option<&str>,
    unit_type: &'static str,
    points: Vec<FunnelPoint>,
) {
    let testable: Vec<FunnelPoint> = points
        .into_iter()
        .filter(|p| p.decided >= MIN_DECISIONS)
        .collect();
    if testable.len() < MIN_UNITS {
        return;
    }
    for point in testable {
        tests.push(Test {
            scheme: scheme.to_string(),
            method_id: method.map(str::to_string),
            unit_type,
            point,
        });
    }
}

fn unique(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut items: Vec<String> = items.collect();
    items.sort();
    items.dedup();
    items
}

pub(super) fn units_tested(input: &AnalysisInput) -> usize {
    tests(input).len() + method_trust_tests(input).len() + heterogeneity_tests(input).len()
}

pub(super) fn signals(input: &AnalysisInput) -> Vec<Signal> {
    let funnel_tests = tests(input);
    let trust_tests = method_trust_tests(input);
    // One false-discovery family: every trust and region tested in the year.
    let p_values: Vec<f64> = funnel_tests
        .iter()
        .map(|t| t.point.p_value)
        .chain(trust_tests.iter().map(|t| t.p_value))
        .collect();
    let q_values = with_q_values(&p_values);
    let (funnel_q, trust_q) = q_values.split_at(funnel_tests.len());
    let fdr = input.settings.false_discovery_rate;
    let mut signals: Vec<Signal> = funnel_tests
        .iter()
        .zip(funnel_q)
        .filter(|(t, q)| t.point.outside_998 && **q < fdr)
        .map(|(test, q)| funnel_signal(input, test, *q))
        .collect();
    signals.extend(method_trust_signals(input, &trust_tests, trust_q));
    signals.extend(heterogeneity_signals(input));
    signals
}

/// One trust's decisions on one method against what the rest of the country grants for
/// that method (an exact binomial test: few trusts decide enough of one method for a funnel
/// of their own). The rest of the country often decides only a dozen such cases, so its
/// rate is shrunk towards the scheme's national rate, as if the scheme's rate had been seen
/// in `PRIOR_DECISIONS` more decisions: a method refused everywhere, with enough decisions
/// to show it, is not one trust's doing.
struct MethodTrustTest {
    scheme: String,
    method_id: String,
    org: String,
    own: GrantCounts,
    rest: GrantCounts,
    national: f64,
    reference: f64,
    p_value: f64,
}

/// The weight, in decisions, of the scheme's national rate in a method's reference rate.
const PRIOR_DECISIONS: f64 = 20.0;

fn reference_rate(rest: &GrantCounts, national: f64) -> f64 {
    let decided = (rest.granted + rest.refused) as f64;
    (rest.granted as f64 + PRIOR_DECISIONS * national) / (decided + PRIOR_DECISIONS)
}

fn method_trust_tests(input: &AnalysisInput) -> Vec<MethodTrustTest> {
    let mut tables: BTreeMap<(String, String), BTreeMap<String, GrantCounts>> = BTreeMap::new();
    let mut schemes: BTreeMap<String, GrantCounts> = BTreeMap::new();
    for cell in &input.tallies.decisions {
        let own = tables
            .entry((cell.scheme.clone(), cell.method_id.clone()))
            .or_default()
            .entry(cell.deciding_org.clone())
            .or_insert(GrantCounts {
                granted: 0,
                refused: 0,
            });
        add_decisions(own, cell);
        let scheme = schemes.entry(cell.scheme.clone()).or_insert(GrantCounts {
            granted: 0,
            refused: 0,
        });
        add_decisions(scheme, cell);
    }
    let mut tests = Vec::new();
    for ((scheme, method_id), orgs) in tables {
        let national = grant_rate(&schemes[&scheme]);
        let all = orgs.values().fold(
            GrantCounts {
                granted: 0,
                refused: 0,
            },
            |sum, c| GrantCounts {
                granted: sum.granted + c.granted,
                refused: sum.refused + c.refused,
            },
        );
        for (org, own) in &orgs {
            let rest = GrantCounts {
                granted: all.granted - own.granted,
                refused: all.refused - own.refused,
            };
            if own.granted + own.refused < MIN_DECISIONS
                || rest.granted + rest.refused < MIN_DECISIONS
            {
                continue;
            }
            let reference = reference_rate(&rest, national);
            let p_value = exact_binomial_p(own.granted, own.granted + own.refused, reference);
            tests.push(MethodTrustTest {
                scheme: scheme.clone(),
                method_id: method_id.clone(),
                org: org.clone(),
                own: *own,
                rest,
                national,
                reference,
                p_value,
            });
        }
    }
    tests
}

/// Two-sided exact binomial p-value (doubling the smaller tail).
fn exact_binomial_p(successes: u64, trials: u64, p: f64) -> f64 {
    use statrs::distribution::{Binomial, DiscreteCDF};
    if p <= 0.0 || p >= 1.0 {
        return 1.0;
    }
    let binomial = Binomial::new(p, trials).expect("a valid binomial");
    let lower = binomial.cdf(successes);
    let upper = if successes == 0 {
        1.0
    } else {
        1.0 - binomial.cdf(successes - 1)
    };
    (2.0 * lower.min(upper)).min(1.0)
}

fn method_trust_signals(
    input: &AnalysisInput,
    tests: &[MethodTrustTest],
    q_values: &[f64],
) -> Vec<Signal> {
    tests
        .iter()
        .zip(q_values.iter().copied())
        .filter(|(_, q)| *q < input.settings.false_discovery_rate)
        .map(|(test, q)| {
            let (own, rest) = (grant_rate(&test.own), grant_rate(&test.rest));
            Signal {
                kind: SignalKind::GrantRateVariation,
                unit_type: "organisation".into(),
                unit: Some(test.org.clone()),
                unit_name: Some(input.name_of(&test.org)),
                scheme: Some(test.scheme.clone()),
                method_id: Some(test.method_id.clone()),
                indication: None,
                effect_measure: "grant_rate_difference".into(),
                effect_size: Some(own - test.reference),
                counts: BTreeMap::from([
                    ("decided".into(), (test.own.granted + test.own.refused) as f64),
                    ("granted".into(), test.own.granted as f64),
                    ("decided_elsewhere".into(), (test.rest.granted + test.rest.refused) as f64),
                    ("granted_elsewhere".into(), test.rest.granted as f64),
                    ("reference_rate".into(), test.reference),
                ]),
                p_value: Some(test.p_value),
                q_value: Some(q),
                message: format!(
                    "{} innvilget {} % av {} saker om {} i {}, mot {} % av {} saker om metoden ellers i landet \
                     og {} % for ordningen samlet. Forskjellen er større enn tilfeldigheter tilsier (eksakt binomialtest \
                     mot forventet {} %, q {}).",
                    input.name_of(&test.org),
                    nb(own * 100.0, 0),
                    test.own.granted + test.own.refused,
                    test.method_id,
                    input.year,
                    nb(rest * 100.0, 0),
                    test.rest.granted + test.rest.refused,
                    nb(test.national * 100.0, 0),
                    nb(test.reference * 100.0, 0),
                    nb_p(q),
                ),
            }
        })
        .collect()
}

fn funnel_signal(input: &AnalysisInput, test: &Test, q: f64) -> Signal {
    let p = &test.point;
    let about = match &test.method_id {
        Some(method) => format!("{method} ({})", test.scheme),
        None => test.scheme.clone(),
    };
    let direction = if p.grant_rate < p.target {
        "lavere"
    } else {
        "høyere"
    };
    Signal {
        kind: SignalKind::GrantRateVariation,
        unit_type: test.unit_type.to_string(),
        unit: Some(p.unit.clone()),
        unit_name: Some(p.unit_name.clone()),
        scheme: Some(test.scheme.clone()),
        method_id: test.method_id.clone(),
        indication: None,
        effect_measure: "grant_rate_difference".into(),
        effect_size: Some(p.grant_rate - p.target),
        counts: BTreeMap::from([
            ("decided".into(), p.decided as f64),
            ("granted".into(), p.granted as f64),
            ("target_rate".into(), p.target),
        ]),
        p_value: Some(p.p_value),
        q_value: Some(q),
        message: format!(
            "{} innvilget {} % av {} saker om {about} i {}, {direction} enn {} % samlet. \
             Avviket ligger utenfor 99,8 %-grensen i traktplottet{} (q {}).",
            p.unit_name,
            nb(p.grant_rate * 100.0, 0),
            p.decided,
            input.year,
            nb(p.target * 100.0, 0),
            if p.overdispersion_adjusted {
                ", justert for overspredning"
            } else {
                ""
            },
            nb_p(q),
        ),
    }
}

/// Per method (and scheme): are grant rates equal across deciding regions?
struct Heterogeneity {
    scheme: String,
    method_id: String,
    regions: Vec<(String, GrantCounts)>,
    p_value: f64,
}

fn heterogeneity_tests(input: &AnalysisInput) -> Vec<Heterogeneity> {
    region_tables(input.tallies.decisions.iter(), |c| {
        (c.scheme.clone(), c.method_id.clone())
    })
    .into_iter()
    .filter(|(_, regions)| {
        regions.len() >= 2 && regions.values().map(|c| c.granted + c.refused).sum::<u64>() >= 10
    })
    .map(|((scheme, method_id), regions)| {
        let counts: Vec<GrantCounts> = regions.values().copied().collect();
        Heterogeneity {
            scheme,
            method_id,
            p_value: homogeneity_test(&counts).p_value,
            regions: regions.into_iter().collect(),
        }
    })
    .collect()
}

fn heterogeneity_signals(input: &AnalysisInput) -> Vec<Signal> {
    let tests = heterogeneity_tests(input);
    let q_values = with_q_values(&tests.iter().map(|t| t.p_value).collect::<Vec<_>>());
    tests
        .iter()
        .zip(q_values)
        .filter(|(_, q)| *q < input.settings.false_discovery_rate)
        .map(|(test, q)| {
            let rate = grant_rate;
            let (lowest, highest) = lowest_and_highest(&test.regions);
            Signal {
                kind: SignalKind::GrantRateVariation,
                unit_type: "region".into(),
                unit: Some(lowest.0.clone()),
                unit_name: Some(input.name_of(&lowest.0)),
                scheme: Some(test.scheme.clone()),
                method_id: Some(test.method_id.clone()),
                indication: None,
                effect_measure: "grant_rate_range".into(),
                effect_size: Some(rate(&highest.1) - rate(&lowest.1)),
                counts: region_counts(&test.regions),
                p_value: Some(test.p_value),
                q_value: Some(q),
                message: format!(
                    "Innvilgelsesandelen for {} varierer mellom regionene i {}: fra {} % i {} til {} % i {}. \
                     Forskjellen er større enn tilfeldigheter tilsier (q {}).",
                    test.method_id,
                    input.year,
                    nb(rate(&lowest.1) * 100.0, 0),
                    input.name_of(&lowest.0),
                    nb(rate(&highest.1) * 100.0, 0),
                    input.name_of(&highest.0),
                    nb_p(q),
                ),
            }
        })
        .collect()
}
