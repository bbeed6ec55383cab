//! The sealer: extends the Merkle tree over the global order with every event that has
//! become final, and signs a checkpoint of the new tree with a key kept outside the
//! database. Appends never wait for it; it only reads below the horizon, so a sealed range
//! can never change.

use std::time::Duration;

use sqlx::Row;

use crate::hash::leaf_hash;
use crate::merkle::{Frontier, Hash};
use crate::note::{SealingKey, TreeCheckpoint};
use crate::{Checkpoint, EventStore, StoreError};

/// Events per checkpoint at most: a sealer catching up after a pause signs one checkpoint
/// per this many events, so no single step holds many events in memory.
pub const MAX_EVENTS_PER_SEAL: i64 = 10_000;

/// How often `run_sealer` seals at most, by default: soon after an append becomes final,
/// without writing a checkpoint row for every append under load.
pub const DEFAULT_SEAL_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SealReport {
    /// Checkpoints signed and stored by this call.
    pub seals_written: usize,
    pub events_sealed: i64,
    /// The latest checkpoint in the store once this call is done, new or not.
    pub latest: Option<TreeCheckpoint>,
}

/// A row of `tree_checkpoints`, as stored: nothing in it is trusted until its note opens
/// with the public key.
#[derive(Debug, Clone)]
pub(crate) struct StoredCheckpoint {
    pub tree_size: u64,
    pub root: Vec<u8>,
    pub last: Checkpoint,
    pub frontier: Vec<u8>,
    pub note: String,
}

const CHECKPOINT_COLUMNS: &str =
    "tree_size, root, last_transaction_id, last_position, frontier, note";

impl StoredCheckpoint {
    fn from_row(row: &sqlx::postgres::PgRow) -> Self {
        StoredCheckpoint {
            tree_size: row.get::<i64, _>("tree_size") as u64,
            root: row.get("root"),
            last: Checkpoint {
                transaction_id: row.get("last_transaction_id"),
                position: row.get("last_position"),
            },
            frontier: row.get("frontier"),
            note: row.get("note"),
        }
    }

    /// The stored frontier, if it is one and gives the stored root.
    pub fn frontier(&self) -> Option<Frontier> {
        Frontier::from_bytes(self.tree_size, &self.frontier)
            .filter(|frontier| frontier.root()[..] == self.root[..])
    }
}

impl EventStore {
    /// Seals every final event not yet sealed, at most `max_events_per_seal` to a
    /// checkpoint, each checkpoint signed with `key`.
    #[tracing::instrument(skip(self, key))]
    pub async fn seal(
        &self,
        key: &SealingKey,
        max_events_per_seal: i64,
    ) -> Result<SealReport, StoreError> {
        let mut report = SealReport::default();
        loop {
            let head = match self.latest_tree_checkpoint().await? {
                Some(stored) => Some((reopen(key, &stored)?, extendable_frontier(&stored)?)),
                None => None,
            };
            let (after, mut frontier) = match &head {
                None => (Checkpoint::ORIGIN, Frontier::default()),
                Some((signed, frontier)) => (signed.last, frontier.clone()),
            };
            let leaves = self.final_leaves_after(after, max_events_per_seal).await?;
            let Some(&(last, _)) = leaves.last() else {
                report.latest = head.map(|(signed, _)| signed);
                return Ok(report);
            };
            for (_, leaf) in &leaves {
                frontier.push(*leaf);
            }
            let checkpoint = TreeCheckpoint::sign(key, frontier.size(), frontier.root(), last);
            if self.store_checkpoint(&checkpoint, &frontier).await? {
                report.seals_written += 1;
                report.events_sealed += leaves.len() as i64;
            }
            // Stored or not (another sealer stored the same tree first), go on after it.
        }
    }

