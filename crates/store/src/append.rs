//! Appending events to a stream: one round trip, idempotent by event id.

use serde_json::Value;
use sqlx::Row;
use uuid::Uuid;

use crate::{Checkpoint, EventStore, StoreError};

/// What the writer believes about the stream before appending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedVersion {
    /// Append whatever the stream's state.
    Any,
    /// The stream must not exist yet.
    NoStream,
    /// The stream must have at least one event.
    StreamExists,
    /// The stream's last event must have exactly this version (0: no stream).
    Exact(i64),
}

impl ExpectedVersion {
    fn as_sql(self) -> (&'static str, i64) {
        match self {
            ExpectedVersion::Any => ("any", 0),
            ExpectedVersion::NoStream | ExpectedVersion::Exact(0) => ("no_stream", 0),
            ExpectedVersion::StreamExists => ("stream_exists", 0),
            ExpectedVersion::Exact(version) => ("exact", version),
        }
    }

    fn describe(self) -> String {
        match self {
            ExpectedVersion::Any => "any".into(),
            ExpectedVersion::NoStream => "no stream".into(),
            ExpectedVersion::StreamExists => "stream exists".into(),
            ExpectedVersion::Exact(version) => version.to_string(),
        }
    }
}

/// An event to append. The writer chooses `event_id`; appending the same id with the same
/// content again is a no-op that returns the original positions.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub event_id: Uuid,
    pub event_type: String,
    pub schema_version: i32,
    pub payload: Value,
    /// Who wrote it (actor, token id, request id, correlation and causation ids). Not part
    /// of the idempotency comparison: a retry carries a new request id.
    pub metadata: Value,
}

/// The events of an append as one array per column: the shape `append_events` takes.
pub struct EventColumns {
    pub event_ids: Vec<Uuid>,
    pub event_types: Vec<String>,
    pub schema_versions: Vec<i32>,
    pub payloads: Vec<Value>,
    pub metadata: Vec<Value>,
}

impl EventColumns {
    pub fn of(events: &[NewEvent]) -> EventColumns {
        EventColumns {
            event_ids: events.iter().map(|e| e.event_id).collect(),
            event_types: events.iter().map(|e| e.event_type.clone()).collect(),
            schema_versions: events.iter().map(|e| e.schema_version).collect(),
            payloads: events.iter().map(|e| e.payload.clone()).collect(),
            metadata: events.iter().map(|e| e.metadata.clone()).collect(),
        }
    }
}

/// One stream's part of an `append_all`.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamAppend {
    pub stream_id: String,
    pub expected: ExpectedVersion,
    pub events: Vec<NewEvent>,
}

/// Where the appended events landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppendResult {
    /// Global positions, one per event, in the order given.
    pub positions: Vec<i64>,
    /// The stream version of the last event appended.
    pub last_version: i64,
    /// The place of the last event in the global read order.
    pub checkpoint: Checkpoint,
    /// True when every event was already stored: nothing was written.
    pub replayed: bool,
}

/// How many times an `Any` append retries when a concurrent writer took its version.
const ANY_RETRIES: usize = 10;

impl EventStore {
    /// Appends `events` to `stream_id` in one transaction, checking `expected` first.
    #[tracing::instrument(skip(self, events), fields(events = events.len()))]
    pub async fn append(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: &[NewEvent],
    ) -> Result<AppendResult, StoreError> {
        if events.is_empty() {
            return Err(StoreError::EmptyAppend);
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            let error = match self.try_append(stream_id, expected, events).await {
                Ok(result) => {
                    self.notifier.appended(result.checkpoint);
                    return Ok(result);
                }
                Err(error) => error,
            };
            match StoreError::sqlstate(&error).as_deref() {
                Some("UX001") => {
                    let actual = detail_version(&error);
                    return Err(wrong_version(stream_id, expected, actual));
                }
                Some("UX002") => return self.replay_or_conflict(stream_id, events).await,
                Some("23505") if is_constraint(&error, "uq_events_stream_version") => {
                    if let Replay::Stored(result) = self.find_replay(stream_id, events).await? {
                        return Ok(result);
                    }
                    if expected == ExpectedVersion::Any && attempt < ANY_RETRIES {
                        continue;
                    }
                    let actual = self.stream_version(stream_id).await?;
                    return Err(wrong_version(stream_id, expected, actual));
                }
                _ => return Err(error.into()),
            }
        }
    }

