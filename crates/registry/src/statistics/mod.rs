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
mod person_time;
pub(crate) mod processing;
pub(crate) mod quality;
mod request;
pub(crate) mod standardised;

use std::collections::HashMap;
use std::time::Duration;

use analysis::suppression::{suppress_grouped_rows, CellStatus, DEFAULT_THRESHOLD};
use chrono::{DateTime, Utc};
use projections::queries::{self, Dimension};
use projections::status::has_reached;
use projections::Projection;
use serde::Serialize;

pub use appeals::AppealRow;
pub use applications::{ApplicationRow, RateBasis};
pub use decisions::DecisionRow;
pub use funnel::{FunnelQuery, FunnelRow, FunnelTable};
pub use groups::{Bounds, GroupKeys, PartsWithheld, Quantile, Suppression, Withheld, NATIONAL};
pub use processing::{CurveStep, ProcessingTimeRow};
pub use quality::ReportingQualityRow;
pub use request::{Slice, StatisticsQuery, StatisticsRequest};

use crate::actor::Actor;
use crate::error::ServiceError;
use crate::Registry;

/// How long a statistic waits for the projection to reach the caller's own write.
const MIN_POSITION_WAIT: Duration = Duration::from_millis(2_000);

/// A row of a statistic: what it counts, and how to withhold it.
pub trait Publishable {
    /// Whether the row's total may be published while its parts are withheld (decided,
    /// when granted or refused is small), and what to say then. None: a row is withheld
    /// whole.
    const PARTS_APART: Option<PartsWithheld> = None;
    /// The row's group, one value per dimension, for the coarser groupings a reader can
    /// subtract it from.
    fn group(&self) -> &[Option<String>];
    /// The counts a reader sees in the row or can work out from it, as parts: every total
    /// the row publishes is a sum of these.
    fn counts(&self) -> Vec<u64>;
    /// Withholds every figure of the row (a withheld figure is null, never zero).
    fn withhold(&mut self);
    /// Withholds the parts and what is computed from them, keeping the total; only called
    /// when `PARTS_APART` is set.
    fn withhold_parts(&mut self) {
        self.withhold();
    }
    /// Withholds the figures of a published row that tell of a small count by
    /// themselves (a share of a small part, a curve step of one case). Most rows have none.
    fn withhold_small_details(&mut self) {}
    /// Where the row says whether and why it was withheld.
    fn withheld_mut(&mut self) -> &mut Withheld;
    /// Leaves out the key at `at` (the dimension `name`), once the rows are cut to one of
    /// its values.
    fn drop_key(&mut self, at: usize, name: &str);
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
            let withheld_rows = withholdings(&rows_view(request, &rows));
            for (row, withheld) in rows.iter_mut().zip(withheld_rows) {
                match withheld {
                    None => row.withhold_small_details(),
                    Some((Withholding::Row, why)) => {
                        row.withhold();
                        *row.withheld_mut() = Withheld::row(why);
                    }
                    Some((Withholding::Parts, why)) => {
                        row.withhold_parts();
                        let reasons = R::PARTS_APART.expect("parts withheld only where allowed");
                        *row.withheld_mut() = Withheld::parts(why, reasons);
                    }
                }
                withheld_any |= withheld.is_some();
            }
        }
        let table = Table {
            as_of_position,
            generated_at: Utc::now(),
            group_by: request.dimensions.iter().map(|d| d.name()).collect(),
            suppressed: withheld_any,
            rows,
        };
        table.sliced(request)
    }
}

/// Which figures of a row are withheld.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Withholding {
    /// Every figure.
    Row,
    /// The parts and what is computed from them; the total is published.
    Parts,
}

/// What suppression needs of a table: each row's group, its parts, and whether its total
/// may stand apart from them.
struct RowsView {
    groups: Vec<Vec<Option<String>>>,
    parts: Vec<Vec<u64>>,
    parts_apart: bool,
}

fn rows_view<R: Publishable>(request: &StatisticsRequest, rows: &[R]) -> RowsView {
    RowsView {
        groups: request.suppression_keys(rows.iter().map(|r| r.group().to_vec()).collect()),
        parts: rows.iter().map(Publishable::counts).collect(),
        parts_apart: R::PARTS_APART.is_some(),
    }
}

