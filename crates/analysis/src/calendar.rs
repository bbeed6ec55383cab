//! Days and quarters as the statistics count them, on chrono's proleptic Gregorian
//! calendar: a day is a number of days since 1970-01-01, a quarter 1 to 4 of its year, a
//! month or quarter index counts on across years.

use chrono::{Datelike, Days, NaiveDate};
use serde::{Deserialize, Serialize};

/// A date as days since 1970-01-01, with its year and quarter alongside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Day {
    pub days: i64,
    pub year: i32,
    /// 1 to 4.
    pub quarter: u8,
}

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("the epoch is a date")
}

/// A date as the statistics count days.
pub fn day(date: NaiveDate) -> Day {
    Day {
        days: days_since_epoch(date),
        year: date.year(),
        quarter: quarter_of(date),
    }
}

/// Days from 1970-01-01 to `date`.
pub fn days_since_epoch(date: NaiveDate) -> i64 {
    (date - epoch()).num_days()
}

/// The date `days` after 1970-01-01 (before it, when negative).
pub fn date_of(days: i64) -> NaiveDate {
    let magnitude = Days::new(days.unsigned_abs());
    let date = match days >= 0 {
        true => epoch().checked_add_days(magnitude),
        false => epoch().checked_sub_days(magnitude),
    };
    date.expect("a day within chrono's range")
}

/// The quarter (1 to 4) a date falls in.
pub fn quarter_of(date: NaiveDate) -> u8 {
    (date.month0() / 3 + 1) as u8
}

/// A quarter (1 to 4) of a year as one number, year * 4 + quarter - 1, so that quarters
/// count on across years.
pub fn quarter_index(year: i32, quarter: u8) -> i32 {
    year * 4 + i32::from(quarter) - 1
}

/// The month a day falls in, as year * 12 + month - 1.
pub fn month_index(days: i64) -> i64 {
    let date = date_of(days);
    i64::from(date.year()) * 12 + i64::from(date.month0())
}

/// The first day of a month given as year * 12 + month - 1.
pub fn first_day_of_month(month_index: i64) -> i64 {
    let year = i32::try_from(month_index.div_euclid(12)).expect("a year within chrono's range");
    let month = month_index.rem_euclid(12) as u32 + 1;
    days_since_epoch(NaiveDate::from_ymd_opt(year, month, 1).expect("the first of a month"))
}

/// The first day of `year` and of the year after it.
pub fn year_bounds(year: i32) -> (i64, i64) {
    let year = i64::from(year);
    (
        first_day_of_month(year * 12),
        first_day_of_month((year + 1) * 12),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    // Howard Hinnant's days_from_civil, which this module replaced: the numbering must
    // stay exactly what it was, as the projector's counts are keyed by it.
    fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
        let year = if month <= 2 { year - 1 } else { year };
        let era = year.div_euclid(400);
        let year_of_era = year - era * 400;
        let month_from_march = (month + 9) % 12;
        let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        era * 146_097 + day_of_era - 719_468
    }

    #[test]
    fn days_and_months_number_as_the_formulas_they_replaced() {
        for days in (-800_000..800_000).step_by(37) {
            let date = date_of(days);
            assert_eq!(days_since_epoch(date), days);
            let civil = days_from_civil(
                i64::from(date.year()),
                i64::from(date.month()),
                i64::from(date.day()),
            );
            assert_eq!(civil, days, "{date}");
            let month = i64::from(date.year()) * 12 + i64::from(date.month0());
            assert_eq!(month_index(days), month);
            assert_eq!(
                first_day_of_month(month),
                days_from_civil(i64::from(date.year()), i64::from(date.month()), 1)
            );
        }
        assert_eq!(days_since_epoch(epoch()), 0);
        assert_eq!(year_bounds(2025), (20_089, 20_454));
    }

    #[test]
    fn quarters_follow_the_months() {
        let quarter = |month| quarter_of(NaiveDate::from_ymd_opt(2025, month, 15).unwrap());
        assert_eq!(
            (1..=12).map(quarter).collect::<Vec<_>>(),
            [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]
        );
        assert_eq!(quarter_index(2025, 1), 8100);
        assert_eq!(quarter_index(2024, 4) + 1, quarter_index(2025, 1));
        let leap = day(NaiveDate::from_ymd_opt(2024, 12, 31).unwrap());
        assert_eq!((leap.year, leap.quarter), (2024, 4));
    }
}
