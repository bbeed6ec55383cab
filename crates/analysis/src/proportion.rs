//! Intervals and funnel limits for a proportion: k successes of n trials,
//! such as the share of exemption applications that were granted.
//!
//! * [`wilson_interval`]: the score interval of Wilson (1927), the default
//!   for published grant rates; good coverage even for small n.
//! * [`clopper_pearson_interval`]: the exact interval, as R's `binom.test`;
//!   conservative, for when a guaranteed coverage matters more than width.
//! * [`binomial_funnel_limits`]: control limits around a target proportion
//!   for a unit of size n, as drawn in a funnel plot (Spiegelhalter 2005).
//!
//! Known limits: all three treat the trials as independent with a common
//! probability. Clustering (several applications from one patient, one
//! hospital's habits) widens the true uncertainty; see `overdispersion`.

use serde::{Deserialize, Serialize};
use statrs::distribution::{Binomial, DiscreteCDF};
use statrs::function::beta::beta_reg;

use crate::numeric::{assert_probability, bisect_increasing, interpolated_quantile, two_sided_z};

/// Coverage of the inner funnel limits (about two standard errors).
pub const FUNNEL_INNER: f64 = 0.95;
/// Coverage of the outer funnel limits (about three standard errors).
pub const FUNNEL_OUTER: f64 = 0.998;

/// A closed interval `[lower, upper]` on whatever scale its producer states.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub lower: f64,
    pub upper: f64,
}

impl Interval {
    /// Whether `value` lies inside the interval, ends included.
    pub fn contains(&self, value: f64) -> bool {
        self.lower <= value && value <= self.upper
    }

    /// The interval with both ends multiplied by `factor` (a change of unit,
    /// e.g. from a rate per person to a rate per 100 000).
    pub fn scaled(&self, factor: f64) -> Interval {
        Interval {
            lower: self.lower * factor,
            upper: self.upper * factor,
        }
    }
}

/// The Wilson score interval for `successes` of `trials`.
///
/// Returns `None` when there are no trials or more successes than trials.
///
/// # Panics
/// If `confidence` is not strictly between 0 and 1.
pub fn wilson_interval(successes: u64, trials: u64, confidence: f64) -> Option<Interval> {
    let z = two_sided_z(confidence);
    if trials == 0 || successes > trials {
        return None;
    }
    let n = trials as f64;
    let p = successes as f64 / n;
    let z2 = z * z;
    let denominator = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denominator;
    let half_width = z / denominator * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
    Some(Interval {
        lower: (centre - half_width).max(0.0),
        upper: (centre + half_width).min(1.0),
    })
}

/// The exact (Clopper-Pearson) interval for `successes` of `trials`, as R's
/// `binom.test`: each end is the proportion at which the observed count sits
/// exactly at the edge of a one-sided test of size (1 - confidence) / 2.
///
/// Returns `None` when there are no trials or more successes than trials.
///
/// # Panics
/// If `confidence` is not strictly between 0 and 1.
pub fn clopper_pearson_interval(successes: u64, trials: u64, confidence: f64) -> Option<Interval> {
    assert_probability(confidence, "confidence");
    if trials == 0 || successes > trials {
        return None;
    }
    let tail = (1.0 - confidence) / 2.0;
    let (k, n) = (successes as f64, trials as f64);
    // P(X >= k | p) = I_p(k, n - k + 1) and P(X <= k | p) = 1 - I_p(k + 1, n - k):
    // both tails are regularised incomplete beta functions, increasing in p.
    let lower = if successes == 0 {
        0.0
    } else {
        bisect_increasing(|p| beta_reg(k, n - k + 1.0, p), tail, 0.0, 1.0)
    };
    let upper = if successes == trials {
        1.0
    } else {
        bisect_increasing(|p| beta_reg(k + 1.0, n - k, p), 1.0 - tail, 0.0, 1.0)
    };
    Some(Interval { lower, upper })
}

