//! Text a client chooses: references, descriptions, names. It is stored, shown and
//! extracted as it is, so it must never carry an identity number in any spelling, nor
//! characters that hide or reorder what a reader sees; and when an error repeats a
//! client-chosen name, its long digit runs are masked, in case they are a patient's.

use chrono::NaiveDate;

use crate::digits::digit_runs;
pub use crate::digits::{digit_value, mask_digit_runs};
use crate::identity::validate_identity_number;
use crate::problems::Problems;

/// Digits in an identity number.
const IDENTITY_DIGITS: usize = 11;

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

/// A text cell as a spreadsheet may open it: a leading `=`, `+`, `-`, `@`, tab or carriage
/// return would start a formula, so such a cell gets a leading apostrophe (OWASP's rule).
/// Every CSV the registry writes (statistics, reports, research extracts) passes its cells
/// through here.
/// A cell that needs no apostrophe is lent back as it is: a research extract writes
/// millions of them.
pub fn csv_cell(text: &str) -> std::borrow::Cow<'_, str> {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}").into(),
        _ => text.into(),
    }
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
