//! Additive random-effects funnels (Spiegelhalter 2005, "Handling over-dispersion of
//! performance indicators", section 3.2; the default of the NHS-R `FunnelPlotR`):
//!
//! 1. Each unit's indicator goes on a variance-stabilising scale: the arcsine of the square
//!    root for a proportion (standard error 1 / (2 sqrt n)), the square root for an
//!    observed count against its expected number (standard error 1 / (2 sqrt E)).
//! 2. z-scores against the target on that scale, winsorised at 10 % / 90 %, and
//!    phi = mean winsorised z^2, as in `overdispersion`.
//! 3. When phi exceeds 1 + 2 sqrt(2 / I), the between-unit variance tau^2 is estimated by
//!    DerSimonian-Laird and added to every unit's variance: a unit is judged by
//!    (y - target) / sqrt(s^2 + tau^2).
//!
//! Unlike the multiplicative factor, tau^2 does not scale with a unit's size, so a large
//! trust is not flagged for the ordinary spread between trusts: under a random-effects
//! truth the large units are the ones the multiplicative factor over-flags.

use crate::numeric::two_sided_z;
use crate::overdispersion::{dersimonian_laird_tau2, winsorise, UnitCounts, WINSORISE_SHARE};
use crate::proportion::Interval;

/// A funnel on the transformed scale, with tau^2 when overdispersion was found.
#[derive(Debug, Clone, PartialEq)]
pub struct RandomEffectsFunnel {
    /// The target on the transformed scale.
    target: f64,
    pub phi: f64,
    /// Between-unit variance on the transformed scale; 0 when not detected.
    pub tau2: f64,
    pub detected: bool,
}

/// One unit on the transformed scale: its value and standard error.
#[derive(Debug, Clone, Copy)]
struct Transformed {
    value: f64,
    std_err: f64,
}

fn arcsine(proportion: f64) -> f64 {
    proportion.clamp(0.0, 1.0).sqrt().asin()
}

fn proportion_unit(unit: UnitCounts) -> Option<Transformed> {
    (unit.trials > 0).then(|| Transformed {
        value: arcsine(unit.successes as f64 / unit.trials as f64),
        std_err: 1.0 / (2.0 * (unit.trials as f64).sqrt()),
    })
}

fn ratio_unit(observed: u64, expected: f64) -> Option<Transformed> {
    (expected > 0.0).then(|| Transformed {
        value: (observed as f64 / expected).sqrt(),
        std_err: 1.0 / (2.0 * expected.sqrt()),
    })
}

impl RandomEffectsFunnel {
    /// Proportions (successes of trials) around `target`, on the arcsine scale. `None`
    /// when no unit has trials.
    pub fn proportions(units: &[UnitCounts], target: f64) -> Option<RandomEffectsFunnel> {
        let transformed: Vec<Transformed> =
            units.iter().copied().filter_map(proportion_unit).collect();
        Self::estimate(&transformed, arcsine(target))
    }

    /// Observed counts against their expected numbers (a standardised ratio, target 1), on
    /// the square-root scale. `None` when no unit has an expected count.
    pub fn ratios(units: &[(u64, f64)]) -> Option<RandomEffectsFunnel> {
        let transformed: Vec<Transformed> = units
            .iter()
            .filter_map(|&(observed, expected)| ratio_unit(observed, expected))
            .collect();
        Self::estimate(&transformed, 1.0)
    }

    fn estimate(units: &[Transformed], target: f64) -> Option<RandomEffectsFunnel> {
        if units.is_empty() {
            return None;
        }
        let z_scores: Vec<f64> = units
            .iter()
            .map(|u| (u.value - target) / u.std_err)
            .collect();
        let count = units.len() as f64;
        let phi = winsorise(&z_scores, WINSORISE_SHARE)
            .iter()
            .map(|z| z * z)
            .sum::<f64>()
            / count;
        let detected = phi > 1.0 + 2.0 * (2.0 / count).sqrt();
        let weights: Vec<f64> = units.iter().map(|u| u.std_err.powi(-2)).collect();
        Some(RandomEffectsFunnel {
            target,
            phi,
            tau2: if detected {
                dersimonian_laird_tau2(phi, &weights)
            } else {
                0.0
            },
            detected,
        })
    }

