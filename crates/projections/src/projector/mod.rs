//! The projector: reads the store's global order in batches and updates read models. Each
//! batch is one transaction that also moves the projection's checkpoint, so a crash at any
//! point neither loses nor double-counts an event. A transaction-scoped advisory lock per
//! projection lets any number of projector instances run: one leads each batch.

mod cases;
mod checkpoint;
mod decode;
mod poison;
mod population;
pub(crate) mod tables;

use store::{Checkpoint, EventStore};

use cases::project_cases;
pub(crate) use cases::{write_appeals, write_facts, write_organisations, CaseRows};
pub(crate) use checkpoint::{load_checkpoint, lock, lock_key, save_checkpoint, try_lock};
pub(crate) use decode::{decode_all, Decoded};
pub use poison::stopped_at;
use population::project_population;
pub use tables::{Projection, Target};

use crate::error::ProjectionError;

/// Events per batch transaction.
pub const DEFAULT_BATCH_SIZE: i64 = 2_000;
/// Events per batch for a rebuild: nothing waits on a rebuild's batches, so fewer, larger
/// ones save commits and lookups.
pub const REBUILD_BATCH_SIZE: i64 = 10_000;
/// Cases a rebuild holds in memory at most (about a kilobyte each) before it writes them
/// and goes on batch by batch: some hundred years of a national registry.
pub const DEFAULT_REBUILD_MEMORY_LIMIT: usize = 2_000_000;

#[derive(Clone)]
pub struct Projector {
    store: EventStore,
    batch_size: i64,
    rebuild_memory_limit: usize,
    wake_ups: WakeUps,
}

/// How a running projector hears of new events: appends in its own process always wake
/// it; these say whether it also listens for other processes' NOTIFY, and how often it
/// looks anyway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WakeUps {
    pub listen_for_notify: bool,
    pub poll_interval: std::time::Duration,
}

impl Default for WakeUps {
    fn default() -> Self {
        WakeUps {
            listen_for_notify: true,
            poll_interval: store::DEFAULT_POLL_INTERVAL,
        }
    }
}

impl Projector {
    pub fn new(store: EventStore) -> Self {
        Self {
            store,
            batch_size: DEFAULT_BATCH_SIZE,
            rebuild_memory_limit: DEFAULT_REBUILD_MEMORY_LIMIT,
            wake_ups: WakeUps::default(),
        }
    }

    /// How `run` hears of new events (see `WakeUps`).
    pub fn with_wake_ups(mut self, wake_ups: WakeUps) -> Self {
        self.wake_ups = wake_ups;
        self
    }

    pub fn with_batch_size(mut self, batch_size: i64) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// How many cases a rebuild may hold in memory (see `Projector::rebuild`).
    pub fn with_rebuild_memory_limit(mut self, cases: usize) -> Self {
        self.rebuild_memory_limit = cases;
        self
    }

    pub fn batch_size(&self) -> i64 {
        self.batch_size
    }

    pub fn rebuild_memory_limit(&self) -> usize {
        self.rebuild_memory_limit
    }

    pub fn store(&self) -> &EventStore {
        &self.store
    }

