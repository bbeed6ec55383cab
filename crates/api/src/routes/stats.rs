//! The statistics API: decisions, applications, processing times and appeals, grouped as
//! asked, with small cells withheld. Answers JSON, or CSV with `Accept: text/csv`.

use std::collections::HashMap;
use std::time::Duration;

use actix_web::{get, web, HttpRequest, HttpResponse};
use analysis::poisson::rate_per_100k_interval;
use analysis::proportion::{wilson_interval, Interval};
use analysis::suppression::{suppress_rows, DEFAULT_THRESHOLD};
use analysis::survival::{KaplanMeier, Observation, QuantileEstimate};
use chrono::{Datelike, NaiveDate, Utc};
use projections::queries::{self, Dimension, Filter, RegionBasis};
use projections::status::has_reached;
use projections::Projection;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use utoipa::IntoParams;

use crate::auth::{Caller, Role};
use crate::error::{ApiError, Problem};
use crate::AppState;

const READERS: &[Role] = &[
    Role::Reporter,
    Role::Reviewer,
    Role::Supervisor,
    Role::Admin,
];
const MIN_POSITION_WAIT: Duration = Duration::from_secs(2);

#[derive(Debug, Deserialize, IntoParams)]
pub struct StatsQuery {
    /// First date of the period (the decision date for decisions, else the received date).
    from: Option<NaiveDate>,
    /// Last date of the period.
    to: Option<NaiveDate>,
    scheme: Option<String>,
    method_id: Option<String>,
    deciding_org: Option<String>,
    /// `deciding` (default) or `residence`.
    region_basis: Option<String>,
    /// Comma list of year, quarter, region, org, applying_org, scheme, method_id,
    /// icd10_category, sex, age_band, refusal_reason, criterion.
    group_by: Option<String>,
    /// Withhold counts from 1 to 4 (default true; only reviewers and admins may say false).
    suppress: Option<bool>,
    /// Wait up to 2 s until the statistics include the event at this position.
    min_position: Option<i64>,
    /// Processing times only: include the Kaplan-Meier step function.
    curve: Option<bool>,
}

/// A parsed and authorised statistics request.
struct Request {
    filter: Filter,
    dimensions: Vec<Dimension>,
    suppress: bool,
    csv: bool,
    curve: bool,
}

impl StatsQuery {
    fn parse(&self, caller: &Caller, http: &HttpRequest) -> Result<Request, ApiError> {
        caller.require(READERS)?;
        let mut problems = domain::problems::Problems::new();
        let region_basis = match self.region_basis.as_deref() {
            None | Some("deciding") => RegionBasis::Deciding,
            Some("residence") => RegionBasis::Residence,
            Some(_) => {
                problems.add(
                    "region_basis",
                    "unknown_value",
                    "region_basis must be deciding or residence",
                );
                RegionBasis::Deciding
            }
        };
        let mut dimensions = Vec::new();
        for name in self
            .group_by
            .iter()
            .flat_map(|g| g.split(','))
            .map(str::trim)
            .filter(|n| !n.is_empty())
        {
            match Dimension::parse(name) {
                Some(d) if !dimensions.contains(&d) => dimensions.push(d),
                Some(_) => problems.add("group_by", "duplicate", format!("{name} is listed twice")),
                None => problems.add(
                    "group_by",
                    "unknown_dimension",
                    format!("cannot group by {name}"),
                ),
            }
        }
        if let (Some(from), Some(to)) = (self.from, self.to) {
            if from > to {
                problems.add("from", "period_reversed", "from is after to");
            }
        }
        problems.finish(|| ()).map_err(ApiError::Invalid)?;
        let suppress = self.suppress.unwrap_or(true);
        if !suppress {
            caller
                .require(&[Role::Reviewer, Role::Admin])
                .map_err(|_| {
                    ApiError::Forbidden(
                        "only reviewers and admins may see unsuppressed statistics".into(),
                    )
                })?;
        }
        let csv = http
            .headers()
            .get("Accept")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("text/csv"));
        Ok(Request {
            filter: Filter {
                from: self.from,
                to: self.to,
                scheme: self.scheme.clone(),
                method_id: self.method_id.clone(),
                deciding_org: self.deciding_org.clone(),
                region_basis,
            },
            dimensions,
            suppress,
            csv,
            curve: self.curve.unwrap_or(false),
        })
    }
}

