//! Properties of identity numbers and of client-chosen text, over generated input: the
//! parser never panics and reads back what a valid number says; every valid number is
//! found in text however it is spelt (single space, dot or dash separators, digits of any
//! script or width); masking leaves no long digit run; ordinary numbers pass.
//!
//! Short by default (a few hundred cases each); `PROPTEST_CASES=100000` runs them long.

use chrono::{Datelike, NaiveDate};
use proptest::prelude::*;

use domain::free_text::TextKind;
use domain::free_text::{check_text, contains_identity_number, digit_value, mask_digit_runs};
use domain::identity::{validate_identity_number, CheckDigitRule, IdentityKind};
use domain::problems::Problems;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 6, 1).unwrap()
}

fn config() -> ProptestConfig {
    ProptestConfig::with_cases(256)
}

// ---- Generating valid identity numbers ------------------------------------------------

const K1: [u32; 9] = [3, 7, 6, 1, 8, 9, 4, 5, 2];
const K2: [u32; 10] = [5, 4, 3, 2, 7, 6, 5, 4, 3, 2];

/// A valid number and what it must be read as.
#[derive(Debug, Clone)]
struct Valid {
    digits: String,
    kind: IdentityKind,
    birth_date: NaiveDate,
    rule: CheckDigitRule,
}

/// The individual numbers that give `year` its century (the population register's series).
fn individual_numbers(year: i32) -> Vec<std::ops::RangeInclusive<u32>> {
    let in_century = year % 100;
    match year {
        1854..=1899 => vec![500..=749],
        1900..=1999 if in_century >= 40 => vec![0..=499, 900..=999],
        1900..=1999 => vec![0..=499],
        2000..=2039 => vec![500..=999],
        _ => unreachable!("no series for {year}"),
    }
}

/// Nine digits completed with check digits so that K1 leaves `k1_remainder` (0 classic,
/// 1 to 3 the 2032 rule); `None` when no digit fits.
fn complete(first_nine: &[u32], k1_remainder: u32) -> Option<String> {
    let sum1: u32 = first_nine.iter().zip(K1).map(|(d, w)| d * w).sum();
    let k1 = (k1_remainder + 11 - sum1 % 11) % 11;
    if k1 > 9 {
        return None;
    }
    let mut digits = first_nine.to_vec();
    digits.push(k1);
    let sum2: u32 = digits.iter().zip(K2).map(|(d, w)| d * w).sum();
    let k2 = (11 - sum2 % 11) % 11;
    if k2 > 9 {
        return None;
    }
    digits.push(k2);
    Some(
        digits
            .iter()
            .map(|d| char::from_digit(*d, 10).unwrap())
            .collect(),
    )
}

/// Valid numbers of every kind (fødselsnummer, D-, H- and synthetic numbers), born on a
/// real date up to today, under both check-digit rules.
fn valid_identity_number() -> impl Strategy<Value = Valid> {
    let first = NaiveDate::from_ymd_opt(1854, 1, 1).unwrap();
    let days = (today() - first).num_days();
    let kinds = prop_oneof![
        4 => Just(IdentityKind::Fodselsnummer),
        2 => Just(IdentityKind::DNumber),
        1 => Just(IdentityKind::HNumber),
        1 => Just(IdentityKind::Synthetic),
    ];
    // Remainder 0 is the classic rule; 1 to 3 the rule from 2032.
    (0..=days, kinds, 0u32..1000, 0u32..4).prop_filter_map(
        "no check digit fits",
        move |(day, kind, at, rule)| {
            let birth_date = first + chrono::Days::new(day as u64);
            let series = individual_numbers(birth_date.year());
            let range = &series[at as usize % series.len()];
            let individual = range.start() + at % (range.end() - range.start() + 1);
            let (mut dd, mut mm) = (birth_date.day(), birth_date.month());
            match kind {
                IdentityKind::DNumber => dd += 40,
                IdentityKind::HNumber => mm += 40,
                IdentityKind::Synthetic => mm += 80,
                IdentityKind::Fodselsnummer => {}
            }
            let yy = birth_date.year() as u32 % 100;
            let nine: Vec<u32> = format!("{dd:02}{mm:02}{yy:02}{individual:03}")
                .chars()
                .map(|c| c.to_digit(10).unwrap())
                .collect();
            let digits = complete(&nine, rule)?;
            Some(Valid {
                digits,
                kind,
                birth_date,
                rule: if rule == 0 {
                    CheckDigitRule::Classic
                } else {
                    CheckDigitRule::From2032
                },
            })
        },
    )
}