    /// Appends to several streams in one transaction: all or nothing. Fails on the first
    /// append that cannot be made, naming its index; nothing is written then. Replays are
    /// not recognised here: callers filter out what is already stored first.
    #[tracing::instrument(skip(self, appends), fields(appends = appends.len()))]
    pub async fn append_all(
        &self,
        appends: &[StreamAppend],
    ) -> Result<Vec<AppendResult>, (usize, StoreError)> {
        let mut transaction = self.pool.begin().await.map_err(|e| (0, e.into()))?;
        let mut results = Vec::with_capacity(appends.len());
        for (index, append) in appends.iter().enumerate() {
            if append.events.is_empty() {
                return Err((index, StoreError::EmptyAppend));
            }
            let appended = append_statement(
                &mut *transaction,
                &append.stream_id,
                append.expected,
                &append.events,
            )
            .await;
            let appended = match appended {
                Ok(appended) => appended,
                Err(error) => {
                    transaction
                        .rollback()
                        .await
                        .map_err(|e| (index, e.into()))?;
                    return Err((index, self.batch_error(append, error).await));
                }
            };
            results.push(appended);
        }
        transaction
            .commit()
            .await
            .map_err(|e| (appends.len(), e.into()))?;
        if let Some(last) = results.iter().map(|r| r.checkpoint).max() {
            self.notifier.appended(last);
        }
        Ok(results)
    }

    /// What went wrong with one append of an `append_all`, once it is rolled back.
    async fn batch_error(&self, append: &StreamAppend, error: sqlx::Error) -> StoreError {
        let stream_id = &append.stream_id;
        match StoreError::sqlstate(&error).as_deref() {
            Some("UX001") => wrong_version(stream_id, append.expected, detail_version(&error)),
            Some("UX002") => StoreError::EventIdConflict {
                event_id: append.events[0].event_id,
            },
            Some("23505") if is_constraint(&error, "uq_events_stream_version") => {
                match self.stream_version(stream_id).await {
                    Ok(actual) => wrong_version(stream_id, append.expected, actual),
                    Err(lookup_error) => lookup_error,
                }
            }
            _ => error.into(),
        }
    }

    async fn try_append(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: &[NewEvent],
    ) -> Result<AppendResult, sqlx::Error> {
        append_statement(&self.pool, stream_id, expected, events).await
    }

    async fn replay_or_conflict(
        &self,
        stream_id: &str,
        events: &[NewEvent],
    ) -> Result<AppendResult, StoreError> {
        match self.find_replay(stream_id, events).await? {
            Replay::Stored(result) => Ok(result),
            Replay::Conflict(event_id) => Err(StoreError::EventIdConflict { event_id }),
            // The stored event vanished between the two statements: impossible in an
            // append-only table, so report it rather than guess.
            Replay::NotStored => Err(StoreError::EventIdConflict {
                event_id: events[0].event_id,
            }),
        }
    }

    /// Whether `events` are already stored in `stream_id` exactly as given (an idempotent
    /// retry).
    async fn find_replay(
        &self,
        stream_id: &str,
        events: &[NewEvent],
    ) -> Result<Replay, StoreError> {
        let ids: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
        let rows = sqlx::query(
            "select event_id, stream_id, stream_version, event_type, schema_version, payload,
                    position, transaction_id
               from events where event_id = any($1)",
        )
        .bind(&ids)
        .fetch_all(&self.pool)
        .await?;
        if rows.is_empty() {
            return Ok(Replay::NotStored);
        }
        let mut stored = Vec::with_capacity(events.len());
        for event in events {
            let row = rows
                .iter()
                .find(|r| r.get::<Uuid, _>("event_id") == event.event_id);
            match row {
                Some(row) if same_content(row, event) => stored.push(row),
                Some(_) => return Ok(Replay::Conflict(event.event_id)),
                None => {}
            }
        }
        if stored.len() < events.len() {
            // Part of this append is stored, part is not: a different append reused an id.
            return Ok(Replay::Conflict(stored[0].get("event_id")));
        }
        let same_stream = stored
            .iter()
            .all(|r| r.get::<String, _>("stream_id") == stream_id);
        let consecutive = stored.windows(2).all(|pair| {
            pair[1].get::<i64, _>("stream_version") == pair[0].get::<i64, _>("stream_version") + 1
        });
        if !(same_stream && consecutive) {
            return Ok(Replay::Conflict(events[0].event_id));
        }
        let last = stored.last().expect("events is not empty");
        Ok(Replay::Stored(AppendResult {
            positions: stored.iter().map(|r| r.get("position")).collect(),
            last_version: last.get("stream_version"),
            checkpoint: Checkpoint {
                transaction_id: last.get("transaction_id"),
                position: last.get("position"),
            },
            replayed: true,
        }))
    }

