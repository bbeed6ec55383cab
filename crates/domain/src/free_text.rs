//! Text a client chooses: references, descriptions, names. It is stored, shown and
//! extracted as it is, so it must never carry an identity number in any spelling, nor
//! characters that hide or reorder what a reader sees; and when an error repeats a
//! client-chosen name, its long digit runs are masked, in case they are a patient's.

use chrono::NaiveDate;
use unicode_normalization::UnicodeNormalization;

use crate::identity::validate_identity_number;
use crate::problems::Problems;

/// Digits in an identity number.
const IDENTITY_DIGITS: usize = 11;

/// Digit runs this long or longer are masked when a client-chosen name is repeated: an
/// identity number has eleven digits, an organisation number nine.
const MASKED_RUN: usize = 10;

/// Zero of each run of ten decimal digits in Unicode (general category Nd, to Unicode 17)
/// that compatibility normalisation (NFKC) does not already turn into ASCII digits.
const DIGIT_ZEROS: &[u32] = &[
    0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6, 0x0D66,
    0x0DE6, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90,
    0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10,
    0x104A0, 0x10D30, 0x10D40, 0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0, 0x11450, 0x114D0,
    0x11650, 0x116C0, 0x116D0, 0x116DA, 0x11730, 0x118E0, 0x11950, 0x11BF0, 0x11C50, 0x11D50,
    0x11DA0, 0x11DE0, 0x11F50, 0x16130, 0x16A60, 0x16AC0, 0x16B50, 0x16D70, 0x1E140, 0x1E2F0,
    0x1E4F0, 0x1E5F1, 0x1E950, 0x1FBF0,
];

/// The value of `c` as a decimal digit in any script or width (`٣`, `３`, `𝟑`), if it
/// is one.
pub fn digit_value(c: char) -> Option<u8> {
    if let Some(value) = c.to_digit(10) {
        return Some(value as u8);
    }
    if let Some(value) = compatibility_char(c).and_then(|plain| plain.to_digit(10)) {
        return Some(value as u8);
    }
    let code = u32::from(c);
    DIGIT_ZEROS
        .iter()
        .find(|zero| (**zero..**zero + 10).contains(&code))
        .map(|zero| (code - zero) as u8)
}

/// The one character compatibility normalisation (NFKC) makes of `c`, if it makes one
/// (`３` is `3`, `－` is `-`).
fn compatibility_char(c: char) -> Option<char> {
    let mut normalised = std::iter::once(c).nfkc();
    match (normalised.next(), normalised.next()) {
        (Some(plain), None) => Some(plain),
        _ => None,
    }
}

/// A space, dot or dash that may stand between the digits of one number
/// (`041161 01292`, `041161.01292`, `041161-01292`), in any of their common spellings,
/// full-width and small forms (`－`, `．`, `﹣`) included.
fn is_digit_separator(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '.' | '-' | '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2014}' | '\u{2212}'
        )
        || matches!(compatibility_char(c), Some('.' | '-'))
}

/// A character a reader does not see (Unicode's Default_Ignorable_Code_Point: zero-width
/// space and joiners, the soft hyphen, word joiner, bidirectional marks, variation
/// selectors, tags). Runs of digits are read past them, as a reader reads past them.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFF8}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
}

/// Each run of digits in `text` whose digits are separated by at most one space, dot or
/// dash (invisible characters aside), with its digit values and the char range it spans.
fn digit_runs(text: &str) -> Vec<(Vec<u8>, std::ops::Range<usize>)> {
    // The visible characters, each with its place in `text`.
    let (places, chars): (Vec<usize>, Vec<char>) = text
        .chars()
        .enumerate()
        .filter(|(_, c)| !is_invisible(*c))
        .unzip();
    let mut runs = Vec::new();
    let mut index = 0;
    while index < chars.len() {
        let Some(first) = digit_value(chars[index]) else {
            index += 1;
            continue;
        };
        let start = index;
        let mut digits = vec![first];
        let mut end = index + 1;
        loop {
            match (chars.get(end), chars.get(end + 1)) {
                (Some(&c), _) if digit_value(c).is_some() => {
                    digits.extend(digit_value(c));
                    end += 1;
                }
                (Some(&gap), Some(&c)) if is_digit_separator(gap) && digit_value(c).is_some() => {
                    digits.extend(digit_value(c));
                    end += 2;
                }
                _ => break,
            }
        }
        runs.push((digits, places[start]..places[end - 1] + 1));
        index = end;
    }
    runs
}

/// Whether `text` holds a valid identity number (of any kind, synthetic too): eleven
/// digits in a row, in any script or width, separated by at most one space, dot or dash,
/// with a real birth date and both check digits right. Ordinary case numbers pass.
pub fn contains_identity_number(text: &str, today: NaiveDate) -> bool {
    digit_runs(text).iter().any(|(digits, _)| {
        digits.windows(IDENTITY_DIGITS).any(|window| {
            let number: String = window.iter().map(|d| char::from(b'0' + d)).collect();
            validate_identity_number(&number, today, true).is_ok()
        })
    })
}

