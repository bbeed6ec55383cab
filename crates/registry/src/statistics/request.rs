//! What a statistic is asked: the period, filters, grouping, and whether to suppress.

use std::collections::HashMap;

use chrono::NaiveDate;
use domain::case::Scheme;
use domain::codes::MethodId;
use domain::organisation::OrganisationNumber;
use domain::problems::Problems;
use projections::queries::{ends_quarter, starts_quarter, Dimension, Filter, RegionBasis};
use serde::Deserialize;

use crate::actor::{Actor, Role, STATISTICS_READERS};
use crate::error::ServiceError;

/// The parameters every statistic takes.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StatisticsQuery {
    /// First date of the period (the decision date for decisions, else the received date).
    pub from: Option<NaiveDate>,
    /// Last date of the period.
    pub to: Option<NaiveDate>,
    pub scheme: Option<String>,
    pub method_id: Option<String>,
    pub deciding_org: Option<String>,
    /// `deciding` (default) or `residence`.
    pub region_basis: Option<String>,
    /// Comma list of year, quarter, region, org, applying_org, scheme, method_id,
    /// icd10_category, sex, age_band, refusal_reason, criterion.
    pub group_by: Option<String>,
    /// Withhold counts from 1 to 4 (default true; only reviewers and admins may say false).
    pub suppress: Option<bool>,
    /// Wait up to 2 s until the statistics include the event at this position.
    pub min_position: Option<i64>,
    /// Processing times only: include the Kaplan-Meier step function.
    pub curve: Option<bool>,
}

/// A parsed and authorised statistics request.
#[derive(Debug, Clone)]
pub struct StatisticsRequest {
    pub filter: Filter,
    pub dimensions: Vec<Dimension>,
    pub suppress: bool,
    pub curve: bool,
    pub min_position: Option<i64>,
    /// The region each organisation belongs to, when the request groups by organisation:
    /// a reader can add a region's trusts up and compare with the region's own answer.
    pub org_regions: OrgRegions,
    /// Filters answered as a slice of the grouping by their dimension (see
    /// [`StatisticsRequest::slice_filters`]).
    pub slices: Vec<Slice>,
}

/// A filter answered as a slice: the rows of the grouping by `dimension` that have
/// `value`, the key itself left out of the answer unless it was asked to group by it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slice {
    pub dimension: Dimension,
    pub value: String,
    pub shown: bool,
}

/// Organisation number to the number of its regional health authority (none for Helfo and
/// the other national bodies).
pub type OrgRegions = HashMap<String, Option<String>>;

impl StatisticsRequest {
    /// Checks the actor may read statistics (and see them unsuppressed, if asked), and
    /// lists every problem with the parameters at once.
    pub fn parse(actor: &Actor, query: &StatisticsQuery) -> Result<Self, ServiceError> {
        actor.require(STATISTICS_READERS)?;
        let mut problems = Problems::new();
        let region_basis = region_basis(query.region_basis.as_deref(), &mut problems);
        let dimensions = dimensions(query.group_by.as_deref(), &mut problems);
        check_filters(query, &mut problems);
        if let (Some(from), Some(to)) = (query.from, query.to) {
            if from > to {
                problems.add("from", "period_reversed", "from is after to");
            }
        }
        let suppress = query.suppress.unwrap_or(true);
        if suppress {
            check_whole_quarters(query, &mut problems);
        }
        problems.finish(|| ()).map_err(ServiceError::Invalid)?;
        if !suppress && actor.require(&[Role::Reviewer, Role::Admin]).is_err() {
            return Err(ServiceError::Forbidden(
                "only reviewers and admins may see unsuppressed statistics".into(),
            ));
        }
        Ok(StatisticsRequest {
            filter: Filter {
                from: query.from,
                to: query.to,
                scheme: query.scheme.clone(),
                method_id: query.method_id.clone(),
                deciding_org: query.deciding_org.clone(),
                region_basis,
            },
            dimensions,
            suppress,
            curve: query.curve.unwrap_or(false),
            min_position: query.min_position,
            org_regions: OrgRegions::new(),
            slices: Vec::new(),
        })
    }

    /// Turns the scheme, method and organisation filters into slices: the answer is
    /// grouped by each filtered dimension too, suppressed as the unfiltered grouping is,
    /// and only then cut to the filtered value. So `group_by=org&scheme=X` withholds
    /// exactly what `group_by=org,scheme` withholds in its rows for X: two answers a reader
    /// can put side by side never hide different complements of the same cell.
    pub(super) fn slice_filters(&mut self) {
        let filters = [
            (Dimension::Scheme, self.filter.scheme.take()),
            (Dimension::MethodId, self.filter.method_id.take()),
            (Dimension::Org, self.filter.deciding_org.take()),
        ];
        for (dimension, value) in filters {
            let Some(value) = value else { continue };
            let shown = self.dimensions.contains(&dimension);
            if !shown {
                self.dimensions.push(dimension);
            }
            self.slices.push(Slice {
                dimension,
                value,
                shown,
            });
        }
    }

