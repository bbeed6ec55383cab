//! Applications received per group; with region_basis=residence also per 100 000
//! residents per year (person-time: each year's residents times the share of that year the
//! period covers), with a Poisson interval: crude rates, and beside them age- and
//! sex-standardised ones where the population import gives residents by age band and sex
//! (see `standardised`). Each row says which it has (`rate_basis`).

use std::collections::HashMap;

use analysis::poisson::rate_per_100k_interval;
use chrono::Datelike;
use projections::queries::{self, Dimension, RegionBasis};
use serde::Serialize;

use super::person_time::{period_of, share_of_year};
use super::standardised::{Standardisation, StrataPopulation};
use super::{Bounds, GroupKeys, Publishable, StatisticsQuery, StatisticsRequest, Table, Withheld};
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
    /// Residents behind the row, as person-years over the period (a year's residents
    /// count in full for a whole year, a quarter of them for a quarter): only by residence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub residents: Option<Option<i64>>,
    /// Applications per 100 000 residents per year (per 100 000 person-years).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "super::groups::rounded::nested_one_decimal"
    )]
    pub per_100k: Option<Option<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_100k_ci95: Option<Bounds>,
    /// Which rates the row has: `crude` only, or `age_sex_standardised` beside the crude.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_basis: Option<RateBasis>,
    /// Applications per 100 000 person-years, directly standardised for age band and sex
    /// to the country's residents over the period (null where withheld).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "super::groups::rounded::nested_one_decimal"
    )]
    pub per_100k_standardised: Option<Option<f64>>,
    /// The standardised rate's 95 % interval (Fay and Feuer's gamma interval).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_100k_standardised_ci95: Option<Bounds>,
    #[serde(flatten)]
    pub withheld: Withheld,
}

/// Which rates per 100 000 a row gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RateBasis {
    /// Crude rates only: the year's import has no age bands and sex, the row is grouped by
    /// something residents cannot be split by, or it has too few applications.
    Crude,
    /// A directly age- and sex-standardised rate beside the crude one.
    AgeSexStandardised,
}

impl Publishable for ApplicationRow {
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

    fn counts(&self) -> Vec<u64> {
        vec![self.applications.unwrap_or(0)]
    }

    fn withhold(&mut self) {
        self.applications = None;
        if self.per_100k.is_some() {
            self.per_100k = Some(None);
            self.per_100k_ci95 = Some(Bounds::default());
        }
        if self.per_100k_standardised.is_some() {
            self.per_100k_standardised = Some(None);
            self.per_100k_standardised_ci95 = Some(Bounds::default());
        }
    }
}

/// The applications table from its counted groups; rates when `population` is given, and
/// standardised ones where `standardisation` can give them.
pub fn application_table(
    request: &StatisticsRequest,
    as_of_position: i64,
    groups: &[(Vec<Option<String>>, i64)],
    names: &HashMap<String, String>,
    population: Option<&Population>,
    standardisation: Option<&Standardisation>,
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
                withheld: Withheld::default(),
                rate_basis: None,
                per_100k_standardised: None,
                per_100k_standardised_ci95: None,
            };
            if let Some(population) = population {
                let person_years = person_years(population, request, keys);
                let rate = person_years
                    .filter(|r| *r > 0.0)
                    .map(|r| count as f64 / r * 100_000.0);
                row.residents = Some(person_years.map(|r| r.round() as i64));
                row.per_100k = Some(rate);
                row.per_100k_ci95 = Some(
                    person_years
                        .and_then(|r| {
                            rate_per_100k_interval(count, r.round().max(0.0) as u64, 0.95)
                        })
                        .into(),
                );
                let standardised = standardisation.and_then(|s| s.rate(request, keys, count));
                row.rate_basis = Some(match standardised {
                    Some(_) => RateBasis::AgeSexStandardised,
                    None => RateBasis::Crude,
                });
                if let Some((rate, bounds)) = standardised {
                    row.per_100k_standardised = Some(Some(rate));
                    row.per_100k_standardised_ci95 = Some(bounds);
                }
            }
            row
        })
        .collect();
    Table::publish(request, as_of_position, rows)
}

/// Person-years of residents behind a row: its region's (or the whole country's) residents
/// of each year, times the share of that year the row's period covers (its year, or the
/// request's period). None when the population import lacks a year, or when the row is
/// grouped by something residents cannot be split by.
fn person_years(
    population: &Population,
    request: &StatisticsRequest,
    keys: &[Option<String>],
) -> Option<f64> {
    let (from, to) = period_of(request, keys)?;
    let region = request
        .position_of(Dimension::Region)
        .and_then(|i| keys[i].clone());
    let mut total = 0.0;
    for year in from.year()..=to.year() {
        let of_year: Vec<i64> = population
            .iter()
            .filter(|((y, r), _)| *y == year && region.as_ref().is_none_or(|region| region == r))
            .map(|(_, n)| *n)
            .collect();
        if of_year.is_empty() {
            return None;
        }
        total += of_year.iter().sum::<i64>() as f64 * share_of_year(year, from, to);
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
        let request = self.statistics_request(actor, query).await?;
        let as_of_position = self.as_of(request.min_position).await?;
        let pool = self.pool();
        let groups = queries::applications(pool, &request.filter, &request.dimensions).await?;
        let names = self.group_names(&request).await?;
        let (population, strata) = match request.filter.region_basis {
            RegionBasis::Residence => (
                Some(queries::population_by_year_and_region(pool).await?),
                queries::population_strata_by_year_and_region(pool).await?,
            ),
            RegionBasis::Deciding => (None, StrataPopulation::new()),
        };
        // Rows grouped by age band or sex have no standardised rate (nor crude: see
        // `period_of`), so their strata are not counted.
        let by_age_or_sex = request
            .dimensions
            .iter()
            .any(|d| matches!(d, Dimension::AgeBand | Dimension::Sex));
        let counted_by_stratum = match strata.is_empty() || by_age_or_sex {
            true => None,
            false => {
                let mut by_stratum = request.dimensions.clone();
                by_stratum.extend([Dimension::AgeBand, Dimension::Sex]);
                Some(queries::applications(pool, &request.filter, &by_stratum).await?)
            }
        };
        super::published_apart(move || {
            let standardisation = counted_by_stratum
                .as_ref()
                .map(|counted| Standardisation::new(&strata, counted));
            application_table(
                &request,
                as_of_position,
                &groups,
                &names,
                population.as_ref(),
                standardisation.as_ref(),
            )
        })
        .await
    }
}