/// Waits for the caller's own write, then says how current the answer is. Statistics read
/// more than one projection (cases, and population for rates per resident), and each
/// catches up on its own, so both must have reached the position.
async fn as_of(state: &AppState, min_position: Option<i64>) -> Result<i64, ApiError> {
    if let Some(position) = min_position {
        let deadline = tokio::time::Instant::now() + MIN_POSITION_WAIT;
        while !every_projection_has_reached(state, position).await?
            && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    // Only the positions: counting the lag, as the status endpoint does, is a scan this hot
    // path need not pay for.
    let mut oldest = None;
    for projection in Projection::ALL {
        let checkpoint = projections::status::live_checkpoint(&state.pool, projection)
            .await
            .map_err(internal)?;
        oldest = Some(oldest.map_or(checkpoint, |o: store::Checkpoint| o.min(checkpoint)));
    }
    Ok(oldest.map_or(0, |checkpoint| checkpoint.position))
}

async fn every_projection_has_reached(state: &AppState, position: i64) -> Result<bool, ApiError> {
    for projection in Projection::ALL {
        if !has_reached(&state.pool, projection, position)
            .await
            .map_err(internal)?
        {
            return Ok(false);
        }
    }
    Ok(true)
}

fn internal(error: projections::ProjectionError) -> ApiError {
    ApiError::Internal(error.to_string())
}

/// The group keys of a row as named JSON fields, with region names beside region numbers.
fn key_fields(
    dimensions: &[Dimension],
    keys: &[Option<String>],
    names: &HashMap<String, String>,
) -> Map<String, Value> {
    let mut fields = Map::new();
    for (dimension, key) in dimensions.iter().zip(keys) {
        let value = match (dimension, key) {
            (Dimension::Year | Dimension::Quarter, Some(k)) => {
                k.parse::<i64>().map(Value::from).unwrap_or(Value::Null)
            }
            (_, Some(k)) if k.is_empty() => Value::Null,
            (_, Some(k)) => Value::String(k.clone()),
            (_, None) => Value::Null,
        };
        if matches!(
            dimension,
            Dimension::Region | Dimension::Org | Dimension::ApplyingOrg
        ) {
            let name = key.as_ref().and_then(|k| names.get(k)).cloned();
            fields.insert(
                format!("{}_name", dimension.name()),
                name.map_or(Value::Null, Value::String),
            );
        }
        fields.insert(dimension.name().to_string(), value);
    }
    fields
}

/// An interval as an object whose parts are null when there is none, so every row of an
/// answer has the same shape (and its CSV the same columns).
fn interval(interval: Option<Interval>) -> Value {
    match interval {
        Some(i) => json!({"lower": i.lower, "upper": i.upper}),
        None => json!({"lower": null, "upper": null}),
    }
}

/// Withholds `fields` (every part of an object field) and marks the row suppressed. A
/// withheld value is null, never zero.
fn withhold(row: &mut Map<String, Value>, fields: &[&str]) {
    for field in fields {
        match row.get_mut(*field) {
            Some(Value::Object(parts)) => parts.values_mut().for_each(|part| *part = Value::Null),
            Some(value) => *value = Value::Null,
            None => {}
        }
    }
    row.insert("suppressed".into(), Value::Bool(true));
}

fn statuses(rows: &[Vec<u64>], suppress: bool) -> Vec<bool> {
    match suppress {
        true => suppress_rows(rows, DEFAULT_THRESHOLD)
            .into_iter()
            .map(|s| s.is_suppressed())
            .collect(),
        false => vec![false; rows.len()],
    }
}

/// Decisions per group: decided, granted, refused, grant rate and its Wilson interval.
#[utoipa::path(get, path = "/api/v1/stats/decisions", tag = "statistics", params(StatsQuery),
    security(("bearer" = [])), responses(
    (status = 200, description = "rows per group, with as_of_position and generated_at"),
    (status = 403, description = "role may not read statistics, or may not turn suppression off", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "bad parameters", body = Problem, content_type = "application/problem+json")))]
