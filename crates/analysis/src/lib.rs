//! Pure statistics for the exemption registry: intervals for grant and
//! application rates, funnel-plot limits, overdispersion, survival curves
//! for processing times, exact tests and small-cell suppression.
//!
//! Architecture invariant: this crate does no I/O. It takes numbers and
//! returns numbers; it knows nothing of the database, HTTP or files, so every
//! function can be checked against a textbook or R without setting anything up.

pub mod exact;
pub mod overdispersion;
pub mod poisson;
pub mod proportion;
pub mod signals;
pub mod suppression;
pub mod survival;

mod numeric;

pub use proportion::Interval;
