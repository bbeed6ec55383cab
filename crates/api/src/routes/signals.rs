//! Detection: the year's signals, and the funnel-plot data behind grant-rate variation.

use actix_web::{get, web, HttpResponse};
use chrono::{Datelike, Utc};
use registry::statistics::{FunnelQuery, FunnelTable};
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;

use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::query::Query;
use crate::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SignalQuery {
    /// The year analysed; the last complete year by default.
    year: Option<i32>,
    /// One kind only: grant_rate_variation, application_rate_variation,
    /// processing_time_variation, recurring_subgroup, unequal_treatment, compliance, trend.
    kind: Option<String>,
}

fn last_complete_year() -> i32 {
    Utc::now().year() - 1
}

/// The year's signals, each with its evidence and a sentence in bokmål.
#[utoipa::path(get, tag = "detection", params(SignalQuery),
    security(("bearer" = [])), responses(
    (status = 200, description = "the signals, kinds in their fixed order"),
    (status = 403, description = "not a reviewer, supervisor or admin", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "unknown kind", body = Problem, content_type = "application/problem+json")))]
#[get("/signals")]
pub async fn list_signals(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<SignalQuery>,
) -> Result<HttpResponse, ApiError> {
    let year = query.year.unwrap_or_else(last_complete_year);
    let signals = state
        .registry
        .signals(&caller, year, query.kind.as_deref())
        .await?;
    Ok(HttpResponse::Ok()
        .json(json!({"year": year, "generated_at": Utc::now(), "signals": signals})))
}

/// Funnel-plot data: each unit's grant rate against the national rate with exact 95 % and
/// 99.8 % limits (widened for overdispersion where detected). Units with counts from 1 to
/// 4 are withheld like every other statistic's.
#[utoipa::path(get, tag = "detection", params(FunnelQuery),
    security(("bearer" = [])), responses(
    (status = 200, description = "one point per unit", body = FunnelTable),
    (status = 403, description = "not a reviewer, supervisor or admin", body = Problem, content_type = "application/problem+json")))]
#[get("/stats/funnel")]
pub async fn funnel_data(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<FunnelQuery>,
) -> Result<HttpResponse, ApiError> {
    let year = query.year.unwrap_or_else(last_complete_year);
    let funnel = state.registry.funnel(&caller, &query, year).await?;
    Ok(HttpResponse::Ok().json(funnel))
}
