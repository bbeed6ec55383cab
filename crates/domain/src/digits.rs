//! Digits in any script or width, and runs of them as a reader sees them: the ground that
//! both the free-text rules (`free_text`) and the masking of problems (`problems`) stand on.

use unicode_normalization::UnicodeNormalization;

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
pub(crate) fn digit_runs(text: &str) -> Vec<(Vec<u8>, std::ops::Range<usize>)> {
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