    /// Seals whenever events have become final, at most once per `interval`, until the
    /// task is dropped: woken by appends in this process (once they are final), by NOTIFY
    /// from other processes, and by a poll every `interval`.
    pub async fn run_sealer(&self, key: SealingKey, interval: Duration) -> Result<(), StoreError> {
        let mut wake_ups = self
            .subscribe(Checkpoint::ORIGIN)
            .await?
            .with_poll_interval(interval);
        loop {
            let armed = wake_ups.arm();
            let started = tokio::time::Instant::now();
            match self.seal(&key, MAX_EVENTS_PER_SEAL).await {
                Ok(report) if report.events_sealed > 0 => {
                    let size = report.latest.as_ref().map_or(0, |c| c.tree_size);
                    tracing::info!(events = report.events_sealed, tree_size = size, "sealed")
                }
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "sealing failed; will try again"),
            }
            wake_ups.wait_for_events_since(armed).await;
            tokio::time::sleep_until(started + interval).await;
        }
    }

    /// Up to `limit` final events after `after`, as their places and Merkle leaf hashes.
    async fn final_leaves_after(
        &self,
        after: Checkpoint,
        limit: i64,
    ) -> Result<Vec<(Checkpoint, Hash)>, StoreError> {
        let rows = sqlx::query(
            "select transaction_id, position, hash from events
              where (transaction_id, position) > ($1, $2)
                and transaction_id < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
              order by transaction_id, position limit $3",
        )
        .bind(after.transaction_id)
        .bind(after.position)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|row| {
                let place = Checkpoint {
                    transaction_id: row.get("transaction_id"),
                    position: row.get("position"),
                };
                let hash: Vec<u8> = row.get("hash");
                let leaf = leaf_hash(place.transaction_id, place.position, &hash);
                (place, leaf)
            })
            .collect())
    }

    /// Stores a checkpoint; false when one of that size was already stored.
    async fn store_checkpoint(
        &self,
        checkpoint: &TreeCheckpoint,
        frontier: &Frontier,
    ) -> Result<bool, StoreError> {
        let inserted = sqlx::query(
            "insert into tree_checkpoints
                 (tree_size, root, last_transaction_id, last_position, frontier, note)
             values ($1, $2, $3, $4, $5, $6) on conflict (tree_size) do nothing",
        )
        .bind(checkpoint.tree_size as i64)
        .bind(checkpoint.root.to_vec())
        .bind(checkpoint.last.transaction_id)
        .bind(checkpoint.last.position)
        .bind(frontier.to_bytes())
        .bind(checkpoint.note())
        .execute(&self.pool)
        .await?;
        Ok(inserted.rows_affected() == 1)
    }

    pub(crate) async fn latest_tree_checkpoint(
        &self,
    ) -> Result<Option<StoredCheckpoint>, StoreError> {
        let sql = format!(
            "select {CHECKPOINT_COLUMNS} from tree_checkpoints order by tree_size desc limit 1"
        );
        let row = sqlx::query(&sql).fetch_optional(&self.pool).await?;
        Ok(row.as_ref().map(StoredCheckpoint::from_row))
    }

    pub(crate) async fn tree_checkpoints(&self) -> Result<Vec<StoredCheckpoint>, StoreError> {
        let sql = format!("select {CHECKPOINT_COLUMNS} from tree_checkpoints order by tree_size");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(StoredCheckpoint::from_row).collect())
    }

    /// The seals of the `seals` table, written before migration 0009.
    pub(crate) async fn legacy_seals(&self) -> Result<Vec<LegacySeal>, StoreError> {
        let rows = sqlx::query(
            "select seal_no, last_transaction_id, last_position, event_count, hash
               from seals order by seal_no",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(LegacySeal::from_row).collect())
    }
}

/// The stored checkpoint, opened with the sealer's own key: the sealer extends only a tree
/// it signed itself, so a row written by hand is never signed over.
fn reopen(key: &SealingKey, stored: &StoredCheckpoint) -> Result<TreeCheckpoint, StoreError> {
    let invalid = |reason: String| StoreError::Checkpoint {
        tree_size: stored.tree_size,
        reason,
    };
    let signed = TreeCheckpoint::open(&stored.note, &key.public_key())
        .map_err(|error| invalid(error.to_string()))?;
    let same = signed.tree_size == stored.tree_size
        && signed.root[..] == stored.root[..]
        && signed.last == stored.last;
    if !same {
        return Err(invalid("its columns differ from its signed note".into()));
    }
    Ok(signed)
}

/// The sealer extends only a tree whose stored frontier gives its root: it never signs on
/// top of a tree it cannot account for.
fn extendable_frontier(stored: &StoredCheckpoint) -> Result<Frontier, StoreError> {
    stored.frontier().ok_or_else(|| StoreError::Checkpoint {
        tree_size: stored.tree_size,
        reason: "its frontier does not give its root".into(),
    })
}

/// A seal of the `seals` table (before migration 0009): a hash over a range of the global
/// order, chained to the previous seal.
pub(crate) struct LegacySeal {
    pub seal_no: i64,
    pub last: Checkpoint,
    pub event_count: i64,
    pub hash: Vec<u8>,
}

impl LegacySeal {
    fn from_row(row: &sqlx::postgres::PgRow) -> Self {
        LegacySeal {
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
