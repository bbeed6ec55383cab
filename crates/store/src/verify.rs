//! `verify`: recomputes every event's hash chain and the Merkle tree over the global
//! order, compares the tree with the checkpoints (the one the operator kept outside the
//! database, and every stored one whose signature verifies), and names the first thing
//! that does not match.

use futures::TryStreamExt;
use sqlx::Row;
use uuid::Uuid;

use crate::hash::{chain_hash, content_digest, event_hash, HashInput, SealHasher};
use crate::merkle::{self, Frontier, Hash};
use crate::note::{PublicKey, TreeCheckpoint};
use crate::seal::StoredCheckpoint;
use crate::{Checkpoint, EventStore, StoreError};

mod failure;
mod tree;

pub use failure::{EventPlace, TreeChange, VerifyFailure};
pub(crate) use tree::final_leaves;

/// What `verify` checks the store against, besides the store itself.
#[derive(Debug, Clone, Default)]
pub struct Trust<'a> {
    /// The sealer's public key: stored checkpoints count only if signed by it.
    pub public_key: Option<&'a PublicKey>,
    /// A checkpoint note kept outside the database (needs the public key).
    pub kept_checkpoint: Option<&'a str>,
}

/// The consistency proof `verify` checked between the kept checkpoint and the store's
/// latest signed one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsistencyCheck {
    pub old_size: u64,
    pub new_size: u64,
    pub proof: Vec<Hash>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    pub events_checked: i64,
    pub streams_checked: i64,
    /// Seals of the `seals` table (before migration 0009).
    pub seals_checked: i64,
    /// Checkpoints whose root was recomputed from the events and found equal.
    pub checkpoints_checked: i64,
    /// Whether those checkpoints' signatures were checked (a public key was given).
    pub signatures_checked: bool,
    /// The largest tree compared with a checkpoint.
    pub tree_size: u64,
    /// Final events after the store's latest checkpoint: not sealed yet.
    pub unsealed_events: u64,
    pub consistency: Option<ConsistencyCheck>,
    /// The first mismatch found, if any. Chains are checked before the tree.
    pub failure: Option<VerifyFailure>,
}

impl VerifyReport {
    pub fn is_ok(&self) -> bool {
        self.failure.is_none()
    }
}

impl EventStore {
    /// Verifies the store against itself: chains, and the stored checkpoints' roots
    /// without their signatures. See `verify_with` for the checks that count.
    pub async fn verify(&self) -> Result<VerifyReport, StoreError> {
        self.verify_with(&Trust::default()).await
    }

    #[tracing::instrument(skip(self, trust))]
    pub async fn verify_with(&self, trust: &Trust<'_>) -> Result<VerifyReport, StoreError> {
        let mut report = VerifyReport {
            signatures_checked: trust.public_key.is_some(),
            ..VerifyReport::default()
        };
        report.failure = self.verify_event_chains(&mut report).await?;
        if report.failure.is_none() {
            report.failure = self.verify_tree(trust, &mut report).await?;
        }
        if report.failure.is_none() {
            report.failure = self.verify_legacy_seals(&mut report).await?;
        }
        Ok(report)
    }

    async fn verify_event_chains(
        &self,
        report: &mut VerifyReport,
    ) -> Result<Option<VerifyFailure>, StoreError> {
        let first_scheme_2: Option<i64> =
            sqlx::query_scalar("select min(transaction_id) from events where hash_scheme = 2")
                .fetch_one(&self.pool)
                .await?;
        let mut rows = sqlx::query(
            "select position, transaction_id, stream_id, stream_version, event_id, event_type,
                    schema_version, payload::text as payload_text,
                    metadata::text as metadata_text,
                    (extract(epoch from recorded_at) * 1000000)::bigint as recorded_at_micros,
                    hash, hash_scheme
               from events order by stream_id, stream_version",
        )
        .fetch(&self.pool);
        let mut current_stream: Option<String> = None;
        let mut previous_hash: Option<Vec<u8>> = None;
        let mut expected_version = 1;
        while let Some(row) = rows.try_next().await? {
            let event = StoredEvent::from_row(&row);
            if current_stream.as_deref() != Some(event.stream_id.as_str()) {
                current_stream = Some(event.stream_id.clone());
                previous_hash = None;
                expected_version = 1;
                report.streams_checked += 1;
            }
            if event.stream_version != expected_version {
                return Ok(Some(VerifyFailure::StreamVersionGap {
                    stream_id: event.stream_id,
                    expected_version,
                    found_version: event.stream_version,
                }));
            }
            if event.hash_scheme == 1 && first_scheme_2.is_some_and(|t| event.transaction_id > t) {
                return Ok(Some(VerifyFailure::WrittenByHand(event.place())));
            }
            if event.recompute_hash(previous_hash.as_deref()) != Some(event.hash.clone()) {
                return Ok(Some(VerifyFailure::EventHashMismatch {
                    position: event.position,
                    event_id: event.event_id,
                    stream_id: event.stream_id,
                    stream_version: event.stream_version,
                }));
            }
            report.events_checked += 1;
            previous_hash = Some(event.hash);
            expected_version += 1;
        }
        Ok(None)
    }

