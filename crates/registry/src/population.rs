//! The population register: residents per county and year, imported by admins, which
//! the rates per 100 000 residents divide by.

use domain::case::AGE_BANDS;
use domain::codes::{CountyNumber, COUNTIES};
use domain::events::{population_stream, CountyPopulation, PopulationStratum, RegistryEvent};
use domain::identity::Sex;
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
    /// Whether the import gives residents by age band and sex, so that rates for its year
    /// are also age- and sex-standardised.
    pub by_age_and_sex: bool,
}

#[derive(Debug, Deserialize)]
struct PopulationRow {
    county_number: String,
    #[serde(default)]
    age_band: Option<String>,
    #[serde(default)]
    sex: Option<String>,
    population: String,
}

/// What a file gives: one total per county, or residents per county, age band and sex.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    Totals,
    Strata,
}

/// One line of the file, read: None where the line has a problem (recorded).
struct Line {
    name: String,
    county: CountyNumber,
    stratum: Option<(&'static str, Sex)>,
    population: Option<u64>,
}

impl Registry {
    /// Imports residents per county for a year (admin): CSV `county_number,population`,
    /// every county once, or `county_number,age_band,sex,population`, every county's
    /// every age band and sex once (see [`parse_population`]). Replaces an earlier import
    /// for the year.
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
        let by_age_and_sex = counties.iter().all(|c| !c.strata.is_empty());
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
            by_age_and_sex,
        })
    }
}

/// Every county's residents from the file, or every problem in it. The file is
/// `county_number,population` (a total per county) or
/// `county_number,age_band,sex,population` (every band of [`AGE_BANDS`] for each sex,
/// `female` or `male`, per county).
pub fn parse_population(csv: &[u8]) -> Result<Vec<CountyPopulation>, ServiceError> {
    let mut problems = Problems::new();
    let mut reader = csv::Reader::from_reader(csv);
    let layout = layout_of(&mut reader, &mut problems);
    let mut lines = Vec::new();
    for (index, record) in reader.deserialize::<PopulationRow>().enumerate() {
        let name = format!("line {}", index + 2);
        let Ok(row) = record else {
            problems.add(name, "csv_format", line_format(layout));
            continue;
        };
        if let Some(line) = parse_line(&row, name, layout, &mut problems) {
            lines.push(line);
        }
    }
    report_duplicates(&lines, &mut problems);
    let counties = match layout {
        Layout::Totals => totals(&lines),
        Layout::Strata => stratified_counties(&lines, &mut problems),
    };
    for county in COUNTIES {
        if !lines.iter().any(|l| l.county.as_str() == county.number) {
            problems.add(
                "body",
                "county_missing",
                format!("county {} ({}) is missing", county.number, county.name),
            );
        }
    }
    problems.finish(|| counties).map_err(ServiceError::Invalid)
}

fn line_format(layout: Layout) -> &'static str {
    match layout {
        Layout::Totals => "each line must be county_number,population",
        Layout::Strata => "each line must be county_number,age_band,sex,population",
    }
}

/// The layout the header names: both `age_band` and `sex`, or neither.
fn layout_of(reader: &mut csv::Reader<&[u8]>, problems: &mut Problems) -> Layout {
    let headers = reader.headers().ok().cloned();
    let has = |name: &str| {
        headers
            .as_ref()
            .is_some_and(|h| h.iter().any(|c| c == name))
    };
    match (has("age_band"), has("sex")) {
        (true, true) => Layout::Strata,
        (false, false) => Layout::Totals,
        _ => {
            problems.add(
                "body",
                "strata_columns",
                "age_band and sex come together: give both columns, or neither for county totals",
            );
            Layout::Totals
        }
    }
}

fn parse_line(
    row: &PopulationRow,
    name: String,
    layout: Layout,
    problems: &mut Problems,
) -> Option<Line> {
    let stratum = match layout {
        Layout::Totals => None,
        Layout::Strata => parse_stratum(row, &name, problems),
    };
    // A stratum may be empty; a county may not.
    let lowest = match layout {
        Layout::Totals => 1,
        Layout::Strata => 0,
    };
    let (county, population) = parse_row(row, &name, lowest, problems);
    if layout == Layout::Strata && stratum.is_none() {
        return None; // its problem is recorded; nor can it be a duplicate of another
    }
    Some(Line {
        name,
        county: county?,
        stratum,
        population,
    })
}

