//! Keyed pseudonyms that replace patients' identity numbers.
//!
//! The registry must link repeated reports about one patient without ever
//! storing who the patient is. An HMAC-SHA256 of the identity number under a
//! secret key does both: one number always gives one pseudonym, and without
//! the key nobody can go back. A plain hash would not do, since anyone could
//! hash every possible birth date and individual number and look the result up.
//!
//! A pseudonym begins with the id of the key that made it ("k1:…"), so that a
//! key rotation shows in the data instead of silently splitting patients.
//! A person who trades a D-number for a fødselsnummer gets a new pseudonym
//! too: linking the two needs the population register, which this registry
//! does not have.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::fmt;

use crate::identity::IdentityNumber;

/// The shortest secret accepted: as many bytes as the SHA-256 output, below
/// which the key, not the hash, would be the weak point.
pub const MIN_SECRET_LEN: usize = 32;

/// The longest key id accepted; the id is repeated in every pseudonym.
pub const MAX_KEY_ID_LEN: usize = 16;

/// A secret key with its id. `Debug` shows the id only.
#[derive(Clone)]
pub struct PseudonymKey {
    id: String,
    mac: Hmac<Sha256>,
}

/// A patient as the registry knows them: `"{key id}:{64 lowercase hex digits}"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PatientPseudonym(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PseudonymKeyError {
    #[error("a pseudonym key needs a secret of at least {MIN_SECRET_LEN} bytes")]
    SecretTooShort,
    #[error("a pseudonym key id must be 1 to {MAX_KEY_ID_LEN} ASCII letters, digits, '-' or '_'")]
    KeyIdFormat,
}

impl PseudonymKeyError {
    /// A stable machine-readable code for logs and start-up errors.
    pub fn code(&self) -> &'static str {
        match self {
            Self::SecretTooShort => "pseudonym_secret_too_short",
            Self::KeyIdFormat => "pseudonym_key_id_format",
        }
    }
}

impl PseudonymKey {
    pub fn new(id: &str, secret: &[u8]) -> Result<Self, PseudonymKeyError> {
        if !is_key_id(id) {
            return Err(PseudonymKeyError::KeyIdFormat);
        }
        if secret.len() < MIN_SECRET_LEN {
            return Err(PseudonymKeyError::SecretTooShort);
        }
        let mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
        Ok(Self {
            id: id.to_owned(),
            mac,
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// The patient's pseudonym under this key. Only a validated number can be
    /// pseudonymised, so one person's number is always spelt the same way.
    pub fn pseudonymise(&self, identity: &IdentityNumber) -> PatientPseudonym {
        let mut mac = self.mac.clone();
        mac.update(identity.digits().as_bytes());
        let digest = mac.finalize().into_bytes();
        PatientPseudonym(format!("{}:{}", self.id, lower_hex(&digest)))
    }
}

impl fmt::Debug for PseudonymKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PseudonymKey")
            .field("id", &self.id)
            .field("secret", &"[redacted]")
            .finish()
    }
}

impl PatientPseudonym {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PatientPseudonym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The id goes in front of every pseudonym, so it must not contain the ':'
/// that ends it, nor anything that needs quoting in a CSV extract.
fn is_key_id(id: &str) -> bool {
    (1..=MAX_KEY_ID_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
}

fn lower_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::validate_identity_number;
    use chrono::NaiveDate;

    const SECRET: &[u8] = b"test secret for unntak pseudonyms";
    const OTHER_SECRET: &[u8] = b"another secret, also long enough!";
    const NUMBERS: [&str; 4] = ["31129956715", "12038512437", "52038512420", "30108299939"];

    fn identity(number: &str) -> IdentityNumber {
        let today = NaiveDate::from_ymd_opt(2025, 6, 1).unwrap();
        validate_identity_number(number, today, false).unwrap()
    }

    fn pseudonym(key_id: &str, secret: &[u8], number: &str) -> String {
        let key = PseudonymKey::new(key_id, secret).unwrap();
        key.pseudonymise(&identity(number)).to_string()
    }

    #[test]
    fn the_pseudonym_is_the_key_id_and_the_hmac_in_hex() {
        // Pinned, because changing the formula would split every patient in the registry.
        assert_eq!(
            pseudonym("k1", SECRET, "31129956715"),
            "k1:ba5c2ab8e9e3cf2e3c327603a856888f6436c49de421f275deaa8219f1f2fd28"
        );
    }

    #[test]
    fn one_number_under_one_key_always_gives_one_pseudonym() {
        for number in NUMBERS {
            assert_eq!(
                pseudonym("k1", SECRET, number),
                pseudonym("k1", SECRET, number)
            );
        }
    }

    #[test]
    fn different_numbers_or_keys_give_different_pseudonyms() {
        let under_k1 = pseudonym("k1", SECRET, NUMBERS[0]);
        assert_ne!(under_k1, pseudonym("k1", SECRET, NUMBERS[1]));
        assert_ne!(under_k1, pseudonym("k1", OTHER_SECRET, NUMBERS[0]));
        assert_ne!(under_k1, pseudonym("k2", SECRET, NUMBERS[0]));
    }

    #[test]
    fn the_pseudonym_never_contains_the_number() {
        for number in NUMBERS {
            let pseudonym = pseudonym("k1", SECRET, number);
            assert!(!pseudonym.contains(number), "{pseudonym}");
            assert!(!pseudonym.contains(&number[6..]), "{pseudonym}");
        }
    }

    #[test]
    fn debug_of_the_key_hides_the_secret() {
        let key = PseudonymKey::new("k1", SECRET).unwrap();
        let debug = format!("{key:?}");
        assert_eq!(debug, r#"PseudonymKey { id: "k1", secret: "[redacted]" }"#);
        assert!(!debug.contains("test secret"));
    }

    #[test]
    fn short_secrets_and_odd_key_ids_are_refused() {
        let refused = |id: &str, secret: &[u8]| PseudonymKey::new(id, secret).unwrap_err().code();
        assert_eq!(refused("k1", &SECRET[..31]), "pseudonym_secret_too_short");
        assert_eq!(refused("k1", b""), "pseudonym_secret_too_short");
        for id in ["", "k:1", "k 1", "nøkkel", "a-very-long-key-id"] {
            assert_eq!(refused(id, SECRET), "pseudonym_key_id_format", "{id:?}");
        }
        assert!(PseudonymKey::new("2025-rot_2", &SECRET[..32]).is_ok());
    }

    #[test]
    fn pseudonyms_serialise_as_plain_strings() {
        let pseudonym = PseudonymKey::new("k1", SECRET)
            .unwrap()
            .pseudonymise(&identity(NUMBERS[0]));
        let json = serde_json::to_string(&pseudonym).unwrap();
        assert_eq!(json, format!("\"{pseudonym}\""));
        assert_eq!(
            serde_json::from_str::<PatientPseudonym>(&json).unwrap(),
            pseudonym
        );
    }
}
