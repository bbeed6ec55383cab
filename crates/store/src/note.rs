//! Signed checkpoints: the sealer's statement "the tree over the first `size` events of
//! the global order has this root", signed with an Ed25519 key kept outside the database.
//!
//! The text is a C2SP signed note in the tlog-checkpoint format, as certificate
//! transparency logs and Sigstore's Rekor write theirs:
//!
//! ```text
//! unntak/event-store
//! 1042
//! 3q2+7w0sZb7u0bJ2v8yq7B6bZbq9b5E5p9mXzv7Qe2U=
//! last 88231 1042
//!
//! — unntak/event-store AbCd...base64(key id || signature)...
//! ```
//!
//! The origin line, the tree size, the root in base64, one extension line naming the last
//! event covered (transaction id, position), a blank line, and a signature line: the key
//! name, then base64 of the 4-byte key id (SHA-256 of name, newline, 0x01, public key)
//! followed by the Ed25519 signature over every line above the blank one.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::merkle::Hash;
use crate::Checkpoint;

/// The log's name: the first line of every checkpoint, and the name of its key.
pub const ORIGIN: &str = "unntak/event-store";

const SIGNATURE_PREFIX: &str = "\u{2014} ";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("not a checkpoint: {0}")]
    Malformed(String),
    #[error("the checkpoint has no signature by the key {ORIGIN} with id {0}")]
    NotSignedByThisKey(String),
    #[error("the checkpoint's signature does not verify with the public key")]
    BadSignature,
    #[error("not an Ed25519 key in PEM: {0}")]
    Key(String),
}

/// The sealer's private key. Never printed: its Debug shows only the public key's id.
#[derive(Clone)]
pub struct SealingKey(SigningKey);

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SealingKey(key id {})", self.public_key().key_id_hex())
    }
}

impl SealingKey {
    pub fn generate() -> SealingKey {
        SealingKey(SigningKey::generate(&mut rand::rngs::OsRng))
    }

    /// A PKCS#8 PEM private key, as `openssl genpkey -algorithm ed25519` writes it.
    pub fn from_pem(pem: &str) -> Result<SealingKey, CheckpointError> {
        SigningKey::from_pkcs8_pem(pem)
            .map(SealingKey)
            .map_err(|e| CheckpointError::Key(e.to_string()))
    }

    /// The key as PKCS#8 PEM, for a key file.
    pub fn to_pem(&self) -> String {
        self.0
            .to_pkcs8_pem(LineEnding::LF)
            .expect("an Ed25519 key encodes")
            .to_string()
    }

    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }
}

/// The public half, all that verification needs.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey(key id {})", self.key_id_hex())
    }
}

impl PublicKey {
    /// An SPKI PEM public key, as `openssl pkey -pubout` writes it.
    pub fn from_pem(pem: &str) -> Result<PublicKey, CheckpointError> {
        VerifyingKey::from_public_key_pem(pem)
            .map(PublicKey)
            .map_err(|e| CheckpointError::Key(e.to_string()))
    }

    pub fn to_pem(&self) -> String {
        self.0
            .to_public_key_pem(LineEnding::LF)
            .expect("an Ed25519 key encodes")
    }

    /// The signed-note key id: the first 4 bytes of SHA-256(name, "\n", 0x01, key).
    fn key_id(&self) -> [u8; 4] {
        let mut hasher = Sha256::new();
        hasher.update(ORIGIN.as_bytes());
        hasher.update(b"\n\x01");
        hasher.update(self.0.as_bytes());
        let digest = hasher.finalize();
        [digest[0], digest[1], digest[2], digest[3]]
    }

    pub fn key_id_hex(&self) -> String {
        hex::encode(self.key_id())
    }
}

/// A checkpoint whose signature has been made or checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeCheckpoint {
    pub tree_size: u64,
    pub root: Hash,
    /// The last event the tree covers, in the global order.
    pub last: Checkpoint,
    note: String,
}

impl TreeCheckpoint {
    pub fn sign(key: &SealingKey, tree_size: u64, root: Hash, last: Checkpoint) -> Self {
        let body = note_body(tree_size, &root, last);
        let signature = key.0.sign(body.as_bytes());
        let mut signed = key.public_key().key_id().to_vec();
        signed.extend_from_slice(&signature.to_bytes());
        let note = format!(
            "{body}\n{SIGNATURE_PREFIX}{ORIGIN} {}\n",
            BASE64.encode(signed)
        );
        TreeCheckpoint {
            tree_size,
            root,
            last,
            note,
        }
    }

    /// Reads a checkpoint and checks its signature with `key`; nothing unsigned is trusted.
    pub fn open(note: &str, key: &PublicKey) -> Result<TreeCheckpoint, CheckpointError> {
        let (body, signatures) = note
            .split_once("\n\n")
            .ok_or_else(|| malformed("no blank line before the signatures"))?;
        let body = format!("{body}\n");
        let signature = find_signature(signatures, key)?;
        key.0
            .verify(body.as_bytes(), &signature)
            .map_err(|_| CheckpointError::BadSignature)?;
        let (tree_size, root, last) = parse_body(&body)?;
        Ok(TreeCheckpoint {
            tree_size,
            root,
            last,
            note: note.to_string(),
        })
    }

