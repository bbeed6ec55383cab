//! The projections and their tables: which tables each owns, and which copy of them a
//! run writes.

/// The projections, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Projection {
    /// Case facts, decision counts, the signals' counts, appeals (and the organisation
    /// regions they need).
    Cases,
    /// Residents by year and county, and by age band and sex where the import gives them.
    Population,
}

impl Projection {
    pub const ALL: [Projection; 2] = [Projection::Cases, Projection::Population];

    pub fn name(self) -> &'static str {
        match self {
            Projection::Cases => "cases",
            Projection::Population => "population",
        }
    }

    pub fn parse(name: &str) -> Option<Projection> {
        Projection::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The tables it owns.
    pub fn tables(self) -> &'static [&'static str] {
        match self {
            Projection::Cases => &[
                "projected_organisations",
                "case_facts",
                "decision_counts",
                "decision_counts_by_region",
                "signal_counts",
                "appeal_facts",
            ],
            Projection::Population => &["population", "population_strata"],
        }
    }

    /// Its tables a rebuild fills in bulk, with no index until they are filled: the large
    /// ones.
    pub fn tables_filled_in_bulk(self) -> &'static [&'static str] {
        match self {
            Projection::Cases => &["case_facts", "decision_counts", "signal_counts"],
            Projection::Population => &[],
        }
    }
}

/// Which copy of a projection's tables a run writes: the serving ones, or the copies a
/// rebuild fills before it swaps them in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Live,
    Rebuild,
}

impl Target {
    pub fn table(self, name: &str) -> String {
        match self {
            Target::Live => name.to_string(),
            Target::Rebuild => format!("{name}_rebuild"),
        }
    }

    pub fn checkpoint_name(self, projection: Projection) -> String {
        self.table(projection.name())
    }
}
