//! The population register: residents per county and year, imported by admins, which
//! the rates per 100 000 residents divide by.

use domain::codes::{CountyNumber, COUNTIES};
use domain::events::{population_stream, CountyPopulation, RegistryEvent};
use domain::problems::Problems;
use serde::{Deserialize, Serialize};
use store::ExpectedVersion;
use uuid::Uuid;

use crate::actor::{Actor, Role};
use crate::codec::new_event;
use crate::error::ServiceError;
use crate::Registry;

/// Years a population import may be for, and the signals may be asked of.
pub(crate) const YEARS: std::ops::RangeInclusive<i32> = 1990..=2100;

/// Residents a county may plausibly have: Norway has about 5.6 million in all, so a
/// larger figure is a typing or unit error, and would overflow no read model either.
const COUNTY_RESIDENTS: std::ops::RangeInclusive<u64> = 1..=6_000_000;

/// What an import stored.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PopulationImported {
    pub year: i32,
    /// The global position of the import's event.
    pub position: i64,
    pub counties: usize,
}

#[derive(Debug, Deserialize)]
struct PopulationRow {
    county_number: String,
    population: String,
}

impl Registry {
    /// Imports residents per county for a year (admin): CSV `county_number,population`,
    /// every county once. Replaces an earlier import for the year.
    pub async fn import_population(
        &self,
        actor: &Actor,
        year: i32,
        csv: &[u8],
    ) -> Result<PopulationImported, ServiceError> {
        actor.require(&[Role::Admin])?;
        if !YEARS.contains(&year) {
            return Err(ServiceError::invalid(
                "year",
                "year_range",
                "year must be from 1990 to 2100",
            ));
        }
        let counties = parse_population(csv)?;
        let event = RegistryEvent::PopulationImported { year, counties };
        let event_id = Uuid::new_v4();
        let appended = self
            .store
            .append(
                &population_stream(year),
                ExpectedVersion::Any,
                &[new_event(&event, event_id, actor.metadata(event_id))],
            )
            .await?;
        self.count_appended(1);
        Ok(PopulationImported {
            year,
            position: appended.positions[0],
            counties: COUNTIES.len(),
        })
    }
}

/// Every county's residents from the file, or every problem in it.
pub fn parse_population(csv: &[u8]) -> Result<Vec<CountyPopulation>, ServiceError> {
    let mut problems = Problems::new();
    let mut listed: Vec<CountyNumber> = Vec::new();
    let mut counties: Vec<CountyPopulation> = Vec::new();
    for (index, record) in csv::Reader::from_reader(csv)
        .deserialize::<PopulationRow>()
        .enumerate()
    {
        let line = format!("line {}", index + 2);
        let Ok(row) = record else {
            problems.add(
                line,
                "csv_format",
                "each line must be county_number,population",
            );
            continue;
        };
        let (county, population) = parse_row(&row, &line, &mut problems);
        let Some(county) = county else { continue };
        if listed.contains(&county) {
            problems.add(
                &line,
                "duplicate_county",
                format!("county {county} is listed twice"),
            );
        }
        listed.push(county);
        if let Some(population) = population {
            counties.push(CountyPopulation {
                county_number: county,
                population,
            });
        }
    }
    for county in COUNTIES {
        if !listed.iter().any(|c| c.as_str() == county.number) {
            problems.add(
                "body",
                "county_missing",
                format!("county {} ({}) is missing", county.number, county.name),
            );
        }
    }
    problems.finish(|| counties).map_err(ServiceError::Invalid)
}

/// Digits only, too many for a u64: a whole number out of range, not a malformed one.
fn is_a_long_whole_number(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// The county and its residents of one line, each None when it has a problem (recorded).
fn parse_row(
    row: &PopulationRow,
    line: &str,
    problems: &mut Problems,
) -> (Option<CountyNumber>, Option<u64>) {
    let county = problems.take(line, CountyNumber::parse(row.county_number.trim()));
    let text = row.population.trim();
    let population = match text.parse::<u64>() {
        Ok(residents) if COUNTY_RESIDENTS.contains(&residents) => Some(residents),
        parsed => {
            let whole_number = parsed.is_ok() || is_a_long_whole_number(text);
            problems.add(
                line,
                if whole_number {
                    "population_range"
                } else {
                    "population_value"
                },
                if whole_number {
                    "population must be from 1 to 6 000 000 residents"
                } else {
                    "population must be a whole number"
                },
            );
            None
        }
    };
    (county, population)
}
