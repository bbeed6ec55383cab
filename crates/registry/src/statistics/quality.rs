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
    fn new(
        dimensions: &[Dimension],
        quality: ReportingQuality,
        names: &HashMap<String, String>,
    ) -> Self {
        ReportingQualityRow {
            group: GroupKeys::new(dimensions, &quality.keys, names),
            keys: quality.keys,
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
    // One row per organisation (and per value of what a filter slices by): the
    // organisation's region and the nation are its coarser groupings.
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

    // Counts of cases narrowed by method and period are counts of patients; so are the
    // differences a reader can take within the row: cases less decisions are the pending
    // ones, cases less retractions the ones that stand.
    fn counts(&self) -> Vec<u64> {
        let [cases, decisions, corrections, retractions] = [
            self.cases,
            self.decisions,
            self.corrections,
            self.retractions,
        ]
        .map(|n| n.unwrap_or(0));
        vec![
            cases,
            decisions,
            cases.saturating_sub(decisions),
            corrections,
            retractions,
            cases.saturating_sub(retractions),
        ]
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
        .map(|quality| ReportingQualityRow::new(&request.dimensions, quality, names))
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
        // Always by organisation: published like `group_by=org` of any other statistic,
        // the region beside each organisation and the filters answered as slices, so
        // that the regions' and the nation's figures give nothing away.
        let parsed = StatisticsRequest::parse(actor, query)?;
        refuse_other_groupings(&parsed)?;
        let by_org = StatisticsQuery {
            group_by: Some(Dimension::Org.name().to_string()),
            ..query.clone()
        };
        let request = self.statistics_request(actor, &by_org).await?;
        let as_of_position = self.as_of(request.min_position).await?;
        let names = queries::organisation_names(self.pool()).await?;
        let qualities =
            queries::reporting_quality(self.pool(), &request.filter, &request.dimensions).await?;
        super::published_apart(move || {
            reporting_quality_table(&request, as_of_position, qualities, &names)
        })
        .await
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
