//! What can go wrong while projecting or querying.

use serde::Serialize;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum ProjectionError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("store error: {0}")]
    Store(#[from] store::StoreError),
    #[error("{0}")]
    UnreadableEvent(#[from] domain::events::UnreadableEvent),
    #[error("json error: {0}")]
    Json(#[from] serde_json::Error),
    /// A stored value the read models cannot hold (a count beyond their range).
    #[error("implausible value: {0}")]
    ImplausibleValue(String),
    #[error("rebuild: {0}")]
    Pipeline(String),
    /// The projection cannot apply this event and nothing supersedes it; it waits there.
    #[error("{0}")]
    Stopped(StoppedAt),
}

/// The event a projection stopped at, and why.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StoppedAt {
    pub position: i64,
    pub transaction_id: i64,
    pub event_id: Uuid,
    pub stream_id: String,
    pub event_type: String,
    /// Why it could not be applied, with every digit run masked.
    pub reason: String,
}

impl std::fmt::Display for StoppedAt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "stopped at event {} ({}, stream {}, position {}): {}",
            self.event_id, self.event_type, self.stream_id, self.position, self.reason
        )
    }
}

impl ProjectionError {
    /// Whether applying the same events again must fail again: the event itself is at
    /// fault (it cannot be read, or the read models refuse what it says), not the
    /// connection. Such a failure is isolated to its event instead of retried for ever.
    pub fn is_permanent(&self) -> bool {
        match self {
            ProjectionError::UnreadableEvent(_)
            | ProjectionError::Json(_)
            | ProjectionError::ImplausibleValue(_)
            | ProjectionError::Stopped(_) => true,
            ProjectionError::Database(sqlx::Error::Database(error)) => {
                // Class 22: data exception (out of range, bad text); class 23: a
                // constraint the read models enforce.
                error
                    .code()
                    .is_some_and(|code| code.starts_with("22") || code.starts_with("23"))
            }
            _ => false,
        }
    }
}
