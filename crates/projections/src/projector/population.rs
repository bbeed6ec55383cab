//! The population projection: residents by year and county (and by age band and sex when
//! the import gives them), from the population imports.

use domain::events::{CountyPopulation, RegistryEvent};
use domain::identity::Sex;
use sqlx::{Postgres, Transaction};
use store::EventText;

use super::decode::decode;
use super::tables::Target;
use crate::error::ProjectionError;

pub(super) async fn project_population(
    tx: &mut Transaction<'_, Postgres>,
    target: Target,
    events: &[EventText],
) -> Result<(), ProjectionError> {
    for event in events
        .iter()
        .filter(|e| e.event_type == "PopulationImported")
    {
        let RegistryEvent::PopulationImported { year, counties } = decode(event)? else {
            continue;
        };
        for table in ["population", "population_strata"] {
            sqlx::query(&format!(
                "delete from {} where year = $1",
                target.table(table)
            ))
            .bind(year)
            .execute(&mut **tx)
            .await?;
        }
        for county in counties {
            insert_county(tx, target, year, &county).await?;
        }
    }
    Ok(())
}

fn residents(year: i32, population: u64, what: &str) -> Result<i64, ProjectionError> {
    i64::try_from(population).map_err(|_| {
        ProjectionError::ImplausibleValue(format!("{population} residents in {what} in {year}"))
    })
}

async fn insert_county(
    tx: &mut Transaction<'_, Postgres>,
    target: Target,
    year: i32,
    county: &CountyPopulation,
) -> Result<(), ProjectionError> {
    let number = county.county_number.as_str();
    let total = residents(year, county.population, &format!("county {number}"))?;
    sqlx::query(&format!(
        "insert into {} (year, county_number, population) values ($1, $2, $3)",
        target.table("population")
    ))
    .bind(year)
    .bind(number)
    .bind(total)
    .execute(&mut **tx)
    .await?;
    for stratum in &county.strata {
        let sex = match stratum.sex {
            Sex::Female => "female",
            Sex::Male => "male",
        };
        let what = format!("county {number}, {} {sex}", stratum.age_band);
        sqlx::query(&format!(
            "insert into {} (year, county_number, age_band, sex, population) \
             values ($1, $2, $3, $4, $5)",
            target.table("population_strata")
        ))
        .bind(year)
        .bind(number)
        .bind(&stratum.age_band)
        .bind(sex)
        .bind(residents(year, stratum.population, &what)?)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}
