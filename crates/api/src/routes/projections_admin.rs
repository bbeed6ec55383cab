//! Operating the read side: projection status, and the population import.

use actix_web::{get, put, web, HttpResponse};
use registry::population::PopulationImported;

use crate::auth::Caller;
use crate::body;
use crate::error::{ApiError, Problem};
use crate::AppState;

/// Each projection's position, lag behind the store, and state (admin).
#[utoipa::path(get, tag = "operations", security(("bearer" = [])),
    responses((status = 200, description = "one entry per projection"),
    (status = 403, description = "not an admin", body = Problem, content_type = "application/problem+json")))]
#[get("/projections")]
pub async fn list_projections(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(state.registry.projections(&caller).await?))
}

/// Imports residents per county for a year (admin), as CSV: `county_number,population`,
/// one row per county, every county once; or `county_number,age_band,sex,population`, one
/// row per county, age band (`0-17`, `18-39`, `40-59`, `60-69`, `70-79`, `80+`) and sex
/// (`female`, `male`), all twelve of every county. With age bands and sex, the
/// residence-based application rates of the year are also directly age- and
/// sex-standardised. Replaces an earlier import for the year; a file with problems is
/// refused whole, listing every problem.
#[utoipa::path(put, tag = "operations", security(("bearer" = [])),
    request_body(content = String, content_type = "text/csv",
        description = "county_number,population (county totals) or county_number,age_band,sex,population (residents by age band and sex: age_band one of 0-17, 18-39, 40-59, 60-69, 70-79, 80+; sex female or male; every county's twelve strata once; a stratum 0 to 6 000 000, a county's sum 1 to 6 000 000)"),
    params(("year" = i32, Path, description = "the year the figures are for")),
    responses((status = 200, description = "imported; by_age_and_sex says whether the import gives strata", body = PopulationImported),
    (status = 403, description = "not an admin", body = Problem, content_type = "application/problem+json"),
    (status = 422, description = "every problem in the file", body = Problem, content_type = "application/problem+json")))]
#[put("/population/{year}")]
pub async fn import_population(
    state: web::Data<AppState>,
    caller: Caller,
    year: web::Path<i32>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = body::read(payload, state.config.report_body()).await?;
    let imported = state
        .registry
        .import_population(&caller, *year, &body)
        .await?;
    Ok(HttpResponse::Ok().json(imported))
}