/// What each row withholds. The parts are suppressed as a table of their own (a row goes
/// when any part is small, or to protect one that is). Where a row's total may stand
/// apart, the totals are suppressed as a table of their own too: a row whose total goes is
/// withheld whole, one whose parts only go keeps its total. Knowing a row's total leaves
/// one unknown among its parts, which the parts' suppression already treats as one
/// unknown a row, so the two masks together give away no more than each.
fn withholdings(view: &RowsView) -> Vec<Option<(Withholding, Suppression)>> {
    let parts = suppress_grouped_rows(&view.groups, &view.parts, DEFAULT_THRESHOLD);
    if !view.parts_apart {
        return parts
            .into_iter()
            .map(|s| reason(s).map(|why| (Withholding::Row, why)))
            .collect();
    }
    let totals: Vec<Vec<u64>> = view.parts.iter().map(|p| vec![p.iter().sum()]).collect();
    let totals = suppress_grouped_rows(&view.groups, &totals, DEFAULT_THRESHOLD);
    totals
        .into_iter()
        .zip(parts)
        .map(|(total, parts)| match (reason(total), reason(parts)) {
            (Some(why), _) => Some((Withholding::Row, why)),
            (None, Some(why)) => Some((Withholding::Parts, why)),
            (None, None) => None,
        })
        .collect()
}

fn reason(status: CellStatus) -> Option<Suppression> {
    match status {
        CellStatus::Published => None,
        CellStatus::Primary => Some(Suppression::Primary),
        CellStatus::Complementary => Some(Suppression::Complementary),
    }
}

impl<R: Publishable> Table<R> {
    /// The table cut to the request's slices (its scheme, method and organisation
    /// filters), after suppression: the rows with each slice's value, without the keys
    /// that were not asked for.
    fn sliced(mut self, request: &StatisticsRequest) -> Table<R> {
        let mut dropped: Vec<usize> = Vec::new();
        for slice in &request.slices {
            let at = request
                .position_of(slice.dimension)
                .expect("a sliced dimension is grouped by");
            self.rows
                .retain(|row| row.group()[at].as_deref() == Some(slice.value.as_str()));
            if !slice.shown {
                dropped.push(at);
            }
        }
        dropped.sort_unstable_by(|a, b| b.cmp(a));
        for at in dropped {
            let name = request.dimensions[at].name();
            self.rows.iter_mut().for_each(|row| row.drop_key(at, name));
        }
        self.group_by = request
            .shown_dimensions()
            .iter()
            .map(|d| d.name())
            .collect();
        self
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

/// Publishes a table on a thread of its own. Choosing complements for a wide table can
/// keep a core busy for a good part of a second, and on the async runtime's worker that
/// would stall every other request the worker serves (their database answers included).
pub(crate) async fn published_apart<T, F>(publish: F) -> Result<T, ServiceError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    match tokio::task::spawn_blocking(publish).await {
        Ok(table) => Ok(table),
        Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
        Err(_) => Err(ServiceError::Unavailable(
            "the server is shutting down".into(),
        )),
    }
}

impl Registry {
    /// A statistics request parsed and authorised, with what suppression needs to know
    /// beyond the rows: the organisations' regions, when grouped by organisation.
    async fn statistics_request(
        &self,
        actor: &Actor,
        query: &StatisticsQuery,
    ) -> Result<StatisticsRequest, ServiceError> {
        let mut request = StatisticsRequest::parse(actor, query)?;
        request.slice_filters();
        if !request.organisation_positions().is_empty() {
            request.org_regions = queries::organisation_regions(self.pool()).await?;
        }
        Ok(request)
    }

    /// The names shown beside the keys: organisations and regions, and methods when the
    /// rows are grouped by method (method ids and organisation numbers never collide).
    async fn group_names(
        &self,
        request: &StatisticsRequest,
    ) -> Result<HashMap<String, String>, ServiceError> {
        let mut names = queries::organisation_names(self.pool()).await?;
        if request.position_of(Dimension::MethodId).is_some() {
            for method in self.registers().all_methods().await? {
                if let Some(description) = method.description {
                    names.insert(method.method_id.as_str().to_string(), description.name);
                }
            }
        }
        Ok(names)
    }

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