// ---- Spelling a number ---------------------------------------------------------------

/// Zeros of decimal digit sets a text may use: ASCII, full width, Arabic-Indic, Devanagari,
/// Bengali, Thai, Mongolian, mathematical, segmented, and scripts of Unicode 15 to 17.
const ZEROS: &[u32] = &[
    0x30, 0xFF10, 0x0660, 0x06F0, 0x0966, 0x09E6, 0x0E50, 0x1040, 0x1810, 0xA9D0, 0x1D7CE, 0x1D7D8,
    0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1FBF0, 0x11F50, 0x1E4F0, 0x10D40, 0x116D0, 0x11BF0, 0x16130,
    0x16D70, 0x1E5F1, 0x1CCF0, 0x11DE0,
];

/// Superscript and subscript digits, which compatibility normalisation makes plain.
const SUPERSCRIPTS: [char; 10] = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];

/// One space, dot or dash in any of the spellings a writer may use between digit groups.
const SEPARATORS: &[char] = &[
    ' ', '.', '-', '\t', '\u{00A0}', '\u{2009}', '\u{202F}', '\u{3000}', '\u{2010}', '\u{2011}',
    '\u{2012}', '\u{2013}', '\u{2014}', '\u{2212}', '\u{FF0D}', '\u{FF0E}', '\u{FE63}', '\u{FE52}',
];

/// Characters a reader does not see, which a writer (or a paste) may leave between digits.
const INVISIBLE: &[char] = &[
    '\u{00AD}',
    '\u{200B}',
    '\u{200C}',
    '\u{200D}',
    '\u{200E}',
    '\u{2060}',
    '\u{FEFF}',
    '\u{FE0F}',
    '\u{E0041}',
];

fn digit_in(script: usize, digit: u32) -> char {
    match ZEROS.get(script) {
        Some(zero) => char::from_u32(zero + digit).unwrap(),
        None => SUPERSCRIPTS[digit as usize],
    }
}

/// A spelling of `digits`: each digit in some script, and between two digits nothing
/// (mostly) or one separator, now and then beside an invisible character.
fn spelling(digits: String) -> impl Strategy<Value = String> {
    let count = digits.len();
    let scripts = prop_oneof![
        // One script for the whole number, or a script for each digit.
        (0..=ZEROS.len()).prop_map(move |script| vec![script; count]),
        prop::collection::vec(0..=ZEROS.len(), count),
    ];
    let gap = prop_oneof![3 => Just(None), 1 => prop::sample::select(SEPARATORS).prop_map(Some)];
    let invisible =
        prop_oneof![6 => Just(None), 1 => prop::sample::select(INVISIBLE).prop_map(Some)];
    let gaps = prop::collection::vec((gap, invisible, any::<bool>()), count);
    (scripts, gaps).prop_map(move |(scripts, gaps)| {
        let mut text = String::new();
        for (at, digit) in digits.chars().enumerate() {
            if at > 0 {
                let (separator, invisible, invisible_first) = gaps[at];
                match invisible_first {
                    true => text.extend(invisible.into_iter().chain(separator)),
                    false => text.extend(separator.into_iter().chain(invisible)),
                }
            }
            text.push(digit_in(scripts[at], digit.to_digit(10).unwrap()));
        }
        text
    })
}

/// Any text, control characters and odd code points included.
fn any_text() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 0..24).prop_map(String::from_iter)
}

/// Text without digits of any kind, to stand beside a number without lengthening it.
fn text_without_digits() -> impl Strategy<Value = String> {
    any_text().prop_map(|text| text.chars().filter(|c| digit_value(*c).is_none()).collect())
}

