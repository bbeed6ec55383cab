//! One error story for the application layer. Callers' mistakes (`Invalid`, `Forbidden`,
//! `NotFound`, `Conflict`) say what to change; the registry's own failures keep their
//! cause as `#[source]`, so a log or the command line can say what really went wrong.

use domain::commands::CommandError;
use domain::events::UnreadableEvent;
use domain::problems::{FieldError, Problems};
use projections::ProjectionError;
use store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("the request is invalid: {}", listed(.0))]
    Invalid(Vec<FieldError>),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the service is not ready: {0}")]
    Unavailable(String),
    #[error("the event store failed")]
    Store(#[source] StoreError),
    #[error("a read model failed")]
    Projection(#[from] ProjectionError),
    #[error("the database failed")]
    Database(#[from] sqlx::Error),
    #[error("stored event at position {position} cannot be read")]
    UnreadableEvent {
        position: i64,
        #[source]
        cause: UnreadableEvent,
    },
    #[error("a research extract could not be written")]
    ExtractWrite(#[source] csv::Error),
    #[error("organisation register seed, line {line} ({org_number}): {reason}")]
    OrganisationSeed {
        line: u64,
        org_number: String,
        reason: String,
    },
}

impl ServiceError {
    /// One problem, its long digit runs masked as `Problems` masks them (a message may
    /// repeat what the client sent).
    pub fn invalid(field: &str, code: &str, message: impl Into<String>) -> ServiceError {
        let mut problems = Problems::new();
        problems.add(field, code, message);
        ServiceError::Invalid(problems.into_vec())
    }

    /// A stable machine-readable code for the kind of failure.
    pub fn code(&self) -> &'static str {
        match self {
            ServiceError::Invalid(_) => "validation_failed",
            ServiceError::Forbidden(_) => "forbidden",
            ServiceError::NotFound(_) => "not_found",
            ServiceError::Conflict(_) => "conflict",
            ServiceError::Unavailable(_) => "unavailable",
            _ => "internal_error",
        }
    }

    /// Whether the registry, not the caller, failed.
    pub fn is_internal(&self) -> bool {
        matches!(
            self,
            ServiceError::Store(_)
                | ServiceError::Projection(_)
                | ServiceError::Database(_)
                | ServiceError::UnreadableEvent { .. }
                | ServiceError::OrganisationSeed { .. }
                | ServiceError::ExtractWrite(_)
        )
    }

    /// Whether the database could not be reached (no connection within the pool's
    /// acquire timeout, a refused or broken connection, a server shutting down): a
    /// failure that passes, which callers should retry later rather than report.
    pub fn is_database_unreachable(&self) -> bool {
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(self);
        while let Some(error) = cause {
            if let Some(sqlx_error) = error.downcast_ref::<sqlx::Error>() {
                return is_connection_failure(sqlx_error);
            }
            cause = error.source();
        }
        false
    }

    /// The failure as field problems: a validation failure's own, or one problem on
    /// `field` naming the failure (a batch row that was refused as a whole).
    pub fn into_problems(self, field: &str) -> Vec<FieldError> {
        match self {
            ServiceError::Invalid(problems) => problems,
            other => vec![FieldError {
                field: field.to_string(),
                code: other.code().to_string(),
                message: match other.is_internal() {
                    // The cause may name tables or constraints: it goes to the log only.
                    true => "the registry failed to process this row".to_string(),
                    false => other.to_string(),
                },
            }],
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::EventIdConflict { .. } => ServiceError::Conflict(
                "this report_id was already used for a different report".into(),
            ),
            StoreError::WrongExpectedVersion { .. } => ServiceError::Conflict(
                "the case changed while this report was processed; send it again".into(),
            ),
            other => ServiceError::Store(other),
        }
    }
}

impl From<CommandError> for ServiceError {
    fn from(error: CommandError) -> Self {
        match error {
            CommandError::Invalid(errors) => ServiceError::Invalid(errors),
            CommandError::CaseNotFound | CommandError::AppealNotFound => {
                ServiceError::NotFound(error.to_string())
            }
            CommandError::CaseAlreadyReported
            | CommandError::AlreadyDecided
            | CommandError::Retracted
            | CommandError::AppealAlreadyDecided => ServiceError::Conflict(error.to_string()),
        }
    }
}

fn is_connection_failure(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => true,
        sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) => true,
        // Class 08: connection exception; 57P01-57P03: the server is shutting down or
        // cannot take connections yet.
        sqlx::Error::Database(error) => error
            .code()
            .is_some_and(|code| code.starts_with("08") || code.starts_with("57P")),
        _ => false,
    }
}

/// Every problem as `field: message`, for the command line and logs (messages never quote
/// a submitted identity number, and digit runs are masked).
fn listed(problems: &[FieldError]) -> String {
    problems
        .iter()
        .map(|problem| format!("{}: {}", problem.field, problem.message))
        .collect::<Vec<_>>()
        .join("; ")
}
