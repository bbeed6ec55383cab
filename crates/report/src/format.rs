//! Numbers the Norwegian way: a space between thousands, a decimal comma, "%" after a
//! space. A figure that is withheld or missing is ":".

/// The mark of a figure not published (withheld, or not available).
pub const NOT_PUBLISHED: &str = ":";

/// A whole number with spaces between thousands: 12 345.
pub fn count(value: u64) -> String {
    let digits = value.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push('\u{a0}');
        }
        grouped.push(digit);
    }
    grouped
}

/// A decimal number with a comma.
pub fn decimal(value: f64, decimals: usize) -> String {
    format!("{value:.decimals$}").replace('.', ",")
}

/// A share as a percentage: 0.753 as "75 %" (whole percents; the intervals say how sure).
pub fn percent(share: f64) -> String {
    format!("{}\u{a0}%", decimal(share * 100.0, 0))
}

pub fn optional(value: Option<String>) -> String {
    value.unwrap_or_else(|| NOT_PUBLISHED.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped_with_a_no_break_space() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(2437), "2\u{a0}437");
        assert_eq!(count(1_234_567), "1\u{a0}234\u{a0}567");
    }

    #[test]
    fn decimals_take_a_comma_and_shares_a_percent_sign() {
        assert_eq!(decimal(22.45, 1), "22,4");
        assert_eq!(percent(0.753), "75\u{a0}%");
    }
}
