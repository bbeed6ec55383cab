//! Rebuilding a projection: fill fresh copies of its tables from position 0 while the live
//! tables keep serving, then swap them in and move the checkpoint, in one transaction.

use sqlx::Executor;
use store::{Checkpoint, EventStore};
use tokio::sync::mpsc;

use crate::counts::{add_deltas, write_rebuilt_counts, CountDeltas};
use crate::projector::{
    decode_all, load_checkpoint, lock, project_decoded_cases, save_checkpoint, try_lock, Decoded,
    Projection, Projector, Target,
};
use crate::ProjectionError;

/// A batch read ahead: its events decoded, and the checkpoints before and after it.
struct ReadAhead {
    after: Checkpoint,
    last: Checkpoint,
    decoded: Decoded,
}

/// Batches read ahead at most: enough to keep the writer busy.
const BATCHES_AHEAD: usize = 2;

/// Reads and decodes batches after `after` until there are no more, on its own connection.
async fn read_ahead(
    store: EventStore,
    mut after: Checkpoint,
    limit: i64,
    batches: mpsc::Sender<Result<ReadAhead, ProjectionError>>,
) {
    loop {
        let read = async {
            let events = store::read_all_text(store.pool(), after, limit).await?;
            let Some(last) = events.last().map(|e| e.checkpoint()) else {
                return Ok(None);
            };
            let decoded = decode_all(&events)?;
            Ok(Some(ReadAhead {
                after,
                last,
                decoded,
            }))
        };
        let batch = match read.await {
            Ok(Some(batch)) => batch,
            Ok(None) => return,
            Err(error) => {
                let _ = batches.send(Err(error)).await;
                return;
            }
        };
        after = batch.last;
        if batches.send(Ok(batch)).await.is_err() {
            return;
        }
    }
}

impl Projector {
    /// Rebuilds `projection`; returns the number of events read into the new tables.
    #[tracing::instrument(skip(self), fields(projection = projection.name()))]
    pub async fn rebuild(&self, projection: Projection) -> Result<u64, ProjectionError> {
        self.create_rebuild_tables(projection).await?;
        let deferred = self.drop_indexes_until_swap(projection).await?;
        let mut read = 0;
        let mut counts = CountDeltas::new();
        loop {
            read += self.catch_up_rebuild(projection, &mut counts).await?;
            if self.swap_in(projection, &deferred, &counts).await? {
                tracing::info!(events = read, "rebuilt and swapped in");
                return Ok(read);
            }
        }
    }

    /// Catches the rebuild tables up. For the cases projection, a reader task reads and
    /// decodes the next batches while this one writes: a rebuild reads millions of events,
    /// and the two halves of the work then share the machine's cores.
    /// The decision counts' deltas are summed in `counts`, to be written at the swap.
    async fn catch_up_rebuild(
        &self,
        projection: Projection,
        counts: &mut CountDeltas,
    ) -> Result<u64, ProjectionError> {
        if projection != Projection::Cases {
            return self.catch_up(projection, Target::Rebuild).await;
        }
        let name = Target::Rebuild.checkpoint_name(projection);
        let start = {
            let mut connection = self.store().pool().acquire().await?;
            load_checkpoint(&mut connection, &name).await?
        };
        let (sender, mut batches) = mpsc::channel(BATCHES_AHEAD);
        let reader = tokio::spawn(read_ahead(
            self.store().clone(),
            start,
            self.batch_size(),
            sender,
        ));
        let mut read = 0;
        while let Some(batch) = batches.recv().await {
            let batch = batch?;
            read += batch.decoded.len() as u64;
            add_deltas(counts, self.write_read_ahead(&name, batch).await?);
        }
        reader
            .await
            .map_err(|e| ProjectionError::Pipeline(e.to_string()))?;
        Ok(read)
    }

    /// Writes one batch read ahead, in one transaction with the checkpoint, which must still
    /// be where the batch begins.
    async fn write_read_ahead(
        &self,
        name: &str,
        batch: ReadAhead,
    ) -> Result<CountDeltas, ProjectionError> {
        let mut tx = self.store().pool().begin().await?;
        let at = load_checkpoint(&mut tx, name).await?;
        if !try_lock(&mut tx, name).await? || at != batch.after {
            return Err(ProjectionError::Pipeline(format!(
                "another process is rebuilding {name}"
            )));
        }
        let deltas = project_decoded_cases(&mut tx, Target::Rebuild, &batch.decoded).await?;
        save_checkpoint(&mut tx, name, batch.last).await?;
        tx.commit().await?;
        Ok(deltas)
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
        sqlx::query("delete from projection_checkpoints where projection = $1")
            .bind(Target::Rebuild.checkpoint_name(projection))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Drops the secondary indexes of the rebuild tables that only queries use (the
    /// projector itself finds rows by primary key), so that filling them is cheaper;
    /// returns their definitions, to be built once, at the swap.
    async fn drop_indexes_until_swap(
        &self,
        projection: Projection,
    ) -> Result<Vec<String>, ProjectionError> {
        let mut definitions = Vec::new();
        for table in projection.tables_indexed_at_swap() {
            let copy = Target::Rebuild.table(table);
            let indexes: Vec<(String, String)> = sqlx::query_as(
                "select c.relname::text, pg_get_indexdef(i.indexrelid)
                   from pg_index i join pg_class c on c.oid = i.indexrelid
                  where i.indrelid = $1::regclass and not i.indisprimary",
            )
            .bind(&copy)
            .fetch_all(self.store().pool())
            .await?;
            for (name, definition) in indexes {
                sqlx::query(&format!("drop index {name}"))
                    .execute(self.store().pool())
                    .await?;
                definitions.push(definition);
            }
        }
        Ok(definitions)
    }

    /// Swaps the rebuilt tables in if they have caught up, first writing the decision
    /// `counts` and building the `deferred` indexes; false when more events arrived and
    /// another catch-up is needed.
    async fn swap_in(
        &self,
        projection: Projection,
        deferred: &[String],
        counts: &CountDeltas,
    ) -> Result<bool, ProjectionError> {
        let mut tx = self.store().pool().begin().await?;
        // Holding the live projection's lock: no live batch runs while the tables swap.
        lock(&mut tx, &Target::Live.checkpoint_name(projection)).await?;
        let rebuild_name = Target::Rebuild.checkpoint_name(projection);
        let rebuilt = load_checkpoint(&mut tx, &rebuild_name).await?;
        if !store::read_all_with(&mut *tx, rebuilt, 1).await?.is_empty() {
            return Ok(false);
        }
        // Enough memory to index a national registry without spilling to disk.
        sqlx::query("select set_config('maintenance_work_mem', '512MB', true)")
            .execute(&mut *tx)
            .await?;
        if projection == Projection::Cases {
            write_rebuilt_counts(&mut tx, counts).await?;
        }
        for definition in deferred {
            tx.execute(definition.as_str()).await?;
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