/// The age band and sex of a line, None when either has a problem (recorded).
fn parse_stratum(
    row: &PopulationRow,
    line: &str,
    problems: &mut Problems,
) -> Option<(&'static str, Sex)> {
    let band_text = row.age_band.as_deref().unwrap_or_default().trim();
    let band = AGE_BANDS.into_iter().find(|band| *band == band_text);
    if band.is_none() {
        problems.add(
            line,
            "age_band",
            format!("age_band must be one of {}", AGE_BANDS.join(", ")),
        );
    }
    let sex = match row.sex.as_deref().unwrap_or_default().trim() {
        "female" => Some(Sex::Female),
        "male" => Some(Sex::Male),
        _ => {
            problems.add(line, "sex", "sex must be female or male");
            None
        }
    };
    Some((band?, sex?))
}

fn report_duplicates(lines: &[Line], problems: &mut Problems) {
    for (at, line) in lines.iter().enumerate() {
        let earlier = lines[..at]
            .iter()
            .any(|l| l.county == line.county && l.stratum == line.stratum);
        if earlier {
            let (code, message) = match line.stratum {
                None => (
                    "duplicate_county",
                    format!("county {} is listed twice", line.county),
                ),
                Some((band, sex)) => (
                    "duplicate_stratum",
                    format!(
                        "county {} age band {band} {} is listed twice",
                        line.county,
                        sex_name(sex)
                    ),
                ),
            };
            problems.add(&line.name, code, message);
        }
    }
}

fn sex_name(sex: Sex) -> &'static str {
    match sex {
        Sex::Female => "female",
        Sex::Male => "male",
    }
}

/// County totals, in the file's order.
fn totals(lines: &[Line]) -> Vec<CountyPopulation> {
    lines
        .iter()
        .filter_map(|line| {
            Some(CountyPopulation {
                county_number: line.county,
                population: line.population?,
                strata: Vec::new(),
            })
        })
        .collect()
}

/// Each listed county with its strata, in the register's order; a county lacking a stratum,
/// or whose residents add up to more than a county may have, is a problem.
fn stratified_counties(lines: &[Line], problems: &mut Problems) -> Vec<CountyPopulation> {
    let mut counties = Vec::new();
    for county in COUNTIES {
        let of_county: Vec<&Line> = lines
            .iter()
            .filter(|l| l.county.as_str() == county.number)
            .collect();
        let Some(first) = of_county.first() else {
            continue; // county_missing
        };
        let mut strata = Vec::new();
        let mut missing = Vec::new();
        for band in AGE_BANDS {
            for sex in [Sex::Female, Sex::Male] {
                let line = of_county.iter().find(|l| l.stratum == Some((band, sex)));
                match line.map(|l| l.population) {
                    Some(Some(population)) => strata.push(PopulationStratum {
                        age_band: band.to_string(),
                        sex,
                        population,
                    }),
                    Some(None) => {} // its problem is recorded
                    None => missing.push(format!("{band} {}", sex_name(sex))),
                }
            }
        }
        if !missing.is_empty() {
            problems.add(
                format!("county {}", county.number),
                "stratum_missing",
                format!(
                    "county {} ({}) lacks residents for: {}",
                    county.number,
                    county.name,
                    missing.join(", ")
                ),
            );
        }
        let population: u64 = strata.iter().map(|s| s.population).sum();
        if !COUNTY_RESIDENTS.contains(&population) {
            problems.add(
                format!("county {}", county.number),
                "population_range",
                "a county's residents must add up to from 1 to 6 000 000",
            );
        }
        counties.push(CountyPopulation {
            county_number: first.county,
            population,
            strata,
        });
    }
    counties
}

