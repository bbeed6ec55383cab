//! Digit strings and the weighted modulus-11 check that identity and
//! organisation numbers share.

/// The value of each character, if `input` is nothing but ASCII digits.
///
/// Only ASCII counts: other scripts' digits, spaces and separators are refused
/// rather than cleaned, so that what is validated is exactly what was sent.
pub(crate) fn ascii_digits(input: &str) -> Option<Vec<u8>> {
    input
        .bytes()
        .map(|byte| byte.is_ascii_digit().then(|| byte - b'0'))
        .collect()
}

/// The weighted sum of `digits`, modulo 11.
///
/// Callers include the check digit itself with weight 1. The usual rule
/// "check digit = 11 - (sum mod 11), 11 becomes 0, 10 is invalid" then reads
/// simply "the remainder is 0": a number whose check digit would have to be
/// 10 can never reach 0, because no single digit is 10.
pub(crate) fn mod11_remainder(digits: &[u8], weights: &[u32]) -> u32 {
    debug_assert_eq!(digits.len(), weights.len());
    let sum: u32 = digits
        .iter()
        .zip(weights)
        .map(|(&digit, &weight)| u32::from(digit) * weight)
        .sum();
    sum % 11
}