/// Funnel-plot control limits, as proportions, for a unit with `trials`
/// cases when every unit truly has proportion `target`.
///
/// Uses exact binomial quantiles with the interpolation of Spiegelhalter
/// (2005, "Funnel plots for comparing institutional performance", Stat Med
/// 24:1185, appendix): with `r` the quantile for tail probability `p` and
/// `alpha = (F(r) - p) / (F(r) - F(r - 1))`, the limit is `(r - alpha) / n`.
/// The limits are clamped to [0, 1]: for small `n` the lower formula can go
/// below zero, where it would only mean "no count is low enough to alarm".
///
/// `coverage` is usually [`FUNNEL_INNER`] or [`FUNNEL_OUTER`]. With no
/// trials there is nothing to control, and the whole range [0, 1] is returned.
///
/// # Panics
/// If `coverage` is not strictly between 0 and 1 or `target` is outside [0, 1].
pub fn binomial_funnel_limits(target: f64, trials: u64, coverage: f64) -> Interval {
    assert_probability(coverage, "coverage");
    assert!(
        (0.0..=1.0).contains(&target),
        "target must be a proportion, got {target}"
    );
    if trials == 0 {
        return Interval {
            lower: 0.0,
            upper: 1.0,
        };
    }
    if target == 0.0 || target == 1.0 {
        // A certain outcome: every in-control unit sits exactly on the target.
        return Interval {
            lower: target,
            upper: target,
        };
    }
    let binomial = Binomial::new(target, trials).expect("target and trials were checked");
    let tail = (1.0 - coverage) / 2.0;
    let limit = |prob: f64| {
        let r = interpolated_quantile(|x| binomial.cdf(x), prob, trials);
        (r / trials as f64).clamp(0.0, 1.0)
    };
    Interval {
        lower: limit(tail),
        upper: limit(1.0 - tail),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::assert_close;

    fn check_interval(actual: Option<Interval>, expected: (f64, f64), tolerance: f64) {
        let actual = actual.expect("an interval");
        assert_close(actual.lower, expected.0, tolerance);
        assert_close(actual.upper, expected.1, tolerance);
    }

    #[test]
    fn wilson_matches_newcombe_1998() {
        // Newcombe RG (1998), "Two-sided confidence intervals for the single
        // proportion: comparison of seven methods", Stat Med 17:857-872,
        // Table II, method 3 (score, no continuity correction): 81/263 gives
        // 0.2553 to 0.3662.
        check_interval(wilson_interval(81, 263, 0.95), (0.2553, 0.3662), 5e-5);
    }

    #[test]
    fn wilson_at_the_edges_has_closed_forms() {
        // For k = 0 the lower end is 0 and the upper is z^2 / (n + z^2)
        // (set p = 0 in Wilson's formula); computed here independently.
        let z2 = 1.959_963_984_540_054_f64.powi(2);
        check_interval(wilson_interval(0, 10, 0.95), (0.0, z2 / (10.0 + z2)), 1e-12);
        check_interval(
            wilson_interval(10, 10, 0.95),
            (10.0 / (10.0 + z2), 1.0),
            1e-12,
        );
    }

    #[test]
    fn intervals_without_trials_or_with_impossible_counts_are_none() {
        assert_eq!(wilson_interval(0, 0, 0.95), None);
        assert_eq!(wilson_interval(3, 2, 0.95), None);
        assert_eq!(clopper_pearson_interval(0, 0, 0.95), None);
        assert_eq!(clopper_pearson_interval(3, 2, 0.95), None);
    }

    #[test]
    fn clopper_pearson_matches_r_binom_test() {
        // R 4.x `binom.test(x, n)$conf.int`, as printed in public R session
        // transcripts: 3/4 -> 0.1941204 0.9936905; 28/29 -> 0.8223557
        // 0.9991274; 28/31 -> 0.7424609 0.9795801; 2/2 -> 0.1581139 1.
        let cases = [
            (3, 4, (0.1941204, 0.9936905)),
            (28, 29, (0.8223557, 0.9991274)),
            (28, 31, (0.7424609, 0.9795801)),
            (2, 2, (0.1581139, 1.0)),
        ];
        for (k, n, expected) in cases {
            check_interval(clopper_pearson_interval(k, n, 0.95), expected, 5e-8);
        }
    }

    #[test]
    fn clopper_pearson_at_the_edges_has_closed_forms() {
        // k = 0: upper = 1 - (alpha/2)^(1/n); k = n: lower = (alpha/2)^(1/n).
        let n = 7.0_f64;
        let expected_upper = 1.0 - 0.025_f64.powf(1.0 / n);
        check_interval(
            clopper_pearson_interval(0, 7, 0.95),
            (0.0, expected_upper),
            1e-12,
        );
        let expected_lower = 0.025_f64.powf(1.0 / n);
        check_interval(
            clopper_pearson_interval(7, 7, 0.95),
            (expected_lower, 1.0),
            1e-12,
        );
    }

    #[test]
    fn funnel_limits_for_a_single_trial_follow_the_interpolation_by_hand() {
        // n = 1, p0 = 0.5: F(0) = 0.5, F(1) = 1.
        // Upper (p = 0.975): r = 1, alpha = (1 - 0.975) / 0.5 = 0.05 -> 0.95.
        // Lower (p = 0.025): r = 0, alpha = (0.5 - 0.025) / 0.5 = 0.95 -> -0.95,
        // clamped to 0.
        let limits = binomial_funnel_limits(0.5, 1, FUNNEL_INNER);
        assert_close(limits.upper, 0.95, 1e-12);
        assert_close(limits.lower, 0.0, 0.0);
    }

    #[test]
    fn funnel_limits_agree_with_a_direct_summation_of_the_binomial() {
        // Independent check: the cdf summed term by term from the pmf
        // (no statrs), the quantile found by a linear scan.
        for (p0, n) in [(0.3, 20_u64), (0.8, 57), (0.05, 200)] {
            for coverage in [FUNNEL_INNER, FUNNEL_OUTER] {
                let limits = binomial_funnel_limits(p0, n, coverage);
                let tail = (1.0 - coverage) / 2.0;
                assert_close(limits.lower, by_summation(p0, n, tail), 1e-9);
                assert_close(limits.upper, by_summation(p0, n, 1.0 - tail), 1e-9);
            }
        }
    }

    fn by_summation(p0: f64, n: u64, prob: f64) -> f64 {
        let mut pmf = (1.0 - p0).powi(n as i32);
        let mut cdf = pmf;
        let mut r = 0;
        while cdf < prob {
            r += 1;
            pmf *= (n - r + 1) as f64 / r as f64 * p0 / (1.0 - p0);
            cdf += pmf;
        }
        let alpha = (cdf - prob) / pmf;
        ((r as f64 - alpha) / n as f64).max(0.0)
    }

    #[test]
    fn funnel_limits_approach_the_normal_approximation_for_large_units() {
        // For n = 10 000 and p0 = 0.3 the binomial is close to normal:
        // 0.3 +/- 1.959964 * sqrt(0.21 / 10 000) = 0.3 +/- 0.0089818.
        let limits = binomial_funnel_limits(0.3, 10_000, FUNNEL_INNER);
        assert_close(limits.lower, 0.3 - 0.008_981_8, 2e-4);
        assert_close(limits.upper, 0.3 + 0.008_981_8, 2e-4);
    }

    #[test]
    fn outer_funnel_limits_contain_the_inner_ones() {
        for n in [5, 17, 80, 400] {
            let inner = binomial_funnel_limits(0.4, n, FUNNEL_INNER);
            let outer = binomial_funnel_limits(0.4, n, FUNNEL_OUTER);
            assert!(outer.lower <= inner.lower && inner.upper <= outer.upper);
        }
    }

    #[test]
    fn interval_serialises_with_named_ends() {
        let json = serde_json::to_string(&Interval {
            lower: 0.25,
            upper: 0.5,
        })
        .unwrap();
        assert_eq!(json, r#"{"lower":0.25,"upper":0.5}"#);
    }
}
