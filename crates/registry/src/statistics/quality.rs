//! How each deciding organisation reports: delay from decision to report, corrections,
//! retractions, and the share of decisions with every criterion documented.

use std::collections::HashMap;

use projections::queries::{self, Dimension, ReportingQuality};
use serde::Serialize;

use super::{GroupKeys, Publishable, StatisticsQuery, StatisticsRequest, Table, Withheld};
use crate::actor::Actor;
use crate::error::ServiceError;
use crate::Registry;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ReportingQualityRow {
    /// The deciding organisation, with `org_name`.
    #[serde(flatten)]
    pub group: GroupKeys,
    #[serde(skip)]
    keys: Vec<Option<String>>,
    pub cases: Option<u64>,
    pub decisions: Option<u64>,
    /// Median days from the decision to its report reaching the registry.
    #[serde(serialize_with = "super::groups::rounded::one_decimal")]
    pub median_report_delay_days: Option<f64>,
    pub corrections: Option<u64>,
    pub retractions: Option<u64>,
    /// Share of decisions that document every criterion of their scheme.
    #[serde(serialize_with = "super::groups::rounded::share")]
    pub share_complete_criteria: Option<f64>,
    #[serde(flatten)]
    pub withheld: Withheld,
}

fn count(n: i64) -> Option<u64> {
    Some(n.max(0) as u64)
}

impl ReportingQualityRow {
    fn new(quality: ReportingQuality, names: &HashMap<String, String>) -> Self {
        let name = names.get(&quality.org).cloned();
        ReportingQualityRow {
            group: GroupKeys::of([("org", Some(quality.org.clone())), ("org_name", name)]),
            keys: vec![Some(quality.org.clone())],
            cases: count(quality.cases),
            decisions: count(quality.decisions),
            median_report_delay_days: quality.median_report_delay_days,
            corrections: count(quality.corrections),
            retractions: count(quality.retractions),
            share_complete_criteria: quality.share_complete_criteria,
            withheld: Withheld::default(),
        }
    }
}

impl Publishable for ReportingQualityRow {
    // One row per organisation, whatever the request groups by: the rows' only coarser
    // grouping is all organisations together.
    fn group(&self) -> &[Option<String>] {
        &self.keys
    }

    fn withheld_mut(&mut self) -> &mut Withheld {
        &mut self.withheld
    }

    fn drop_key(&mut self, at: usize, name: &str) {
        self.keys.remove(at);
        self.group.remove(name);
    }

    // Counts of cases narrowed by method and period are counts of patients.
    fn counts(&self) -> Vec<u64> {
        [
            self.cases,
            self.decisions,
            self.corrections,
            self.retractions,
        ]
        .map(|n| n.unwrap_or(0))
        .to_vec()
    }

    fn withhold(&mut self) {
        self.cases = None;
        self.decisions = None;
        self.median_report_delay_days = None;
        self.corrections = None;
        self.retractions = None;
        self.share_complete_criteria = None;
    }
}

pub fn reporting_quality_table(
    request: &StatisticsRequest,
    as_of_position: i64,
    qualities: Vec<ReportingQuality>,
    names: &HashMap<String, String>,
) -> Table<ReportingQualityRow> {
    let rows = qualities
        .into_iter()
        .map(|quality| ReportingQualityRow::new(quality, names))
        .collect();
    Table::publish(request, as_of_position, rows)
}

impl Registry {
    /// Reporting quality per deciding organisation, as the actor may see it.
    pub async fn reporting_quality_statistics(
        &self,
        actor: &Actor,
        query: &StatisticsQuery,
    ) -> Result<Table<ReportingQualityRow>, ServiceError> {
        // Filters stay filters here: one row per organisation, whatever is asked.
        let request = StatisticsRequest::parse(actor, query)?;
        refuse_other_groupings(&request)?;
        let as_of_position = self.as_of(request.min_position).await?;
        let names = queries::organisation_names(self.pool()).await?;
        let qualities = queries::reporting_quality(self.pool(), &request.filter).await?;
        Ok(reporting_quality_table(
            &request,
            as_of_position,
            qualities,
            &names,
        ))
    }
}

/// Reporting quality is per deciding organisation, always: a request for another grouping
/// is refused rather than silently answered per organisation.
fn refuse_other_groupings(request: &StatisticsRequest) -> Result<(), ServiceError> {
    match request.dimensions.as_slice() {
        [] | [Dimension::Org] => Ok(()),
        _ => Err(ServiceError::invalid(
            "group_by",
            "unsupported_grouping",
            "reporting quality is given per deciding organisation only: leave out group_by, or use group_by=org",
        )),
    }
}
