//! Direct age- and sex-standardisation of rates: each stratum's rate (events per
//! person-time) weighted by the stratum's share of a standard population, so that regions
//! with older or younger residents compare as if they had the same make-up.
//!
//! The interval is Fay and Feuer's (1997) gamma interval, which holds its coverage for
//! small counts, where a normal approximation does not; with one stratum it is the exact
//! (Garwood) Poisson interval of the crude rate.

use crate::numeric::assert_probability;
use crate::poisson::{gamma_quantile, RATE_BASE};
use crate::proportion::Interval;

/// One stratum (an age band of one sex, say): its events, the person-time they occurred
/// in, and the stratum's residents in the standard population.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stratum {
    pub events: u64,
    pub person_time: f64,
    pub standard: f64,
}

/// A directly standardised rate per [`RATE_BASE`] person-years, with its interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StandardisedRate {
    pub per_100k: f64,
    pub interval: Interval,
}

/// The directly standardised rate of `strata` and its Fay-Feuer interval at `confidence`.
/// None when the standard population is empty, or a stratum the standard has residents
/// in has no person-time of its own (its rate is unknown).
///
/// # Panics
/// If `confidence` is not strictly between 0 and 1.
pub fn directly_standardised_rate(strata: &[Stratum], confidence: f64) -> Option<StandardisedRate> {
    assert_probability(confidence, "confidence");
    let standard_total: f64 = strata.iter().map(|s| s.standard).sum();
    if standard_total.is_nan() || standard_total <= 0.0 {
        return None;
    }
    // A stratum's weight turns one of its events into its share of the standardised rate.
    let mut weights = Vec::with_capacity(strata.len());
    for stratum in strata.iter().filter(|s| s.standard > 0.0) {
        if stratum.person_time.is_nan() || stratum.person_time <= 0.0 {
            return None;
        }
        let weight = stratum.standard / (standard_total * stratum.person_time);
        weights.push((weight, stratum.events as f64));
    }
    let rate: f64 = weights.iter().map(|(w, events)| w * events).sum();
    let variance: f64 = weights.iter().map(|(w, events)| w * w * events).sum();
    let largest_weight = weights.iter().map(|(w, _)| *w).fold(0.0, f64::max);
    let tail = (1.0 - confidence) / 2.0;
    let lower = if rate > 0.0 {
        gamma_quantile(rate * rate / variance, tail) * variance / rate
    } else {
        0.0
    };
    let (upper_rate, upper_variance) = (rate + largest_weight, variance + largest_weight.powi(2));
    let upper = gamma_quantile(upper_rate * upper_rate / upper_variance, 1.0 - tail)
        * upper_variance
        / upper_rate;
    Some(StandardisedRate {
        per_100k: rate * RATE_BASE,
        interval: Interval { lower, upper }.scaled(RATE_BASE),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::poisson::rate_per_100k_interval;
    use crate::test_support::assert_close;

    #[test]
    fn one_stratum_is_the_crude_rate_with_the_exact_poisson_interval() {
        let strata = [Stratum {
            events: 10,
            person_time: 200_000.0,
            standard: 5_000_000.0,
        }];
        let rate = directly_standardised_rate(&strata, 0.95).unwrap();
        let crude = rate_per_100k_interval(10, 200_000, 0.95).unwrap();
        assert_close(rate.per_100k, 5.0, 1e-12);
        assert_close(rate.interval.lower, crude.lower, 1e-9);
        assert_close(rate.interval.upper, crude.upper, 1e-9);
    }

    #[test]
    fn strata_are_weighted_by_the_standard_population() {
        // 10 events in 1 000 person-years and 20 in 4 000, with a standard population of
        // 3 000 and 2 000: 0.6 * 0.01 + 0.4 * 0.005 = 0.008, 800 per 100 000.
        let strata = [
            Stratum {
                events: 10,
                person_time: 1_000.0,
                standard: 3_000.0,
            },
            Stratum {
                events: 20,
                person_time: 4_000.0,
                standard: 2_000.0,
            },
        ];
        let rate = directly_standardised_rate(&strata, 0.95).unwrap();
        assert_close(rate.per_100k, 800.0, 1e-9);
        // Fay-Feuer: y = 0.008, v = 0.6^2/1000^2 * 10 + 0.4^2/4000^2 * 20 = 3.8e-6, the
        // largest weight 6e-4; lower = Gamma(y^2/v = 16.842, scale v/y) at 2.5 %.
        assert!(rate.interval.lower < 800.0 && rate.interval.upper > 800.0);
        let shape: f64 = 0.008f64.powi(2) / 3.8e-6;
        let lower = gamma_quantile(shape, 0.025) * 3.8e-6 / 0.008 * RATE_BASE;
        assert_close(rate.interval.lower, lower, 1e-9);
        assert!(rate.interval.lower > 400.0 && rate.interval.upper < 1400.0);
    }

    #[test]
    fn no_events_give_a_zero_rate_with_a_positive_upper_end() {
        let strata = [
            Stratum {
                events: 0,
                person_time: 1_000.0,
                standard: 1_000.0,
            },
            Stratum {
                events: 0,
                person_time: 1_000.0,
                standard: 1_000.0,
            },
        ];
        let rate = directly_standardised_rate(&strata, 0.95).unwrap();
        assert_eq!(rate.per_100k, 0.0);
        assert_eq!(rate.interval.lower, 0.0);
        // The largest weight is 1 / 2000 per person-year; Gamma(1) at 97.5 % is 3.689.
        assert_close(rate.interval.upper, 3.688879 / 2_000.0 * RATE_BASE, 1e-3);
    }

    #[test]
    fn a_stratum_without_person_time_leaves_the_rate_unknown() {
        let strata = [Stratum {
            events: 0,
            person_time: 0.0,
            standard: 1_000.0,
        }];
        assert_eq!(directly_standardised_rate(&strata, 0.95), None);
        assert_eq!(directly_standardised_rate(&[], 0.95), None);
    }
}
