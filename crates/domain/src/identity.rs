//! Norwegian national identity numbers: fødselsnummer, D-number, H-number and
//! Skatteetaten's synthetic test numbers.
//!
//! A trust may send a patient's identity number with a report. The registry
//! needs only three things from it: that it is a real number (so that
//! repeated reports about one patient link up), the birth year and, where the
//! number still tells it, the sex. This module checks the number and derives
//! those; [`crate::pseudonym`] then replaces the number itself.
//!
//! Nothing here ever shows the number: errors carry no data, and the `Debug`
//! of [`IdentityNumber`] leaves the digits out.
//!
//! # Layout
//!
//! `DDMMYY III K1 K2`: the birth date, a three-digit individual number and two
//! check digits. A D-number adds 4 to the first digit (day + 40), an H-number
//! adds 4 to the third (month + 40), and the synthetic numbers of
//! Skatteetaten's test data service Tenor add 8 to the third (month + 80).
//! The individual number and the two-digit year together give the century.
//!
//! # Check digits, and the model from 2032
//!
//! K1 is a weighted mod-11 check over the first nine digits, K2 over the first
//! ten. Until 2032 each has exactly one valid value. Skatteetaten runs short of
//! numbers, so numbers issued from 1 January 2032 accept four values of K1:
//! "I ny kontrollberegning vil rest etter moduluskontrollen tillate 0, 1, 2
//! og 3 som gyldige verdier", with K1 = {11, 12, 13, 14} - (sum mod 11) and K2
//! computed as before. Such numbers are sex-neutral, and Skatteetaten asks
//! systems to take sex from the population register instead of the number.
//! Source: Skatteetaten, "Nytt fødselsnummer fra 2032",
//! <https://skatteetaten.github.io/folkeregisteret-api-dokumentasjon/nytt-fodselsnummer-fra-2032/>
//! (repository `Skatteetaten/folkeregisteret-api-dokumentasjon`, file
//! `src/om-tjenestene/nyttfnr2032.md`), whose examples are among the tests.
//!
//! Two ambiguities follow, and this module resolves them the same way each
//! time:
//! - A new-model number whose K1 leaves remainder 0 is indistinguishable from
//!   a classic number. It is read as classic, and its sex is derived from the
//!   ninth digit, which for such a number carries no meaning.
//! - The same page says the individual number will no longer tell the
//!   century. The century rule below is still applied to new-model numbers,
//!   so their birth year is a best reading, not a fact.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use std::fmt;

use crate::checksum::{ascii_digits, mod11_remainder};

/// A checked identity number and what it tells about its holder.
///
/// It keeps the digits, but only so that [`crate::pseudonym`] can replace
/// them: there is no way to read them back out, and it cannot be serialised.
#[derive(Clone, PartialEq, Eq)]
pub struct IdentityNumber {
    pub kind: IdentityKind,
    pub birth_date: NaiveDate,
    /// `None` when the number follows the 2032 model, which does not encode sex.
    pub sex: Option<Sex>,
    pub check_digit_rule: CheckDigitRule,
    digits: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityKind {
    Fodselsnummer,
    DNumber,
    HNumber,
    /// A made-up person from Skatteetaten's test data (Tenor).
    Synthetic,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Female,
    Male,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckDigitRule {
    /// The only rule before 2032: K1 leaves remainder 0.
    Classic,
    /// Skatteetaten's rule for numbers issued from 2032: K1 leaves remainder 1, 2 or 3.
    From2032,
}

/// Why an identity number was refused.
///
/// The variants carry no data on purpose: errors are logged and sent back to
/// the reporting trust, and the number must reach neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    #[error("an identity number must be exactly 11 digits")]
    Format,
    #[error("the identity number's check digits do not match")]
    CheckDigit,
    #[error("the identity number does not contain a valid birth date")]
    Date,
    #[error("the identity number's individual number does not fit its birth year")]
    Century,
    #[error("synthetic test identity numbers are not accepted here")]
    SyntheticNotAccepted,
    #[error("the identity number's birth date is in the future")]
    Future,
}

impl IdentityError {
    /// A stable machine-readable code for API responses and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Format => "identity_number_format",
            Self::CheckDigit => "identity_number_check_digit",
            Self::Date => "identity_number_date",
            Self::Century => "identity_number_century",
            Self::SyntheticNotAccepted => "identity_number_synthetic_not_accepted",
            Self::Future => "identity_number_future",
        }
    }
}

