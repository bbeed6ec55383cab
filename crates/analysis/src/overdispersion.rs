//! Overdispersion of grant rates between units (regions, trusts): is there
//! more spread between them than chance alone would give, and if so, how
//! much wider should the funnel limits be?
//!
//! Follows Spiegelhalter (2005), "Handling over-dispersion of performance
//! indicators", Qual Saf Health Care 14:347, and Spiegelhalter et al.
//! (2012), "Statistical methods for healthcare regulation: rating, screening
//! and surveillance", JRSS A 175:1:
//!
//! 1. z-scores against the target: z_i = (y_i - p0) / s_i with
//!    s_i = sqrt(p0 (1 - p0) / n_i).
//! 2. Winsorise at 10 % / 90 %: z-scores beyond the 10th and 90th
//!    percentiles are pulled in to them, so that a few true outliers do not
//!    masquerade as general overdispersion. Percentiles are R's default
//!    (type 7) quantiles, as in the NHS-R `FunnelPlotR` implementation.
//! 3. phi = mean of the winsorised z^2. Under the null I * phi is roughly
//!    chi-square on I degrees of freedom, so phi has mean 1 and standard
//!    deviation sqrt(2 / I). Overdispersion is declared when phi exceeds
//!    1 + 2 sqrt(2 / I), two standard deviations above its expectation.
//!    The chi-square tail probability is reported as well.
//! 4. Multiplicative adjustment: limits p0 +/- z sqrt(phi) s.
//!    Additive (random effects) adjustment, DerSimonian-Laird style:
//!    tau^2 = (I phi - (I - 1)) / (sum w - sum w^2 / sum w), w_i = 1 / s_i^2,
//!    floored at 0; limits p0 +/- z sqrt(s^2 + tau^2). Spiegelhalter
//!    prefers the additive form: it does not widen the limits for small
//!    units as much, and it has a model behind it.
//!
//! Known limits: the limits here use the normal approximation on the
//! proportion scale, so they are poor for very small units or targets near
//! 0 or 1 (use the exact `proportion::binomial_funnel_limits` when no
//! overdispersion is detected). With fewer than about ten units phi and
//! tau^2 are themselves very uncertain, and winsorising 10 % of a handful
//! of units changes little. The exact wording of the test in the source
//! papers could not be checked here; 1 + 2 sqrt(2/I) is the rule the brief
//! and public implementations of these papers use.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ChiSquared, ContinuousCDF};

use crate::numeric::two_sided_z;
use crate::proportion::Interval;

/// Share of z-scores winsorised at each end.
pub const WINSORISE_SHARE: f64 = 0.1;

/// Successes of trials in one unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitCounts {
    pub successes: u64,
    pub trials: u64,
}

/// Estimated overdispersion of a set of units around a target proportion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overdispersion {
    pub target: f64,
    /// Number of units with at least one trial.
    pub units: usize,
    /// z-scores of those units, in input order (units without trials skipped).
    pub z_scores: Vec<f64>,
    pub winsorised_z_scores: Vec<f64>,
    /// Multiplicative overdispersion factor: mean winsorised z^2.
    pub phi: f64,
    /// Between-unit variance of the additive random-effects model.
    pub tau2: f64,
    /// phi > 1 + 2 sqrt(2 / units).
    pub detected: bool,
    /// P(chi-square on `units` df > units * phi).
    pub p_value: f64,
}

/// Estimates overdispersion of `units` around `target`.
///
/// Units without trials are skipped. Returns `None` when no unit has trials.
///
/// # Panics
/// If `target` is not strictly between 0 and 1: at 0 or 1 there is no
/// binomial variation to compare against.
pub fn assess_overdispersion(units: &[UnitCounts], target: f64) -> Option<Overdispersion> {
    assert!(
        target > 0.0 && target < 1.0,
        "target must lie strictly in (0, 1), got {target}"
    );
    let observed: Vec<&UnitCounts> = units.iter().filter(|u| u.trials > 0).collect();
    if observed.is_empty() {
        return None;
    }
    let z_scores: Vec<f64> = observed.iter().map(|u| z_score(u, target)).collect();
    let winsorised_z_scores = winsorise(&z_scores, WINSORISE_SHARE);
    let count = observed.len() as f64;
    let phi = winsorised_z_scores.iter().map(|z| z * z).sum::<f64>() / count;
    let weights: Vec<f64> = observed
        .iter()
        .map(|u| 1.0 / binomial_variance(target, u.trials))
        .collect();
    Some(Overdispersion {
        target,
        units: observed.len(),
        z_scores,
        winsorised_z_scores,
        phi,
        tau2: dersimonian_laird_tau2(phi, &weights),
        detected: phi > 1.0 + 2.0 * (2.0 / count).sqrt(),
        p_value: ChiSquared::new(count)
            .expect("at least one unit")
            .sf(count * phi),
    })
}

