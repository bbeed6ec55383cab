//! `verify`: recomputes every event hash chain and every seal, and names the first thing
//! that does not match.

use futures::TryStreamExt;
use sqlx::Row;
use uuid::Uuid;

use crate::hash::{event_hash, HashInput, SealHasher};
use crate::{Checkpoint, EventStore, StoreError};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VerifyFailure {
    /// The event's stored hash is not the hash of its content and its predecessor.
    EventHashMismatch {
        position: i64,
        event_id: Uuid,
        stream_id: String,
        stream_version: i64,
    },
    /// A stream's versions do not run 1, 2, 3, ... without gaps.
    StreamVersionGap {
        stream_id: String,
        expected_version: i64,
        found_version: i64,
    },
    /// A seal does not match the events of its range, or its predecessor.
    SealMismatch { seal_no: i64, reason: String },
}

impl std::fmt::Display for VerifyFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VerifyFailure::EventHashMismatch {
                position,
                event_id,
                stream_id,
                stream_version,
            } => write!(
                f,
                "event at position {position} (id {event_id}, stream {stream_id} version \
                 {stream_version}) does not match its hash"
            ),
            VerifyFailure::StreamVersionGap {
                stream_id,
                expected_version,
                found_version,
            } => write!(
                f,
                "stream {stream_id} jumps from version {} to {found_version}",
                expected_version - 1
            ),
            VerifyFailure::SealMismatch { seal_no, reason } => {
                write!(f, "seal {seal_no} does not match: {reason}")
            }
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    pub events_checked: i64,
    pub streams_checked: i64,
    pub seals_checked: i64,
    /// The first mismatch found, if any. Events are checked before seals.
    pub failure: Option<VerifyFailure>,
}

impl VerifyReport {
    pub fn is_ok(&self) -> bool {
        self.failure.is_none()
    }
}

impl EventStore {
    #[tracing::instrument(skip(self))]
    pub async fn verify(&self) -> Result<VerifyReport, StoreError> {
        let mut report = VerifyReport::default();
        report.failure = self.verify_event_chains(&mut report).await?;
        if report.failure.is_none() {
            report.failure = self.verify_seals(&mut report).await?;
        }
        Ok(report)
    }

    async fn verify_event_chains(
        &self,
        report: &mut VerifyReport,
    ) -> Result<Option<VerifyFailure>, StoreError> {
        let mut rows = sqlx::query(
            "select position, stream_id, stream_version, event_id, event_type, schema_version,
                    payload::text as payload_text, metadata::text as metadata_text,
                    (extract(epoch from recorded_at) * 1000000)::bigint as recorded_at_micros,
                    hash
               from events order by stream_id, stream_version",
        )
        .fetch(&self.pool);
        let mut current_stream: Option<String> = None;
        let mut previous_hash: Option<Vec<u8>> = None;
        let mut expected_version = 1;
        while let Some(row) = rows.try_next().await? {
            let stream_id: String = row.get("stream_id");
            if current_stream.as_deref() != Some(stream_id.as_str()) {
                current_stream = Some(stream_id.clone());
                previous_hash = None;
                expected_version = 1;
                report.streams_checked += 1;
            }
            let stream_version: i64 = row.get("stream_version");
            if stream_version != expected_version {
                return Ok(Some(VerifyFailure::StreamVersionGap {
                    stream_id,
                    expected_version,
                    found_version: stream_version,
                }));
            }
            let stored_hash: Vec<u8> = row.get("hash");
            let recomputed = event_hash(&HashInput {
                previous: previous_hash.as_deref(),
                event_id: row.get("event_id"),
                stream_id: &stream_id,
                stream_version,
                event_type: row.get("event_type"),
                schema_version: row.get("schema_version"),
                payload_text: row.get("payload_text"),
                metadata_text: row.get("metadata_text"),
                recorded_at_micros: row.get("recorded_at_micros"),
            });
            if recomputed != stored_hash {
                return Ok(Some(VerifyFailure::EventHashMismatch {
                    position: row.get("position"),
                    event_id: row.get("event_id"),
                    stream_id,
                    stream_version,
                }));
            }
            report.events_checked += 1;
            previous_hash = Some(stored_hash);
            expected_version += 1;
        }
        Ok(None)
    }

    async fn verify_seals(
        &self,
        report: &mut VerifyReport,
    ) -> Result<Option<VerifyFailure>, StoreError> {
        let mut after = Checkpoint::ORIGIN;
        let mut previous_hash: Option<Vec<u8>> = None;
        for (index, seal) in self.all_seals().await?.into_iter().enumerate() {
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