    fn z(&self, unit: Transformed) -> f64 {
        (unit.value - self.target) / (unit.std_err.powi(2) + self.tau2).sqrt()
    }

    /// A proportion unit's z-score under the random-effects model (0 without trials).
    pub fn proportion_z(&self, unit: UnitCounts) -> f64 {
        proportion_unit(unit).map_or(0.0, |u| self.z(u))
    }

    /// An observed count's z-score against its expected number (0 without an expectation).
    pub fn ratio_z(&self, observed: u64, expected: f64) -> f64 {
        ratio_unit(observed, expected).map_or(0.0, |u| self.z(u))
    }

    /// The funnel's limits for a proportion from `trials`, back on the proportion scale.
    pub fn proportion_limits(&self, trials: u64, coverage: f64) -> Interval {
        let half_width = self.half_width(1.0 / (2.0 * (trials.max(1) as f64).sqrt()), coverage);
        let back = |angle: f64| angle.clamp(0.0, std::f64::consts::FRAC_PI_2).sin().powi(2);
        Interval {
            lower: back(self.target - half_width),
            upper: back(self.target + half_width),
        }
    }

    /// The funnel's limits for the ratio observed / expected, back on the ratio scale.
    pub fn ratio_limits(&self, expected: f64, coverage: f64) -> Interval {
        let half_width = self.half_width(1.0 / (2.0 * expected.sqrt()), coverage);
        Interval {
            lower: (self.target - half_width).max(0.0).powi(2),
            upper: (self.target + half_width).powi(2),
        }
    }

    fn half_width(&self, std_err: f64, coverage: f64) -> f64 {
        two_sided_z(coverage) * (std_err * std_err + self.tau2).sqrt()
    }
}

/// Two-sided normal p-value of a z-score.
pub fn two_sided_p(z: f64) -> f64 {
    use statrs::distribution::{ContinuousCDF, Normal};
    let normal = Normal::new(0.0, 1.0).expect("standard normal");
    (2.0 * normal.sf(z.abs())).min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::assert_close;

    #[test]
    fn units_that_agree_with_the_target_add_no_between_unit_variance() {
        let units: Vec<UnitCounts> = [45, 50, 55, 50, 45, 55, 50, 50]
            .iter()
            .map(|&successes| UnitCounts {
                successes,
                trials: 100,
            })
            .collect();
        let funnel = RandomEffectsFunnel::proportions(&units, 0.5).unwrap();
        assert!(!funnel.detected);
        assert_eq!(funnel.tau2, 0.0);
        // On the arcsine scale a unit of 100 has standard error 0.05.
        let z = funnel.proportion_z(UnitCounts {
            successes: 60,
            trials: 100,
        });
        assert_close(
            z,
            (0.6_f64.sqrt().asin() - 0.5_f64.sqrt().asin()) / 0.05,
            1e-12,
        );
    }

    #[test]
    fn spread_between_units_widens_large_units_limits_the_most_relative_to_their_own() {
        let units: Vec<UnitCounts> = [
            (30, 100),
            (70, 100),
            (40, 100),
            (60, 100),
            (35, 100),
            (65, 100),
        ]
        .iter()
        .map(|&(successes, trials)| UnitCounts { successes, trials })
        .collect();
        let funnel = RandomEffectsFunnel::proportions(&units, 0.5).unwrap();
        assert!(funnel.detected && funnel.tau2 > 0.0);
        let large = funnel.proportion_limits(10_000, 0.998);
        // Without tau^2 a unit of 10 000 would have limits within 0.5 +/- 0.016.
        assert!(large.lower < 0.45 && large.upper > 0.55, "{large:?}");
        let small = funnel.proportion_limits(10, 0.998);
        assert!(small.lower < large.lower && small.upper > large.upper);
    }

    #[test]
    fn ratio_limits_contain_one_and_widen_for_small_expectations() {
        let funnel = RandomEffectsFunnel::ratios(&[(10, 10.0), (20, 20.0), (30, 30.0)]).unwrap();
        let small = funnel.ratio_limits(5.0, 0.998);
        let large = funnel.ratio_limits(500.0, 0.998);
        assert!(small.contains(1.0) && large.contains(1.0));
        assert!(small.upper > large.upper && small.lower < large.lower);
    }
}
