//! Age- and sex-standardised application rates, for the years whose population import
//! gives residents by age band and sex: direct standardisation, the standard population
//! being the whole country's residents over the same period (each year's national
//! population, by age band and sex). A standardised rate answers "how many applications
//! per 100 000 would this region have if its residents were as old, and as often women,
//! as the country's?", so regions with older residents are not ranked high for that alone.

use std::collections::HashMap;

use analysis::standardisation::{directly_standardised_rate, Stratum};
use chrono::Datelike;
use domain::case::AGE_BANDS;

use super::person_time::{period_of, share_of_year};
use super::{Bounds, StatisticsRequest};
use projections::queries::Dimension;

/// Residents by (year, region, age band, sex), as the population imports say.
pub type StrataPopulation = HashMap<(i32, String, String, String), i64>;

/// The sexes a population import gives, as the case facts spell them.
const SEXES: [&str; 2] = ["female", "male"];

/// Below this many applications a row publishes no standardised rate: with few applicants
/// the rate and its interval, set beside the published crude count, could narrow down the
/// age and sex of single applicants. Helseatlas likewise leaves out small areas.
pub const MIN_APPLICATIONS_FOR_STANDARDISED: u64 = 20;

/// A group's applications by (age band, sex), None where the case does not say.
type ByStratum = Vec<(Option<String>, Option<String>, u64)>;

/// What standardised rates need: the residents by stratum, and each group's applications
/// by age band and sex (the group's keys, then the age band and the sex).
pub struct Standardisation<'a> {
    pub population: &'a StrataPopulation,
    pub applications: HashMap<Vec<Option<String>>, ByStratum>,
}

impl<'a> Standardisation<'a> {
    /// `by_stratum` counts the request's groups with the age band and the sex appended.
    pub fn new(
        population: &'a StrataPopulation,
        by_stratum: &[(Vec<Option<String>>, i64)],
    ) -> Standardisation<'a> {
        let mut applications: HashMap<_, ByStratum> = HashMap::new();
        for (keys, count) in by_stratum {
            let Some((group, stratum)) = keys.split_at_checked(keys.len().saturating_sub(2)) else {
                continue;
            };
            applications.entry(group.to_vec()).or_default().push((
                stratum[0].clone(),
                stratum[1].clone(),
                (*count).max(0) as u64,
            ));
        }
        Standardisation {
            population,
            applications,
        }
    }

    /// The row's standardised rate per 100 000 person-years and its 95 % interval, or None
    /// when the period's years lack residents by age and sex, the row is grouped by
    /// something residents cannot be split by, it has too few applications, or some of
    /// its applications are of unknown age or sex in a way that leaves nothing known.
    ///
    /// Applications of unknown age or sex (few: the age and sex come with the patient)
    /// are spread over the strata as the known ones are: the rate is scaled by all over
    /// known.
    pub fn rate(
        &self,
        request: &StatisticsRequest,
        keys: &[Option<String>],
        applications: u64,
    ) -> Option<(f64, Bounds)> {
        if applications < MIN_APPLICATIONS_FOR_STANDARDISED {
            return None;
        }
        let (from, to) = period_of(request, keys)?;
        let region = request
            .position_of(Dimension::Region)
            .and_then(|i| keys[i].clone());
        let counted = self.applications.get(keys)?;
        let mut strata = Vec::new();
        let mut known = 0;
        for band in AGE_BANDS {
            for sex in SEXES {
                let mut person_time = 0.0;
                let mut standard = 0.0;
                for year in from.year()..=to.year() {
                    let share = share_of_year(year, from, to);
                    let (of_region, national) =
                        self.residents(year, region.as_deref(), band, sex)?;
                    person_time += of_region as f64 * share;
                    standard += national as f64 * share;
                }
                let events = counted
                    .iter()
                    .filter(|(b, s, _)| b.as_deref() == Some(band) && s.as_deref() == Some(sex))
                    .map(|(_, _, n)| n)
                    .sum();
                known += events;
                strata.push(Stratum {
                    events,
                    person_time,
                    standard,
                });
            }
        }
        if known == 0 {
            return None;
        }
        let rate = directly_standardised_rate(&strata, 0.95)?;
        let unknown_spread = applications as f64 / known as f64;
        Some((
            rate.per_100k * unknown_spread,
            Some(rate.interval.scaled(unknown_spread)).into(),
        ))
    }

    /// A stratum's residents in `year` in the region (the whole country when None) and in
    /// the whole country; None when the year's import has no strata.
    fn residents(
        &self,
        year: i32,
        region: Option<&str>,
        band: &str,
        sex: &str,
    ) -> Option<(i64, i64)> {
        let mut national = None;
        let mut of_region = 0;
        for ((y, r, b, s), n) in self.population {
            if *y == year && b == band && s == sex {
                *national.get_or_insert(0) += n;
                if region.is_none_or(|region| region == r) {
                    of_region += n;
                }
            }
        }
        national.map(|national| (of_region, national))
    }
}
