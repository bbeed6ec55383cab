//! Where each projection stands: its checkpoint, moved in the same transaction as the
//! rows it covers, and the advisory lock that lets one instance lead a batch.

use sqlx::{PgConnection, Row};
use store::Checkpoint;

use crate::error::ProjectionError;

/// The advisory lock key of a projection copy: stable across processes.
pub(crate) fn lock_key(checkpoint_name: &str) -> i64 {
    let digest = checkpoint_name
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3)
        });
    digest as i64
}

pub(crate) async fn try_lock(
    tx: &mut PgConnection,
    checkpoint_name: &str,
) -> Result<bool, ProjectionError> {
    Ok(sqlx::query_scalar("select pg_try_advisory_xact_lock($1)")
        .bind(lock_key(checkpoint_name))
        .fetch_one(tx)
        .await?)
}

pub(crate) async fn lock(
    tx: &mut PgConnection,
    checkpoint_name: &str,
) -> Result<(), ProjectionError> {
    sqlx::query("select pg_advisory_xact_lock($1)")
        .bind(lock_key(checkpoint_name))
        .execute(tx)
        .await?;
    Ok(())
}

pub(crate) async fn load_checkpoint(
    tx: &mut PgConnection,
    name: &str,
) -> Result<Checkpoint, ProjectionError> {
    let row = sqlx::query(
        "select transaction_id, position from projection_checkpoints where projection = $1",
    )
    .bind(name)
    .fetch_optional(tx)
    .await?;
    Ok(row.map_or(Checkpoint::ORIGIN, |row| Checkpoint {
        transaction_id: row.get(0),
        position: row.get(1),
    }))
}

pub(crate) async fn save_checkpoint(
    tx: &mut PgConnection,
    name: &str,
    checkpoint: Checkpoint,
) -> Result<(), ProjectionError> {
    sqlx::query(
        "insert into projection_checkpoints (projection, transaction_id, position, updated_at)
         values ($1, $2, $3, now())
         on conflict (projection) do update
            set transaction_id = excluded.transaction_id, position = excluded.position,
                updated_at = excluded.updated_at",
    )
    .bind(name)
    .bind(checkpoint.transaction_id)
    .bind(checkpoint.position)
    .execute(tx)
    .await?;
    Ok(())
}