    /// The tree over the final events against every checkpoint trusted, then the kept
    /// checkpoint's place among the stored ones.
    async fn verify_tree(
        &self,
        trust: &Trust<'_>,
        report: &mut VerifyReport,
    ) -> Result<Option<VerifyFailure>, StoreError> {
        let kept = match trust.kept_checkpoint {
            None => None,
            Some(note) => match open_kept(note, trust.public_key) {
                Ok(kept) => Some(kept),
                Err(failure) => return Ok(Some(failure)),
            },
        };
        let stored = self.tree_checkpoints().await?;
        let references = match tree::references(&stored, kept.as_ref(), trust.public_key) {
            Ok(references) => references,
            Err(failure) => return Ok(Some(failure)),
        };
        let leaves = final_leaves(&self.pool).await?;
        if let Some(failure) = tree::compare(&leaves, &references, report) {
            return Ok(Some(failure));
        }
        let latest_stored = references.iter().rev().find(|r| r.stored);
        report.unsealed_events = leaves.len() as u64 - latest_stored.map_or(0, |r| r.tree_size);
        let Some(kept) = kept else {
            return Ok(None);
        };
        if !stored
            .iter()
            .any(|s| s.tree_size == kept.tree_size && s.root[..] == kept.root[..])
        {
            return Ok(Some(VerifyFailure::CheckpointMissing {
                tree_size: kept.tree_size,
                latest_stored: latest_stored.map_or(0, |r| r.tree_size),
            }));
        }
        let latest = latest_stored.expect("the kept checkpoint is among the stored ones");
        let leaf_hashes: Vec<Hash> = leaves[..latest.tree_size as usize]
            .iter()
            .map(|leaf| leaf.hash)
            .collect();
        let proof = merkle::consistency_proof(&leaf_hashes, kept.tree_size as usize);
        let consistent = merkle::verify_consistency(
            kept.tree_size,
            &kept.root,
            latest.tree_size,
            &latest.root,
            &proof,
        );
        if !consistent {
            return Ok(Some(VerifyFailure::Inconsistent {
                old_size: kept.tree_size,
                new_size: latest.tree_size,
            }));
        }
        report.consistency = Some(ConsistencyCheck {
            old_size: kept.tree_size,
            new_size: latest.tree_size,
            proof,
        });
        Ok(None)
    }

    async fn verify_legacy_seals(
        &self,
        report: &mut VerifyReport,
    ) -> Result<Option<VerifyFailure>, StoreError> {
        let mut after = Checkpoint::ORIGIN;
        let mut previous_hash: Option<Vec<u8>> = None;
        for (index, seal) in self.legacy_seals().await?.into_iter().enumerate() {
            let mismatch = |reason: String| {
                Ok(Some(VerifyFailure::SealMismatch {
                    seal_no: seal.seal_no,
                    reason,
                }))
            };
            if seal.seal_no != index as i64 + 1 {
                return mismatch(format!("expected seal number {}", index + 1));
            }
            let events = sqlx::query(
                "select transaction_id, position, hash from events
                  where (transaction_id, position) > ($1, $2)
                    and (transaction_id, position) <= ($3, $4)
                  order by transaction_id, position",
            )
            .bind(after.transaction_id)
            .bind(after.position)
            .bind(seal.last.transaction_id)
            .bind(seal.last.position)
            .fetch_all(&self.pool)
            .await?;
            if events.len() as i64 != seal.event_count {
                return mismatch(format!(
                    "it covers {} events, but {} are stored in its range",
                    seal.event_count,
                    events.len()
                ));
            }
            let mut hasher = SealHasher::new(seal.seal_no, previous_hash.as_deref());
            for event in &events {
                hasher.add_event(
                    event.get("transaction_id"),
                    event.get("position"),
                    event.get("hash"),
                );
            }
            if hasher.finish() != seal.hash {
                return mismatch("its hash differs from the events in its range".into());
            }
            report.seals_checked += 1;
            after = seal.last;
            previous_hash = Some(seal.hash);
        }
        Ok(None)
    }
}