#[get("/stats/decisions")]
pub async fn decisions(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<StatsQuery>,
    http: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let request = query.parse(&caller, &http)?;
    let as_of_position = as_of(&state, query.min_position).await?;
    let groups = queries::decisions(&state.pool, &request.filter, &request.dimensions)
        .await
        .map_err(internal)?;
    let names = queries::organisation_names(&state.pool)
        .await
        .map_err(internal)?;
    let counts: Vec<Vec<u64>> = groups
        .iter()
        .map(|g| vec![g.granted as u64, g.refused as u64])
        .collect();
    let hidden = statuses(&counts, request.suppress);
    let rows = groups
        .iter()
        .zip(hidden)
        .map(|(group, hidden)| {
            let mut row = key_fields(&request.dimensions, &group.keys, &names);
            let decided = group.decided() as u64;
            row.insert("decided".into(), json!(decided));
            row.insert("granted".into(), json!(group.granted));
            row.insert("refused".into(), json!(group.refused));
            let rate = (decided > 0).then(|| group.granted as f64 / decided as f64);
            row.insert("grant_rate".into(), json!(rate));
            row.insert(
                "grant_rate_ci95".into(),
                interval(wilson_interval(group.granted as u64, decided, 0.95)),
            );
            row.insert("suppressed".into(), Value::Bool(false));
            if hidden {
                withhold(
                    &mut row,
                    &[
                        "decided",
                        "granted",
                        "refused",
                        "grant_rate",
                        "grant_rate_ci95",
                    ],
                );
            }
            row
        })
        .collect();
    respond(&request, as_of_position, rows)
}

/// Applications received per group; with region_basis=residence also per 100 000 residents.
#[utoipa::path(get, path = "/api/v1/stats/applications", tag = "statistics", params(StatsQuery),
    security(("bearer" = [])), responses(
    (status = 200, description = "rows per group"),
    (status = 422, description = "bad parameters", body = Problem, content_type = "application/problem+json")))]
#[get("/stats/applications")]
pub async fn applications(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<StatsQuery>,
    http: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let request = query.parse(&caller, &http)?;
    let as_of_position = as_of(&state, query.min_position).await?;
    let groups = queries::applications(&state.pool, &request.filter, &request.dimensions)
        .await
        .map_err(internal)?;
    let names = queries::organisation_names(&state.pool)
        .await
        .map_err(internal)?;
    let population = match request.filter.region_basis {
        RegionBasis::Residence => Some(
            queries::population_by_year_and_region(&state.pool)
                .await
                .map_err(internal)?,
        ),
        RegionBasis::Deciding => None,
    };
    let counts: Vec<Vec<u64>> = groups.iter().map(|(_, n)| vec![*n as u64]).collect();
    let hidden = statuses(&counts, request.suppress);
    let rows = groups
        .iter()
        .zip(hidden)
        .map(|((keys, count), hidden)| {
            let mut row = key_fields(&request.dimensions, keys, &names);
            row.insert("applications".into(), json!(count));
            if let Some(population) = &population {
                let residents = residents(population, &request, keys);
                let rate = residents
                    .filter(|r| *r > 0)
                    .map(|r| *count as f64 / r as f64 * 100_000.0);
                row.insert("residents".into(), json!(residents));
                row.insert("per_100k".into(), json!(rate));
                row.insert(
                    "per_100k_ci95".into(),
                    interval(
                        residents
                            .and_then(|r| rate_per_100k_interval(*count as u64, r as u64, 0.95)),
                    ),
                );
            }
            row.insert("suppressed".into(), Value::Bool(false));
            if hidden {
                withhold(&mut row, &["applications", "per_100k", "per_100k_ci95"]);
            }
            row
        })
        .collect();
    respond(&request, as_of_position, rows)
}

