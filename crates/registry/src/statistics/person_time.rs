//! The period a row of rates counts residents over, and a year's share of it: the
//! person-time both crude and standardised rates divide by.

use chrono::NaiveDate;
use projections::queries::Dimension;

use super::StatisticsRequest;

/// The days of `year` from `from` to `to` (inclusive), as a share of the year.
pub(crate) fn share_of_year(year: i32, from: NaiveDate, to: NaiveDate) -> f64 {
    let (first, last) = (
        NaiveDate::from_ymd_opt(year, 1, 1).expect("a year's first day"),
        NaiveDate::from_ymd_opt(year, 12, 31).expect("a year's last day"),
    );
    let (start, end) = (from.max(first), to.min(last));
    if end < start {
        return 0.0;
    }
    ((end - start).num_days() + 1) as f64 / ((last - first).num_days() + 1) as f64
}

/// The period a row's residents are counted over: its year (within the request's period),
/// or the request's period. None when the request has no period, or when the row is
/// grouped by something residents cannot be split by.
pub(crate) fn period_of(
    request: &StatisticsRequest,
    keys: &[Option<String>],
) -> Option<(NaiveDate, NaiveDate)> {
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
    match key_of(Dimension::Year) {
        Some(year) => {
            let year: i32 = year.parse().ok()?;
            let (first, last) = (
                NaiveDate::from_ymd_opt(year, 1, 1)?,
                NaiveDate::from_ymd_opt(year, 12, 31)?,
            );
            Some((
                request.filter.from.map_or(first, |from| from.max(first)),
                request.filter.to.map_or(last, |to| to.min(last)),
            ))
        }
        None => Some((request.filter.from?, request.filter.to?)),
    }
}
