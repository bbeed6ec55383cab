//! What each projection has read, and how far it lags behind the store.

use serde::Serialize;
use sqlx::PgPool;
use store::Checkpoint;

use crate::error::{ProjectionError, StoppedAt};
use crate::projector::{stopped_at, Projection, Target};

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ProjectionStatus {
    pub name: String,
    /// The position of the last event projected (0 before the first).
    pub position: i64,
    pub transaction_id: i64,
    /// Final events in the store not yet projected.
    pub lag: i64,
    /// `current`, `catching_up`, `rebuilding` (a rebuild is filling new tables), or
    /// `stopped` (at an event it cannot apply: `stopped_at`).
    pub state: String,
    /// The event the projection stopped at, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<StoppedAt>,
}

pub async fn projection_status(pool: &PgPool) -> Result<Vec<ProjectionStatus>, ProjectionError> {
    let mut statuses = Vec::new();
    for projection in Projection::ALL {
        let live = live_checkpoint(pool, projection).await?;
        let rebuilding =
            checkpoint_exists(pool, &Target::Rebuild.checkpoint_name(projection)).await?;
        let lag = lag_behind(pool, live).await?;
        let stopped = stopped_at(pool, projection).await?;
        let state = match (&stopped, rebuilding, lag) {
            (Some(_), _, _) => "stopped",
            (None, true, _) => "rebuilding",
            (None, false, 0) => "current",
            (None, false, _) => "catching_up",
        };
        statuses.push(ProjectionStatus {
            name: projection.name().to_string(),
            position: live.position,
            transaction_id: live.transaction_id,
            lag,
            state: state.to_string(),
            stopped_at: stopped,
        });
    }
    Ok(statuses)
}

/// Where the serving copy of `projection` has read to.
pub async fn live_checkpoint(
    pool: &PgPool,
    projection: Projection,
) -> Result<Checkpoint, ProjectionError> {
    checkpoint(pool, &Target::Live.checkpoint_name(projection)).await
}

async fn checkpoint(pool: &PgPool, name: &str) -> Result<Checkpoint, ProjectionError> {
    let row: Option<(i64, i64)> = sqlx::query_as(
        "select transaction_id, position from projection_checkpoints where projection = $1",
    )
    .bind(name)
    .fetch_optional(pool)
    .await?;
    Ok(
        row.map_or(Checkpoint::ORIGIN, |(transaction_id, position)| {
            Checkpoint {
                transaction_id,
                position,
            }
        }),
    )
}

async fn checkpoint_exists(pool: &PgPool, name: &str) -> Result<bool, ProjectionError> {
    Ok(sqlx::query_scalar(
        "select exists (select 1 from projection_checkpoints where projection = $1)",
    )
    .bind(name)
    .fetch_one(pool)
    .await?)
}

/// Final events after `checkpoint`.
pub async fn lag_behind(pool: &PgPool, checkpoint: Checkpoint) -> Result<i64, ProjectionError> {
    Ok(sqlx::query_scalar(
        "select count(*) from events
          where (transaction_id, position) > ($1, $2)
            and transaction_id < pg_snapshot_xmin(pg_current_snapshot())::text::bigint",
    )
    .bind(checkpoint.transaction_id)
    .bind(checkpoint.position)
    .fetch_one(pool)
    .await?)
}

/// Whether `projection` has projected the event at `position` (which must be final).
pub async fn has_reached(
    pool: &PgPool,
    projection: Projection,
    position: i64,
) -> Result<bool, ProjectionError> {
    let at = live_checkpoint(pool, projection).await?;
    Ok(sqlx::query_scalar(
        "select exists (select 1 from events where position = $1
                           and (transaction_id, position) <= ($2, $3))",
    )
    .bind(position)
    .bind(at.transaction_id)
    .bind(at.position)
    .fetch_one(pool)
    .await?)
}
