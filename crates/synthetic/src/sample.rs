//! The few distributions the generator needs, written out so that each draw's cost in
//! random numbers is fixed and plain to see.

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// A child generator for one case or one effect: what it draws does not shift the
/// stream of its parent, so a planted effect leaves the rest of the data as it was.
pub fn child(parent: &mut StdRng) -> StdRng {
    StdRng::seed_from_u64(parent.gen())
}

/// A stream of its own for one purpose, from the scenario seed and a label.
pub fn stream(seed: u64, label: &str) -> StdRng {
    // FNV-1a: stable across platforms and Rust versions, unlike `DefaultHasher`.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in label.bytes().chain(seed.to_le_bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    StdRng::seed_from_u64(hash)
}

pub fn chance(rng: &mut StdRng, p: f64) -> bool {
    rng.gen::<f64>() < p
}

/// A standard normal draw (Box-Muller).
pub fn normal(rng: &mut StdRng) -> f64 {
    let u1: f64 = 1.0 - rng.gen::<f64>(); // in (0, 1]
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A lognormal draw with the given median and log-scale spread.
pub fn lognormal(rng: &mut StdRng, median: f64, sigma: f64) -> f64 {
    median * (sigma * normal(rng)).exp()
}

/// A Poisson count: exact (Knuth) for small means, normal approximation above 50.
pub fn poisson(rng: &mut StdRng, mean: f64) -> usize {
    if mean <= 0.0 {
        return 0;
    }
    if mean > 50.0 {
        let draw = mean + mean.sqrt() * normal(rng);
        return draw.round().max(0.0) as usize;
    }
    let limit = (-mean).exp();
    let mut product: f64 = rng.gen();
    let mut count = 0;
    while product > limit {
        product *= rng.gen::<f64>();
        count += 1;
    }
    count
}

/// A triangular draw on [low, high] with the given mode.
pub fn triangular(rng: &mut StdRng, low: f64, mode: f64, high: f64) -> f64 {
    let u: f64 = rng.gen();
    let split = (mode - low) / (high - low);
    if u < split {
        low + (u * (high - low) * (mode - low)).sqrt()
    } else {
        high - ((1.0 - u) * (high - low) * (high - mode)).sqrt()
    }
}

/// An index drawn with probability proportional to its weight; None when all are zero.
pub fn weighted<T>(rng: &mut StdRng, items: &[T], weight: impl Fn(&T) -> f64) -> Option<usize> {
    let total: f64 = items.iter().map(&weight).sum();
    if total <= 0.0 {
        return None;
    }
    let mut point = rng.gen::<f64>() * total;
    for (index, item) in items.iter().enumerate() {
        point -= weight(item);
        if point < 0.0 {
            return Some(index);
        }
    }
    items.iter().rposition(|item| weight(item) > 0.0)
}

/// One of the items, uniformly; None when there are none.
pub fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> Option<&'a T> {
    (!items.is_empty()).then(|| &items[rng.gen_range(0..items.len())])
}

/// A working day (Monday to Friday) drawn uniformly from [from, to]; None when there is
/// none in the range.
pub fn working_day(rng: &mut StdRng, from: NaiveDate, to: NaiveDate) -> Option<NaiveDate> {
    let days = (to - from).num_days();
    if days < 0 {
        return None;
    }
    for _ in 0..32 {
        let date = from + Duration::days(rng.gen_range(0..=days));
        if is_working_day(date) {
            return Some(date);
        }
    }
    (0..=days)
        .map(|d| from + Duration::days(d))
        .find(|d| is_working_day(*d))
}

/// Monday to Friday, except Norway's public holidays.
pub fn is_working_day(date: NaiveDate) -> bool {
    !matches!(date.weekday(), Weekday::Sat | Weekday::Sun) && !is_public_holiday(date)
}

/// The date itself on a working day, else the next working day.
pub fn next_working_day(date: NaiveDate) -> NaiveDate {
    let mut day = date;
    while !is_working_day(day) {
        day += Duration::days(1);
    }
    day
}

/// New Year, Maundy Thursday to Easter Monday, 1 and 17 May, Ascension, Whit Monday and
/// Christmas.
fn is_public_holiday(date: NaiveDate) -> bool {
    let fixed = matches!(
        (date.month(), date.day()),
        (1, 1) | (5, 1) | (5, 17) | (12, 25) | (12, 26)
    );
    let easter = easter_sunday(date.year());
    fixed
        || [-3, -2, 1, 39, 50]
            .iter()
            .any(|&d| easter + Duration::days(d) == date)
}

/// Easter Sunday in the Gregorian calendar (the anonymous Gregorian algorithm).
fn easter_sunday(year: i32) -> NaiveDate {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32).expect("a valid Easter date")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poisson_and_lognormal_have_their_documented_centre() {
        let mut rng = StdRng::seed_from_u64(7);
        let n = 20_000;
        let small: usize = (0..n).map(|_| poisson(&mut rng, 3.0)).sum();
        assert!((small as f64 / n as f64 - 3.0).abs() < 0.1);
        let large: usize = (0..n).map(|_| poisson(&mut rng, 400.0)).sum();
        assert!((large as f64 / n as f64 - 400.0).abs() < 2.0);
        let mut draws: Vec<f64> = (0..n).map(|_| lognormal(&mut rng, 25.0, 0.8)).collect();
        draws.sort_by(f64::total_cmp);
        assert!((draws[n / 2] - 25.0).abs() < 1.0, "median {}", draws[n / 2]);
    }

    #[test]
    fn working_days_are_weekdays_within_the_range() {
        let mut rng = StdRng::seed_from_u64(1);
        let from = NaiveDate::from_ymd_opt(2024, 3, 1).unwrap();
        let to = NaiveDate::from_ymd_opt(2024, 3, 31).unwrap();
        for _ in 0..200 {
            let day = working_day(&mut rng, from, to).unwrap();
            assert!(is_working_day(day) && day >= from && day <= to);
        }
        let saturday = NaiveDate::from_ymd_opt(2024, 3, 2).unwrap();
        assert_eq!(
            working_day(&mut rng, saturday, saturday + Duration::days(1)),
            None
        );
        assert_eq!(next_working_day(saturday).weekday(), Weekday::Mon);
    }

    #[test]
    fn public_holidays_are_not_working_days() {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert_eq!(easter_sunday(2024), day(2024, 3, 31));
        assert_eq!(easter_sunday(2025), day(2025, 4, 20));
        // Maundy Thursday 2025, then Good Friday, the weekend and Easter Monday.
        assert_eq!(next_working_day(day(2025, 4, 17)), day(2025, 4, 22));
        assert_eq!(next_working_day(day(2024, 12, 25)), day(2024, 12, 27));
        assert_eq!(next_working_day(day(2025, 5, 17)), day(2025, 5, 19));
        assert!(!is_working_day(day(2025, 5, 29))); // Ascension
        assert!(is_working_day(day(2025, 5, 28)));
    }
}
