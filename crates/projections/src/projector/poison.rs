//! An event a projection cannot apply. Retrying it would fail for ever and freeze every
//! figure behind it, so the projector finds the one event at fault, passes over it when a
//! later event of its stream replaces it (a new population import for the year), and
//! otherwise stops there and says which event it is.

use domain::events::replaces_earlier_events_of_its_stream;
use domain::free_text::mask_digit_runs;
use sqlx::{PgConnection, Row};
use store::Checkpoint;
use uuid::Uuid;

use super::{load_checkpoint, save_checkpoint, try_lock, Projection, Projector, Target};
use crate::error::{ProjectionError, StoppedAt};

impl Projector {
    /// After a batch failed with a permanent error: applies its events one at a time up to
    /// the one at fault, then passes over that one if it is superseded. Fails with
    /// `Stopped` naming the event when it is not.
    pub(super) async fn pass_over_or_stop(
        &self,
        projection: Projection,
        target: Target,
    ) -> Result<(), ProjectionError> {
        let failure = loop {
            match self.run_batch_of(projection, target, 1).await {
                Ok(Some(1)) => continue,
                // Nothing left, or another instance leads: nothing is at fault here now.
                Ok(_) => return Ok(()),
                Err(error) if error.is_permanent() => break error,
                Err(error) => return Err(error),
            }
        };
        let mut tx = self.store().pool().begin().await?;
        let checkpoint_name = target.checkpoint_name(projection);
        if !try_lock(&mut tx, &checkpoint_name).await? {
            return Ok(());
        }
        let checkpoint = load_checkpoint(&mut tx, &checkpoint_name).await?;
        let Some(event) = first_event_after(&mut tx, checkpoint).await? else {
            return Ok(());
        };
        let stopped = event.stopped(&failure);
        match superseding_event(&mut tx, &event).await? {
            Some(superseded_by) => {
                record_passed_over(&mut tx, &checkpoint_name, &stopped, superseded_by).await?;
                save_checkpoint(&mut tx, &checkpoint_name, event.checkpoint).await?;
                tx.commit().await?;
                tracing::warn!(
                    projection = checkpoint_name,
                    event_id = %event.event_id,
                    %superseded_by,
                    "passed over an event a later one replaces"
                );
                Ok(())
            }
            None => Err(ProjectionError::Stopped(stopped)),
        }
    }
}

/// The event right after `checkpoint` in the global order.
struct FirstEvent {
    checkpoint: Checkpoint,
    event_id: Uuid,
    stream_id: String,
    stream_version: i64,
    event_type: String,
}

impl FirstEvent {
    fn stopped(&self, failure: &ProjectionError) -> StoppedAt {
        StoppedAt {
            position: self.checkpoint.position,
            transaction_id: self.checkpoint.transaction_id,
            event_id: self.event_id,
            stream_id: self.stream_id.clone(),
            event_type: self.event_type.clone(),
            // A decoder's message may quote the payload; digit runs could be a patient's.
            reason: mask_digit_runs(&failure.to_string()),
        }
    }
}

async fn first_event_after(
    tx: &mut PgConnection,
    checkpoint: Checkpoint,
) -> Result<Option<FirstEvent>, ProjectionError> {
    let row = sqlx::query(
        "select transaction_id, position, event_id, stream_id, stream_version, event_type
           from events
          where (transaction_id, position) > ($1, $2)
            and transaction_id < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
          order by transaction_id, position limit 1",
    )
    .bind(checkpoint.transaction_id)
    .bind(checkpoint.position)
    .fetch_optional(tx)
    .await?;
    Ok(row.map(|row| FirstEvent {
        checkpoint: Checkpoint {
            transaction_id: row.get("transaction_id"),
            position: row.get("position"),
        },
        event_id: row.get("event_id"),
        stream_id: row.get("stream_id"),
        stream_version: row.get("stream_version"),
        event_type: row.get("event_type"),
    }))
}

/// A later final event of the same stream and type that replaces `event` whole, if any.
async fn superseding_event(
    tx: &mut PgConnection,
    event: &FirstEvent,
) -> Result<Option<Uuid>, ProjectionError> {
    if !replaces_earlier_events_of_its_stream(&event.event_type) {
        return Ok(None);
    }
    Ok(sqlx::query_scalar(
        "select event_id from events
          where stream_id = $1 and stream_version > $2 and event_type = $3
            and transaction_id < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
          order by stream_version limit 1",
    )
    .bind(&event.stream_id)
    .bind(event.stream_version)
    .bind(&event.event_type)
    .fetch_optional(tx)
    .await?)
}

async fn record_passed_over(
    tx: &mut PgConnection,
    checkpoint_name: &str,
    stopped: &StoppedAt,
    superseded_by: Uuid,
) -> Result<(), ProjectionError> {
    sqlx::query(
        "insert into projection_passed_over (projection, event_id, superseded_by, reason)
         values ($1, $2, $3, $4) on conflict do nothing",
    )
    .bind(checkpoint_name)
    .bind(stopped.event_id)
    .bind(superseded_by)
    .bind(&stopped.reason)
    .execute(tx)
    .await?;
    Ok(())
}

/// Records that the live copy of `projection` stopped at an event; true when this is news
/// (it was not stopped there already), so the caller logs it once.
pub(super) async fn record_stop(
    pool: &sqlx::PgPool,
    projection: Projection,
    stopped: &StoppedAt,
) -> Result<bool, ProjectionError> {
    let changed = sqlx::query(
        "insert into projection_stops
                (projection, position, transaction_id, event_id, stream_id, event_type, reason)
         values ($1, $2, $3, $4, $5, $6, $7)
         on conflict (projection) do update
            set position = excluded.position, transaction_id = excluded.transaction_id,
                event_id = excluded.event_id, stream_id = excluded.stream_id,
                event_type = excluded.event_type, reason = excluded.reason,
                stopped_at = now()
          where projection_stops.event_id <> excluded.event_id",
    )
    .bind(Target::Live.checkpoint_name(projection))
    .bind(stopped.position)
    .bind(stopped.transaction_id)
    .bind(stopped.event_id)
    .bind(&stopped.stream_id)
    .bind(&stopped.event_type)
    .bind(&stopped.reason)
    .execute(pool)
    .await?;
    Ok(changed.rows_affected() > 0)
}

/// Clears the stop of the live copy of `projection`, once it has gone on.
pub(super) async fn clear_stop(
    pool: &sqlx::PgPool,
    projection: Projection,
) -> Result<(), ProjectionError> {
    sqlx::query("delete from projection_stops where projection = $1")
        .bind(Target::Live.checkpoint_name(projection))
        .execute(pool)
        .await?;
    Ok(())
}

/// Where the live copy of `projection` stopped, if it did.
pub async fn stopped_at(
    pool: &sqlx::PgPool,
    projection: Projection,
) -> Result<Option<StoppedAt>, ProjectionError> {
    let row = sqlx::query(
        "select position, transaction_id, event_id, stream_id, event_type, reason
           from projection_stops where projection = $1",
    )
    .bind(Target::Live.checkpoint_name(projection))
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|row| StoppedAt {
        position: row.get("position"),
        transaction_id: row.get("transaction_id"),
        event_id: row.get("event_id"),
        stream_id: row.get("stream_id"),
        event_type: row.get("event_type"),
        reason: row.get("reason"),
    }))
}
