//! Wake-ups for readers after an append.
//!
//! A NOTIFY inside the writing transaction would make PostgreSQL serialise the commits of
//! all writers on its notification queue lock. So appends only raise a local flag, and one
//! task per process sends a single coalesced NOTIFY shortly after. Readers in this process
//! are woken directly; readers elsewhere by the NOTIFY; and every reader also polls, so a
//! lost wake-up only delays, never loses, an event.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::{mpsc, Notify};

use crate::Checkpoint;

pub(crate) const CHANNEL: &str = "unntak_events";

/// A wake-up for this process's readers, armed before a reader looks for events, so an
/// append between the look and the wait is not missed.
pub type ArmedWakeUp = std::pin::Pin<Box<tokio::sync::futures::OwnedNotified>>;

/// Appends that land within this window share one NOTIFY.
const COALESCE_WINDOW: Duration = Duration::from_millis(5);

#[derive(Clone)]
pub(crate) struct AppendNotifier {
    local_readers: Arc<Notify>,
    /// The latest append of this process, which a woken reader waits to see final.
    last_appended: Arc<Mutex<Checkpoint>>,
    /// Holds at most one pending NOTIFY; the sending task ends when the store is dropped.
    pending_notify: mpsc::Sender<()>,
}

impl AppendNotifier {
    pub fn start(pool: PgPool) -> Self {
        let (pending_notify, pending) = mpsc::channel(1);
        tokio::spawn(send_notifications(pending, pool));
        Self {
            local_readers: Arc::new(Notify::new()),
            last_appended: Arc::new(Mutex::new(Checkpoint::ORIGIN)),
            pending_notify,
        }
    }

    pub fn appended(&self, checkpoint: Checkpoint) {
        {
            let mut last = self.last_appended.lock().expect("last append lock");
            *last = (*last).max(checkpoint);
        }
        self.local_readers.notify_waiters();
        // A full channel means a NOTIFY is already due; this append shares it.
        let _ = self.pending_notify.try_send(());
    }

    /// The latest append of this process.
    pub fn last_appended(&self) -> Checkpoint {
        *self.last_appended.lock().expect("last append lock")
    }

    pub fn local_readers(&self) -> &Notify {
        &self.local_readers
    }

    /// A wake-up for readers in this process, armed now: it fires for any append from
    /// now on, even one that lands before the reader starts waiting.
    pub fn armed_wake_up(&self) -> ArmedWakeUp {
        let mut armed = Box::pin(self.local_readers.clone().notified_owned());
        armed.as_mut().enable();
        armed
    }
}

async fn send_notifications(mut pending: mpsc::Receiver<()>, pool: PgPool) {
    while pending.recv().await.is_some() {
        tokio::time::sleep(COALESCE_WINDOW).await;
        if pool.is_closed() {
            return;
        }
        let sent = sqlx::query("select pg_notify($1, '')")
            .bind(CHANNEL)
            .execute(&pool)
            .await;
        if let Err(error) = sent {
            tracing::warn!(%error, "could not notify readers of new events; they will poll");
        }
    }
}
