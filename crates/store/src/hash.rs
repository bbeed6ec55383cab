//! The hashes that make tampering evident, computed in Rust from what the database returns,
//! so verification does not trust the database's own functions.
//!
//! The event hash input must stay byte-for-byte equal to `event_hash` in
//! `migrations/0001_event_store.sql`: each field length-prefixed, integers big-endian.

use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The fields of a stored event that its hash covers, in their stored text forms.
pub(crate) struct HashInput<'a> {
    pub previous: Option<&'a [u8]>,
    pub event_id: Uuid,
    pub stream_id: &'a str,
    pub stream_version: i64,
    pub event_type: &'a str,
    pub schema_version: i32,
    pub payload_text: &'a str,
    pub metadata_text: &'a str,
    pub recorded_at_micros: i64,
}

pub(crate) fn event_hash(input: &HashInput<'_>) -> Vec<u8> {
    let mut hasher = Sha256::new();
    length_prefixed(&mut hasher, input.previous.unwrap_or_default());
    hasher.update(input.event_id.as_bytes());
    length_prefixed(&mut hasher, input.stream_id.as_bytes());
    hasher.update(input.stream_version.to_be_bytes());
    length_prefixed(&mut hasher, input.event_type.as_bytes());
    hasher.update(input.schema_version.to_be_bytes());
    length_prefixed(&mut hasher, input.payload_text.as_bytes());
    length_prefixed(&mut hasher, input.metadata_text.as_bytes());
    hasher.update(input.recorded_at_micros.to_be_bytes());
    hasher.finalize().to_vec()
}

fn length_prefixed(hasher: &mut Sha256, bytes: &[u8]) {
    let length = i32::try_from(bytes.len()).expect("a field longer than 2 GiB");
    hasher.update(length.to_be_bytes());
    hasher.update(bytes);
}

/// Accumulates the hash of one seal: the previous seal's hash, the seal number, then each
/// covered event's place in the global order and its own hash.
pub(crate) struct SealHasher(Sha256);

impl SealHasher {
    pub fn new(seal_no: i64, previous_seal_hash: Option<&[u8]>) -> Self {
        let mut hasher = Sha256::new();
        length_prefixed(&mut hasher, previous_seal_hash.unwrap_or_default());
        hasher.update(seal_no.to_be_bytes());
        Self(hasher)
    }

    pub fn add_event(&mut self, transaction_id: i64, position: i64, event_hash: &[u8]) {
        self.0.update(transaction_id.to_be_bytes());
        self.0.update(position.to_be_bytes());
        length_prefixed(&mut self.0, event_hash);
    }

    pub fn finish(self) -> Vec<u8> {
        self.0.finalize().to_vec()
    }
}
