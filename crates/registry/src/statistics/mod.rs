//! The statistics as published: decisions, applications, processing times, appeals,
//! reporting quality and the funnel, each row a struct. A statistic leaves this module only
//! as a [`Table`], and the one way to make a table, [`Table::publish`], withholds small
//! counts (unless the actor may see them and asked to), so no path publishes a count from
//! 1 to 4, nor one that a published total and its published parts give away.

pub(crate) mod appeals;
pub(crate) mod applications;
pub(crate) mod decisions;
pub(crate) mod funnel;
mod groups;
pub(crate) mod processing;
pub(crate) mod quality;
mod request;

use std::time::Duration;

use analysis::suppression::{suppress_grouped_rows, DEFAULT_THRESHOLD};
use chrono::{DateTime, Utc};
use projections::status::has_reached;
use projections::Projection;
use serde::Serialize;

pub use appeals::AppealRow;
pub use applications::ApplicationRow;
pub use decisions::DecisionRow;
pub use funnel::{FunnelQuery, FunnelRow, FunnelTable};
pub use groups::{Bounds, GroupKeys, Quantile};
pub use processing::{CurveStep, ProcessingTimeRow};
pub use quality::ReportingQualityRow;
pub use request::{StatisticsQuery, StatisticsRequest};

use crate::error::ServiceError;
use crate::Registry;

/// How long a statistic waits for the projection to reach the caller's own write.
const MIN_POSITION_WAIT: Duration = Duration::from_millis(2_000);

/// A row of a statistic: what it counts, and how to withhold it.
pub trait Publishable {
    /// The row's group, one value per dimension, for the coarser groupings a reader can
    /// subtract it from.
    fn group(&self) -> &[Option<String>];
    /// The counts a reader sees in the row or can work out from it, as parts: every total
    /// the row publishes is a sum of these.
    fn counts(&self) -> Vec<u64>;
    /// Withholds every figure of the row (a withheld figure is null, never zero), and
    /// marks it suppressed.
    fn withhold(&mut self);
    /// Withholds the figures of a published row that tell of a small count by
    /// themselves (a share of a small part, a curve step of one case). Most rows have none.
    fn withhold_small_details(&mut self) {}
}

/// A published statistic: rows, and how current they are.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Table<R> {
    /// Every event up to this position is counted.
    as_of_position: i64,
    generated_at: DateTime<Utc>,
    group_by: Vec<&'static str>,
    /// Whether any row was withheld (small counts, or their complements); false when
    /// nothing had to be, or when the reader asked for unsuppressed figures and may.
    suppressed: bool,
    rows: Vec<R>,
}

impl<R: Publishable> Table<R> {
    /// The only way to make a table: withholds every row with a count from 1 to 4, and
    /// the complementary rows that would let one be worked out, unless the request may
    /// and did ask for unsuppressed figures.
    fn publish(request: &StatisticsRequest, as_of_position: i64, mut rows: Vec<R>) -> Table<R> {
        let mut withheld_any = false;
        if request.suppress {
            let groups: Vec<Vec<Option<String>>> =
                rows.iter().map(|r| r.group().to_vec()).collect();
            let counts: Vec<Vec<u64>> = rows.iter().map(Publishable::counts).collect();
            let statuses = suppress_grouped_rows(&groups, &counts, DEFAULT_THRESHOLD);
            for (row, status) in rows.iter_mut().zip(statuses) {
                match status.is_suppressed() {
                    true => row.withhold(),
                    false => row.withhold_small_details(),
                }
                withheld_any |= status.is_suppressed();
            }
        }
        Table {
            as_of_position,
            generated_at: Utc::now(),
            group_by: request.dimensions.iter().map(|d| d.name()).collect(),
            suppressed: withheld_any,
            rows,
        }
    }
}

impl<R> Table<R> {
    pub fn rows(&self) -> &[R] {
        &self.rows
    }

    pub fn as_of_position(&self) -> i64 {
        self.as_of_position
    }

    pub fn generated_at(&self) -> DateTime<Utc> {
        self.generated_at
    }

    /// The dimensions the rows are grouped by, in the order asked for.
    pub fn group_by(&self) -> &[&'static str] {
        &self.group_by
    }
}

/// Whether a count is one that is never published: from 1 to 4.
pub fn is_small(count: u64) -> bool {
    count > 0 && count < DEFAULT_THRESHOLD
}

impl Registry {
    /// Waits (briefly) for the caller's own write, then says how current an answer is: the
    /// oldest checkpoint of the projections a statistic reads (cases, and population for
    /// rates per resident), as each catches up on its own.
    async fn as_of(&self, min_position: Option<i64>) -> Result<i64, ServiceError> {
        if let Some(position) = min_position {
            let deadline = tokio::time::Instant::now() + MIN_POSITION_WAIT;
            while !self.every_projection_has_reached(position).await?
                && tokio::time::Instant::now() < deadline
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        // Only the positions: counting the lag, as the status endpoint does, is a scan
        // this hot path need not pay for.
        let mut oldest: Option<store::Checkpoint> = None;
        for projection in Projection::ALL {
            let checkpoint = projections::status::live_checkpoint(self.pool(), projection).await?;
            oldest = Some(oldest.map_or(checkpoint, |o| o.min(checkpoint)));
        }
        Ok(oldest.map_or(0, |checkpoint| checkpoint.position))
    }

    async fn every_projection_has_reached(&self, position: i64) -> Result<bool, ServiceError> {
        for projection in Projection::ALL {
            if !has_reached(self.pool(), projection, position).await? {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

#[cfg(test)]
mod properties;
