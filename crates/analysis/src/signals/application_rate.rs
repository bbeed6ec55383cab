//! Application-rate variation: applications per 100 000 residents a year by region of
//! residence, per scheme, on a funnel of observed against expected (from the national
//! rate): exact Poisson limits, or random-effects limits on the square-root scale when the
//! regions spread more than Poisson chance gives (large volumes, such as Helfo's, make any
//! ordinary difference between regions "significant" otherwise); with the systematic
//! component of variation (SCV) that variation atlases report. Crude rates: the signals do
//! not standardise for age and sex.

use std::collections::BTreeMap;

use statrs::distribution::{DiscreteCDF, Poisson};

use super::{nb, nb_p, scheme_name, AnalysisInput, Signal, SignalKind, Tested};
use crate::poisson::poisson_funnel_limits;
use crate::proportion::FUNNEL_OUTER;
use crate::random_effects::{two_sided_p, RandomEffectsFunnel};

struct RegionRate {
    scheme: String,
    region: String,
    observed: u64,
    expected: f64,
    residents: u64,
    p_value: f64,
    outside_998: bool,
    overdispersion_adjusted: bool,
    scv: f64,
}

fn rates(input: &AnalysisInput) -> Vec<RegionRate> {
    let mut counts: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for cell in &input.tallies.applications {
        *counts
            .entry(cell.scheme.clone())
            .or_default()
            .entry(cell.residence_region.clone())
            .or_insert(0) += cell.cases;
    }
    let residents: BTreeMap<&String, u64> = input
        .population
        .iter()
        .filter(|((year, _), _)| *year == input.year)
        .map(|((_, region), n)| (region, *n))
        .collect();
    let total_residents: u64 = residents.values().sum();
    if total_residents == 0 {
        return Vec::new();
    }
    let mut rates = Vec::new();
    for (scheme, by_region) in counts {
        let total: u64 = by_region.values().sum();
        let observed_and_expected: Vec<(String, u64, f64, u64)> = residents
            .iter()
            .map(|(region, n)| {
                let observed = by_region.get(*region).copied().unwrap_or(0);
                (
                    (*region).clone(),
                    observed,
                    total as f64 * *n as f64 / total_residents as f64,
                    *n,
                )
            })
            .collect();
        let scv = systematic_component(&observed_and_expected);
        let ratios: Vec<(u64, f64)> = observed_and_expected
            .iter()
            .map(|(_, observed, expected, _)| (*observed, *expected))
            .collect();
        let random_effects = RandomEffectsFunnel::ratios(&ratios).filter(|f| f.detected);
        for (region, observed, expected, n) in observed_and_expected {
            let (limits, p_value) = match &random_effects {
                Some(funnel) => (
                    funnel.ratio_limits(expected, FUNNEL_OUTER),
                    two_sided_p(funnel.ratio_z(observed, expected)),
                ),
                None => (
                    poisson_funnel_limits(expected, FUNNEL_OUTER),
                    two_sided_poisson(observed, expected),
                ),
            };
            rates.push(RegionRate {
                scheme: scheme.clone(),
                region,
                observed,
                expected,
                residents: n,
                p_value,
                outside_998: !limits.contains(observed as f64 / expected),
                overdispersion_adjusted: random_effects.is_some(),
                scv,
            });
        }
    }
    rates
}

/// McPherson's systematic component of variation, times 100: the variation between
/// regions beyond what Poisson chance gives.
fn systematic_component(observed_and_expected: &[(String, u64, f64, u64)]) -> f64 {
    let k = observed_and_expected.len() as f64;
    let sum: f64 = observed_and_expected
        .iter()
        .filter(|(_, _, e, _)| *e > 0.0)
        .map(|(_, o, e, _)| ((*o as f64 - e).powi(2) / e.powi(2)) - 1.0 / e)
        .sum();
    100.0 * sum / k
}

/// Two-sided exact Poisson p-value (doubling the smaller tail).
pub(super) fn two_sided_poisson(observed: u64, expected: f64) -> f64 {
    if expected <= 0.0 {
        return 1.0;
    }
    let poisson = Poisson::new(expected).expect("a positive mean");
    let lower = poisson.cdf(observed);
    let upper = if observed == 0 {
        1.0
    } else {
        1.0 - poisson.cdf(observed - 1)
    };
    (2.0 * lower.min(upper)).min(1.0)
}

pub(super) fn tests(input: &AnalysisInput) -> Vec<Tested<'_>> {
    rates(input)
        .into_iter()
        .map(|rate| {
            let (p, eligible) = (rate.p_value, rate.outside_998);
            Tested::new(
                SignalKind::ApplicationRateVariation,
                p,
                eligible,
                move |q| rate_signal(input, &rate, q),
            )
        })
        .collect()
}

fn rate_signal(input: &AnalysisInput, rate: &RegionRate, q: f64) -> Signal {
    let per_100k = |count: f64| count / rate.residents as f64 * 100_000.0;
    let direction = if (rate.observed as f64) < rate.expected {
        "færre"
    } else {
        "flere"
    };
    Signal {
        kind: SignalKind::ApplicationRateVariation,
        unit_type: "region".into(),
        unit: Some(rate.region.clone()),
        unit_name: Some(input.name_of(&rate.region)),
        scheme: Some(rate.scheme.clone()),
        method_id: None,
        indication: None,
        effect_measure: "observed_over_expected".into(),
        effect_size: Some(rate.observed as f64 / rate.expected),
        counts: BTreeMap::from([
            ("observed".into(), rate.observed as f64),
            ("expected".into(), rate.expected),
            ("residents".into(), rate.residents as f64),
            ("scv".into(), rate.scv),
        ]),
        p_value: Some(rate.p_value),
        q_value: Some(q),
        group: format!("application_rate/{}/{}", rate.scheme, rate.region),
        message: format!(
            "Bosatte i {} sendte {} søknader ({}) i {}, {direction} enn ventet: {} per 100 000 innbyggere per år, \
             mot forventet {} ut fra landet som helhet. Avviket er større enn tilfeldig variasjon{} (q {}); \
             systematisk variasjonskomponent (SCV) {}. Ujusterte rater (ikke standardisert for alder og kjønn).",
            input.name_of(&rate.region),
            rate.observed,
            scheme_name(&rate.scheme),
            input.year,
            nb(per_100k(rate.observed as f64), 1),
            nb(per_100k(rate.expected), 1),
            if rate.overdispersion_adjusted {
                ", også når vanlig variasjon mellom regionene regnes med"
            } else {
                ""
            },
            nb_p(q),
            nb(rate.scv, 1),
        ),
    }
}
