//! The hashes that make tampering evident, computed in Rust, so verification does not
//! trust the database's own functions.
//!
//! Two schemes chain an event to its predecessor in the stream (`events.hash_scheme`):
//!
//! - Scheme 1 (events written before migration 0009): sha256 over the previous hash and
//!   every field in its stored text form, each length-prefixed, integers big-endian, as
//!   `event_hash` of `migrations/0001_event_store.sql` computed it in the database.
//! - Scheme 2: the writer computes the event's content digest here (`content_digest`:
//!   sha256 over the length-prefixed event id, stream, type, schema version and the
//!   canonical JSON of payload and metadata) and `append_events` chains only 32-byte
//!   digests: sha256 over the previous hash, the digest, the stream version and the time
//!   recorded (`chain_hash`, mirrored in `migrations/0009_content_digests_and_merkle_checkpoints.sql`).
//!
//! The Merkle tree's leaf for an event (`leaf_data`) is its place in the global order and
//! its chained hash, so the tree covers the content through the digest.

use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::merkle::{self, Hash};

/// The fields of a stored event that its scheme 1 hash covers, in their stored text forms.
pub struct HashInput<'a> {
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

pub fn event_hash(input: &HashInput<'_>) -> Vec<u8> {
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

/// The content digest of an event (scheme 2), computed by the writer from what it appends
/// and by `verify` from what is stored.
pub fn content_digest(
    event_id: Uuid,
    stream_id: &str,
    event_type: &str,
    schema_version: i32,
    payload: &Value,
    metadata: &Value,
) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update(event_id.as_bytes());
    length_prefixed(&mut hasher, stream_id.as_bytes());
    length_prefixed(&mut hasher, event_type.as_bytes());
    hasher.update(schema_version.to_be_bytes());
    length_prefixed(&mut hasher, &canonical_json(payload));
    length_prefixed(&mut hasher, &canonical_json(metadata));
    hasher.finalize().into()
}

/// An event's hash under scheme 2: its content digest chained to the previous event of
/// the stream. Must stay byte-for-byte equal to the chaining in `append_events`.
pub fn chain_hash(
    previous: Option<&[u8]>,
    content_digest: &Hash,
    stream_version: i64,
    recorded_at_micros: i64,
) -> Hash {
    let mut hasher = Sha256::new();
    length_prefixed(&mut hasher, previous.unwrap_or_default());
    hasher.update(content_digest);
    hasher.update(stream_version.to_be_bytes());
    hasher.update(recorded_at_micros.to_be_bytes());
    hasher.finalize().into()
}

/// The Merkle leaf hash of an event: its place in the global order and its hash.
pub fn leaf_hash(transaction_id: i64, position: i64, event_hash: &[u8]) -> Hash {
    let mut data = Vec::with_capacity(16 + event_hash.len());
    data.extend_from_slice(&transaction_id.to_be_bytes());
    data.extend_from_slice(&position.to_be_bytes());
    data.extend_from_slice(event_hash);
    merkle::leaf_hash(&data)
}

/// JSON in one canonical form, so the digest of a value does not depend on how it was
/// written or on the round trip through `jsonb`: object keys sorted by their bytes, no
/// white space, strings escaped as serde_json escapes them, and numbers by value: an
/// integral number in the 64-bit range as an integer, any other as the shortest decimal
/// that reads back as the same double. (`jsonb` keeps a number as a decimal and prints
/// `1e16` as `10000000000000000` and `-0.0` as `0.0`, so the writer's and the stored
/// forms only agree by value.)
pub fn canonical_json(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(number) => write_number(number, out),
        Value::String(text) => write_string(text, out),
        Value::Array(items) => {
            out.push(b'[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push(b'{');
            for (index, (key, item)) in entries.into_iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_string(key, out);
                out.push(b':');
                write_canonical(item, out);
            }
            out.push(b'}');
        }
    }
}

fn write_string(text: &str, out: &mut Vec<u8>) {
    serde_json::to_writer(&mut *out, text).expect("writing to a Vec cannot fail");
}

fn write_number(number: &serde_json::Number, out: &mut Vec<u8>) {
    if let Some(integer) = number.as_i64() {
        out.extend_from_slice(integer.to_string().as_bytes());
    } else if let Some(integer) = number.as_u64() {
        out.extend_from_slice(integer.to_string().as_bytes());
    } else {
        let float = number.as_f64().unwrap_or(f64::NAN);
        write_float(float, out);
    }
}

fn write_float(float: f64, out: &mut Vec<u8>) {
    const TWO_TO_63: f64 = 9_223_372_036_854_775_808.0;
    const TWO_TO_64: f64 = 18_446_744_073_709_551_616.0;
    if float.fract() == 0.0 && (-TWO_TO_63..TWO_TO_63).contains(&float) {
        out.extend_from_slice((float as i64).to_string().as_bytes());
    } else if float.fract() == 0.0 && (0.0..TWO_TO_64).contains(&float) {
        out.extend_from_slice((float as u64).to_string().as_bytes());
    } else {
        let written = serde_json::Number::from_f64(float).map_or("null".into(), |n| n.to_string());
        out.extend_from_slice(written.as_bytes());
    }
}

/// Accumulates the hash of one seal of the `seals` table, written before migration 0009
/// (the Merkle checkpoints replace them; `verify` still checks the old ones): the previous
/// seal's hash, the seal number, then each covered event's place and hash.
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::canonical_json;

    fn canonical(value: serde_json::Value) -> String {
        String::from_utf8(canonical_json(&value)).unwrap()
    }

    #[test]
    fn canonical_json_sorts_keys_and_drops_white_space() {
        let value = json!({"b": [1, {"d": null, "c": true}], "a": "x\"y\n", "ä": 1, "aa": 2});
        assert_eq!(
            canonical(value),
            r#"{"a":"x\"y\n","aa":2,"b":[1,{"c":true,"d":null}],"ä":1}"#
        );
    }

    #[test]
    fn canonical_json_writes_numbers_by_value() {
        let cases = [
            ("1", "1"),
            ("1.0", "1"),
            ("-0.0", "0"),
            ("1e16", "10000000000000000"),
            ("10000000000000000", "10000000000000000"),
            ("18446744073709551615", "18446744073709551615"),
            ("1e20", "1e+20"),
            ("100000000000000000000", "1e+20"),
            ("0.1", "0.1"),
            ("1e-7", "1e-7"),
            ("0.0000001", "1e-7"),
            ("-2.5", "-2.5"),
        ];
        for (written, expected) in cases {
            let value: serde_json::Value = serde_json::from_str(written).unwrap();
            assert_eq!(canonical(value), expected, "{written}");
        }
    }
}
