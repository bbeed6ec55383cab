//! Applications received per group; with region_basis=residence also per 100 000
//! residents, with a Poisson interval.

use std::collections::HashMap;

use analysis::poisson::rate_per_100k_interval;
use chrono::Datelike;
use projections::queries::{self, Dimension, RegionBasis};
use serde::Serialize;

use super::{Bounds, GroupKeys, Publishable, StatisticsQuery, StatisticsRequest, Table};
use crate::actor::Actor;
use crate::error::ServiceError;
use crate::Registry;

/// Residents by year and region, as the population import says.
pub type Population = HashMap<(i32, String), i64>;

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ApplicationRow {
    #[serde(flatten)]
    pub group: GroupKeys,
    #[serde(skip)]
    keys: Vec<Option<String>>,
    pub applications: Option<u64>,
    /// Residents behind the row (person-years over the period): only by residence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub residents: Option<Option<i64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_100k: Option<Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_100k_ci95: Option<Bounds>,
    pub suppressed: bool,
}

impl Publishable for ApplicationRow {
    fn group(&self) -> &[Option<String>] {
        &self.keys
    }

    fn counts(&self) -> Vec<u64> {
        vec![self.applications.unwrap_or(0)]
    }

    fn withhold(&mut self) {
        self.applications = None;
        if self.per_100k.is_some() {
            self.per_100k = Some(None);
            self.per_100k_ci95 = Some(Bounds::default());
        }
        self.suppressed = true;
    }
}

/// The applications table from its counted groups; rates when `population` is given.
pub fn application_table(
    request: &StatisticsRequest,
    as_of_position: i64,
    groups: &[(Vec<Option<String>>, i64)],
    names: &HashMap<String, String>,
    population: Option<&Population>,
) -> Table<ApplicationRow> {
    let rows = groups
        .iter()
        .map(|(keys, count)| {
            let count = (*count).max(0) as u64;
            let mut row = ApplicationRow {
                group: GroupKeys::new(&request.dimensions, keys, names),
                keys: keys.clone(),
                applications: Some(count),
                residents: None,
                per_100k: None,
                per_100k_ci95: None,
                suppressed: false,
            };
            if let Some(population) = population {
                let residents = residents(population, request, keys);
                let rate = residents
                    .filter(|r| *r > 0)
                    .map(|r| count as f64 / r as f64 * 100_000.0);
                row.residents = Some(residents);
                row.per_100k = Some(rate);
                row.per_100k_ci95 = Some(
                    residents
                        .and_then(|r| rate_per_100k_interval(count, r.max(0) as u64, 0.95))
                        .into(),
                );
            }
            row
        })
        .collect();
    Table::publish(request, as_of_position, rows)
}

/// Person-years of residents behind a row: its region (or the whole country) over its
/// year, or over the years of the period. None when the population import lacks a year,
/// or when the row is grouped by something residents cannot be split by.
fn residents(
    population: &Population,
    request: &StatisticsRequest,
    keys: &[Option<String>],
) -> Option<i64> {
    let splittable = [
        Dimension::Year,
        Dimension::Region,
        Dimension::Scheme,
        Dimension::MethodId,
        Dimension::Icd10Category,
    ];
    if !request.dimensions.iter().all(|d| splittable.contains(d)) {
        return None;
    }
    let key_of = |dimension| request.position_of(dimension).and_then(|i| keys[i].clone());
    let years: Vec<i32> = match key_of(Dimension::Year) {
        Some(year) => vec![year.parse().ok()?],
        None => (request.filter.from?.year()..=request.filter.to?.year()).collect(),
    };
    let region = key_of(Dimension::Region);
    let mut total = 0;
    for year in years {
        let of_year: Vec<i64> = population
            .iter()
            .filter(|((y, r), _)| *y == year && region.as_ref().is_none_or(|region| region == r))
            .map(|(_, n)| *n)
            .collect();
        if of_year.is_empty() {
            return None;
        }
        total += of_year.iter().sum::<i64>();
    }
    Some(total)
}

impl Registry {
    /// Applications per group, as the actor may see them.
    pub async fn application_statistics(
        &self,
        actor: &Actor,
        query: &StatisticsQuery,
    ) -> Result<Table<ApplicationRow>, ServiceError> {
        let request = StatisticsRequest::parse(actor, query)?;
        let as_of_position = self.as_of(request.min_position).await?;
        let pool = self.pool();
        let groups = queries::applications(pool, &request.filter, &request.dimensions).await?;
        let names = queries::organisation_names(pool).await?;
        let population = match request.filter.region_basis {
            RegionBasis::Residence => Some(queries::population_by_year_and_region(pool).await?),
            RegionBasis::Deciding => None,
        };
        Ok(application_table(
            &request,
            as_of_position,
            &groups,
            &names,
            population.as_ref(),
        ))
    }
}