/// Text dense in digits of several scripts and in separators, so that long runs occur.
fn digit_heavy_text() -> impl Strategy<Value = String> {
    let unit = prop_oneof![
        6 => (0..=ZEROS.len(), 0u32..10).prop_map(|(script, d)| digit_in(script, d)),
        2 => prop::sample::select(SEPARATORS),
        1 => prop::sample::select(vec!['a', 'Z', 'ø', ',', '_', '/', '\n', '\u{2028}']),
        1 => prop::sample::select(INVISIBLE),
    ];
    prop::collection::vec(unit, 0..60).prop_map(String::from_iter)
}

// ---- Runs of digits, as the rule reads them ---------------------------------------------

/// A space, dot or dash between digits, as the rule names them (independent of the code's
/// own list: the code may accept more, never less).
fn is_separator(c: char) -> bool {
    c.is_whitespace() || SEPARATORS.contains(&c)
}

/// The digit values of each run of digits separated by at most one separator, read past
/// invisible characters.
fn runs(text: &str) -> Vec<Vec<u8>> {
    let chars: Vec<char> = text.chars().filter(|c| !INVISIBLE.contains(c)).collect();
    let mut runs = Vec::new();
    let mut current: Vec<u8> = Vec::new();
    let mut at = 0;
    while at < chars.len() {
        match digit_value(chars[at]) {
            Some(d) => {
                current.push(d);
                at += 1;
            }
            None if !current.is_empty()
                && is_separator(chars[at])
                && chars.get(at + 1).and_then(|c| digit_value(*c)).is_some() =>
            {
                at += 1;
            }
            None => {
                if !current.is_empty() {
                    runs.push(std::mem::take(&mut current));
                }
                at += 1;
            }
        }
    }
    if !current.is_empty() {
        runs.push(current);
    }
    runs
}

fn longest_run(text: &str) -> usize {
    runs(text).iter().map(Vec::len).max().unwrap_or(0)
}

/// Whether some eleven digits in a row of some run make a valid number.
fn holds_valid_number(text: &str) -> bool {
    runs(text).iter().any(|run| {
        run.windows(11).any(|window| {
            let number: String = window.iter().map(|d| char::from(b'0' + d)).collect();
            validate_identity_number(&number, today(), true).is_ok()
        })
    })
}

fn problem_codes(text: &str, kind: TextKind) -> Vec<String> {
    let mut problems = Problems::new();
    check_text(text, "field", kind, today(), &mut problems);
    problems.into_vec().into_iter().map(|p| p.code).collect()
}

// ---- The parser ------------------------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_parser_never_panics_and_accepts_only_eleven_ascii_digits(
        text in prop_oneof![any_text(), "[0-9]{11}", "[0-9 .-]{9,13}", "[4-7][0-9]{10}"],
        synthetic in any::<bool>(),
    ) {
        if let Ok(id) = validate_identity_number(&text, today(), synthetic) {
            prop_assert!(text.len() == 11 && text.bytes().all(|b| b.is_ascii_digit()));
            prop_assert!(id.birth_date <= today());
            prop_assert!(synthetic || id.kind != IdentityKind::Synthetic);
        }
    }

    #[test]
    fn a_valid_number_reads_back_its_kind_birth_date_and_rule(valid in valid_identity_number()) {
        let id = validate_identity_number(&valid.digits, today(), true)
            .unwrap_or_else(|e| panic!("{} refused: {e}", valid.digits));
        prop_assert_eq!(id.birth_date, valid.birth_date);
        prop_assert_eq!(id.kind, valid.kind);
        prop_assert_eq!(id.check_digit_rule, valid.rule);
        prop_assert_eq!(id.sex.is_none(), valid.rule == CheckDigitRule::From2032);
        // The error and the debug form never show the digits.
        let shown = format!("{id:?}");
        prop_assert!(!shown.contains(&valid.digits[6..]));
    }

    #[test]
    fn one_wrong_digit_is_always_refused(
        valid in valid_identity_number(),
        at in 0usize..11,
        by in 1u8..10,
    ) {
        let mut digits: Vec<u8> = valid.digits.bytes().map(|b| b - b'0').collect();
        digits[at] = (digits[at] + by) % 10;
        let wrong: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
        let refused = validate_identity_number(&wrong, today(), true);
        prop_assert!(refused.is_err(), "{} accepted", wrong);
        let error = refused.unwrap_err();
        let shown = format!("{error} {error:?}");
        prop_assert!(!shown.contains(&wrong));
    }
}

