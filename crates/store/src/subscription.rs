//! A reader that follows the global order as it grows.

use std::time::Duration;

use sqlx::postgres::PgListener;

use crate::notify::{ArmedWakeUp, CHANNEL};
use crate::{Checkpoint, EventStore, RecordedEvent, StoreError};

/// How often a subscription looks for new events when no wake-up arrives.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(250);

/// How long a reader woken by an append in its process waits for that append to become
/// final before it reads anyway.
const FINAL_WAIT: Duration = Duration::from_secs(5);

pub struct Subscription {
    store: EventStore,
    checkpoint: Checkpoint,
    listener: Option<PgListener>,
    poll_interval: Duration,
}

impl EventStore {
    /// Follows the global order from just after `after`.
    pub async fn subscribe(&self, after: Checkpoint) -> Result<Subscription, StoreError> {
        let listener = match PgListener::connect_with(&self.pool).await {
            Ok(mut listener) => match listener.listen(CHANNEL).await {
                Ok(()) => Some(listener),
                Err(error) => {
                    tracing::warn!(%error, "LISTEN failed; the subscription will poll");
                    None
                }
            },
            Err(error) => {
                tracing::warn!(%error, "no listener connection; the subscription will poll");
                None
            }
        };
        Ok(Subscription {
            store: self.clone(),
            checkpoint: after,
            listener,
            poll_interval: DEFAULT_POLL_INTERVAL,
        })
    }
}

impl Subscription {
    pub fn with_poll_interval(mut self, poll_interval: Duration) -> Self {
        self.poll_interval = poll_interval;
        self
    }

    /// Stops listening for NOTIFY: only wake-ups from appends in this process, and the
    /// poll, remain.
    pub fn without_listener(mut self) -> Self {
        self.listener = None;
        self
    }

    /// A wake-up armed now, for `wait_for_events_since`: arm it before looking for events.
    pub fn arm(&self) -> ArmedWakeUp {
        self.store.notifier.armed_wake_up()
    }

    /// The last event handed out.
    pub fn checkpoint(&self) -> Checkpoint {
        self.checkpoint
    }

    /// The next events in the global order, at most `limit`; waits until there is one.
    pub async fn next_batch(&mut self, limit: i64) -> Result<Vec<RecordedEvent>, StoreError> {
        loop {
            let store = self.store.clone();
            let local_wake_up = store.notifier.local_readers().notified();
            tokio::pin!(local_wake_up);
            local_wake_up.as_mut().enable();

            let batch = self.store.read_all(self.checkpoint, limit).await?;
            if let Some(last) = batch.last() {
                self.checkpoint = last.checkpoint();
                return Ok(batch);
            }
            self.wait(local_wake_up).await;
        }
    }

    /// Waits for a sign of new events: a wake-up from this process, a NOTIFY from another,
    /// or the poll interval, whichever comes first. For readers that read by themselves.
    pub async fn wait_for_events(&mut self) {
        let store = self.store.clone();
        let local_wake_up = store.notifier.local_readers().notified();
        self.wait(local_wake_up).await;
    }

    /// As `wait_for_events`, but also returns at once if this process appended anything
    /// since `armed` was armed: for a reader that arms, reads, then waits. Woken by an
    /// append here, it returns once that append is final (readers can see it: an older
    /// transaction anywhere on the server may still hold it back), so the reader finds it.
    pub async fn wait_for_events_since(&mut self, armed: ArmedWakeUp) {
        if self.wait(armed).await {
            let appended = self.store.notifier.last_appended();
            let patience = self.poll_interval.min(FINAL_WAIT);
            if let Err(error) = self.store.wait_until_final(appended, patience).await {
                tracing::warn!(%error, "could not wait for an append to become final");
            }
        }
    }

    /// Waits as `wait_for_events` says; true when an append in this process woke it.
    async fn wait(&mut self, local_wake_up: impl std::future::Future<Output = ()>) -> bool {
        let poll = tokio::time::sleep(self.poll_interval);
        match self.listener.as_mut() {
            Some(listener) => tokio::select! {
                _ = local_wake_up => true,
                received = listener.recv() => {
                    if received.is_err() {
                        poll.await;
                    }
                    false
                }
                _ = tokio::time::sleep(self.poll_interval) => false,
            },
            None => tokio::select! {
                _ = local_wake_up => true,
                _ = poll => false,
            },
        }
    }
}
