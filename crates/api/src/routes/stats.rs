//! The statistics API: decisions, applications, processing times, appeals and reporting
//! quality, grouped as asked, with small cells withheld by the registry. Answers JSON, or
//! CSV with `Accept: text/csv`.

use actix_web::{get, web, HttpRequest, HttpResponse};
use registry::statistics::{
    AppealRow, ApplicationRow, DecisionRow, ProcessingTimeRow, ReportingQualityRow,
    StatisticsQuery, Table,
};

use crate::auth::Caller;
use crate::error::{ApiError, Problem};
use crate::query::Query;
use crate::render;
use crate::AppState;

/// Decisions per group: decided, granted, refused, grant rate and its Wilson interval.
#[utoipa::path(get, tag = "statistics", params(StatisticsQuery),
    security(("bearer" = [])), responses(
    (status = 200, description = "rows per group, with as_of_position and generated_at", body = Table<DecisionRow>),
    (status = 403, description = "role may not read statistics, or may not turn suppression off", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "bad parameters", body = Problem, content_type = "application/problem+json")))]
#[get("/stats/decisions")]
pub async fn decisions(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<StatisticsQuery>,
    http: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let table = state.registry.decision_statistics(&caller, &query).await?;
    render::table(&http, &table)
}

/// Applications received per group; with region_basis=residence also per 100 000 residents
/// per year: crude rates, and where the year's population import gives residents by age
/// band and sex (and the row has at least 20 applications) also a rate directly
/// standardised for age and sex to the country's residents of the period
/// (`per_100k_standardised`, Fay-Feuer interval). `rate_basis` says which a row has.
#[utoipa::path(get, tag = "statistics", params(StatisticsQuery),
    security(("bearer" = [])), responses(
    (status = 403, description = "role may not read statistics, or may not turn suppression off", body = Problem, content_type = "application/problem+json"),
    (status = 200, description = "rows per group", body = Table<ApplicationRow>),
    (status = 422, description = "bad parameters", body = Problem, content_type = "application/problem+json")))]
#[get("/stats/applications")]
pub async fn applications(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<StatisticsQuery>,
    http: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let table = state
        .registry
        .application_statistics(&caller, &query)
        .await?;
    render::table(&http, &table)
}

/// Kaplan-Meier processing times per group; pending cases are censored at today.
#[utoipa::path(get, tag = "statistics", params(StatisticsQuery),
    security(("bearer" = [])), responses(
    (status = 403, description = "role may not read statistics, or may not turn suppression off", body = Problem, content_type = "application/problem+json"),
    (status = 200, description = "rows per group", body = Table<ProcessingTimeRow>),
    (status = 422, description = "bad parameters", body = Problem, content_type = "application/problem+json")))]
#[get("/stats/processing-times")]
pub async fn processing_times(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<StatisticsQuery>,
    http: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let table = state
        .registry
        .processing_time_statistics(&caller, &query)
        .await?;
    render::table(&http, &table)
}

/// Appeals per group: lodged, decided, outcomes, and the median duration (Kaplan-Meier,
/// pending appeals censored at today).
#[utoipa::path(get, tag = "statistics", params(StatisticsQuery),
    security(("bearer" = [])), responses(
    (status = 403, description = "role may not read statistics, or may not turn suppression off", body = Problem, content_type = "application/problem+json"),
    (status = 200, description = "rows per group", body = Table<AppealRow>),
    (status = 422, description = "bad parameters", body = Problem, content_type = "application/problem+json")))]
#[get("/stats/appeals")]
pub async fn appeals(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<StatisticsQuery>,
    http: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let table = state.registry.appeal_statistics(&caller, &query).await?;
    render::table(&http, &table)
}

/// How each deciding organisation reports: delay from decision to report, corrections,
/// retractions, and the share of decisions with every criterion documented. Rows with
/// small counts are withheld like every other statistic's.
#[utoipa::path(get, tag = "statistics", params(StatisticsQuery),
    security(("bearer" = [])), responses(
    (status = 200, description = "one row per deciding organisation", body = Table<ReportingQualityRow>),
    (status = 403, description = "role may not read statistics", body = Problem, content_type = "application/problem+json")))]
#[get("/stats/reporting-quality")]
pub async fn reporting_quality(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<StatisticsQuery>,
    http: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let table = state
        .registry
        .reporting_quality_statistics(&caller, &query)
        .await?;
    render::table(&http, &table)
}
