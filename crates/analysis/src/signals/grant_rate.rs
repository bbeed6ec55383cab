//! Grant-rate variation: funnel plots of each trust's (and region's) grant rate against
//! the national rate, with exact binomial limits, or random-effects limits (an additive
//! between-unit variance on the arcsine scale) where the units spread more than chance
//! gives; each trust's decisions on one method against the rest of the country's on it;
//! and a test of equal grant rates across regions per method.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{
    add_decisions, grant_rate, lowest_and_highest, nb, nb_p, region_counts, region_tables,
    scheme_name, AnalysisInput, DecisionCell, Signal, SignalKind, Tested,
};
use crate::exact::{fisher_exact_2x2, homogeneity_test, GrantCounts};
use crate::overdispersion::UnitCounts;
use crate::proportion::{binomial_funnel_limits, Interval, FUNNEL_INNER, FUNNEL_OUTER};
use crate::random_effects::{two_sided_p, RandomEffectsFunnel};

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
    /// Whether the limits allow for overdispersion (a random-effects variance added).
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
    // between-unit variance is itself noise, so the limits stay exact.
    let varies = target > 0.0 && target < 1.0 && counts.len() >= MIN_UNITS_FOR_OVERDISPERSION;
    let random_effects = varies
        .then(|| RandomEffectsFunnel::proportions(&units, target))
        .flatten()
        .filter(|funnel| funnel.detected);
    counts
        .into_iter()
        .map(|(unit, count)| {
            let rate = count.successes as f64 / count.trials as f64;
            let (limits_95, limits_998, p_value) = match &random_effects {
                Some(funnel) => (
                    funnel.proportion_limits(count.trials, FUNNEL_INNER),
                    funnel.proportion_limits(count.trials, FUNNEL_OUTER),
                    two_sided_p(funnel.proportion_z(count)),
                ),
                None => (
                    binomial_funnel_limits(target, count.trials, FUNNEL_INNER),
                    binomial_funnel_limits(target, count.trials, FUNNEL_OUTER),
                    exact_binomial_p(count.successes, count.trials, target),
                ),
            };
            FunnelPoint {
                unit_name: input.name_of(&unit),
                unit,
                decided: count.trials,
                granted: count.successes,
                grant_rate: rate,
                target,
                limits_95,
                limits_998,
                overdispersion_adjusted: random_effects.is_some(),
                p_value,
                outside_998: !limits_998.contains(rate),
            }
        })
        .collect()
}

/// A funnel to test: its cases' description, and its units.
struct Test {
    scheme: String,
    method_id: Option<String>,
    unit_type: &'static str,
    point: FunnelPoint,
}

fn funnel_tests(input: &AnalysisInput) -> Vec<Test> {
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

/// Every grant-rate test of the year: the funnel points, each trust's decisions on a
/// method against the rest of the country's, and the test across regions per method.
pub(super) fn tests(input: &AnalysisInput) -> Vec<Tested<'_>> {
    let mut tested: Vec<Tested<'_>> = funnel_tests(input)
        .into_iter()
        .map(|test| {
            let (p, eligible) = (test.point.p_value, test.point.outside_998);
            Tested::new(SignalKind::GrantRateVariation, p, eligible, move |q| {
                funnel_signal(input, &test, q)
            })
        })
        .collect();
    tested.extend(method_trust_tests(input).into_iter().map(|test| {
        Tested::new(
            SignalKind::GrantRateVariation,
            test.p_value,
            true,
            move |q| method_trust_signal(input, &test, q),
        )
    }));
    tested.extend(heterogeneity_tests(input).into_iter().map(|test| {
        Tested::new(
            SignalKind::GrantRateVariation,
            test.p_value,
            true,
            move |q| heterogeneity_signal(input, &test, q),
        )
    }));
    tested
}

/// One trust's decisions on one method against the rest of the country's decisions on
/// it (Fisher's exact test on the 2 x 2 table): a method refused everywhere is nobody's
/// doing, and the rest of the country is observed, not known, so its own uncertainty
/// counts.
struct MethodTrustTest {
    scheme: String,
    method_id: String,
    org: String,
    own: GrantCounts,
    rest: GrantCounts,
    p_value: f64,
}

fn method_trust_tests(input: &AnalysisInput) -> Vec<MethodTrustTest> {
    let mut tables: BTreeMap<(String, String), BTreeMap<String, GrantCounts>> = BTreeMap::new();
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
    }
    let mut tests = Vec::new();
    for ((scheme, method_id), orgs) in tables {
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
            if own.total() < MIN_DECISIONS || rest.total() < MIN_DECISIONS {
                continue;
            }
            tests.push(MethodTrustTest {
                scheme: scheme.clone(),
                method_id: method_id.clone(),
                org: org.clone(),
                own: *own,
                rest,
                p_value: fisher_exact_2x2([
                    [own.granted, own.refused],
                    [rest.granted, rest.refused],
                ]),
            });
        }
    }
    tests
}

/// Two-sided exact binomial p-value (doubling the smaller tail).
pub(super) fn exact_binomial_p(successes: u64, trials: u64, p: f64) -> f64 {
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

fn method_trust_signal(input: &AnalysisInput, test: &MethodTrustTest, q: f64) -> Signal {
    let (own, rest) = (grant_rate(&test.own), grant_rate(&test.rest));
    let direction = if own < rest { "sjeldnere" } else { "oftere" };
    Signal {
        kind: SignalKind::GrantRateVariation,
        unit_type: "organisation".into(),
        unit: Some(test.org.clone()),
        unit_name: Some(input.name_of(&test.org)),
        scheme: Some(test.scheme.clone()),
        method_id: Some(test.method_id.clone()),
        indication: None,
        effect_measure: "grant_rate_difference".into(),
        effect_size: Some(own - rest),
        counts: BTreeMap::from([
            ("decided".into(), test.own.total() as f64),
            ("granted".into(), test.own.granted as f64),
            ("decided_elsewhere".into(), test.rest.total() as f64),
            ("granted_elsewhere".into(), test.rest.granted as f64),
        ]),
        p_value: Some(test.p_value),
        q_value: Some(q),
        group: grant_rate_group(&test.scheme, Some(&test.method_id)),
        message: format!(
            "{} innvilget {} % av {} saker om {} i {}, {direction} enn resten av landet, som innvilget \
             {} % av {} saker om metoden. Forskjellen er større enn tilfeldigheter tilsier (Fishers eksakte test, q {}).",
            input.name_of(&test.org),
            nb(own * 100.0, 0),
            test.own.total(),
            test.method_id,
            input.year,
            nb(rest * 100.0, 0),
            test.rest.total(),
            nb_p(q),
        ),
    }
}

/// The group of grant-rate findings: one method's (or, without one, the scheme's) grant
/// rates, whichever test found the difference.
pub(super) fn grant_rate_group(scheme: &str, method: Option<&str>) -> String {
    match method {
        Some(method) => format!("grant_rate/{method}"),
        None => format!("grant_rate/{scheme}"),
    }
}

fn funnel_signal(input: &AnalysisInput, test: &Test, q: f64) -> Signal {
    let p = &test.point;
    let about = match &test.method_id {
        Some(method) => format!("{method} ({})", scheme_name(&test.scheme)),
        None => scheme_name(&test.scheme).to_string(),
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
        group: grant_rate_group(&test.scheme, test.method_id.as_deref()),
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

fn heterogeneity_signal(input: &AnalysisInput, test: &Heterogeneity, q: f64) -> Signal {
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
        group: grant_rate_group(&test.scheme, Some(&test.method_id)),
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
}