impl Overdispersion {
    /// Normal-approximation limits for a unit of `trials`, inflated by
    /// sqrt(phi) when overdispersion was detected, clamped to [0, 1].
    ///
    /// # Panics
    /// If `coverage` is not strictly between 0 and 1.
    pub fn multiplicative_limits(&self, trials: u64, coverage: f64) -> Interval {
        let inflation = if self.detected { self.phi } else { 1.0 };
        self.normal_limits(inflation * binomial_variance(self.target, trials), coverage)
    }

    /// Normal-approximation limits for a unit of `trials` under the
    /// random-effects model (tau^2 added when overdispersion was detected),
    /// clamped to [0, 1].
    ///
    /// # Panics
    /// If `coverage` is not strictly between 0 and 1.
    pub fn additive_limits(&self, trials: u64, coverage: f64) -> Interval {
        let between = if self.detected { self.tau2 } else { 0.0 };
        self.normal_limits(binomial_variance(self.target, trials) + between, coverage)
    }

    /// A unit's z-score under the random-effects model:
    /// (y - p0) / sqrt(s^2 + tau^2), tau^2 counted only when detected.
    /// `None` for a unit without trials.
    pub fn additive_z_score(&self, unit: UnitCounts) -> Option<f64> {
        if unit.trials == 0 {
            return None;
        }
        let between = if self.detected { self.tau2 } else { 0.0 };
        let deviation = unit.successes as f64 / unit.trials as f64 - self.target;
        Some(deviation / (binomial_variance(self.target, unit.trials) + between).sqrt())
    }

    fn normal_limits(&self, variance: f64, coverage: f64) -> Interval {
        let half_width = two_sided_z(coverage) * variance.sqrt();
        Interval {
            lower: (self.target - half_width).max(0.0),
            upper: (self.target + half_width).min(1.0),
        }
    }
}

/// p0 (1 - p0) / n; infinite for a unit without trials.
fn binomial_variance(target: f64, trials: u64) -> f64 {
    target * (1.0 - target) / trials as f64
}

fn z_score(unit: &UnitCounts, target: f64) -> f64 {
    let observed = unit.successes as f64 / unit.trials as f64;
    (observed - target) / binomial_variance(target, unit.trials).sqrt()
}

/// Pulls values below the `share` quantile and above the `1 - share`
/// quantile in to those quantiles, keeping the input order.
pub(crate) fn winsorise(values: &[f64], share: f64) -> Vec<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let low = quantile_type7(&sorted, share);
    let high = quantile_type7(&sorted, 1.0 - share);
    values.iter().map(|v| v.clamp(low, high)).collect()
}

/// R's default quantile (type 7): linear interpolation between order
/// statistics at position (n - 1) p. `sorted` must be sorted and non-empty.
fn quantile_type7(sorted: &[f64], p: f64) -> f64 {
    let position = (sorted.len() - 1) as f64 * p;
    let below = position.floor() as usize;
    let above = (below + 1).min(sorted.len() - 1);
    let fraction = position - below as f64;
    sorted[below] + fraction * (sorted[above] - sorted[below])
}

