//! Rebuilding a projection: fill fresh copies of its tables from position 0 while the live
//! tables keep serving, then swap them in and move the checkpoint, in one transaction.

use std::sync::Arc;

use sqlx::{Connection, Executor, PgConnection};
use store::{Checkpoint, EventStore, EventText};
use tokio::sync::mpsc;

use crate::counts::{counts_in_parallel, write_rebuilt_counts, CountDeltas, SignalDeltas};
use crate::error::ProjectionError;
use crate::facts::{CaseFact, Facts};
use crate::projector::{
    decode_all, load_checkpoint, lock, lock_key, save_checkpoint, write_appeals, write_facts,
    write_organisations, CaseRows, Decoded, Projection, Projector, Target,
};

/// A batch read ahead: its events decoded, and the checkpoint of its last.
struct ReadAhead {
    last: Checkpoint,
    decoded: Decoded,
}

/// Threads that count a rebuild's cases while their rows are written.
const COUNTING_THREADS: usize = 2;

/// Counts the cases on other threads, while the caller writes their rows.
fn count_in_background(facts: Arc<Facts>) -> tokio::task::JoinHandle<(CountDeltas, SignalDeltas)> {
    tokio::task::spawn_blocking(move || {
        let facts: Vec<&CaseFact> = facts.values().map(Box::as_ref).collect();
        counts_in_parallel(&facts, COUNTING_THREADS)
    })
}

/// Batches read ahead at most: enough to keep the rows in memory busy.
const BATCHES_AHEAD: usize = 2;

/// A batch read and not yet decoded.
type Read = Result<Vec<EventText>, ProjectionError>;

/// Reads the batches after `after` until there are no more, on its own connection.
async fn read_ahead(
    store: EventStore,
    mut after: Checkpoint,
    limit: i64,
    batches: mpsc::Sender<Read>,
) {
    loop {
        let read = store::read_all_text(store.pool(), after, limit)
            .await
            .map_err(ProjectionError::from);
        // None after an error, which ends the reading once sent.
        let next = match &read {
            Ok(events) => match events.last() {
                Some(last) => Some(last.checkpoint()),
                None => return,
            },
            Err(_) => None,
        };
        if batches.send(read).await.is_err() {
            return;
        }
        match next {
            Some(next) => after = next,
            None => return,
        }
    }
}

/// Decodes the batches read, in order, as they come, on a thread of its own: reading,
/// decoding and applying events then go on side by side.
async fn decode_ahead(
    mut read_batches: mpsc::Receiver<Read>,
    decoded: mpsc::Sender<Result<ReadAhead, ProjectionError>>,
) {
    while let Some(batch) = read_batches.recv().await {
        let batch = match batch {
            Ok(events) => tokio::task::spawn_blocking(move || decode_batch(&events))
                .await
                .unwrap_or_else(|e| Err(ProjectionError::Pipeline(e.to_string()))),
            Err(error) => Err(error),
        };
        let failed = batch.is_err();
        if decoded.send(batch).await.is_err() || failed {
            return;
        }
    }
}

fn decode_batch(events: &[EventText]) -> Result<ReadAhead, ProjectionError> {
    Ok(ReadAhead {
        last: events.last().expect("batches are not empty").checkpoint(),
        decoded: decode_all(events)?,
    })
}

/// An index dropped while its table is filled in bulk: the statement that builds it, and,
/// for a primary key or unique constraint, the one that makes it the constraint again.
struct DeferredIndex {
    build: String,
    attach: Option<String>,
}

/// The session-level advisory lock a rebuild holds from start to end, on a connection of
/// its own: a second rebuild of the same projection would drop the first one's tables.
/// The lock goes with the connection if the process dies.
struct RebuildLock {
    connection: PgConnection,
    key: i64,
}

impl RebuildLock {
    async fn take(store: &EventStore, projection: Projection) -> Result<Self, ProjectionError> {
        let name = Target::Rebuild.checkpoint_name(projection);
        let mut connection = store.pool().acquire().await?.detach();
        let key = lock_key(&format!("{name} (whole rebuild)"));
        let taken: bool = sqlx::query_scalar("select pg_try_advisory_lock($1)")
            .bind(key)
            .fetch_one(&mut connection)
            .await?;
        if !taken {
            return Err(ProjectionError::Pipeline(format!(
                "another process is rebuilding {}",
                projection.name()
            )));
        }
        Ok(RebuildLock { connection, key })
    }

    async fn release(mut self) {
        let unlocked = sqlx::query("select pg_advisory_unlock($1)")
            .bind(self.key)
            .execute(&mut self.connection)
            .await;
        if let Err(error) = unlocked {
            tracing::warn!(%error, "releasing the rebuild lock; closing its connection");
        }
        let _ = self.connection.close().await;
    }
}

