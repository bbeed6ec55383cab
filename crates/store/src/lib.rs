//! The event store: an append-only, tamper-evident log of events on PostgreSQL.
//!
//! Writers `append` to a stream in one round trip; readers `read_all` in one global order
//! that never skips an event which commits late, and may `subscribe` to be woken when new
//! events arrive. `seal` signs checkpoints of a Merkle tree over the global order, and `verify` and
//! `prove` make tampering with stored events evident against such a checkpoint.
//!
//! Architecture invariant: this crate is the only writer of the `events`, `seals` and
//! `tree_checkpoints` tables.

mod append;
mod error;
pub mod hash;
pub mod merkle;
pub mod note;
mod notify;
mod prove;
mod read;
mod seal;
mod subscription;
mod verify;

pub use append::{
    append_with, content_digests, AppendResult, EventColumns, ExpectedVersion, NewEvent,
    StreamAppend,
};
pub use error::StoreError;
pub use note::{CheckpointError, PublicKey, SealingKey, TreeCheckpoint};
pub use notify::ArmedWakeUp;
pub use prove::{InclusionProof, ProveError};
pub use read::{
    read_all as read_all_with, read_all_text, Checkpoint, EventText, RecordedEvent, Register,
};
pub use seal::{SealReport, DEFAULT_SEAL_INTERVAL, MAX_EVENTS_PER_SEAL};
pub use subscription::{Subscription, DEFAULT_POLL_INTERVAL};
pub use verify::{ConsistencyCheck, EventPlace, TreeChange, Trust, VerifyFailure, VerifyReport};

use sqlx::PgPool;

/// The migrations of the whole registry, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// Applies every pending migration.
pub async fn migrate(pool: &PgPool) -> Result<(), StoreError> {
    MIGRATOR.run(pool).await?;
    Ok(())
}

/// Handle to the event store. Cheap to clone; all clones share one pool and one notifier.
#[derive(Clone)]
pub struct EventStore {
    pool: PgPool,
    notifier: notify::AppendNotifier,
}

impl EventStore {
    /// A store on `pool`. Must be created inside a tokio runtime: it starts the task that
    /// tells other processes about appends.
    pub fn new(pool: PgPool) -> Self {
        let notifier = notify::AppendNotifier::start(pool.clone());
        Self { pool, notifier }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}