    /// The version of the stream's last event, 0 when it has none.
    pub async fn stream_version(&self, stream_id: &str) -> Result<i64, StoreError> {
        let version: Option<i64> =
            sqlx::query_scalar("select max(stream_version) from events where stream_id = $1")
                .bind(stream_id)
                .fetch_one(&self.pool)
                .await?;
        Ok(version.unwrap_or(0))
    }
}

/// Appends `events` to `stream_id` on any executor, e.g. inside a transaction the caller
/// holds open. Unlike `EventStore::append`, it neither retries nor recognises a replay,
/// and wakes no reader in this process: readers find the events by polling.
pub async fn append_with<'e, E: sqlx::PgExecutor<'e>>(
    executor: E,
    stream_id: &str,
    expected: ExpectedVersion,
    events: &[NewEvent],
) -> Result<AppendResult, StoreError> {
    if events.is_empty() {
        return Err(StoreError::EmptyAppend);
    }
    append_statement(executor, stream_id, expected, events)
        .await
        .map_err(|error| match StoreError::sqlstate(&error).as_deref() {
            Some("UX001") => wrong_version(stream_id, expected, detail_version(&error)),
            Some("UX002") => StoreError::EventIdConflict {
                event_id: events[0].event_id,
            },
            _ => error.into(),
        })
}

/// The content digest of each event (`hash::content_digest`): computed here, in the
/// writer, so `append_events` only chains 32-byte digests.
pub fn content_digests(stream_id: &str, events: &[NewEvent]) -> Vec<Vec<u8>> {
    events
        .iter()
        .map(|event| {
            crate::hash::content_digest(
                event.event_id,
                stream_id,
                &event.event_type,
                event.schema_version,
                &event.payload,
                &event.metadata,
            )
            .to_vec()
        })
        .collect()
}

/// One call of `append_events`, on the pool or inside a transaction.
async fn append_statement<'e, E: sqlx::PgExecutor<'e>>(
    executor: E,
    stream_id: &str,
    expected: ExpectedVersion,
    events: &[NewEvent],
) -> Result<AppendResult, sqlx::Error> {
    let (kind, version) = expected.as_sql();
    let columns = EventColumns::of(events);
    let digests = content_digests(stream_id, events);
    let rows = sqlx::query("select * from append_events($1, $2, $3, $4, $5, $6, $7, $8, $9)")
        .bind(stream_id)
        .bind(kind)
        .bind(version)
        .bind(columns.event_ids)
        .bind(columns.event_types)
        .bind(columns.schema_versions)
        .bind(columns.payloads)
        .bind(columns.metadata)
        .bind(digests)
        .fetch_all(executor)
        .await?;
    let last = rows
        .last()
        .expect("append_events returns one row per event");
    Ok(AppendResult {
        positions: rows.iter().map(|r| r.get("event_position")).collect(),
        last_version: last.get("event_version"),
        checkpoint: Checkpoint {
            transaction_id: last.get("event_transaction_id"),
            position: last.get("event_position"),
        },
        replayed: false,
    })
}

enum Replay {
    Stored(AppendResult),
    Conflict(Uuid),
    NotStored,
}

fn same_content(row: &sqlx::postgres::PgRow, event: &NewEvent) -> bool {
    row.get::<String, _>("event_type") == event.event_type
        && row.get::<i32, _>("schema_version") == event.schema_version
        && row.get::<Value, _>("payload") == event.payload
}

fn wrong_version(stream_id: &str, expected: ExpectedVersion, actual: i64) -> StoreError {
    StoreError::WrongExpectedVersion {
        stream_id: stream_id.to_string(),
        expected: expected.describe(),
        actual,
    }
}

fn is_constraint(error: &sqlx::Error, name: &str) -> bool {
    error
        .as_database_error()
        .and_then(|e| e.constraint())
        .is_some_and(|c| c == name)
}

fn detail_version(error: &sqlx::Error) -> i64 {
    error
        .as_database_error()
        .and_then(|e| e.try_downcast_ref::<sqlx::postgres::PgDatabaseError>())
        .and_then(|e| e.detail())
        .and_then(|detail| detail.parse().ok())
        .unwrap_or(0)
}