/// `text` with every digit of each long digit run (as `contains_identity_number` reads
/// runs) replaced by `#`, for repeating a client-chosen name in an error or a log.
pub fn mask_digit_runs(text: &str) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for (digits, span) in digit_runs(text) {
        if digits.len() >= MASKED_RUN {
            for c in &mut chars[span] {
                if digit_value(*c).is_some() {
                    *c = '#';
                }
            }
        }
    }
    chars.into_iter().collect()
}

/// Characters that change how text is shown without being seen: the bidirectional
/// embeddings, overrides and isolates (the "Trojan Source" characters).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// How much layout a text may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    /// A name, reference or code: one line, no control characters at all.
    Line,
    /// A description: may run over lines (newline and tab are allowed).
    Paragraph,
}

/// Records every problem with a client-chosen text at `path`: control characters (a NUL
/// among them), bidirectional controls, and an identity number. True when there was none.
/// No message repeats the text.
pub fn check_text(
    text: &str,
    path: &str,
    kind: TextKind,
    today: NaiveDate,
    problems: &mut Problems,
) -> bool {
    let allowed_control = |c: char| kind == TextKind::Paragraph && matches!(c, '\n' | '\t');
    let mut clean = true;
    if text.chars().any(|c| c.is_control() && !allowed_control(c)) {
        problems.add(
            path,
            "control_character",
            match kind {
                TextKind::Line => "must not contain control characters",
                TextKind::Paragraph => {
                    "must not contain control characters other than newline and tab"
                }
            },
        );
        clean = false;
    }
    if text.chars().any(is_bidi_control) {
        problems.add(
            path,
            "bidi_control",
            "must not contain bidirectional override or isolate characters",
        );
        clean = false;
    }
    if contains_identity_number(text, today) {
        problems.add(
            path,
            "identity_number_in_text",
            "must not contain an identity number: patients are identified only in patient.fnr",
        );
        clean = false;
    }
    clean
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 2).unwrap()
    }

    /// A valid fødselsnummer (04.11.61) and D-number (03.09.70 + 40) from the issue.
    const FNR: &str = "04116101292";

    #[test]
    fn every_spelling_of_an_identity_number_is_found() {
        for text in [
            "04116101292",
            "041161-01292",
            "OUS.041161.01292",
            "Pasient 041161 01292",
            "430970-30279",
            "104116101292",
            "０４１１６１０１２９２",
            "0 4 1 1 6 1 0 1 2 9 2",
            "041161\u{00A0}01292",
            "٠٤١١٦١٠١٢٩٢",
            "０４１１６１－０１２９２",
            "041161\u{FF0E}01292",
            "041161\u{200B}01292",
            "0411\u{2060}61 \u{00AD}01292",
            "\u{11F50}\u{11F54}\u{11F51}\u{11F51}\u{11F56}\u{11F51}\u{11F50}\u{11F51}\u{11F52}\u{11F59}\u{11F52}",
        ] {
            assert!(contains_identity_number(text, today()), "{text}");
        }
    }

    #[test]
    fn ordinary_numbers_and_two_separators_pass() {
        for text in [
            "OUS-2025-000123",
            "041161--01292",
            "041161, 01292",
            "04116101293",
            "sak 12345678901",
        ] {
            assert!(!contains_identity_number(text, today()), "{text}");
        }
    }

    #[test]
    fn long_digit_runs_are_masked_and_short_ones_kept() {
        assert_eq!(mask_digit_runs(FNR), "###########");
        assert_eq!(mask_digit_runs("x 041161-01292 y"), "x ######-##### y");
        assert_eq!(
            mask_digit_runs("04\u{200B}116101292"),
            "##\u{200B}#########"
        );
        assert_eq!(
            mask_digit_runs("line 12, org 993467049"),
            "line 12, org 993467049"
        );
    }

    #[test]
    fn a_nul_a_bidi_override_and_a_number_are_each_named() {
        let mut problems = Problems::new();
        let clean = check_text(
            "a\u{0}b\u{202E} 04116101292",
            "name",
            TextKind::Line,
            today(),
            &mut problems,
        );
        assert!(!clean);
        let codes: Vec<String> = problems.into_vec().into_iter().map(|p| p.code).collect();
        assert_eq!(
            codes,
            [
                "control_character",
                "bidi_control",
                "identity_number_in_text"
            ]
        );
    }

    #[test]
    fn a_description_may_run_over_lines() {
        let mut problems = Problems::new();
        assert!(check_text(
            "a\nb\tc",
            "d",
            TextKind::Paragraph,
            today(),
            &mut problems
        ));
        assert!(!check_text(
            "a\nb",
            "d",
            TextKind::Line,
            today(),
            &mut problems
        ));
    }
}
