//! Intervals and funnel limits for counts of rare events, such as the number
//! of exemption applications from a health region in a year.
//!
//! * [`garwood_interval`]: the exact interval for a Poisson count (Garwood
//!   1936), as R's `poisson.test`.
//! * [`rate_per_100k_interval`]: the same interval turned into an
//!   application rate per 100 000 inhabitants.
//! * [`poisson_funnel_limits`]: control limits for an observed/expected
//!   ratio when a unit expects `expected` events (Spiegelhalter 2005).
//!
//! Known limits: a Poisson model assumes events occur independently at a
//! constant rate. Repeat applications or seasonal waves make the counts
//! overdispersed, and these intervals then are too narrow.

use statrs::distribution::{DiscreteCDF, Poisson};
use statrs::function::gamma::gamma_lr;

use crate::numeric::{assert_probability, bisect_increasing, interpolated_quantile};
use crate::proportion::Interval;

/// Rates are published per this many inhabitants.
pub const RATE_BASE: f64 = 100_000.0;

/// The exact (Garwood) interval for the mean of a Poisson count.
///
/// The ends are gamma quantiles (equivalently half chi-square quantiles):
/// lower = G(count, 1) at (1 - confidence) / 2, or 0 for a zero count;
/// upper = G(count + 1, 1) at (1 + confidence) / 2.
///
/// # Panics
/// If `confidence` is not strictly between 0 and 1.
pub fn garwood_interval(count: u64, confidence: f64) -> Interval {
    assert_probability(confidence, "confidence");
    let tail = (1.0 - confidence) / 2.0;
    let lower = if count == 0 {
        0.0
    } else {
        gamma_quantile(count as f64, tail)
    };
    let upper = gamma_quantile(count as f64 + 1.0, 1.0 - tail);
    Interval { lower, upper }
}

/// The Garwood interval for `count` events in `population` people, as a rate
/// per [`RATE_BASE`] inhabitants. `None` for a population of zero.
///
/// The population is treated as known exactly, as registry denominators
/// (Statistics Norway's population counts) are.
///
/// # Panics
/// If `confidence` is not strictly between 0 and 1.
pub fn rate_per_100k_interval(count: u64, population: u64, confidence: f64) -> Option<Interval> {
    let interval = garwood_interval(count, confidence);
    (population > 0).then(|| interval.scaled(RATE_BASE / population as f64))
}

/// Funnel-plot control limits for the ratio observed / expected of a unit
/// that expects `expected` events when it is in control (ratio 1).
///
/// Uses the exact Poisson quantile with Spiegelhalter's (2005) interpolation
/// (see `proportion::binomial_funnel_limits`), divided by `expected`. The
/// lower limit is clamped at 0. With nothing expected there is nothing to
/// control, and the limits are [0, infinity].
///
/// # Panics
/// If `coverage` is not strictly between 0 and 1 or `expected` is negative
/// or not finite.
pub fn poisson_funnel_limits(expected: f64, coverage: f64) -> Interval {
    assert_probability(coverage, "coverage");
    assert!(
        expected.is_finite() && expected >= 0.0,
        "expected must be a finite non-negative count, got {expected}"
    );
    if expected == 0.0 {
        return Interval {
            lower: 0.0,
            upper: f64::INFINITY,
        };
    }
    let poisson = Poisson::new(expected).expect("expected was checked");
    let tail = (1.0 - coverage) / 2.0;
    let max = poisson_search_bound(expected);
    let limit = |prob: f64| {
        let r = interpolated_quantile(|x| poisson.cdf(x), prob, max);
        (r / expected).max(0.0)
    };
    Interval {
        lower: limit(tail),
        upper: limit(1.0 - tail),
    }
}

/// A count above which a Poisson(mean) has no mass worth searching: forty
/// standard deviations beyond the mean, plus room for small means.
fn poisson_search_bound(mean: f64) -> u64 {
    (mean + 40.0 * mean.sqrt() + 50.0).ceil() as u64
}

/// The `prob` quantile of a Gamma(shape, rate 1) distribution.
pub(crate) fn gamma_quantile(shape: f64, prob: f64) -> f64 {
    let mut hi = shape + 10.0;
    while gamma_lr(shape, hi) < prob {
        hi *= 2.0;
    }
    bisect_increasing(|x| gamma_lr(shape, x), prob, 0.0, hi)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::assert_close;

    #[test]
    fn garwood_matches_r_poisson_test() {
        // R `poisson.test(10)`: 95 percent confidence interval
        // 4.795389 18.390356 (as printed in public R transcripts).
        let interval = garwood_interval(10, 0.95);
        assert_close(interval.lower, 4.795389, 5e-7);
        assert_close(interval.upper, 18.390356, 5e-7);
    }

    #[test]
    fn garwood_for_zero_has_a_closed_form() {
        // For a zero count the upper end solves exp(-mu) = 0.025, so it is
        // -ln(0.025) = 3.688879...; the lower end is 0.
        let interval = garwood_interval(0, 0.95);
        assert_eq!(interval.lower, 0.0);
        assert_close(interval.upper, -(0.025_f64.ln()), 1e-12);
    }

    #[test]
    fn rate_interval_matches_r_poisson_test_with_a_time_base() {
        // R `poisson.test(10, 9)`: rate interval 0.532821 2.043373 per unit
        // of time base. 10 events in 900 000 people is the same rate per
        // 100 000 (9 units of 100 000).
        let interval = rate_per_100k_interval(10, 900_000, 0.95).unwrap();
        assert_close(interval.lower, 0.532821, 5e-7);
        assert_close(interval.upper, 2.043373, 5e-7);
    }

    #[test]
    fn rate_interval_needs_a_population() {
        assert_eq!(rate_per_100k_interval(3, 0, 0.95), None);
    }

    #[test]
    fn poisson_funnel_limits_follow_the_interpolation_by_hand() {
        // Expected 1: F(0) = e^-1 = 0.367879, F(1) = 0.735759,
        // F(2) = 0.919699, F(3) = 0.981012.
        // Upper (p = 0.975): r = 3, alpha = (F(3) - 0.975) / P(3)
        //   = (0.981012 - 0.975) / 0.061313 = 0.098054 -> 2.901946.
        // Lower (p = 0.025): r = 0, alpha = (F(0) - 0.025) / F(0) -> below 0, clamped.
        let e = std::f64::consts::E.recip();
        let f3 = e * (1.0 + 1.0 + 0.5 + 1.0 / 6.0);
        let p3 = e / 6.0;
        let limits = poisson_funnel_limits(1.0, 0.95);
        assert_close(limits.upper, 3.0 - (f3 - 0.975) / p3, 1e-12);
        assert_eq!(limits.lower, 0.0);
    }

    #[test]
    fn poisson_funnel_limits_approach_the_normal_approximation() {
        // For E = 10 000: 1 +/- 1.959964 / sqrt(10 000) = 1 +/- 0.0196.
        let limits = poisson_funnel_limits(10_000.0, 0.95);
        assert_close(limits.lower, 1.0 - 0.0196, 3e-4);
        assert_close(limits.upper, 1.0 + 0.0196, 3e-4);
    }

    #[test]
    fn nothing_expected_means_nothing_to_control() {
        let limits = poisson_funnel_limits(0.0, 0.998);
        assert_eq!(limits.lower, 0.0);
        assert!(limits.upper.is_infinite());
    }
}
