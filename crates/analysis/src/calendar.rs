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

    // Howard Hinnant's days_from_civil and civil_from_days, which this module replaced
    // (https://howardhinnant.github.io/date_algorithms.html): the numbering must stay
    // exactly what it was, as the projector's counts are keyed by it.
    fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
        let year = if month <= 2 { year - 1 } else { year };
        let era = year.div_euclid(400);
        let year_of_era = year - era * 400;
        let month_from_march = (month + 9) % 12;
        let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        era * 146_097 + day_of_era - 719_468
    }

    fn civil_from_days(days: i64) -> (i64, i64, i64) {
        let shifted = days + 719_468;
        let era = shifted.div_euclid(146_097);
        let day_of_era = shifted - era * 146_097;
        let year_of_era =
            (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let month_from_march = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
        let month = if month_from_march < 10 {
            month_from_march + 3
        } else {
            month_from_march - 9
        };
        let year = year_of_era + era * 400 + i64::from(month <= 2);
        (year, month, day)
    }

    // The old month and year helpers, on the old formulas.
    fn old_month_index(days: i64) -> i64 {
        let (year, month, _) = civil_from_days(days);
        year * 12 + month - 1
    }

    fn old_first_day_of_month(month_index: i64) -> i64 {
        days_from_civil(
            month_index.div_euclid(12),
            month_index.rem_euclid(12) + 1,
            1,
        )
    }

    // The old quarter of facts.rs and queries.rs, and queries::day's epoch arithmetic.
    fn old_quarter_of(date: NaiveDate) -> i32 {
        (date.month0() / 3 + 1) as i32
    }

    fn old_days(date: NaiveDate) -> i64 {
        (date - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days()
    }

    #[test]
    fn days_months_and_quarters_number_as_the_formulas_they_replaced() {
        // Every day from 1900 to 2200, and every 37th day over some four thousand years.
        let dense = -25_567..84_000;
        let sparse = (-800_000..800_000).step_by(37);
        for days in dense.chain(sparse) {
            let date = date_of(days);
            let (year, month, day_of_month) = civil_from_days(days);
            assert_eq!(
                (
                    i64::from(date.year()),
                    i64::from(date.month()),
                    i64::from(date.day())
                ),
                (year, month, day_of_month),
                "{days}"
            );
            assert_eq!(days_since_epoch(date), days);
            assert_eq!(days_from_civil(year, month, day_of_month), days, "{date}");
            assert_eq!(old_days(date), days);
            assert_eq!(month_index(days), old_month_index(days), "{date}");
            let month = old_month_index(days);
            assert_eq!(first_day_of_month(month), old_first_day_of_month(month));
            assert_eq!(i32::from(quarter_of(date)), old_quarter_of(date));
            let counted = day(date);
            assert_eq!(
                (counted.days, counted.year, i32::from(counted.quarter)),
                (old_days(date), date.year(), old_quarter_of(date))
            );
        }
        for year in 1800..2400 {
            let year_months = i64::from(year) * 12;
            assert_eq!(
                year_bounds(year),
                (
                    old_first_day_of_month(year_months),
                    old_first_day_of_month(year_months + 12)
                )
            );
        }
    }

    #[test]
    fn days_and_calendar_months_agree_with_the_calendar() {
        const NEW_YEAR_2025: i64 = 20_089;
        let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(days_since_epoch(epoch()), 0);
        assert_eq!(days_since_epoch(date(2025, 1, 1)), NEW_YEAR_2025);
        assert_eq!(
            days_since_epoch(date(2024, 3, 1)) - days_since_epoch(date(2024, 2, 1)),
            29
        );
        for days in [-1, 0, 59, 11_016, NEW_YEAR_2025 - 1, NEW_YEAR_2025 + 365] {
            assert_eq!(days_since_epoch(date_of(days)), days);
        }
        assert_eq!(month_index(NEW_YEAR_2025 - 1), 2024 * 12 + 11);
        assert_eq!(
            first_day_of_month(2025 * 12 + 2),
            days_since_epoch(date(2025, 3, 1))
        );
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
