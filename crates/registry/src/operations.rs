//! Operating the registry: whether it is ready to serve, and where its projections stand.

use projections::status::ProjectionStatus;
use serde::Serialize;

use crate::actor::{Actor, Role};
use crate::error::ServiceError;
use crate::Registry;

/// How long the readiness probe waits for the database.
const READINESS_TIMEOUT: std::time::Duration = std::time::Duration::from_millis(800);

/// A ready registry: its schema and its projections.
#[derive(Debug, Serialize)]
pub struct Readiness {
    pub status: &'static str,
    pub migration: Option<i64>,
    pub projections: Vec<ProjectionStatus>,
}

impl Registry {
    /// Ready when the database answers, every migration this build knows is applied, no
    /// projection has stopped at an event it cannot apply, and none lags more than
    /// `max_projection_lag` events behind the store.
    /// Answers within `READINESS_TIMEOUT`: a probe that waits on an unreachable database
    /// would hold the orchestrator that asks.
    pub async fn readiness(&self, max_projection_lag: i64) -> Result<Readiness, ServiceError> {
        tokio::time::timeout(READINESS_TIMEOUT, self.check_readiness(max_projection_lag))
            .await
            .unwrap_or_else(|_| {
                Err(ServiceError::Unavailable(format!(
                    "the database did not answer within {} ms",
                    READINESS_TIMEOUT.as_millis()
                )))
            })
    }

    async fn check_readiness(&self, max_projection_lag: i64) -> Result<Readiness, ServiceError> {
        if self.is_draining() {
            return Err(ServiceError::Unavailable(
                "the process is stopping; requests in flight are being answered".into(),
            ));
        }
        let applied: Option<i64> =
            sqlx::query_scalar("select max(version) from _sqlx_migrations where success")
                .fetch_one(self.pool())
                .await
                .map_err(|e| {
                    ServiceError::Unavailable(format!("the database does not answer: {e}"))
                })?;
        let known = store::MIGRATOR.iter().map(|m| m.version).max();
        if applied < known {
            return Err(ServiceError::Unavailable(format!(
                "migrations are behind: applied {applied:?}, this build needs {known:?}"
            )));
        }
        let projections = projections::status::projection_status(self.pool())
            .await
            .map_err(|e| ServiceError::Unavailable(format!("projection status: {e}")))?;
        if let Some((name, stopped)) = projections
            .iter()
            .find_map(|p| p.stopped_at.as_ref().map(|s| (&p.name, s)))
        {
            return Err(ServiceError::Unavailable(format!(
                "projection {name} {stopped}; an admin can supersede the event (for a \
                 population import, import the year again)"
            )));
        }
        if let Some(behind) = projections.iter().find(|p| p.lag > max_projection_lag) {
            return Err(ServiceError::Unavailable(format!(
                "projection {} lags {} events behind the store (bound {max_projection_lag})",
                behind.name, behind.lag
            )));
        }
        Ok(Readiness {
            status: "ready",
            migration: applied,
            projections,
        })
    }

    /// Which projections have stopped at an event they cannot apply, by name, for the
    /// metrics (every projection is listed, stopped or not).
    pub async fn stopped_projections(&self) -> Result<Vec<(String, bool)>, ServiceError> {
        let statuses = projections::status::projection_status(self.pool()).await?;
        Ok(statuses
            .into_iter()
            .map(|p| (p.name, p.stopped_at.is_some()))
            .collect())
    }

    /// Each projection's position, lag behind the store, and state (admin).
    pub async fn projections(&self, actor: &Actor) -> Result<Vec<ProjectionStatus>, ServiceError> {
        actor.require(&[Role::Admin])?;
        Ok(projections::status::projection_status(self.pool()).await?)
    }
}
