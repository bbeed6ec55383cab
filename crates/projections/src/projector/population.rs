//! The population projection: residents by year and county, from the population imports.

use domain::events::RegistryEvent;
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
    let table = target.table("population");
    for event in events
        .iter()
        .filter(|e| e.event_type == "PopulationImported")
    {
        let RegistryEvent::PopulationImported { year, counties } = decode(event)? else {
            continue;
        };
        sqlx::query(&format!("delete from {table} where year = $1"))
            .bind(year)
            .execute(&mut **tx)
            .await?;
        for county in counties {
            let residents = i64::try_from(county.population).map_err(|_| {
                ProjectionError::ImplausibleValue(format!(
                    "{} residents in county {} in {year}",
                    county.population, county.county_number
                ))
            })?;
            sqlx::query(&format!(
                "insert into {table} (year, county_number, population) values ($1, $2, $3)"
            ))
            .bind(year)
            .bind(county.county_number.as_str())
            .bind(residents)
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}
