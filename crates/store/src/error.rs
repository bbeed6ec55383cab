use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The stream was not at the version the writer expected; nothing was written.
    #[error("stream {stream_id} is at version {actual}, not the expected {expected}")]
    WrongExpectedVersion {
        stream_id: String,
        expected: String,
        actual: i64,
    },
    /// An event id is already stored with other content (or in another append).
    #[error("event id {event_id} is already stored with other content")]
    EventIdConflict { event_id: Uuid },
    #[error("an append needs at least one event")]
    EmptyAppend,
    /// A stored checkpoint the sealer cannot extend or open.
    #[error("the stored checkpoint of tree size {tree_size} is not sound: {reason}")]
    Checkpoint { tree_size: u64, reason: String },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    /// The SQLSTATE of a database error, if this is one.
    pub(crate) fn sqlstate(error: &sqlx::Error) -> Option<String> {
        error
            .as_database_error()
            .and_then(|e| e.code())
            .map(|code| code.into_owned())
    }
}
