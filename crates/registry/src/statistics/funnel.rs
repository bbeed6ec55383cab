//! Funnel-plot data: each unit's grant rate against the national rate with exact 95 % and
//! 99.8 % limits (widened for overdispersion where detected), as the grant-rate signals
//! use them, published like every other statistic.

use analysis::signals::{all_signals, funnel, AnalysisInput, FunnelPoint, Settings, Signal};
use serde::{Deserialize, Serialize};

use std::collections::HashSet;

use chrono::NaiveDate;

use super::{
    Bounds, Publishable, StatisticsQuery, StatisticsRequest, Suppression, Table, Withheld,
};
use crate::actor::{Actor, Role, ANALYSTS};
use crate::error::ServiceError;
use crate::Registry;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FunnelQuery {
    /// The year; the last complete year by default.
    pub year: Option<i32>,
    /// The scheme (default individual_exemption).
    pub scheme: Option<String>,
    pub method_id: Option<String>,
    /// `org` (default) or `region`.
    pub unit: Option<String>,
    /// Withhold units with counts from 1 to 4 (default true; only reviewers and admins may
    /// say false).
    pub suppress: Option<bool>,
}

/// One unit on the funnel plot; a withheld unit keeps its name and nothing else.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FunnelRow {
    pub unit: String,
    pub unit_name: String,
    pub decided: Option<u64>,
    pub granted: Option<u64>,
    #[serde(serialize_with = "super::groups::rounded::share")]
    pub grant_rate: Option<f64>,
    /// The national grant rate the units are compared with; null when the decisions
    /// statistic withholds the national split of this scheme and method.
    #[serde(serialize_with = "super::groups::rounded::share")]
    pub target: Option<f64>,
    pub limits_95: Bounds,
    pub limits_998: Bounds,
    /// Whether the limits were widened for overdispersion.
    pub overdispersion_adjusted: bool,
    /// Two-sided p-value of the unit's rate against the target, after adjustment.
    pub p_value: Option<f64>,
    pub outside_998: Option<bool>,
    #[serde(flatten)]
    pub withheld: Withheld,
    #[serde(skip)]
    keys: Vec<Option<String>>,
}

impl From<FunnelPoint> for FunnelRow {
    fn from(point: FunnelPoint) -> Self {
        let bounds = |i: analysis::proportion::Interval| Bounds {
            lower: Some(i.lower),
            upper: Some(i.upper),
        };
        FunnelRow {
            keys: vec![Some(point.unit.clone())],
            unit: point.unit,
            unit_name: point.unit_name,
            decided: Some(point.decided),
            granted: Some(point.granted),
            grant_rate: Some(point.grant_rate),
            target: Some(point.target),
            limits_95: bounds(point.limits_95),
            limits_998: bounds(point.limits_998),
            overdispersion_adjusted: point.overdispersion_adjusted,
            p_value: Some(point.p_value),
            outside_998: Some(point.outside_998),
            withheld: Withheld::default(),
        }
    }
}

impl Publishable for FunnelRow {
    fn group(&self) -> &[Option<String>] {
        &self.keys
    }

    fn withheld_mut(&mut self) -> &mut Withheld {
        &mut self.withheld
    }

    fn drop_key(&mut self, at: usize, name: &str) {
        self.keys.remove(at);
        let _ = name; // a funnel row's unit is its only key, and it is never sliced
    }

    fn counts(&self) -> Vec<u64> {
        let (decided, granted) = (self.decided.unwrap_or(0), self.granted.unwrap_or(0));
        vec![granted, decided - granted]
    }

    // The limits narrow with the number of decisions, so they tell it: withheld too.
    fn withhold(&mut self) {
        self.decided = None;
        self.granted = None;
        self.grant_rate = None;
        self.limits_95 = Bounds::default();
        self.limits_998 = Bounds::default();
        self.p_value = None;
        self.outside_998 = None;
    }
}

/// The funnel of one year and scheme (and method, if asked).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FunnelTable {
    pub year: i32,
    pub scheme: String,
    pub method_id: Option<String>,
    pub suppressed: bool,
    pub points: Vec<FunnelRow>,
}

/// Publishes funnel points as a table of one dimension, the unit.
pub fn funnel_table(points: Vec<FunnelPoint>, suppress: bool) -> Vec<FunnelRow> {
    let request = StatisticsRequest {
        filter: Default::default(),
        dimensions: Vec::new(),
        suppress,
        curve: false,
        min_position: None,
        org_regions: Default::default(),
        slices: Vec::new(),
    };
    let rows = points.into_iter().map(FunnelRow::from).collect();
    Table::publish(&request, 0, rows).rows
}

impl Registry {
    /// Funnel-plot data (reviewers, supervisors, admins) for `year`.
    pub async fn funnel(
        &self,
        actor: &Actor,
        query: &FunnelQuery,
        year: i32,
    ) -> Result<FunnelTable, ServiceError> {
        let asked = FunnelAsked::parse(actor, query)?;
        let input = self.analysis_input(year, Settings::default()).await?;
        self.funnel_from(actor, &asked, &input, query, year).await
    }

