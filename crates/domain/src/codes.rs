//! The code systems a report refers to: ICD-10 for indications, ATC for
//! drugs, Nye metoder ids for methods, and county numbers for the patient's
//! region of residence.
//!
//! Each code is checked and normalised once, when it enters the registry, so
//! that grouping and counting later can compare codes as plain strings.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("not a WHO ICD-10 code: expected a letter, two digits and up to two more characters, e.g. C34.1")]
    Icd10Format,
    #[error("not an ATC code: expected one of the shapes L, L01, L01F, L01FF or L01FF02")]
    AtcFormat,
    #[error("not a Nye metoder id: expected ID, a year from 2013, an underscore and three digits, e.g. ID2021_047")]
    MethodIdFormat,
    #[error("not one of the county numbers in force from 2024")]
    CountyUnknown,
}

impl CodeError {
    /// A stable machine-readable code for API responses and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Icd10Format => "icd10_format",
            Self::AtcFormat => "atc_format",
            Self::MethodIdFormat => "method_id_format",
            Self::CountyUnknown => "county_unknown",
        }
    }
}

/// Display, `FromStr` and the serde conversions of a code, all through its
/// `parse` and `as_str`, so that a code can only be deserialised checked.
macro_rules! string_code {
    ($code:ty) => {
        impl fmt::Display for $code {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $code {
            type Err = CodeError;

            fn from_str(input: &str) -> Result<Self, CodeError> {
                Self::parse(input)
            }
        }

        impl TryFrom<String> for $code {
            type Error = CodeError;

            fn try_from(input: String) -> Result<Self, CodeError> {
                Self::parse(&input)
            }
        }

        // Written out rather than derived: the derive cannot see past the `&'static`
        // data some codes point to.
        impl<'de> Deserialize<'de> for $code {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                Self::parse(&text).map_err(serde::de::Error::custom)
            }
        }

        impl From<$code> for String {
            fn from(code: $code) -> String {
                code.as_str().to_owned()
            }
        }
    };
}

/// A WHO ICD-10 code, stored in upper case without the dot: "C34.1" is "C341".
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(into = "String")]
pub struct Icd10Code {
    code: String,
    chapter: &'static str,
}

/// WHO's ICD-10 chapters as (first category, last category, chapter).
///
/// Categories between or after the ranges (D49, D90-D99, E91-E99, H96-H99,
/// K94-K99, P97-P99, T99, U86-U99, V00, Y99) belong to no chapter, are not
/// WHO ICD-10, and are refused; most of them are US ICD-10-CM codes.
const CHAPTERS: [(&str, &str, &str); 22] = [
    ("A00", "B99", "I"),
    ("C00", "D48", "II"),
    ("D50", "D89", "III"),
    ("E00", "E90", "IV"),
    ("F00", "F99", "V"),
    ("G00", "G99", "VI"),
    ("H00", "H59", "VII"),
    ("H60", "H95", "VIII"),
    ("I00", "I99", "IX"),
    ("J00", "J99", "X"),
    ("K00", "K93", "XI"),
    ("L00", "L99", "XII"),
    ("M00", "M99", "XIII"),
    ("N00", "N99", "XIV"),
    ("O00", "O99", "XV"),
    ("P00", "P96", "XVI"),
    ("Q00", "Q99", "XVII"),
    ("R00", "R99", "XVIII"),
    ("S00", "T98", "XIX"),
    ("V01", "Y98", "XX"),
    ("Z00", "Z99", "XXI"),
    ("U00", "U85", "XXII"),
];

