//! Reading events in the one global order every reader sees alike.
//!
//! Positions come from a sequence, so a transaction holding position 101 can commit after
//! one holding 102. A reader that took 102 and moved on would lose 101. So readers only see
//! events of transactions older than the oldest transaction still running (the snapshot's
//! xmin): those are final, and any event still to come belongs to a transaction at or above
//! that horizon. Ordering by (transaction_id, position) keeps the order stable; position
//! alone would not, since an old transaction may take a late position.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::{EventStore, StoreError};

/// A reader's place in the global order: the last event it has read. Only ever grows.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Checkpoint {
    pub transaction_id: i64,
    pub position: i64,
}

impl Checkpoint {
    /// Before the first event.
    pub const ORIGIN: Checkpoint = Checkpoint {
        transaction_id: 0,
        position: 0,
    };
}

/// An event as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RecordedEvent {
    pub position: i64,
    pub transaction_id: i64,
    pub stream_id: String,
    pub stream_version: i64,
    pub event_id: Uuid,
    pub event_type: String,
    pub schema_version: i32,
    pub payload: Value,
    pub metadata: Value,
    pub recorded_at: DateTime<Utc>,
}

impl RecordedEvent {
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            transaction_id: self.transaction_id,
            position: self.position,
        }
    }
}

const EVENT_COLUMNS: &str = "position, transaction_id, stream_id, stream_version, event_id, \
     event_type, schema_version, payload, metadata, recorded_at";

impl EventStore {
    /// Up to `limit` events after `after` in the global order, all of them final.
    pub async fn read_all(
        &self,
        after: Checkpoint,
        limit: i64,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        read_all(&self.pool, after, limit).await
    }

    /// The events of one stream, by version.
    pub async fn read_stream(&self, stream_id: &str) -> Result<Vec<RecordedEvent>, StoreError> {
        let sql = format!(
            "select {EVENT_COLUMNS} from events where stream_id = $1 order by stream_version"
        );
        Ok(sqlx::query_as(&sql)
            .bind(stream_id)
            .fetch_all(&self.pool)
            .await?)
    }

    /// The checkpoint of the last final event: where a reader that has read everything is.
    pub async fn head(&self) -> Result<Checkpoint, StoreError> {
        let head: Option<(i64, i64)> = sqlx::query_as(
            "select transaction_id, position from events
              where transaction_id < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
              order by transaction_id desc, position desc limit 1",
        )
        .fetch_optional(&self.pool)
        .await?;
        Ok(
            head.map_or(Checkpoint::ORIGIN, |(transaction_id, position)| {
                Checkpoint {
                    transaction_id,
                    position,
                }
            }),
        )
    }

    /// Waits until the event at `checkpoint` is final (readers can see it), polling, at most
    /// `timeout`. The horizon is cluster-wide: any transaction still running on the server,
    /// in any database, holds it back, so even a just-committed event may need a moment.
    pub async fn wait_until_final(
        &self,
        checkpoint: Checkpoint,
        timeout: std::time::Duration,
    ) -> Result<bool, StoreError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let horizon: i64 =
                sqlx::query_scalar("select pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
                    .fetch_one(&self.pool)
                    .await?;
            if checkpoint.transaction_id < horizon {
                return Ok(true);
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(false);
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    /// The global checkpoint of the event at `position`, if it is stored and final.
    pub async fn checkpoint_of(&self, position: i64) -> Result<Option<Checkpoint>, StoreError> {
        let found: Option<(i64, i64)> = sqlx::query_as(
            "select transaction_id, position from events where position = $1
                and transaction_id < pg_snapshot_xmin(pg_current_snapshot())::text::bigint",
        )
        .bind(position)
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.map(|(transaction_id, position)| Checkpoint {
            transaction_id,
            position,
        }))
    }
}

/// An event as a projector reads it: its place in the global order, its type, and its
/// payload as JSON text, parsed once, straight into the reader's own types.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct EventText {
    pub transaction_id: i64,
    pub position: i64,
    pub event_type: String,
    pub schema_version: i32,
    pub payload: String,
    pub recorded_at: DateTime<Utc>,
}

impl EventText {
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            transaction_id: self.transaction_id,
            position: self.position,
        }
    }
}

/// `read_all` giving payloads as text, on any executor.
pub async fn read_all_text<'e, E>(
    executor: E,
    after: Checkpoint,
    limit: i64,
) -> Result<Vec<EventText>, StoreError>
where
    E: sqlx::PgExecutor<'e>,
{
    let columns = "transaction_id, position, event_type, schema_version, \
                   payload::text as payload, recorded_at";
    final_events_after(executor, columns, after, limit).await
}

/// `read_all` on any executor, so a projector can read inside its own transaction.
pub async fn read_all<'e, E>(
    executor: E,
    after: Checkpoint,
    limit: i64,
) -> Result<Vec<RecordedEvent>, StoreError>
where
    E: sqlx::PgExecutor<'e>,
{
    final_events_after(executor, EVENT_COLUMNS, after, limit).await
}

/// Up to `limit` final events after `after`, in the global order, as `columns` of them.
async fn final_events_after<'e, E, T>(
    executor: E,
    columns: &str,
    after: Checkpoint,
    limit: i64,
) -> Result<Vec<T>, StoreError>
where
    E: sqlx::PgExecutor<'e>,
    T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
{
    let sql = format!(
        "select {columns} from events
          where (transaction_id, position) > ($1, $2)
            and transaction_id < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
          order by transaction_id, position
          limit $3"
    );
    Ok(sqlx::query_as(&sql)
        .bind(after.transaction_id)
        .bind(after.position)
        .bind(limit)
        .fetch_all(executor)
        .await?)
}

impl EventStore {
    /// The events of several streams at once, each stream's by version.
    pub async fn read_streams(
        &self,
        stream_ids: &[String],
    ) -> Result<std::collections::HashMap<String, Vec<RecordedEvent>>, StoreError> {
        let sql = format!(
            "select {EVENT_COLUMNS} from events where stream_id = any($1)
              order by stream_id, stream_version"
        );
        let events: Vec<RecordedEvent> = sqlx::query_as(&sql)
            .bind(stream_ids)
            .fetch_all(&self.pool)
            .await?;
        let mut streams = std::collections::HashMap::new();
        for event in events {
            streams
                .entry(event.stream_id.clone())
                .or_insert_with(Vec::new)
                .push(event);
        }
        Ok(streams)
    }

    /// The events of every stream of a register, by stream and version.
    pub async fn read_register(
        &self,
        register: Register,
    ) -> Result<Vec<RecordedEvent>, StoreError> {
        // The pattern is a literal so the planner can use the register's partial index.
        let pattern = match register {
            Register::Methods => "method-%",
            Register::Organisations => "organisation-%",
        };
        let sql = format!(
            "select {EVENT_COLUMNS} from events where stream_id like '{pattern}'
              order by stream_id, stream_version"
        );
        Ok(sqlx::query_as(&sql).fetch_all(&self.pool).await?)
    }

    /// The stored events with these ids, in no particular order.
    pub async fn find_events(&self, event_ids: &[Uuid]) -> Result<Vec<RecordedEvent>, StoreError> {
        let sql = format!("select {EVENT_COLUMNS} from events where event_id = any($1)");
        Ok(sqlx::query_as(&sql)
            .bind(event_ids)
            .fetch_all(&self.pool)
            .await?)
    }
}

/// The registers kept as one stream per entry, with indexes of their own
/// (migrations/0002): `method-{id}` and `organisation-{number}` streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Register {
    Methods,
    Organisations,
}