type Digits = [u8; 11];

/// K1's weights, followed by weight 1 for K1 itself.
const K1_WEIGHTS: [u32; 10] = [3, 7, 6, 1, 8, 9, 4, 5, 2, 1];
/// K2's weights, followed by weight 1 for K2 itself.
const K2_WEIGHTS: [u32; 11] = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2, 1];

/// Checks `number` and reads the birth date and sex out of it.
///
/// `today` bounds the birth date. Synthetic test numbers are refused unless
/// `accept_synthetic` is set, so that test data cannot reach production.
pub fn validate_identity_number(
    number: &str,
    today: NaiveDate,
    accept_synthetic: bool,
) -> Result<IdentityNumber, IdentityError> {
    let digits = parse_digits(number)?;
    let check_digit_rule = check_digit_rule(&digits)?;
    let kind = kind(&digits)?;
    if kind == IdentityKind::Synthetic && !accept_synthetic {
        return Err(IdentityError::SyntheticNotAccepted);
    }
    let birth_date = birth_date(&digits)?;
    if birth_date > today {
        return Err(IdentityError::Future);
    }
    Ok(IdentityNumber {
        kind,
        birth_date,
        sex: sex(&digits, check_digit_rule),
        check_digit_rule,
        digits: number.to_owned(),
    })
}

impl IdentityNumber {
    pub fn birth_year(&self) -> i32 {
        self.birth_date.year()
    }

    /// The eleven digits, for the pseudonym and nothing else.
    pub(crate) fn digits(&self) -> &str {
        &self.digits
    }
}

impl fmt::Debug for IdentityNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IdentityNumber")
            .field("kind", &self.kind)
            .field("birth_date", &self.birth_date)
            .field("sex", &self.sex)
            .field("check_digit_rule", &self.check_digit_rule)
            .finish_non_exhaustive()
    }
}

fn parse_digits(number: &str) -> Result<Digits, IdentityError> {
    ascii_digits(number)
        .and_then(|digits| Digits::try_from(digits).ok())
        .ok_or(IdentityError::Format)
}

fn check_digit_rule(digits: &Digits) -> Result<CheckDigitRule, IdentityError> {
    if mod11_remainder(digits, &K2_WEIGHTS) != 0 {
        return Err(IdentityError::CheckDigit);
    }
    match mod11_remainder(&digits[..10], &K1_WEIGHTS) {
        0 => Ok(CheckDigitRule::Classic),
        1..=3 => Ok(CheckDigitRule::From2032),
        _ => Err(IdentityError::CheckDigit),
    }
}

fn kind(digits: &Digits) -> Result<IdentityKind, IdentityError> {
    match (two_digits(digits, 0), two_digits(digits, 2)) {
        // Tenor also makes synthetic D-numbers; what matters is that the person is not real.
        (_, 81..=92) => Ok(IdentityKind::Synthetic),
        // An H-number is only made when no D-number is known, so the offsets never meet.
        (41..=71, 41..=52) => Err(IdentityError::Date),
        (41..=71, _) => Ok(IdentityKind::DNumber),
        (_, 41..=52) => Ok(IdentityKind::HNumber),
        _ => Ok(IdentityKind::Fodselsnummer),
    }
}

fn birth_date(digits: &Digits) -> Result<NaiveDate, IdentityError> {
    let year_in_century = two_digits(digits, 4);
    let century =
        century(individual_number(digits), year_in_century).ok_or(IdentityError::Century)?;
    let day = match two_digits(digits, 0) {
        day @ 41.. => day - 40,
        day => day,
    };
    let month = match two_digits(digits, 2) {
        month @ 81.. => month - 80,
        month @ 41.. => month - 40,
        month => month,
    };
    NaiveDate::from_ymd_opt(century + year_in_century as i32, month, day).ok_or(IdentityError::Date)
}

/// The first year of the century the holder was born in, as the population
/// register's series of individual numbers lay it out.
fn century(individual_number: u32, year_in_century: u32) -> Option<i32> {
    match (individual_number, year_in_century) {
        (0..=499, _) => Some(1900),
        (500..=749, 54..=99) => Some(1800),
        (500..=999, 0..=39) => Some(2000),
        (900..=999, 40..=99) => Some(1900),
        _ => None,
    }
}

fn sex(digits: &Digits, rule: CheckDigitRule) -> Option<Sex> {
    match rule {
        CheckDigitRule::Classic if digits[8].is_multiple_of(2) => Some(Sex::Female),
        CheckDigitRule::Classic => Some(Sex::Male),
        CheckDigitRule::From2032 => None,
    }
}

