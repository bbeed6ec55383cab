//! Detection: the year's signals, and the funnel-plot data behind grant-rate variation.

use actix_web::{get, web, HttpResponse};
use analysis::signals::{all_signals, funnel, signals_of_kind, Settings, SignalKind};
use chrono::{Datelike, Utc};
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;

use crate::auth::{Caller, Role};
use crate::detection::load_analysis_input;
use crate::error::{ApiError, Problem};
use crate::AppState;

const ANALYSTS: &[Role] = &[Role::Reviewer, Role::Supervisor, Role::Admin];

#[derive(Debug, Deserialize, IntoParams)]
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
#[utoipa::path(get, path = "/api/v1/signals", tag = "detection", params(SignalQuery),
    security(("bearer" = [])), responses(
    (status = 200, description = "the signals, kinds in their fixed order"),
    (status = 403, description = "not a reviewer, supervisor or admin", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "unknown kind", body = Problem, content_type = "application/problem+json")))]
#[get("/signals")]
pub async fn list_signals(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<SignalQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(ANALYSTS)?;
    let kind = match query.kind.as_deref() {
        None => None,
        Some(name) => Some(SignalKind::parse(name).ok_or_else(|| {
            ApiError::invalid(
                "kind",
                "unknown_kind",
                format!("{name} is not a kind of signal"),
            )
        })?),
    };
    let year = query.year.unwrap_or_else(last_complete_year);
    let input = load_analysis_input(&state.pool, year, Settings::default()).await?;
    let signals = match kind {
        Some(kind) => signals_of_kind(&input, kind),
        None => all_signals(&input),
    };
    Ok(HttpResponse::Ok()
        .json(json!({"year": year, "generated_at": Utc::now(), "signals": signals})))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct FunnelQuery {
    year: Option<i32>,
    /// The scheme (default individual_exemption).
    scheme: Option<String>,
    method_id: Option<String>,
    /// `org` (default) or `region`.
    unit: Option<String>,
}

/// Funnel-plot data: each unit's grant rate against the national rate with exact 95 % and
/// 99.8 % limits (widened for overdispersion where detected).
#[utoipa::path(get, path = "/api/v1/stats/funnel", tag = "detection", params(FunnelQuery),
    security(("bearer" = [])), responses(
    (status = 200, description = "one point per unit"),
    (status = 403, description = "not a reviewer, supervisor or admin", body = Problem, content_type = "application/problem+json")))]
#[get("/stats/funnel")]
pub async fn funnel_data(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<FunnelQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(ANALYSTS)?;
    let year = query.year.unwrap_or_else(last_complete_year);
    let scheme = query
        .scheme
        .clone()
        .unwrap_or_else(|| "individual_exemption".into());
    let by_region = match query.unit.as_deref() {
        None | Some("org") => false,
        Some("region") => true,
        Some(_) => {
            return Err(ApiError::invalid(
                "unit",
                "unknown_value",
                "unit must be org or region",
            ))
        }
    };
    let input = load_analysis_input(&state.pool, year, Settings::default()).await?;
    let cells = input
        .tallies
        .decisions
        .iter()
        .filter(|c| c.scheme == scheme)
        .filter(|c| query.method_id.as_ref().is_none_or(|m| &c.method_id == m));
    let points = funnel(&input, cells, |c| match by_region {
        true => c.deciding_region.clone(),
        false => Some(c.deciding_org.clone()),
    });
    Ok(HttpResponse::Ok().json(
        json!({"year": year, "scheme": scheme, "method_id": query.method_id, "points": points}),
    ))
}