/// Digits only, too many for a u64: a whole number out of range, not a malformed one.
fn is_a_long_whole_number(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// The county and its residents of one line, each None when it has a problem (recorded).
fn parse_row(
    row: &PopulationRow,
    line: &str,
    lowest: u64,
    problems: &mut Problems,
) -> (Option<CountyNumber>, Option<u64>) {
    let county = problems.take(line, CountyNumber::parse(row.county_number.trim()));
    let text = row.population.trim();
    let population = match text.parse::<u64>() {
        Ok(residents) if (lowest..=*COUNTY_RESIDENTS.end()).contains(&residents) => Some(residents),
        parsed => {
            let whole_number = parsed.is_ok() || is_a_long_whole_number(text);
            problems.add(
                line,
                if whole_number {
                    "population_range"
                } else {
                    "population_value"
                },
                if !whole_number {
                    "population must be a whole number".to_string()
                } else {
                    format!("population must be from {lowest} to 6 000 000 residents")
                },
            );
            None
        }
    };
    (county, population)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stratified(residents: impl Fn(&str, &str, &str) -> u64) -> String {
        let mut csv = String::from("county_number,age_band,sex,population\n");
        for county in COUNTIES {
            for band in AGE_BANDS {
                for sex in ["female", "male"] {
                    let n = residents(county.number, band, sex);
                    csv.push_str(&format!("{},{band},{sex},{n}\n", county.number));
                }
            }
        }
        csv
    }

    fn codes(csv: &str) -> Vec<String> {
        match parse_population(csv.as_bytes()) {
            Err(ServiceError::Invalid(problems)) => problems
                .iter()
                .map(|e| format!("{}:{}", e.field, e.code))
                .collect(),
            other => panic!("expected problems, got {other:?}"),
        }
    }

    #[test]
    fn county_totals_read_as_before_without_strata() {
        let mut csv = String::from("county_number,population\n");
        for county in COUNTIES {
            csv.push_str(&format!("{},1000\n", county.number));
        }
        let counties = parse_population(csv.as_bytes()).unwrap();
        assert_eq!(counties.len(), COUNTIES.len());
        assert!(counties
            .iter()
            .all(|c| c.population == 1000 && c.strata.is_empty()));
    }

    #[test]
    fn strata_add_up_to_the_county_in_band_order() {
        let csv = stratified(|_, band, sex| match (band, sex) {
            ("80+", "male") => 0,
            ("0-17", _) => 100,
            _ => 10,
        });
        let counties = parse_population(csv.as_bytes()).unwrap();
        assert_eq!(counties.len(), COUNTIES.len());
        for county in &counties {
            assert_eq!(county.strata.len(), 12);
            // 2 * 100 for the children, 9 strata of 10, an empty one.
            assert_eq!(county.population, 290);
            assert_eq!(county.strata[0].age_band, "0-17");
            assert_eq!(county.strata[0].sex, Sex::Female);
            assert_eq!(county.strata[11].population, 0);
        }
    }

    #[test]
    fn every_stratum_problem_is_listed() {
        let csv = stratified(|_, _, _| 1000)
            .replacen("03,0-17,female", "03,0-16,female", 1)
            .replacen("03,18-39,male", "03,18-39,M", 1)
            .replacen("11,40-59,male,1000", "11,40-59,male,-3", 1)
            .replacen("15,60-69,male", "15,60-69,female", 1);
        let codes = codes(&csv);
        for expected in [
            "line 2:age_band",
            "line 5:sex",
            "county 03:stratum_missing",
            "county 15:stratum_missing",
        ] {
            assert!(
                codes.contains(&expected.to_string()),
                "{expected}: {codes:?}"
            );
        }
        assert!(
            codes.iter().any(|c| c.ends_with(":population_value")),
            "{codes:?}"
        );
        assert!(
            codes.iter().any(|c| c.ends_with(":duplicate_stratum")),
            "{codes:?}"
        );
    }

    #[test]
    fn a_county_too_large_in_sum_or_empty_is_refused() {
        let csv = stratified(|county, _, _| match county {
            "03" => 600_000,
            "11" => 0,
            _ => 1000,
        });
        let codes = codes(&csv);
        assert!(
            codes.contains(&"county 03:population_range".to_string()),
            "{codes:?}"
        );
        assert!(
            codes.contains(&"county 11:population_range".to_string()),
            "{codes:?}"
        );
        assert_eq!(codes.len(), 2, "{codes:?}");
    }

    #[test]
    fn age_band_without_sex_is_a_problem() {
        let codes = codes("county_number,sex,population\n03,female,10\n");
        assert!(
            codes.contains(&"body:strata_columns".to_string()),
            "{codes:?}"
        );
    }
}
