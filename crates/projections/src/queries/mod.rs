//! Queries on the read models, for the statistics and the signals. The SQL lives here,
//! beside the tables it reads; the statistics themselves are computed by `analysis` and
//! published by `registry`.

mod grouping;
mod signal_input;
mod sql;
mod statistics;

pub use grouping::{ends_quarter, starts_quarter, CountsTable, Dimension, Filter, RegionBasis};
pub use signal_input::{exemption_days, signal_cases, signal_counts};
pub use statistics::{
    appeals, applications, decisions, decisions_from_counts, decisions_from_facts, last_day_known,
    organisation_names, organisation_regions, population_by_year_and_region,
    population_strata_by_year_and_region, processing, reporting_quality, AppealRow, DecisionGroup,
    Processing, ReportingQuality,
};

/// A date as the analysis crate counts days.
pub use analysis::calendar::day;
