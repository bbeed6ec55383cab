//! Rebuilding a projection: fill fresh copies of its tables from position 0 while the live
//! tables keep serving, then swap them in and move the checkpoint, in one transaction.

use sqlx::Executor;

use crate::projector::{load_checkpoint, lock, save_checkpoint, Projection, Projector, Target};
use crate::ProjectionError;

impl Projector {
    /// Rebuilds `projection`; returns the number of events read into the new tables.
    #[tracing::instrument(skip(self), fields(projection = projection.name()))]
    pub async fn rebuild(&self, projection: Projection) -> Result<u64, ProjectionError> {
        self.create_rebuild_tables(projection).await?;
        let mut read = self.catch_up(projection, Target::Rebuild).await?;
        loop {
            read += self.catch_up(projection, Target::Rebuild).await?;
            if self.swap_in(projection).await? {
                tracing::info!(events = read, "rebuilt and swapped in");
                return Ok(read);
            }
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
        sqlx::query("delete from projection_checkpoints where projection = $1")
            .bind(Target::Rebuild.checkpoint_name(projection))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Swaps the rebuilt tables in if they have caught up; false when more events arrived
    /// and another catch-up is needed first.
    async fn swap_in(&self, projection: Projection) -> Result<bool, ProjectionError> {
        let mut tx = self.store().pool().begin().await?;
        // Holding the live projection's lock: no live batch runs while the tables swap.
        lock(&mut tx, &Target::Live.checkpoint_name(projection)).await?;
        let rebuild_name = Target::Rebuild.checkpoint_name(projection);
        let rebuilt = load_checkpoint(&mut tx, &rebuild_name).await?;
        if !store::read_all_with(&mut *tx, rebuilt, 1).await?.is_empty() {
            return Ok(false);
        }
        if projection == Projection::Cases {
            crate::counts::count_rebuilt_decisions(&mut tx).await?;
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