// ---- Finding numbers in text ------------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_valid_number_is_found_however_it_is_spelt(
        (valid, spelt) in valid_identity_number()
            .prop_flat_map(|valid| (Just(valid.clone()), spelling(valid.digits))),
        before in any_text(),
        after in any_text(),
    ) {
        let text = format!("{before}{spelt}{after}");
        prop_assert!(
            contains_identity_number(&text, today()),
            "{} not found in {:?}", valid.digits, text
        );
        let codes = problem_codes(&text, TextKind::Paragraph);
        prop_assert!(codes.iter().any(|c| c == "identity_number_in_text"), "{:?}", codes);
        let masked = mask_digit_runs(&text);
        prop_assert!(!contains_identity_number(&masked, today()), "{:?}", masked);
        prop_assert!(longest_run(&masked) < 10, "{:?}", masked);
    }

    #[test]
    fn masking_leaves_no_run_of_ten_digits_and_keeps_everything_else(
        text in prop_oneof![digit_heavy_text(), any_text()],
    ) {
        let masked = mask_digit_runs(&text);
        prop_assert!(longest_run(&masked) < 10, "{:?} masked to {:?}", text, masked);
        prop_assert!(!holds_valid_number(&masked));
        prop_assert_eq!(masked.chars().count(), text.chars().count());
        for (original, kept) in text.chars().zip(masked.chars()) {
            prop_assert!(original == kept || (kept == '#' && digit_value(original).is_some()));
        }
        // Short runs are kept as they are.
        if longest_run(&text) < 10 {
            prop_assert_eq!(&masked, &text);
        }
        prop_assert_eq!(mask_digit_runs(&masked), masked);
    }

    #[test]
    fn detection_is_exactly_a_valid_number_in_a_run(text in digit_heavy_text()) {
        prop_assert_eq!(
            contains_identity_number(&text, today()),
            holds_valid_number(&text),
            "{:?}", text
        );
    }

    #[test]
    fn eleven_digits_that_are_not_a_valid_number_are_not_flagged(
        digits in "[0-9]{11}",
        before in text_without_digits(),
        after in text_without_digits(),
    ) {
        prop_assume!(validate_identity_number(&digits, today(), true).is_err());
        // A separator at the edge would only join nothing: there are no other digits.
        let text = format!("{before}{digits}{after}");
        prop_assert!(!contains_identity_number(&text, today()), "{:?}", text);
        prop_assert!(
            !problem_codes(&text, TextKind::Paragraph).iter().any(|c| c == "identity_number_in_text")
        );
    }

    #[test]
    fn a_valid_number_with_one_digit_wrong_is_not_flagged(
        valid in valid_identity_number(),
        at in 0usize..11,
        by in 1u8..10,
    ) {
        let mut digits: Vec<u8> = valid.digits.bytes().map(|b| b - b'0').collect();
        digits[at] = (digits[at] + by) % 10;
        let wrong: String = digits.iter().map(|d| char::from(b'0' + d)).collect();
        let text = format!("sak {wrong}");
        prop_assert!(!contains_identity_number(&text, today()));
    }

    #[test]
    fn check_text_never_panics_and_names_each_problem_once(
        text in any_text(),
        line in any::<bool>(),
    ) {
        let kind = if line { TextKind::Line } else { TextKind::Paragraph };
        let mut problems = Problems::new();
        let clean = check_text(&text, "field", kind, today(), &mut problems);
        let problems = problems.into_vec();
        prop_assert_eq!(clean, problems.is_empty());
        let mut codes: Vec<&str> = problems.iter().map(|p| p.code.as_str()).collect();
        codes.dedup();
        prop_assert_eq!(codes.len(), problems.len());
        for problem in &problems {
            // No message repeats the text.
            prop_assert!(text.chars().count() < 4 || !problem.message.contains(&text));
        }
        prop_assert_eq!(
            codes.contains(&"identity_number_in_text"),
            contains_identity_number(&text, today())
        );
    }
}