    /// The signed note, to keep outside the database.
    pub fn note(&self) -> &str {
        &self.note
    }
}

fn note_body(tree_size: u64, root: &Hash, last: Checkpoint) -> String {
    format!(
        "{ORIGIN}\n{tree_size}\n{}\nlast {} {}\n",
        BASE64.encode(root),
        last.transaction_id,
        last.position
    )
}

fn malformed(reason: &str) -> CheckpointError {
    CheckpointError::Malformed(reason.to_string())
}

fn find_signature(signatures: &str, key: &PublicKey) -> Result<Signature, CheckpointError> {
    let key_id = key.key_id();
    for line in signatures.lines() {
        let Some(rest) = line.strip_prefix(SIGNATURE_PREFIX) else {
            return Err(malformed("a signature line must start with an em dash"));
        };
        let Some((name, encoded)) = rest.split_once(' ') else {
            return Err(malformed("a signature line names its key"));
        };
        let Ok(bytes) = BASE64.decode(encoded) else {
            return Err(malformed("a signature is base64"));
        };
        if name == ORIGIN && bytes.len() == 68 && bytes[..4] == key_id {
            let signature: [u8; 64] = bytes[4..].try_into().expect("64 bytes");
            return Ok(Signature::from_bytes(&signature));
        }
    }
    Err(CheckpointError::NotSignedByThisKey(key.key_id_hex()))
}

fn parse_body(body: &str) -> Result<(u64, Hash, Checkpoint), CheckpointError> {
    let lines: Vec<&str> = body.lines().collect();
    let [origin, size, root, last] = lines[..] else {
        return Err(malformed(
            "expected four lines: origin, size, root, last event",
        ));
    };
    if origin != ORIGIN {
        return Err(malformed("another log's origin"));
    }
    let tree_size = size
        .parse()
        .map_err(|_| malformed("the size is a number"))?;
    let root: Hash = BASE64
        .decode(root)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| malformed("the root is 32 bytes in base64"))?;
    let last = parse_last(last).ok_or_else(|| malformed("expected `last TXID POSITION`"))?;
    Ok((tree_size, root, last))
}

fn parse_last(line: &str) -> Option<Checkpoint> {
    let mut words = line.strip_prefix("last ")?.split(' ');
    let transaction_id = words.next()?.parse().ok()?;
    let position = words.next()?.parse().ok()?;
    words.next().is_none().then_some(Checkpoint {
        transaction_id,
        position,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(key: &SealingKey) -> TreeCheckpoint {
        let last = Checkpoint {
            transaction_id: 881,
            position: 42,
        };
        TreeCheckpoint::sign(key, 42, [7; 32], last)
    }

    #[test]
    fn a_signed_checkpoint_opens_with_its_public_key_only() {
        let key = SealingKey::generate();
        let checkpoint = example(&key);
        let opened = TreeCheckpoint::open(checkpoint.note(), &key.public_key()).unwrap();
        assert_eq!(opened, checkpoint);
        let other = SealingKey::generate().public_key();
        assert!(matches!(
            TreeCheckpoint::open(checkpoint.note(), &other),
            Err(CheckpointError::NotSignedByThisKey(_))
        ));
    }

    #[test]
    fn an_altered_checkpoint_does_not_open() {
        let key = SealingKey::generate();
        let note = example(&key).note().replace("\n42\n", "\n43\n");
        assert_eq!(
            TreeCheckpoint::open(&note, &key.public_key()),
            Err(CheckpointError::BadSignature)
        );
    }

    #[test]
    fn the_note_has_the_tlog_checkpoint_form() {
        let key = SealingKey::generate();
        let note = example(&key).note().to_string();
        let lines: Vec<&str> = note.lines().collect();
        assert_eq!(
            lines[..4],
            [ORIGIN, "42", &BASE64.encode([7; 32]), "last 881 42"]
        );
        assert_eq!(lines[4], "");
        assert!(lines[5].starts_with("\u{2014} unntak/event-store "));
        assert_eq!(lines.len(), 6);
    }

    #[test]
    fn keys_survive_pem_and_debug_shows_no_secret() {
        let key = SealingKey::generate();
        let pem = key.to_pem();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        let again = SealingKey::from_pem(&pem).unwrap();
        assert_eq!(again.public_key(), key.public_key());
        let public = PublicKey::from_pem(&key.public_key().to_pem()).unwrap();
        assert_eq!(public, key.public_key());
        assert!(!format!("{key:?}").contains(&pem[30..60]));
    }

    /// A key pair `openssl genpkey -algorithm ed25519` and `openssl pkey -pubout` made
    /// (for this test only).
    const OPENSSL_PRIVATE: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIH4jWKrUEMatgiDx9HHUK9wEHl5oNWKlMUPulghIL8cQ
-----END PRIVATE KEY-----\n";
    const OPENSSL_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAWBYWioO/a7YFIT9hzbomEIbkJ0+GRg+4FxEIGOCKRjc=
-----END PUBLIC KEY-----\n";

    #[test]
    fn keys_made_by_openssl_are_read() {
        let key = SealingKey::from_pem(OPENSSL_PRIVATE).unwrap();
        assert_eq!(
            key.public_key(),
            PublicKey::from_pem(OPENSSL_PUBLIC).unwrap()
        );
    }
}