    /// Projects every final event not yet projected; returns how many events it read.
    /// An event it cannot apply is passed over when a later one replaces it; otherwise
    /// this fails with `ProjectionError::Stopped`, naming it.
    pub async fn catch_up(
        &self,
        projection: Projection,
        target: Target,
    ) -> Result<u64, ProjectionError> {
        let mut total = 0;
        loop {
            match self.run_batch(projection, target).await {
                Ok(Some(0)) => return Ok(total),
                Ok(Some(read)) => total += read as u64,
                // Another instance leads this projection now; it will catch up.
                Ok(None) => return Ok(total),
                Err(error) if error.is_permanent() => {
                    self.pass_over_or_stop(projection, target).await?
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// One batch in one transaction. None when another instance holds the projection.
    pub async fn run_batch(
        &self,
        projection: Projection,
        target: Target,
    ) -> Result<Option<usize>, ProjectionError> {
        self.run_batch_of(projection, target, self.batch_size).await
    }

    async fn run_batch_of(
        &self,
        projection: Projection,
        target: Target,
        batch_size: i64,
    ) -> Result<Option<usize>, ProjectionError> {
        let mut tx = self.store.pool().begin().await?;
        let checkpoint_name = target.checkpoint_name(projection);
        if !try_lock(&mut tx, &checkpoint_name).await? {
            return Ok(None);
        }
        let checkpoint = load_checkpoint(&mut tx, &checkpoint_name).await?;
        let events = store::read_all_text(&mut *tx, checkpoint, batch_size).await?;
        let Some(last) = events.last() else {
            return Ok(Some(0));
        };
        let last = last.checkpoint();
        match projection {
            Projection::Cases => project_cases(&mut tx, target, &events).await?,
            Projection::Population => project_population(&mut tx, target, &events).await?,
        }
        save_checkpoint(&mut tx, &checkpoint_name, last).await?;
        tx.commit().await?;
        Ok(Some(events.len()))
    }
}

impl Projector {
    /// Keeps every projection current until the process stops: catches up, then waits for
    /// new events. A lost connection is retried after a pause that grows to half a
    /// minute; an event a projection cannot apply stops that projection there (recorded
    /// for /readyz and /api/v1/projections) until a new event supersedes it. Nothing is
    /// skipped without a record.
    pub async fn run(&self) {
        let mut wake_ups = match self.subscribe().await {
            Ok(subscription) => subscription,
            Err(error) => {
                tracing::error!(%error, "the projector cannot subscribe to the store");
                return;
            }
        };
        tracing::info!("projector running");
        let mut pause = RetryPause::default();
        loop {
            // Armed before catching up: an append while the projector reads still wakes it.
            let armed = wake_ups.arm();
            let mut connection_lost = false;
            for projection in Projection::ALL {
                connection_lost |= !self.keep_current(projection).await;
            }
            match connection_lost {
                true => tokio::time::sleep(pause.next()).await,
                false => {
                    pause = RetryPause::default();
                    wake_ups.wait_for_events_since(armed).await;
                }
            }
        }
    }

    /// One catch-up of the live copy of `projection`; false when it failed for a reason
    /// that may pass (the database), so the caller retries after a pause.
    async fn keep_current(&self, projection: Projection) -> bool {
        let name = projection.name();
        let pool = self.store.pool();
        let outcome = match self.catch_up(projection, Target::Live).await {
            Ok(events) => {
                if events > 0 {
                    tracing::debug!(events, projection = name, "projected");
                }
                poison::clear_stop(pool, projection).await
            }
            Err(ProjectionError::Stopped(stopped)) => {
                match poison::record_stop(pool, projection, &stopped).await {
                    Ok(true) => {
                        tracing::error!(projection = name, %stopped, "projection stopped");
                        Ok(())
                    }
                    other => other.map(|_| ()),
                }
            }
            Err(error) => Err(error),
        };
        if let Err(error) = &outcome {
            tracing::warn!(%error, projection = name, "projection failed; retrying");
        }
        outcome.is_ok()
    }

    async fn subscribe(&self) -> Result<store::Subscription, store::StoreError> {
        let subscription = self
            .store
            .subscribe(Checkpoint::ORIGIN)
            .await?
            .with_poll_interval(self.wake_ups.poll_interval);
        Ok(match self.wake_ups.listen_for_notify {
            true => subscription,
            false => subscription.without_listener(),
        })
    }
}

/// The pause before retrying after a failure that may pass: doubling from a second to
/// half a minute, so a database outage is not met with a storm of errors.
struct RetryPause(std::time::Duration);

impl Default for RetryPause {
    fn default() -> Self {
        RetryPause(std::time::Duration::from_secs(1))
    }
}

impl RetryPause {
    fn next(&mut self) -> std::time::Duration {
        let pause = self.0;
        self.0 = (self.0 * 2).min(std::time::Duration::from_secs(30));
        pause
    }
}
