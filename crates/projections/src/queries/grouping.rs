//! What a statistic may be grouped and filtered by, and where each dimension is read:
//! in the case facts, or in a table of counts.

use chrono::{Datelike, NaiveDate};

/// Which region a case counts under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RegionBasis {
    /// The region of the organisation that decided.
    #[default]
    Deciding,
    /// The region that serves the patient's county of residence.
    Residence,
}

/// What a statistic can be grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    Year,
    Quarter,
    Region,
    Org,
    ApplyingOrg,
    Scheme,
    MethodId,
    Icd10Category,
    Sex,
    AgeBand,
    RefusalReason,
    Criterion,
}

impl Dimension {
    pub const ALL: [Dimension; 12] = [
        Dimension::Year,
        Dimension::Quarter,
        Dimension::Region,
        Dimension::Org,
        Dimension::ApplyingOrg,
        Dimension::Scheme,
        Dimension::MethodId,
        Dimension::Icd10Category,
        Dimension::Sex,
        Dimension::AgeBand,
        Dimension::RefusalReason,
        Dimension::Criterion,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Dimension::Year => "year",
            Dimension::Quarter => "quarter",
            Dimension::Region => "region",
            Dimension::Org => "org",
            Dimension::ApplyingOrg => "applying_org",
            Dimension::Scheme => "scheme",
            Dimension::MethodId => "method_id",
            Dimension::Icd10Category => "icd10_category",
            Dimension::Sex => "sex",
            Dimension::AgeBand => "age_band",
            Dimension::RefusalReason => "refusal_reason",
            Dimension::Criterion => "criterion",
        }
    }

    pub fn parse(name: &str) -> Option<Dimension> {
        Dimension::ALL.into_iter().find(|d| d.name() == name)
    }

    /// Whether the dimension has several values per case (joined laterally, one row each).
    pub(super) fn joins_several_rows(self) -> bool {
        matches!(self, Dimension::RefusalReason | Dimension::Criterion)
    }

    /// The SQL for this dimension over `case_facts` (aliased `f`), as text. `date` is the
    /// date column the statistic is about.
    pub(super) fn facts_expression(self, date: &str, basis: RegionBasis) -> String {
        match self {
            Dimension::Year => format!("extract(year from {date})::int::text"),
            Dimension::Quarter => format!("extract(quarter from {date})::int::text"),
            Dimension::Region => match basis {
                RegionBasis::Deciding => "coalesce(f.deciding_region, '')".into(),
                RegionBasis::Residence => "coalesce(f.residence_region, '')".into(),
            },
            Dimension::Org => "f.deciding_org".into(),
            Dimension::ApplyingOrg => "f.applying_org".into(),
            Dimension::Scheme => "f.scheme".into(),
            Dimension::MethodId => "f.method_id".into(),
            Dimension::Icd10Category => "f.icd10_category".into(),
            Dimension::Sex => "f.sex".into(),
            Dimension::AgeBand => "f.age_band".into(),
            Dimension::RefusalReason => "reason.value".into(),
            Dimension::Criterion => "criterion.key || '=' || criterion.value".into(),
        }
    }

    /// The column in `decision_counts`, for the dimensions it has.
    pub(super) fn counts_column(self, basis: RegionBasis) -> Option<&'static str> {
        match self {
            Dimension::Year => Some("year::text"),
            Dimension::Quarter => Some("quarter::text"),
            Dimension::Region => Some(match basis {
                RegionBasis::Deciding => "deciding_region",
                RegionBasis::Residence => "residence_region",
            }),
            Dimension::Org => Some("deciding_org"),
            Dimension::Scheme => Some("scheme"),
            Dimension::MethodId => Some("method_id"),
            Dimension::Icd10Category => Some("icd10_category"),
            _ => None,
        }
    }
}

/// The common filters of every statistic.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub scheme: Option<String>,
    pub method_id: Option<String>,
    pub deciding_org: Option<String>,
    pub region_basis: RegionBasis,
}

/// A table of pre-counted decisions, and how to read a dimension from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountsTable {
    /// `decision_counts_by_region`: region (on either basis), scheme and method per quarter.
    ByRegion,
    /// `decision_counts`: every dimension in `Dimension::counts_column`.
    Full,
}

impl CountsTable {
    pub(super) fn column(self, dimension: Dimension, basis: RegionBasis) -> Option<&'static str> {
        match self {
            CountsTable::Full => dimension.counts_column(basis),
            CountsTable::ByRegion => match dimension {
                Dimension::Year => Some("year::text"),
                Dimension::Quarter => Some("quarter::text"),
                Dimension::Region => Some("region"),
                Dimension::Scheme => Some("scheme"),
                Dimension::MethodId => Some("method_id"),
                _ => None,
            },
        }
    }

    /// The table and the condition that picks its rows for a filter's region basis and
    /// organisation ($5 and $6 in the query).
    pub(super) fn source(self) -> (&'static str, &'static str) {
        match self {
            CountsTable::ByRegion => (
                "decision_counts_by_region",
                "region_basis = $6 and $5::text is null",
            ),
            CountsTable::Full => (
                "decision_counts",
                "($5::text is null or deciding_org = $5) and $6::text is not null",
            ),
        }
    }

    /// Whether this table answers the question: it has every dimension (and the
    /// organisation, if the filter names one), and the period is whole quarters.
    pub fn answers(self, filter: &Filter, dimensions: &[Dimension]) -> bool {
        let whole_quarters =
            filter.from.is_none_or(starts_quarter) && filter.to.is_none_or(ends_quarter);
        let has_org = self == CountsTable::Full || filter.deciding_org.is_none();
        whole_quarters
            && has_org
            && dimensions
                .iter()
                .all(|d| self.column(*d, filter.region_basis).is_some())
    }
}

/// Whether `date` is the first day of a calendar quarter.
pub fn starts_quarter(date: NaiveDate) -> bool {
    date.day() == 1 && date.month0().is_multiple_of(3)
}

/// Whether `date` is the last day of a calendar quarter.
pub fn ends_quarter(date: NaiveDate) -> bool {
    date.succ_opt().is_some_and(starts_quarter)
}

/// `year * 10 + quarter`, the period key the counts tables can be filtered by.
pub(super) fn period_key(date: NaiveDate) -> i32 {
    date.year() * 10 + i32::from(analysis::calendar::quarter_of(date))
}