impl Icd10Code {
    pub fn parse(input: &str) -> Result<Self, CodeError> {
        let upper = input.to_ascii_uppercase();
        let (category, subdivision) = split_icd10(&upper).ok_or(CodeError::Icd10Format)?;
        let chapter = chapter_of(category).ok_or(CodeError::Icd10Format)?;
        Ok(Self {
            code: format!("{category}{subdivision}"),
            chapter,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.code
    }

    /// The three-character category, e.g. "C34" for "C341".
    pub fn category(&self) -> &str {
        &self.code[..3]
    }

    /// The chapter as a roman numeral, e.g. "II" for neoplasms.
    pub fn chapter(&self) -> &'static str {
        self.chapter
    }
}

string_code!(Icd10Code);

/// Splits "C34.1" or "C341" into the category "C34" and the subdivision "1".
fn split_icd10(code: &str) -> Option<(&str, &str)> {
    let (category, rest) = code.split_at_checked(3)?;
    let subdivision = match rest.strip_prefix('.') {
        Some("") => return None,
        Some(after_dot) => after_dot,
        None => rest,
    };
    let well_formed = shape(category) == "A99"
        && subdivision.len() <= 2
        && subdivision.bytes().all(|byte| byte.is_ascii_alphanumeric());
    well_formed.then_some((category, subdivision))
}

fn chapter_of(category: &str) -> Option<&'static str> {
    CHAPTERS
        .iter()
        .find(|(first, last, _)| (*first..=*last).contains(&category))
        .map(|(_, _, chapter)| *chapter)
}

/// A WHO ATC code at any of its five levels, stored in upper case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(into = "String")]
pub struct AtcCode(String);

/// The fourteen anatomical main groups, one of which starts every ATC code.
const ATC_MAIN_GROUPS: &str = "ABCDGHJLMNPRSV";

impl AtcCode {
    pub fn parse(input: &str) -> Result<Self, CodeError> {
        let code = input.to_ascii_uppercase();
        let known_group = code
            .get(..1)
            .is_some_and(|group| ATC_MAIN_GROUPS.contains(group));
        if !known_group || atc_level(&code).is_none() {
            return Err(CodeError::AtcFormat);
        }
        Ok(Self(code))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// WHO's level: 1 anatomical main group ("L"), 2 therapeutic subgroup
    /// ("L01"), 3 pharmacological subgroup ("L01F"), 4 chemical subgroup
    /// ("L01FF"), 5 chemical substance ("L01FF02").
    pub fn level(&self) -> u8 {
        atc_level(&self.0).expect("parse admits only codes with a level")
    }
}

string_code!(AtcCode);

fn atc_level(code: &str) -> Option<u8> {
    match shape(code).as_str() {
        "A" => Some(1),
        "A99" => Some(2),
        "A99A" => Some(3),
        "A99AA" => Some(4),
        "A99AA99" => Some(5),
        _ => None,
    }
}

/// A method's id in Nye metoder, e.g. "ID2021_047": the year the proposal
/// was registered and a running number.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(into = "String")]
pub struct MethodId(String);

/// Nye metoder started in 2013, so no id is older; a year past 2099 is a typo.
const METHOD_YEARS: std::ops::RangeInclusive<u16> = 2013..=2099;

impl MethodId {
    pub fn parse(input: &str) -> Result<Self, CodeError> {
        let id = input.to_ascii_uppercase();
        let well_formed = shape(&id) == "AA9999_999" && id.starts_with("ID");
        if !well_formed || !METHOD_YEARS.contains(&year_of(&id)) {
            return Err(CodeError::MethodIdFormat);
        }
        Ok(Self(id))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn year(&self) -> u16 {
        year_of(&self.0)
    }
}

string_code!(MethodId);

/// The year of an id already known to have four digits after "ID".
fn year_of(id: &str) -> u16 {
    id[2..6].parse().expect("four ASCII digits")
}

/// A county (fylke) by the number in force from 1 January 2024.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(into = "String")]
pub struct CountyNumber(&'static County);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct County {
    pub number: &'static str,
    pub name: &'static str,
    /// The organisation number of the regional health authority (RHF) that
    /// serves the county's residents.
    pub health_authority_org_number: &'static str,
}

const SOR_OST: &str = "991324968";
const VEST: &str = "983658725";
const MIDT_NORGE: &str = "983658776";
const NORD: &str = "883658752";

/// The fifteen counties from 2024, in the official order.
pub const COUNTIES: &[County] = &[
    county("03", "Oslo", SOR_OST),
    county("31", "Østfold", SOR_OST),
    county("32", "Akershus", SOR_OST),
    county("33", "Buskerud", SOR_OST),
    county("34", "Innlandet", SOR_OST),
    county("39", "Vestfold", SOR_OST),
    county("40", "Telemark", SOR_OST),
    county("42", "Agder", SOR_OST),
    county("11", "Rogaland", VEST),
    county("46", "Vestland", VEST),
    county("15", "Møre og Romsdal", MIDT_NORGE),
    county("50", "Trøndelag", MIDT_NORGE),
    county("18", "Nordland", NORD),
    county("55", "Troms", NORD),
    county("56", "Finnmark", NORD),
];

const fn county(
    number: &'static str,
    name: &'static str,
    health_authority_org_number: &'static str,
) -> County {
    County {
        number,
        name,
        health_authority_org_number,
    }
}

impl CountyNumber {
    pub fn parse(input: &str) -> Result<Self, CodeError> {
        COUNTIES
            .iter()
            .find(|county| county.number == input)
            .map(Self)
            .ok_or(CodeError::CountyUnknown)
    }