/// tau^2 = (I phi - (I - 1)) / (sum w - sum w^2 / sum w), floored at 0.
pub(crate) fn dersimonian_laird_tau2(phi: f64, weights: &[f64]) -> f64 {
    let count = weights.len() as f64;
    let sum: f64 = weights.iter().sum();
    let sum_of_squares: f64 = weights.iter().map(|w| w * w).sum();
    let spread = sum - sum_of_squares / sum;
    if spread <= 0.0 {
        // A single unit: there is no between-unit variance to estimate.
        return 0.0;
    }
    ((count * phi - (count - 1.0)) / spread).max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::assert_close;

    fn units(successes: &[u64], trials: u64) -> Vec<UnitCounts> {
        successes
            .iter()
            .map(|&successes| UnitCounts { successes, trials })
            .collect()
    }

    /// Ten units of 100 with target 0.5, so s = 0.05 and z = (x - 50) / 5.
    fn spread_units() -> Vec<UnitCounts> {
        units(&[35, 40, 45, 50, 50, 50, 55, 60, 65, 70], 100)
    }

    #[test]
    fn phi_and_tau2_follow_the_formulas_by_hand() {
        // Hand-computed (no published example could be checked):
        // z = -3, -2, -1, 0, 0, 0, 1, 2, 3, 4.
        // Type 7 quantiles: 10 % at position 0.9 -> -3 + 0.9 = -2.1;
        // 90 % at position 8.1 -> 3 + 0.1 = 3.1.
        // Winsorised: -2.1, -2, -1, 0, 0, 0, 1, 2, 3, 3.1;
        // sum of squares 4.41 + 4 + 1 + 1 + 4 + 9 + 9.61 = 33.02, phi = 3.302.
        // Threshold 1 + 2 sqrt(0.2) = 1.894: detected.
        // w = 1 / 0.0025 = 400 each: sum w = 4000, sum w^2 / sum w = 400;
        // tau^2 = (33.02 - 9) / 3600 = 0.0066722.
        let od = assess_overdispersion(&spread_units(), 0.5).unwrap();
        assert_close(od.winsorised_z_scores[0], -2.1, 1e-12);
        assert_close(od.winsorised_z_scores[9], 3.1, 1e-12);
        assert_close(od.phi, 3.302, 1e-12);
        assert!(od.detected);
        assert_close(od.tau2, 24.02 / 3600.0, 1e-12);
    }

    #[test]
    fn adjusted_limits_widen_by_the_formulas() {
        let od = assess_overdispersion(&spread_units(), 0.5).unwrap();
        let z = 1.959_963_984_540_054;
        let plain = 0.05_f64;
        let multiplicative = od.multiplicative_limits(100, 0.95);
        assert_close(
            multiplicative.upper,
            0.5 + z * plain * 3.302_f64.sqrt(),
            1e-9,
        );
        let additive = od.additive_limits(100, 0.95);
        assert_close(
            additive.lower,
            0.5 - z * (plain * plain + od.tau2).sqrt(),
            1e-9,
        );
        // The unit at 70 % is 4 plain standard errors out, fewer once tau^2 counts.
        let adjusted = od
            .additive_z_score(UnitCounts {
                successes: 70,
                trials: 100,
            })
            .unwrap();
        assert_close(adjusted, 0.2 / (plain * plain + od.tau2).sqrt(), 1e-12);
    }

    #[test]
    fn units_that_agree_with_the_target_show_no_overdispersion() {
        // z = -1, 0, 1, 0, -1, 1, 0, 0: phi well below 1, tau^2 floored at 0,
        // and the limits are the plain binomial normal limits.
        let od =
            assess_overdispersion(&units(&[45, 50, 55, 50, 45, 55, 50, 50], 100), 0.5).unwrap();
        assert!(!od.detected);
        assert_eq!(od.tau2, 0.0);
        let limits = od.multiplicative_limits(100, 0.95);
        assert_close(limits.upper, 0.5 + 1.959_963_984_540_054 * 0.05, 1e-9);
        assert_eq!(limits, od.additive_limits(100, 0.95));
    }

    #[test]
    fn units_without_trials_are_skipped_and_none_at_all_gives_none() {
        let mut with_empty = spread_units();
        with_empty.push(UnitCounts {
            successes: 0,
            trials: 0,
        });
        assert_eq!(assess_overdispersion(&with_empty, 0.5).unwrap().units, 10);
        assert_eq!(assess_overdispersion(&units(&[0, 0], 0), 0.5), None);
    }

    #[test]
    fn type7_quantile_interpolates_between_order_statistics() {
        // Type 7 by hand for c(1, 2, 4, 8): positions 3 * 0.1 = 0.3 and
        // 3 * 0.9 = 2.7, so 1 + 0.3 * 1 = 1.3 and 4 + 0.7 * 4 = 6.8.
        assert_close(quantile_type7(&[1.0, 2.0, 4.0, 8.0], 0.1), 1.3, 1e-12);
        assert_close(quantile_type7(&[1.0, 2.0, 4.0, 8.0], 0.9), 6.8, 1e-12);
    }
}