/// Person-years of residents behind a row: its region (or the whole country) over its year,
/// or over the years of the period. None when the population import lacks a year, or when
/// the row is grouped by something residents cannot be split by.
fn residents(
    population: &HashMap<(i32, String), i64>,
    request: &Request,
    keys: &[Option<String>],
) -> Option<i64> {
    let splittable = [
        Dimension::Year,
        Dimension::Region,
        Dimension::Scheme,
        Dimension::MethodId,
        Dimension::Icd10Category,
    ];
    if !request.dimensions.iter().all(|d| splittable.contains(d)) {
        return None;
    }
    let key_of = |dimension: Dimension| {
        request
            .dimensions
            .iter()
            .position(|d| *d == dimension)
            .and_then(|i| keys[i].clone())
    };
    let years: Vec<i32> = match key_of(Dimension::Year) {
        Some(year) => vec![year.parse().ok()?],
        None => (request.filter.from?.year()..=request.filter.to?.year()).collect(),
    };
    let region = key_of(Dimension::Region);
    let mut total = 0;
    for year in years {
        let of_year: Vec<i64> = population
            .iter()
            .filter(|((y, r), _)| *y == year && region.as_ref().is_none_or(|region| region == r))
            .map(|(_, n)| *n)
            .collect();
        if of_year.is_empty() {
            return None;
        }
        total += of_year.iter().sum::<i64>();
    }
    Some(total)
}

/// Days from `start` until `end`, or, while there is no end yet, censored at `today`.
fn days_until(start: NaiveDate, end: Option<NaiveDate>, today: NaiveDate) -> Observation {
    match end {
        Some(end) => Observation::event((end - start).num_days() as f64),
        None => Observation::censored((today - start).num_days().max(0) as f64),
    }
}

fn quantile(estimate: &QuantileEstimate) -> Value {
    json!({"estimate": estimate.estimate, "lower": estimate.lower, "upper": estimate.upper})
}

/// Kaplan-Meier processing times per group; pending cases are censored at today.
#[utoipa::path(get, path = "/api/v1/stats/processing-times", tag = "statistics", params(StatsQuery),
    security(("bearer" = [])), responses(
    (status = 200, description = "rows per group"),
    (status = 422, description = "bad parameters", body = Problem, content_type = "application/problem+json")))]
#[get("/stats/processing-times")]
pub async fn processing_times(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<StatsQuery>,
    http: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let request = query.parse(&caller, &http)?;
    let as_of_position = as_of(&state, query.min_position).await?;
    let today = Utc::now().date_naive();
    let cases = queries::processing(&state.pool, &request.filter, &request.dimensions)
        .await
        .map_err(internal)?;
    let names = queries::organisation_names(&state.pool)
        .await
        .map_err(internal)?;
    let mut groups: std::collections::BTreeMap<Vec<Option<String>>, Vec<Observation>> =
        Default::default();
    for case in cases {
        let observation = days_until(case.received_date, case.decided_date, today);
        groups.entry(case.keys).or_default().push(observation);
    }
    // Both parts of n are published, so both are checked.
    let counts: Vec<Vec<u64>> = groups
        .values()
        .map(|observations| {
            let decided = observations.iter().filter(|o| o.event_observed).count() as u64;
            vec![decided, observations.len() as u64 - decided]
        })
        .collect();
    let hidden = statuses(&counts, request.suppress);
    let rows = groups
        .iter()
        .zip(hidden)
        .map(|((keys, observations), hidden)| {
            let mut row = key_fields(&request.dimensions, keys, &names);
            let fit = KaplanMeier::fit(observations);
            let decided = fit.events();
            let (q1, q3) = fit.quartiles();
            row.insert("n".into(), json!(observations.len()));
            row.insert("decided".into(), json!(decided));
            row.insert("censored".into(), json!(observations.len() as u64 - decided));
            row.insert("median_days".into(), quantile(&fit.median()));
            row.insert("quartile_1_days".into(), quantile(&q1));
            row.insert("quartile_3_days".into(), quantile(&q3));
            row.insert("share_within_14_days".into(), json!(fit.share_with_event_by(14.0)));
            row.insert("share_within_30_days".into(), json!(fit.share_with_event_by(30.0)));
            if request.curve {
                // The number at risk falls to single cases at the tail: published only
                // to those who may see unsuppressed figures.
                let steps: Vec<Value> = fit
                    .steps()
                    .iter()
                    .map(|s| match request.suppress {
                        true => json!({"day": s.time, "still_pending": s.survival}),
                        false => json!({"day": s.time, "still_pending": s.survival, "at_risk": s.at_risk}),
                    })
                    .collect();
                row.insert("curve".into(), Value::Array(steps));
            }
            row.insert("suppressed".into(), Value::Bool(false));
            if hidden {
                withhold(&mut row, &["n", "decided", "censored", "median_days", "quartile_1_days", "quartile_3_days", "share_within_14_days", "share_within_30_days", "curve"]);
            }
            row
        })
        .collect();
    respond(&request, as_of_position, rows)
}