    /// The year's signals and its funnel from one reading of the year's counts: the annual
    /// report shows both. The funnel is published as `funnel` answers it; the signals come
    /// with their figures, as reviewers see them, for the report to publish through its own
    /// suppression (it shows their kinds, units and q-values, and the compliance findings'
    /// counts suppressed). `signals` is what the API answers with.
    pub async fn signals_and_funnel(
        &self,
        actor: &Actor,
        query: &FunnelQuery,
        year: i32,
    ) -> Result<(Vec<Signal>, FunnelTable), ServiceError> {
        let asked = FunnelAsked::parse(actor, query)?;
        let input = self.analysis_input(year, Settings::default()).await?;
        let table = self.funnel_from(actor, &asked, &input, query, year).await?;
        Ok((all_signals(&input), table))
    }

    /// The funnel of the year's counts, published: by its own rule, then as the
    /// decisions statistic withholds.
    async fn funnel_from(
        &self,
        actor: &Actor,
        asked: &FunnelAsked,
        input: &AnalysisInput,
        query: &FunnelQuery,
        year: i32,
    ) -> Result<FunnelTable, ServiceError> {
        let mut table = asked.answer(input, query, year);
        self.withhold_as_the_decisions_do(actor, asked, &mut table)
            .await?;
        Ok(table)
    }

    /// A funnel's points are the decisions statistic's rows of the same year, scheme and
    /// method by unit, and its target the national row's rate: each is withheld where
    /// that statistic withholds it (its mask carries the hierarchy and the slices), so
    /// that the two answers side by side give nothing away.
    async fn withhold_as_the_decisions_do(
        &self,
        actor: &Actor,
        asked: &FunnelAsked,
        table: &mut FunnelTable,
    ) -> Result<(), ServiceError> {
        if !asked.suppress {
            return Ok(());
        }
        let unit = if asked.by_region { "region" } else { "org" };
        let of_year = |group_by: Option<&str>| StatisticsQuery {
            from: NaiveDate::from_ymd_opt(table.year, 1, 1),
            to: NaiveDate::from_ymd_opt(table.year, 12, 31),
            scheme: Some(table.scheme.clone()),
            method_id: table.method_id.clone(),
            group_by: group_by.map(str::to_string),
            ..StatisticsQuery::default()
        };
        let by_unit = self
            .decision_statistics(actor, &of_year(Some(unit)))
            .await?;
        let national = self.decision_statistics(actor, &of_year(None)).await?;
        let published: HashSet<String> = by_unit
            .rows()
            .iter()
            .filter(|row| row.granted.is_some())
            .filter_map(|row| row.group.text(unit))
            .collect();
        for point in &mut table.points {
            if point.decided.is_some() && !published.contains(&point.unit) {
                point.withhold();
                point.withheld = Withheld::row(Suppression::Complementary);
            }
        }
        if national
            .rows()
            .first()
            .is_none_or(|row| row.granted.is_none())
        {
            for point in &mut table.points {
                point.target = None;
                point.limits_95 = Bounds::default();
                point.limits_998 = Bounds::default();
                point.p_value = None;
                point.outside_998 = None;
            }
        }
        Ok(())
    }
}

/// A funnel request, checked: its unit and whether it is suppressed.
struct FunnelAsked {
    by_region: bool,
    suppress: bool,
}

impl FunnelAsked {
    fn parse(actor: &Actor, query: &FunnelQuery) -> Result<FunnelAsked, ServiceError> {
        actor.require(ANALYSTS)?;
        let by_region = match query.unit.as_deref() {
            None | Some("org") => false,
            Some("region") => true,
            Some(_) => {
                return Err(ServiceError::invalid(
                    "unit",
                    "unknown_value",
                    "unit must be org or region",
                ))
            }
        };
        let suppress = query.suppress.unwrap_or(true);
        if !suppress && actor.require(&[Role::Reviewer, Role::Admin]).is_err() {
            return Err(ServiceError::Forbidden(
                "only reviewers and admins may see unsuppressed statistics".into(),
            ));
        }
        Ok(FunnelAsked {
            by_region,
            suppress,
        })
    }

    fn answer(&self, input: &AnalysisInput, query: &FunnelQuery, year: i32) -> FunnelTable {
        let scheme = query
            .scheme
            .clone()
            .unwrap_or_else(|| "individual_exemption".into());
        let cells = input
            .tallies
            .decisions
            .iter()
            .filter(|c| c.scheme == scheme)
            .filter(|c| query.method_id.as_ref().is_none_or(|m| &c.method_id == m));
        let points = funnel(input, cells, |c| match self.by_region {
            true => c.deciding_region.clone(),
            false => Some(c.deciding_org.clone()),
        });
        FunnelTable {
            year,
            scheme,
            method_id: query.method_id.clone(),
            suppressed: self.suppress,
            points: funnel_table(points, self.suppress),
        }
    }
}