    pub fn as_str(&self) -> &str {
        self.0.number
    }

    pub fn county(&self) -> &'static County {
        self.0
    }
}

string_code!(CountyNumber);

/// The code with every ASCII digit written as '9' and every ASCII letter as
/// 'A', so that a format reads like a picture of itself: "L01FF02" is "A99AA99".
fn shape(code: &str) -> String {
    code.chars()
        .map(|c| match c {
            '0'..='9' => '9',
            'A'..='Z' | 'a'..='z' => 'A',
            other => other,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::organisation::OrganisationNumber;

    fn describe<T>(result: Result<T, CodeError>, show: impl Fn(&T) -> String) -> String {
        match result {
            Ok(code) => show(&code),
            Err(error) => error.code().to_owned(),
        }
    }

    fn check_icd10(input: &str, expected: &str) {
        let actual = describe(Icd10Code::parse(input), |code| {
            format!("{code} {} {}", code.category(), code.chapter())
        });
        assert_eq!(actual, expected, "input {input:?}");
    }

    fn check_atc(input: &str, expected: &str) {
        let actual = describe(AtcCode::parse(input), |code| {
            format!("{code} level {}", code.level())
        });
        assert_eq!(actual, expected, "input {input:?}");
    }

    fn check_method(input: &str, expected: &str) {
        let actual = describe(MethodId::parse(input), |id| format!("{id} {}", id.year()));
        assert_eq!(actual, expected, "input {input:?}");
    }

    fn check_county(input: &str, expected: &str) {
        let actual = describe(CountyNumber::parse(input), |number| {
            let county = number.county();
            format!(
                "{number} {} {}",
                county.name, county.health_authority_org_number
            )
        });
        assert_eq!(actual, expected, "input {input:?}");
    }

    #[test]
    fn icd10_codes_are_normalised_and_placed_in_their_chapter() {
        check_icd10("C34", "C34 C34 II");
        check_icd10("C34.1", "C341 C34 II");
        check_icd10("C341", "C341 C34 II");
        check_icd10("c341", "C341 C34 II");
        check_icd10("M80.08", "M8008 M80 XIII");
        check_icd10("A00", "A00 A00 I");
        check_icd10("B99", "B99 B99 I");
        check_icd10("D48.9", "D489 D48 II");
        check_icd10("D50", "D50 D50 III");
        check_icd10("E66.0", "E660 E66 IV");
        check_icd10("F32.1", "F321 F32 V");
        check_icd10("G35", "G35 G35 VI");
        check_icd10("H59", "H59 H59 VII");
        check_icd10("H60", "H60 H60 VIII");
        check_icd10("I21.4", "I214 I21 IX");
        check_icd10("J45", "J45 J45 X");
        check_icd10("K50.1", "K501 K50 XI");
        check_icd10("L40", "L40 L40 XII");
        check_icd10("N18.5", "N185 N18 XIV");
        check_icd10("O14", "O14 O14 XV");
        check_icd10("P07", "P07 P07 XVI");
        check_icd10("Q90", "Q90 Q90 XVII");
        check_icd10("R52", "R52 R52 XVIII");
        check_icd10("S72.0", "S720 S72 XIX");
        check_icd10("T98", "T98 T98 XIX");
        check_icd10("V01", "V01 V01 XX");
        check_icd10("Y98", "Y98 Y98 XX");
        check_icd10("Z51.1", "Z511 Z51 XXI");
        check_icd10("U07.1", "U071 U07 XXII");
    }

    #[test]
    fn malformed_or_chapterless_icd10_codes_are_refused() {
        for input in [
            "", "C", "C3", "3C4", "CC4", "C34.", "C34..1", "C34.123", "C34123", "C34-1", " C34",
            "C34 ", "Ø34", "C34.é", "D49", "E91", "H96", "K94", "P97", "T99", "U99", "V00", "Y99",
        ] {
            check_icd10(input, "icd10_format");
        }
    }

    #[test]
    fn atc_codes_have_five_levels() {
        check_atc("L", "L level 1");
        check_atc("L01", "L01 level 2");
        check_atc("L01F", "L01F level 3");
        check_atc("L01FF", "L01FF level 4");
        check_atc("L01FF02", "L01FF02 level 5");
        check_atc("l01ff02", "L01FF02 level 5");
        check_atc("A10BJ06", "A10BJ06 level 5");
        check_atc("V", "V level 1");
    }

    #[test]
    fn other_atc_shapes_and_groups_are_refused() {
        for input in [
            "", "L0", "L01F0", "L01FF0", "L01FF023", "01FF02", "LL1FF02", "L01F F02", "L01FF02 ",
            "E", "K01", "X01FF02", "Å",
        ] {
            check_atc(input, "atc_format");
        }
    }

    #[test]
    fn method_ids_carry_their_year() {
        check_method("ID2021_047", "ID2021_047 2021");
        check_method("ID2013_001", "ID2013_001 2013");
        check_method("id2023_045", "ID2023_045 2023");
        check_method("ID2099_999", "ID2099_999 2099");
        for input in [
            "",
            "ID2012_999",
            "ID2100_001",
            "ID2021_47",
            "ID2021_0471",
            "ID21_047",
            "ID2021-047",
            "IX2021_047",
            "2021_047",
            "ID2021_04A",
            " ID2021_047",
        ] {
            check_method(input, "method_id_format");
        }
    }

    #[test]
    fn counties_from_2024_know_their_health_authority() {
        check_county("03", "03 Oslo 991324968");
        check_county("31", "31 Østfold 991324968");
        check_county("42", "42 Agder 991324968");
        check_county("11", "11 Rogaland 983658725");
        check_county("46", "46 Vestland 983658725");
        check_county("15", "15 Møre og Romsdal 983658776");
        check_county("50", "50 Trøndelag 983658776");
        check_county("18", "18 Nordland 883658752");
        check_county("55", "55 Troms 883658752");
        check_county("56", "56 Finnmark 883658752");
        // Numbers of the 2020-2023 counties, and sloppy spellings, are unknown.
        for input in ["", "3", "003", "30", "38", "54", "01", "Oslo", " 03"] {
            check_county(input, "county_unknown");
        }
    }

    #[test]
    fn every_county_names_a_valid_health_authority() {
        assert_eq!(COUNTIES.len(), 15);
        for county in COUNTIES {
            let number = county.health_authority_org_number;
            assert!(OrganisationNumber::parse(number).is_ok(), "{}", county.name);
        }
    }

    #[test]
    fn serde_reads_and_writes_checked_normalised_strings() {
        let icd: Icd10Code = serde_json::from_str("\"c34.1\"").unwrap();
        assert_eq!(serde_json::to_string(&icd).unwrap(), "\"C341\"");
        let atc: AtcCode = serde_json::from_str("\"l01ff02\"").unwrap();
        assert_eq!(serde_json::to_string(&atc).unwrap(), "\"L01FF02\"");
        let method: MethodId = serde_json::from_str("\"ID2021_047\"").unwrap();
        assert_eq!(serde_json::to_string(&method).unwrap(), "\"ID2021_047\"");
        let county: CountyNumber = serde_json::from_str("\"46\"").unwrap();
        assert_eq!(serde_json::to_string(&county).unwrap(), "\"46\"");

        assert!(serde_json::from_str::<Icd10Code>("\"D49\"").is_err());
        assert!(serde_json::from_str::<AtcCode>("\"L01FF0\"").is_err());
        assert!(serde_json::from_str::<MethodId>("\"ID2012_001\"").is_err());
        assert!(serde_json::from_str::<CountyNumber>("\"01\"").is_err());
    }
}