fn open_kept(note: &str, key: Option<&PublicKey>) -> Result<TreeCheckpoint, VerifyFailure> {
    let key = key.ok_or_else(|| VerifyFailure::KeptCheckpointUnsigned {
        reason: "a kept checkpoint needs the sealer's public key to be checked".into(),
    })?;
    TreeCheckpoint::open(note, key).map_err(|error| VerifyFailure::KeptCheckpointUnsigned {
        reason: error.to_string(),
    })
}

/// One event as `verify_event_chains` reads it.
struct StoredEvent {
    position: i64,
    transaction_id: i64,
    stream_id: String,
    stream_version: i64,
    event_id: Uuid,
    event_type: String,
    schema_version: i32,
    payload_text: String,
    metadata_text: String,
    recorded_at_micros: i64,
    hash: Vec<u8>,
    hash_scheme: i16,
}

impl StoredEvent {
    fn from_row(row: &sqlx::postgres::PgRow) -> Self {
        StoredEvent {
            position: row.get("position"),
            transaction_id: row.get("transaction_id"),
            stream_id: row.get("stream_id"),
            stream_version: row.get("stream_version"),
            event_id: row.get("event_id"),
            event_type: row.get("event_type"),
            schema_version: row.get("schema_version"),
            payload_text: row.get("payload_text"),
            metadata_text: row.get("metadata_text"),
            recorded_at_micros: row.get("recorded_at_micros"),
            hash: row.get("hash"),
            hash_scheme: row.get("hash_scheme"),
        }
    }

    fn place(&self) -> failure::EventPlace {
        failure::EventPlace {
            position: self.position,
            transaction_id: self.transaction_id,
            event_id: self.event_id,
            stream_id: self.stream_id.clone(),
            stream_version: self.stream_version,
        }
    }

    /// The hash this event should have after `previous`, by its scheme; None when its
    /// stored JSON does not even parse.
    fn recompute_hash(&self, previous: Option<&[u8]>) -> Option<Vec<u8>> {
        if self.hash_scheme == 1 {
            return Some(event_hash(&HashInput {
                previous,
                event_id: self.event_id,
                stream_id: &self.stream_id,
                stream_version: self.stream_version,
                event_type: &self.event_type,
                schema_version: self.schema_version,
                payload_text: &self.payload_text,
                metadata_text: &self.metadata_text,
                recorded_at_micros: self.recorded_at_micros,
            }));
        }
        let payload = serde_json::from_str(&self.payload_text).ok()?;
        let metadata = serde_json::from_str(&self.metadata_text).ok()?;
        let digest = content_digest(
            self.event_id,
            &self.stream_id,
            &self.event_type,
            self.schema_version,
            &payload,
            &metadata,
        );
        Some(
            chain_hash(
                previous,
                &digest,
                self.stream_version,
                self.recorded_at_micros,
            )
            .to_vec(),
        )
    }
}

/// A checkpoint the tree is compared with: the kept one, or a stored one.
#[derive(Debug, Clone)]
pub(crate) struct Reference {
    pub tree_size: u64,
    pub root: Hash,
    pub last: Checkpoint,
    /// The stored frontier, when it gives the root (narrows a mismatch down).
    pub frontier: Option<Frontier>,
    pub stored: bool,
}

impl Reference {
    fn of_stored(stored: &StoredCheckpoint) -> Option<Reference> {
        Some(Reference {
            tree_size: stored.tree_size,
            root: stored.root.clone().try_into().ok()?,
            last: stored.last,
            frontier: stored.frontier(),
            stored: true,
        })
    }
}