    /// The dimensions the answer shows: those asked for, not those only sliced by.
    pub fn shown_dimensions(&self) -> Vec<Dimension> {
        self.dimensions
            .iter()
            .copied()
            .filter(|d| !self.slices.iter().any(|s| s.dimension == *d && !s.shown))
            .collect()
    }

    /// The keys suppression works on: each row's group, and after it what a reader can
    /// add rows up to although no dimension of the request names it. When rows are
    /// grouped by deciding or applying organisation but not by deciding region, the
    /// organisation's region (an applying trust's cases are nearly always decided in its
    /// own region), so
    /// that the region's answer (and the national one) count as coarser groupings of this
    /// one; a region is a function of the organisation, so no group is split. When rows
    /// are grouped by criterion, the criterion without its value: a criterion's "met" and
    /// "not met" add up to the decisions that assessed it, nearly every decision of the
    /// scheme, where the rows of different criteria add up to nothing a reader can see.
    pub(super) fn suppression_keys(
        &self,
        groups: Vec<Vec<Option<String>>>,
    ) -> Vec<Vec<Option<String>>> {
        let by_deciding_region = self.position_of(Dimension::Region).is_some()
            && self.filter.region_basis == RegionBasis::Deciding;
        let orgs_at: Vec<usize> = match by_deciding_region {
            true => Vec::new(),
            false => self.organisation_positions(),
        };
        let criterion_at = self.position_of(Dimension::Criterion);
        groups
            .into_iter()
            .map(|mut keys| {
                for &org_at in &orgs_at {
                    let region = keys[org_at]
                        .as_ref()
                        .and_then(|org| self.org_regions.get(org).cloned().flatten());
                    keys.push(region);
                }
                if let Some(criterion_at) = criterion_at {
                    let criterion = keys[criterion_at]
                        .as_ref()
                        .map(|assessed| assessed.split('=').next().unwrap_or("").to_string());
                    keys.push(criterion);
                }
                keys
            })
            .collect()
    }

    /// Where the request groups by an organisation, deciding or applying: each such row
    /// belongs to the organisation's region (`org_regions`).
    pub(super) fn organisation_positions(&self) -> Vec<usize> {
        [Dimension::Org, Dimension::ApplyingOrg]
            .into_iter()
            .filter_map(|d| self.position_of(d))
            .collect()
    }

    /// The position of `dimension` among the request's, if it groups by it.
    pub fn position_of(&self, dimension: Dimension) -> Option<usize> {
        self.dimensions.iter().position(|d| *d == dimension)
    }
}

/// The filters must name what exists: a scheme, a Nye metoder id, an organisation number.
/// (A filter that matches nothing because it is misspelt would answer a quiet zero.)
fn check_filters(query: &StatisticsQuery, problems: &mut Problems) {
    if let Some(scheme) = &query.scheme {
        if Scheme::parse(scheme).is_none() {
            let known: Vec<&str> = Scheme::ALL.iter().map(|s| s.as_str()).collect();
            problems.add(
                "scheme",
                "unknown_value",
                format!("scheme must be one of {}", known.join(", ")),
            );
        }
    }
    if let Some(method_id) = &query.method_id {
        problems.take("method_id", MethodId::parse(method_id));
    }
    if let Some(org) = &query.deciding_org {
        problems.take("deciding_org", OrganisationNumber::parse(org));
    }
}

/// Suppressed figures are for whole quarters only. Two periods a day apart would
/// otherwise differ by one day's cases, which no suppression of either answer can hide;
/// quarters are what `group_by=quarter` publishes, suppressed, anyway.
fn check_whole_quarters(query: &StatisticsQuery, problems: &mut Problems) {
    if query.from.is_some_and(|from| !starts_quarter(from)) {
        problems.add(
            "from",
            "not_a_quarter_start",
            "from must be the first day of a quarter (1 January, 1 April, 1 July or \
             1 October) when figures are suppressed",
        );
    }
    if query.to.is_some_and(|to| !ends_quarter(to)) {
        problems.add(
            "to",
            "not_a_quarter_end",
            "to must be the last day of a quarter (31 March, 30 June, 30 September or \
             31 December) when figures are suppressed",
        );
    }
}

fn region_basis(text: Option<&str>, problems: &mut Problems) -> RegionBasis {
    match text {
        None | Some("deciding") => RegionBasis::Deciding,
        Some("residence") => RegionBasis::Residence,
        Some(_) => {
            problems.add(
                "region_basis",
                "unknown_value",
                "region_basis must be deciding or residence",
            );
            RegionBasis::Deciding
        }
    }
}

fn dimensions(group_by: Option<&str>, problems: &mut Problems) -> Vec<Dimension> {
    let mut dimensions = Vec::new();
    for name in group_by
        .into_iter()
        .flat_map(|g| g.split(','))
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        match Dimension::parse(name) {
            Some(d) if !dimensions.contains(&d) => dimensions.push(d),
            Some(_) => problems.add("group_by", "duplicate", format!("{name} is listed twice")),
            None => problems.add(
                "group_by",
                "unknown_dimension",
                format!("cannot group by {name}"),
            ),
        }
    }
    dimensions
}
