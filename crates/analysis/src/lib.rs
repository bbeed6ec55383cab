//! Pure statistics for the exemption registry: intervals for grant and
//! application rates, funnel-plot limits, overdispersion, survival curves
//! for processing times, exact tests and small-cell suppression.
//!
//! Architecture invariant: this crate does no I/O. It takes numbers and
//! returns numbers; it knows nothing of the database, HTTP or files, so every
//! function can be checked against a textbook or R without setting anything up.

pub mod calendar;
pub mod disclosure;
pub mod exact;
pub mod overdispersion;
pub mod poisson;
pub mod proportion;
pub mod random_effects;
pub mod signals;
pub mod standardisation;
pub mod suppression;
pub mod survival;

mod numeric;

pub use proportion::Interval;

#[cfg(test)]
mod test_support {
    /// Asserts that `actual` is within `tolerance` of the reference value `expected`.
    pub fn assert_close(actual: f64, expected: f64, tolerance: f64) {
        assert!(
            (actual - expected).abs() <= tolerance,
            "expected {expected}, got {actual} (tolerance {tolerance})"
        );
    }
}
