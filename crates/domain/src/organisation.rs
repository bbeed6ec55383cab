//! Norwegian organisation numbers (organisasjonsnummer) from the Central
//! Coordinating Register for Legal Entities (Enhetsregisteret).
//!
//! Every party that reports or decides is named by one: health trusts,
//! regional health authorities, Helfo and the interregional bodies' hosts.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::checksum::{ascii_digits, mod11_remainder};

/// Nine digits whose last is a mod-11 check digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct OrganisationNumber(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OrganisationNumberError {
    #[error("an organisation number must be exactly 9 digits")]
    Format,
    #[error("the organisation number's check digit does not match")]
    CheckDigit,
}

impl OrganisationNumberError {
    /// A stable machine-readable code for API responses and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Format => "organisation_number_format",
            Self::CheckDigit => "organisation_number_check_digit",
        }
    }
}

/// The register's weights, followed by weight 1 for the check digit itself.
const WEIGHTS: [u32; 9] = [3, 2, 7, 6, 5, 4, 3, 2, 1];

impl OrganisationNumber {
    pub fn parse(input: &str) -> Result<Self, OrganisationNumberError> {
        let digits = ascii_digits(input)
            .filter(|digits| digits.len() == WEIGHTS.len())
            .ok_or(OrganisationNumberError::Format)?;
        if mod11_remainder(&digits, &WEIGHTS) != 0 {
            return Err(OrganisationNumberError::CheckDigit);
        }
        Ok(Self(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OrganisationNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for OrganisationNumber {
    type Err = OrganisationNumberError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        Self::parse(input)
    }
}

impl TryFrom<String> for OrganisationNumber {
    type Error = OrganisationNumberError;

    fn try_from(input: String) -> Result<Self, Self::Error> {
        Self::parse(&input)
    }
}

impl From<OrganisationNumber> for String {
    fn from(number: OrganisationNumber) -> Self {
        number.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "valid";

    fn check(input: &str, expected: &str) {
        let actual = match OrganisationNumber::parse(input) {
            Ok(number) => {
                assert_eq!(number.as_str(), input);
                VALID
            }
            Err(error) => error.code(),
        };
        assert_eq!(actual, expected, "input {input:?}");
    }

    #[test]
    fn real_organisation_numbers_are_valid() {
        check("991324968", VALID); // Helse Sør-Øst RHF
        check("983658725", VALID); // Helse Vest RHF
        check("983658776", VALID); // Helse Midt-Norge RHF
        check("883658752", VALID); // Helse Nord RHF
        check("983971636", VALID);
        check("993467049", VALID);
        check("983974678", VALID);
        check("983544622", VALID);
    }

    #[test]
    fn a_wrong_check_digit_is_refused() {
        check("991324969", "organisation_number_check_digit");
        check("983658720", "organisation_number_check_digit");
        // Remainder 1 would need check digit 10, so no last digit works.
        for last in '0'..='9' {
            check(
                &format!("90000009{last}"),
                "organisation_number_check_digit",
            );
        }
    }

    #[test]
    fn anything_but_nine_ascii_digits_is_refused() {
        check("", "organisation_number_format");
        check("99132496", "organisation_number_format");
        check("9913249680", "organisation_number_format");
        check("99132496a", "organisation_number_format");
        check("991 324 968", "organisation_number_format");
        check("NO991324968", "organisation_number_format");
    }

    #[test]
    fn serde_reads_and_writes_a_checked_string() {
        let number: OrganisationNumber = serde_json::from_str("\"991324968\"").unwrap();
        assert_eq!(serde_json::to_string(&number).unwrap(), "\"991324968\"");
        assert!(serde_json::from_str::<OrganisationNumber>("\"991324969\"").is_err());
    }
}