/// Appeals per group: lodged, decided, outcomes, and the median duration (Kaplan-Meier,
/// pending appeals censored at today).
#[utoipa::path(get, path = "/api/v1/stats/appeals", tag = "statistics", params(StatsQuery),
    security(("bearer" = [])), responses(
    (status = 200, description = "rows per group"),
    (status = 422, description = "bad parameters", body = Problem, content_type = "application/problem+json")))]
#[get("/stats/appeals")]
pub async fn appeals(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<StatsQuery>,
    http: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let request = query.parse(&caller, &http)?;
    let as_of_position = as_of(&state, query.min_position).await?;
    let today = Utc::now().date_naive();
    let appeals = queries::appeals(&state.pool, &request.filter, &request.dimensions)
        .await
        .map_err(internal)?;
    let names = queries::organisation_names(&state.pool)
        .await
        .map_err(internal)?;
    let mut groups: std::collections::BTreeMap<Vec<Option<String>>, Vec<queries::AppealRow>> =
        Default::default();
    for appeal in appeals {
        groups.entry(appeal.keys.clone()).or_default().push(appeal);
    }
    let outcome_count = |rows: &[queries::AppealRow], outcome: &str| {
        rows.iter()
            .filter(|r| r.outcome.as_deref() == Some(outcome))
            .count() as u64
    };
    let counts: Vec<Vec<u64>> = groups
        .values()
        .map(|rows| {
            let pending = rows.iter().filter(|r| r.outcome.is_none()).count() as u64;
            vec![
                outcome_count(rows, "upheld"),
                outcome_count(rows, "overturned"),
                outcome_count(rows, "partly_overturned"),
                pending,
            ]
        })
        .collect();
    let hidden = statuses(&counts, request.suppress);
    let rows = groups
        .iter()
        .zip(counts.iter().zip(hidden))
        .map(|((keys, appeals), (count, hidden))| {
            let mut row = key_fields(&request.dimensions, keys, &names);
            let durations: Vec<Observation> = appeals
                .iter()
                .map(|a| days_until(a.lodged_date, a.decided_date, today))
                .collect();
            row.insert("lodged".into(), json!(appeals.len()));
            row.insert("decided".into(), json!(count[0] + count[1] + count[2]));
            row.insert("upheld".into(), json!(count[0]));
            row.insert("overturned".into(), json!(count[1]));
            row.insert("partly_overturned".into(), json!(count[2]));
            row.insert(
                "median_duration_days".into(),
                quantile(&KaplanMeier::fit(&durations).median()),
            );
            row.insert("suppressed".into(), Value::Bool(false));
            if hidden {
                withhold(
                    &mut row,
                    &[
                        "lodged",
                        "decided",
                        "upheld",
                        "overturned",
                        "partly_overturned",
                        "median_duration_days",
                    ],
                );
            }
            row
        })
        .collect();
    respond(&request, as_of_position, rows)
}