impl Projector {
    /// Rebuilds `projection`; returns the number of events read into the new tables.
    #[tracing::instrument(skip(self), fields(projection = projection.name()))]
    pub async fn rebuild(&self, projection: Projection) -> Result<u64, ProjectionError> {
        let lock = RebuildLock::take(self.store(), projection).await?;
        let rebuilt = self.rebuild_holding_lock(projection).await;
        if let Err(error) = &rebuilt {
            tracing::error!(%error, "rebuild failed; its tables are dropped");
            self.abandon_rebuild(projection).await;
        }
        lock.release().await;
        rebuilt
    }

    async fn rebuild_holding_lock(&self, projection: Projection) -> Result<u64, ProjectionError> {
        self.create_rebuild_tables(projection).await?;
        let mut read = 0;
        if projection == Projection::Cases {
            read += self.rebuild_cases_in_memory().await?;
        }
        loop {
            read += self.catch_up(projection, Target::Rebuild).await?;
            if self.swap_in(projection).await? {
                tracing::info!(events = read, "rebuilt and swapped in");
                return Ok(read);
            }
        }
    }

    /// The first part of rebuilding the cases projection: events are applied in memory and
    /// the rows written once, in bulk, with the large tables' indexes built afterwards.
    /// Rows written batch by batch would each find and update their index entries; a
    /// national registry's millions of cases then cost several times the read.
    /// Meanwhile one task reads the next batches, on its own connection, and another
    /// decodes them. Applying stops after the batch that brings the cases held to the
    /// projector's memory limit; the catch-up that follows projects the rest batch by batch.
    async fn rebuild_cases_in_memory(&self) -> Result<u64, ProjectionError> {
        let indexes = self.drop_indexes_until_written(Projection::Cases).await?;
        let (read_sender, read_batches) = mpsc::channel(BATCHES_AHEAD);
        let (decoded_sender, mut decoded_batches) = mpsc::channel(BATCHES_AHEAD);
        let reader = tokio::spawn(read_ahead(
            self.store().clone(),
            Checkpoint::ORIGIN,
            self.batch_size(),
            read_sender,
        ));
        let decoder = tokio::spawn(decode_ahead(read_batches, decoded_sender));
        let mut rows = CaseRows::default();
        let mut last = Checkpoint::ORIGIN;
        let mut events_read = 0;
        while rows.facts.len() < self.rebuild_memory_limit() {
            let Some(batch) = decoded_batches.recv().await else {
                break;
            };
            let batch = batch?;
            for (event, recorded_at) in &batch.decoded {
                rows.apply(event, *recorded_at);
            }
            events_read += batch.decoded.len() as u64;
            last = batch.last;
        }
        // Closing the channel stops the decoder, and so the reader, at their next batch.
        drop(decoded_batches);
        for task in [decoder, reader] {
            task.await
                .map_err(|e| ProjectionError::Pipeline(e.to_string()))?;
        }
        let cases = rows.facts.len();
        tracing::info!(events = events_read, cases, "applied in memory");
        self.write_in_memory_rows(rows, last).await?;
        self.build_indexes(&indexes).await?;
        tracing::info!(cases, "written and indexed");
        Ok(events_read)
    }

    /// Writes the rows a rebuild built in memory into the (empty) rebuild tables and moves
    /// the rebuild's checkpoint to `last`, in one transaction.
    async fn write_in_memory_rows(
        &self,
        rows: CaseRows,
        last: Checkpoint,
    ) -> Result<(), ProjectionError> {
        let mut tx = self.store().pool().begin().await?;
        // No wait for the commit to reach the disk: a crash may lose it, but then it loses
        // the rebuild's checkpoint with it, and the swap that alone makes the tables serve
        // commits with the usual wait, after this.
        sqlx::query("select set_config('synchronous_commit', 'off', true)")
            .execute(&mut *tx)
            .await?;
        let facts = Arc::new(rows.facts);
        let counting = count_in_background(Arc::clone(&facts));
        write_organisations(&mut tx, Target::Rebuild, rows.organisations).await?;
        write_facts(&mut tx, Target::Rebuild, &[], &facts).await?;
        write_appeals(&mut tx, Target::Rebuild, &[], &rows.appeals).await?;
        let counts = counting
            .await
            .map_err(|e| ProjectionError::Pipeline(e.to_string()))?;
        write_rebuilt_counts(&mut tx, &counts).await?;
        let name = Target::Rebuild.checkpoint_name(Projection::Cases);
        save_checkpoint(&mut tx, &name, last).await?;
        tx.commit().await?;
        // A million cases take a while to free; nothing needs to wait for it.
        tokio::task::spawn_blocking(move || drop((facts, counts)));
        Ok(())
    }

