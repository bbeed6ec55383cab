//! The sealer: hashes each contiguous range of the global order once it is final, chained
//! to the previous seal. Appends never wait for it; it only reads below the horizon.

use sqlx::Row;

use crate::hash::SealHasher;
use crate::{Checkpoint, EventStore, StoreError};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SealReport {
    pub seals_written: usize,
    pub events_sealed: i64,
}

pub(crate) struct StoredSeal {
    pub seal_no: i64,
    pub last: Checkpoint,
    pub event_count: i64,
    pub hash: Vec<u8>,
}

impl StoredSeal {
    fn from_row(row: &sqlx::postgres::PgRow) -> Self {
        StoredSeal {
            seal_no: row.get("seal_no"),
            last: Checkpoint {
                transaction_id: row.get("last_transaction_id"),
                position: row.get("last_position"),
            },
            event_count: row.get("event_count"),
            hash: row.get("hash"),
        }
    }
}

impl EventStore {
    /// Seals every final event not yet sealed, at most `max_events_per_seal` to a seal.
    #[tracing::instrument(skip(self))]
    pub async fn seal(&self, max_events_per_seal: i64) -> Result<SealReport, StoreError> {
        let mut report = SealReport::default();
        loop {
            let previous = self.last_seal().await?;
            let (after, seal_no, previous_hash) = match &previous {
                Some(seal) => (seal.last, seal.seal_no + 1, Some(seal.hash.as_slice())),
                None => (Checkpoint::ORIGIN, 1, None),
            };
            let events = sqlx::query(
                "select transaction_id, position, hash from events
                  where (transaction_id, position) > ($1, $2)
                    and transaction_id < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
                  order by transaction_id, position limit $3",
            )
            .bind(after.transaction_id)
            .bind(after.position)
            .bind(max_events_per_seal)
            .fetch_all(&self.pool)
            .await?;
            let Some(last) = events.last() else {
                return Ok(report);
            };
            let mut hasher = SealHasher::new(seal_no, previous_hash);
            for event in &events {
                hasher.add_event(
                    event.get("transaction_id"),
                    event.get("position"),
                    event.get("hash"),
                );
            }
            let inserted = sqlx::query(
                "insert into seals (seal_no, last_transaction_id, last_position, event_count, hash)
                 values ($1, $2, $3, $4, $5) on conflict (seal_no) do nothing",
            )
            .bind(seal_no)
            .bind(last.get::<i64, _>("transaction_id"))
            .bind(last.get::<i64, _>("position"))
            .bind(events.len() as i64)
            .bind(hasher.finish())
            .execute(&self.pool)
            .await?;
            if inserted.rows_affected() == 0 {
                // Another sealer took this number; its seal covers the range. Go on after it.
                continue;
            }
            report.seals_written += 1;
            report.events_sealed += events.len() as i64;
        }
    }

    pub(crate) async fn last_seal(&self) -> Result<Option<StoredSeal>, StoreError> {
        let row = sqlx::query(
            "select seal_no, last_transaction_id, last_position, event_count, hash
               from seals order by seal_no desc limit 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(StoredSeal::from_row))
    }

    pub(crate) async fn all_seals(&self) -> Result<Vec<StoredSeal>, StoreError> {
        let rows = sqlx::query(
            "select seal_no, last_transaction_id, last_position, event_count, hash
               from seals order by seal_no",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(StoredSeal::from_row).collect())
    }
}