fn respond(
    request: &Request,
    as_of_position: i64,
    rows: Vec<Map<String, Value>>,
) -> Result<HttpResponse, ApiError> {
    let generated_at = Utc::now();
    if request.csv {
        return Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header(("X-As-Of-Position", as_of_position.to_string()))
            .insert_header(("X-Generated-At", generated_at.to_rfc3339()))
            .body(to_csv(&rows)?));
    }
    Ok(HttpResponse::Ok().json(json!({
        "as_of_position": as_of_position,
        "generated_at": generated_at,
        "group_by": request.dimensions.iter().map(|d| d.name()).collect::<Vec<_>>(),
        "suppressed": request.suppress,
        "rows": rows,
    })))
}

/// Flat CSV: nested values (intervals) become `<field>_<part>` columns.
fn to_csv(rows: &[Map<String, Value>]) -> Result<String, ApiError> {
    let flat: Vec<Vec<(String, String)>> = rows.iter().map(|row| flatten(row, "")).collect();
    let header: Vec<String> = flat
        .first()
        .map(|r| r.iter().map(|(k, _)| k.clone()).collect())
        .unwrap_or_default();
    let mut writer = csv::Writer::from_writer(Vec::new());
    let failed = |e: csv::Error| ApiError::Internal(e.to_string());
    writer.write_record(&header).map_err(failed)?;
    for row in &flat {
        writer
            .write_record(row.iter().map(|(_, v)| v))
            .map_err(failed)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| ApiError::Internal(e.to_string()))
}

fn flatten(row: &Map<String, Value>, prefix: &str) -> Vec<(String, String)> {
    let mut cells = Vec::new();
    for (key, value) in row {
        let name = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}_{key}")
        };
        match value {
            Value::Object(inner) => cells.extend(flatten(inner, &name)),
            Value::Array(_) => {}
            Value::Null => cells.push((name, String::new())),
            Value::String(text) => cells.push((name, text.clone())),
            other => cells.push((name, other.to_string())),
        }
    }
    cells
}

/// How each deciding organisation reports: delay from decision to report, corrections,
/// retractions, and the share of decisions with every criterion documented. Rows with
/// small counts are withheld like every other statistic's.
#[utoipa::path(get, path = "/api/v1/stats/reporting-quality", tag = "statistics", params(StatsQuery),
    security(("bearer" = [])), responses(
    (status = 200, description = "one row per deciding organisation"),
    (status = 403, description = "role may not read statistics", body = Problem, content_type = "application/problem+json")))]
#[get("/stats/reporting-quality")]
pub async fn reporting_quality(
    state: web::Data<AppState>,
    caller: Caller,
    query: web::Query<StatsQuery>,
    http: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let request = query.parse(&caller, &http)?;
    let as_of_position = as_of(&state, query.min_position).await?;
    let names = queries::organisation_names(&state.pool)
        .await
        .map_err(internal)?;
    let qualities = queries::reporting_quality(&state.pool, &request.filter)
        .await
        .map_err(internal)?;
    // Counts of cases narrowed by method and period are counts of patients: withheld like
    // every other statistic.
    let counts: Vec<Vec<u64>> = qualities
        .iter()
        .map(|q| {
            [q.cases, q.decisions, q.corrections, q.retractions]
                .map(|n| n.max(0) as u64)
                .to_vec()
        })
        .collect();
    let hidden = statuses(&counts, request.suppress);
    let rows = qualities
        .into_iter()
        .zip(hidden)
        .map(|(quality, hidden)| {
            let mut row = match serde_json::to_value(&quality) {
                Ok(Value::Object(row)) => row,
                _ => Map::new(),
            };
            row.insert(
                "org_name".into(),
                names
                    .get(&quality.org)
                    .cloned()
                    .map_or(Value::Null, Value::String),
            );
            row.insert("suppressed".into(), Value::Bool(false));
            if hidden {
                withhold(
                    &mut row,
                    &[
                        "cases",
                        "decisions",
                        "median_report_delay_days",
                        "corrections",
                        "retractions",
                        "share_complete_criteria",
                    ],
                );
            }
            row
        })
        .collect();
    respond(&request, as_of_position, rows)
}