    /// Builds the indexes of the tables filled in bulk, each on its own connection, all at
    /// once, and then makes the constraints' indexes constraints again.
    async fn build_indexes(&self, indexes: &[DeferredIndex]) -> Result<(), ProjectionError> {
        let builds = indexes.iter().map(|index| async move {
            let mut tx = self.store().pool().begin().await?;
            // Enough memory to index a national registry without spilling to disk.
            sqlx::query("select set_config('maintenance_work_mem', '128MB', true)")
                .execute(&mut *tx)
                .await?;
            tx.execute(index.build.as_str()).await?;
            tx.commit().await?;
            Ok::<_, ProjectionError>(())
        });
        futures::future::try_join_all(builds).await?;
        for attach in indexes.iter().filter_map(|index| index.attach.as_deref()) {
            sqlx::query(attach).execute(self.store().pool()).await?;
        }
        Ok(())
    }

    /// Drops what a failed rebuild left, so that no half-built tables linger and the
    /// projection's status stops saying it is being rebuilt. Failures here are only logged:
    /// the next rebuild starts by dropping the same tables.
    async fn abandon_rebuild(&self, projection: Projection) {
        let pool = self.store().pool();
        for table in projection.tables() {
            let statement = format!("drop table if exists {}", Target::Rebuild.table(table));
            if let Err(error) = sqlx::query(&statement).execute(pool).await {
                tracing::warn!(%error, statement, "cleaning up after a failed rebuild");
            }
        }
        let forgotten = sqlx::query("delete from projection_checkpoints where projection = $1")
            .bind(Target::Rebuild.checkpoint_name(projection))
            .execute(pool)
            .await;
        if let Err(error) = forgotten {
            tracing::warn!(%error, "forgetting a failed rebuild's checkpoint");
        }
    }

    async fn create_rebuild_tables(&self, projection: Projection) -> Result<(), ProjectionError> {
        let mut tx = self.store().pool().begin().await?;
        for table in projection.tables() {
            let copy = Target::Rebuild.table(table);
            tx.execute(format!("drop table if exists {copy}").as_str())
                .await?;
            tx.execute(format!("create table {copy} (like {table} including all)").as_str())
                .await?;
        }
        // A checkpoint at the origin says, from now on, that the projection is being rebuilt.
        save_checkpoint(
            &mut tx,
            &Target::Rebuild.checkpoint_name(projection),
            Checkpoint::ORIGIN,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Drops every index (primary keys too) of the rebuild tables that are filled in bulk,
    /// so that filling them is cheaper; returns how to build them again.
    async fn drop_indexes_until_written(
        &self,
        projection: Projection,
    ) -> Result<Vec<DeferredIndex>, ProjectionError> {
        let mut deferred = Vec::new();
        for table in projection.tables_filled_in_bulk() {
            let copy = Target::Rebuild.table(table);
            let indexes: Vec<(String, String, Option<String>, Option<String>)> = sqlx::query_as(
                "select c.relname::text, pg_get_indexdef(i.indexrelid), con.conname::text,
                        case con.contype when 'p' then 'primary key' when 'u' then 'unique' end
                   from pg_index i
                   join pg_class c on c.oid = i.indexrelid
                   left join pg_constraint con
                     on con.conindid = i.indexrelid and con.conrelid = i.indrelid
                  where i.indrelid = $1::regclass",
            )
            .bind(&copy)
            .fetch_all(self.store().pool())
            .await?;
            for (index, build, constraint, kind) in indexes {
                let (drop, attach) = match (constraint, kind) {
                    (Some(constraint), Some(kind)) => (
                        format!("alter table {copy} drop constraint {constraint}"),
                        Some(format!(
                            "alter table {copy} add constraint {constraint} {kind} using index {index}"
                        )),
                    ),
                    _ => (format!("drop index {index}"), None),
                };
                sqlx::query(&drop).execute(self.store().pool()).await?;
                deferred.push(DeferredIndex { build, attach });
            }
        }
        Ok(deferred)
    }

    /// Swaps the rebuilt tables in if they have caught up; false when more events arrived
    /// and another catch-up is needed.
    async fn swap_in(&self, projection: Projection) -> Result<bool, ProjectionError> {
        let mut tx = self.store().pool().begin().await?;
        // Holding the live projection's lock: no live batch runs while the tables swap.
        lock(&mut tx, &Target::Live.checkpoint_name(projection)).await?;
        let rebuild_name = Target::Rebuild.checkpoint_name(projection);
        let rebuilt = load_checkpoint(&mut tx, &rebuild_name).await?;
        if !store::read_all_with(&mut *tx, rebuilt, 1).await?.is_empty() {
            return Ok(false);
        }
        for table in projection.tables() {
            let copy = Target::Rebuild.table(table);
            tx.execute(format!("drop table {table}").as_str()).await?;
            tx.execute(format!("alter table {copy} rename to {table}").as_str())
                .await?;
        }
        save_checkpoint(&mut tx, &Target::Live.checkpoint_name(projection), rebuilt).await?;
        sqlx::query("delete from projection_checkpoints where projection = $1")
            .bind(&rebuild_name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }
}
