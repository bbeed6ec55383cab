//! Operating the registry: whether it is ready to serve, and where its projections stand.

use projections::status::ProjectionStatus;
use serde::Serialize;

use crate::actor::{Actor, Role};
use crate::error::ServiceError;
use crate::Registry;

/// A ready registry: its schema and its projections.
#[derive(Debug, Serialize)]
pub struct Readiness {
    pub status: &'static str,
    pub migration: Option<i64>,
    pub projections: Vec<ProjectionStatus>,
}

impl Registry {
    /// Ready when the database answers, every migration this build knows is applied, and
    /// no projection lags more than `max_projection_lag` events behind the store.
    pub async fn readiness(&self, max_projection_lag: i64) -> Result<Readiness, ServiceError> {
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

    /// Each projection's position, lag behind the store, and state (admin).
    pub async fn projections(&self, actor: &Actor) -> Result<Vec<ProjectionStatus>, ServiceError> {
        actor.require(&[Role::Admin])?;
        Ok(projections::status::projection_status(self.pool()).await?)
    }
}
