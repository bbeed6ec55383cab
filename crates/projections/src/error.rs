//! What can go wrong while projecting or querying.

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
