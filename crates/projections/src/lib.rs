//! Read models built from the global event stream, and the queries that read them.
//!
//! Architecture invariant: a read model can be dropped and rebuilt from events alone.
//! Architecture invariant: a projection's checkpoint moves in the same transaction as the
//! read-model change it covers.

mod copy;
mod counts;
pub mod facts;
mod facts_table;
pub mod projector;
pub mod queries;
pub mod rebuild;
pub mod status;

pub use projector::{Projection, Projector, Target, WakeUps};

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
    #[error("rebuild: {0}")]
    Pipeline(String),
}