fn two_digits(digits: &Digits, at: usize) -> u32 {
    u32::from(digits[at]) * 10 + u32::from(digits[at + 1])
}

fn individual_number(digits: &Digits) -> u32 {
    two_digits(digits, 6) * 10 + u32::from(digits[8])
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORMAT: &str = "identity_number_format";
    const CHECK_DIGIT: &str = "identity_number_check_digit";
    const DATE: &str = "identity_number_date";
    const CENTURY: &str = "identity_number_century";
    const SYNTHETIC: &str = "identity_number_synthetic_not_accepted";
    const FUTURE: &str = "identity_number_future";

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 6, 1).unwrap()
    }

    fn check(input: &str, expected: &str) {
        check_with(today(), false, input, expected);
    }

    fn check_with(today: NaiveDate, accept_synthetic: bool, input: &str, expected: &str) {
        let actual = match validate_identity_number(input, today, accept_synthetic) {
            Ok(id) => format!(
                "{:?} {} {:?} {:?}",
                id.kind, id.birth_date, id.sex, id.check_digit_rule
            ),
            Err(error) => error.code().to_owned(),
        };
        assert_eq!(actual, expected, "input {input:?}");
    }

    /// Completes nine digits with check digits such that K1 leaves
    /// `k1_remainder`: 0 for the classic rule, 1 to 3 for the 2032 rule,
    /// anything else for a K1 that no rule accepts. K2 is always right.
    fn complete(first_nine: &str, k1_remainder: u32) -> String {
        let mut digits = ascii_digits(first_nine).unwrap();
        digits.push(0);
        let k1 = (k1_remainder + 11 - mod11_remainder(&digits, &K1_WEIGHTS)) % 11;
        assert!(
            k1 < 10,
            "no K1 leaves remainder {k1_remainder} after {first_nine}"
        );
        digits[9] = k1 as u8;
        digits.push(0);
        let k2 = (11 - mod11_remainder(&digits, &K2_WEIGHTS)) % 11;
        assert!(k2 < 10, "no K2 fits {first_nine} with K1 {k1}");
        format!("{first_nine}{k1}{k2}")
    }

    fn classic(first_nine: &str) -> String {
        complete(first_nine, 0)
    }

    fn with_wrong_k2(number: &str) -> String {
        let (head, k2) = number.split_at(10);
        let k2: u8 = k2.parse().unwrap();
        format!("{head}{}", (k2 + 1) % 10)
    }

    #[test]
    fn classic_numbers_give_birth_date_and_sex() {
        // The worked example of fnrinfo.no's page on computing check digits.
        check("31129956715", "Fodselsnummer 1899-12-31 Some(Male) Classic");
        check(
            &classic("120385124"),
            "Fodselsnummer 1985-03-12 Some(Female) Classic",
        );
        check(
            &classic("150690125"),
            "Fodselsnummer 1990-06-15 Some(Male) Classic",
        );
        check(
            &classic("010625500"),
            "Fodselsnummer 2025-06-01 Some(Female) Classic",
        );
    }

    #[test]
    fn d_and_h_numbers_carry_their_offsets() {
        check(
            &classic("520385124"),
            "DNumber 1985-03-12 Some(Female) Classic",
        );
        check(
            &classic("124385122"),
            "HNumber 1985-03-12 Some(Female) Classic",
        );
        check(&classic("710285124"), DATE); // a D-number for 31 February
        check(&classic("524385124"), DATE); // D- and H-offset together
    }

    #[test]
    fn synthetic_numbers_need_explicit_acceptance() {
        let synthetic = classic("128385122");
        let synthetic_d_number = classic("528385124");
        check(&synthetic, SYNTHETIC);
        check(&synthetic_d_number, SYNTHETIC);
        let accepting = |input: &str, expected| check_with(today(), true, input, expected);
        accepting(&synthetic, "Synthetic 1985-03-12 Some(Female) Classic");
        accepting(
            &synthetic_d_number,
            "Synthetic 1985-03-12 Some(Female) Classic",
        );
        accepting(
            &classic("120385124"),
            "Fodselsnummer 1985-03-12 Some(Female) Classic",
        );
    }

    #[test]
    fn the_individual_number_decides_the_century() {
        check(
            &classic("120385499"),
            "Fodselsnummer 1985-03-12 Some(Male) Classic",
        );
        check(
            &classic("120399000"),
            "Fodselsnummer 1999-03-12 Some(Female) Classic",
        );
        check(
            &classic("311299567"),
            "Fodselsnummer 1899-12-31 Some(Male) Classic",
        );
        check(
            &classic("150654749"),
            "Fodselsnummer 1854-06-15 Some(Male) Classic",
        );
        check(
            &classic("150610512"),
            "Fodselsnummer 2010-06-15 Some(Female) Classic",
        );
        check(
            &classic("150600999"),
            "Fodselsnummer 2000-06-15 Some(Male) Classic",
        );
        check(
            &classic("150655912"),
            "Fodselsnummer 1955-06-15 Some(Female) Classic",
        );
        check(&classic("150645600"), CENTURY); // 500-749 only covers 1854-1899
        check(&classic("150655800"), CENTURY); // 750-899 only covers the 2000s
    }

    #[test]
    fn check_digits_must_match() {
        let valid = classic("120385124");
        check(&with_wrong_k2(&valid), CHECK_DIGIT);
        check(&complete("120385124", 5), CHECK_DIGIT); // K1 wrong, K2 fits it
                                                       // These nine digits would need K1 = 10 under the classic rule...
        check(&complete("120385126", 4), CHECK_DIGIT);
        // ...which the 2032 rule escapes with remainders 1 to 3.
        check(
            &complete("120385126", 1),
            "Fodselsnummer 1985-03-12 None From2032",
        );
    }

    #[test]
    fn numbers_of_the_2032_model_have_no_sex() {
        // Skatteetaten's examples: two people born 30 October 1982 who get
        // numbers in 2032; the first one's K1 happens to fit the classic rule.
        check("30108299920", "Fodselsnummer 1982-10-30 Some(Male) Classic");
        check("30108299939", "Fodselsnummer 1982-10-30 None From2032");
        check(
            &complete("120385124", 2),
            "Fodselsnummer 1985-03-12 None From2032",
        );
        check(
            &complete("520385124", 3),
            "DNumber 1985-03-12 None From2032",
        );
    }

    #[test]
    fn skatteetatens_example_born_in_2032_validates_once_2032_has_come() {
        let in_2032 = NaiveDate::from_ymd_opt(2032, 6, 1).unwrap();
        check_with(
            in_2032,
            false,
            "02013299997",
            "Fodselsnummer 2032-01-02 Some(Male) Classic",
        );
        check_with(
            in_2032,
            false,
            "02013299903",
            "Fodselsnummer 2032-01-02 None From2032",
        );
        check("02013299903", FUTURE);
    }

    #[test]
    fn the_birth_date_must_be_a_real_past_date() {
        check(&classic("310285123"), DATE); // 31 February
        check(
            &classic("290200500"),
            "Fodselsnummer 2000-02-29 Some(Female) Classic",
        );
        check(&classic("290200100"), DATE); // 1900 was no leap year
        check(&classic("001085123"), DATE);
        check(&classic("121385122"), DATE);
        check(&classic("126585123"), DATE); // month 65 is no known offset
        check(&classic("020625500"), FUTURE); // the day after today
        check(&classic("010130500"), FUTURE);
    }

    #[test]
    fn only_eleven_ascii_digits_are_read() {
        let valid = classic("120385124");
        check("", FORMAT);
        check(&valid[..10], FORMAT);
        check(&format!("{valid}0"), FORMAT);
        check(&format!(" {valid}"), FORMAT);
        check(&format!("{valid}\n"), FORMAT);
        check("120385 12437", FORMAT);
        check("1203851243a", FORMAT);
        check("120385-1243", FORMAT);
        check("12038512４3", FORMAT); // a full-width digit
    }

    #[test]
    fn birth_year_comes_from_the_birth_date() {
        let id = validate_identity_number("31129956715", today(), false).unwrap();
        assert_eq!(id.birth_year(), 1899);
    }

    #[test]
    fn neither_errors_nor_debug_show_the_number() {
        let valid = classic("120385124");
        let refused = [
            with_wrong_k2(&valid),
            classic("310285123"),
            classic("128385122"),
        ];
        for number in &refused {
            let error = validate_identity_number(number, today(), false).unwrap_err();
            assert!(!format!("{error} {error:?}").contains(number.as_str()));
        }
        let id = validate_identity_number(&valid, today(), false).unwrap();
        assert!(!format!("{id:?}").contains(&valid[6..]));
    }
}
