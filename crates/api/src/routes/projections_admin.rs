//! Operating the read side: projection status, and the population import.

use actix_web::{get, put, web, HttpResponse};
use domain::codes::CountyNumber;
use domain::events::{population_stream, CountyPopulation, RegistryEvent};
use domain::problems::Problems;
use serde::Deserialize;
use store::ExpectedVersion;
use tracing_actix_web::RequestId;
use uuid::Uuid;

use crate::auth::{Caller, Role};
use crate::body;
use crate::error::{ApiError, Problem};
use crate::ingest::event_metadata;
use crate::AppState;

/// Each projection's position, lag behind the store, and state (admin).
#[utoipa::path(get, path = "/api/v1/projections", tag = "operations", security(("bearer" = [])),
    responses((status = 200, description = "one entry per projection"),
    (status = 403, description = "not an admin", body = Problem, content_type = "application/problem+json")))]
#[get("/projections")]
pub async fn list_projections(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Admin])?;
    let statuses = projections::status::projection_status(&state.pool)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(HttpResponse::Ok().json(statuses))
}

#[derive(Debug, Deserialize)]
struct PopulationRow {
    county_number: String,
    population: String,
}

/// Import residents per county for a year (admin): CSV `county_number,population`, one
/// row per county, every county once. Replaces an earlier import for the year.
#[utoipa::path(put, path = "/api/v1/population/{year}", tag = "operations", security(("bearer" = [])),
    request_body(content = String, content_type = "text/csv", description = "county_number,population"),
    params(("year" = i32, Path, description = "the year the figures are for")),
    responses((status = 200, description = "imported; the number of counties"),
    (status = 422, description = "every problem in the file", body = Problem, content_type = "application/problem+json")))]
#[put("/population/{year}")]
pub async fn import_population(
    state: web::Data<AppState>,
    caller: Caller,
    request_id: RequestId,
    year: web::Path<i32>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    caller.require(&[Role::Admin])?;
    let year = year.into_inner();
    if !(1990..=2100).contains(&year) {
        return Err(ApiError::invalid(
            "year",
            "year_range",
            "year must be from 1990 to 2100",
        ));
    }
    let body = body::read(payload, state.config.max_report_bytes).await?;
    let counties = parse_population(&body)?;
    let event = RegistryEvent::PopulationImported { year, counties };
    let event_id = Uuid::new_v4();
    let new_event = crate::registers::new_event(
        &event,
        event_id,
        event_metadata(&caller, &request_id.to_string(), event_id),
    );
    let appended = state
        .store
        .append(&population_stream(year), ExpectedVersion::Any, &[new_event])
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "year": year,
        "position": appended.positions[0],
        "counties": domain::codes::COUNTIES.len(),
    })))
}

fn parse_population(body: &web::Bytes) -> Result<Vec<CountyPopulation>, ApiError> {
    let mut problems = Problems::new();
    let mut counties: Vec<CountyPopulation> = Vec::new();
    for (index, record) in csv::Reader::from_reader(body.as_ref())
        .deserialize::<PopulationRow>()
        .enumerate()
    {
        let line = format!("line {}", index + 2);
        let Ok(row) = record else {
            problems.add(
                line,
                "csv_format",
                "each line must be county_number,population",
            );
            continue;
        };
        let county = problems.take(&line, CountyNumber::parse(row.county_number.trim()));
        let population = row.population.trim().parse::<u64>().ok();
        if population.is_none() {
            problems.add(
                &line,
                "population_value",
                "population must be a whole number",
            );
        }
        if let (Some(county_number), Some(population)) = (county, population) {
            if counties.iter().any(|c| c.county_number == county_number) {
                problems.add(
                    &line,
                    "duplicate_county",
                    format!("county {county_number} is listed twice"),
                );
            }
            counties.push(CountyPopulation {
                county_number,
                population,
            });
        }
    }
    for county in domain::codes::COUNTIES {
        if !counties
            .iter()
            .any(|c| c.county_number.as_str() == county.number)
        {
            problems.add(
                "body",
                "county_missing",
                format!("county {} ({}) is missing", county.number, county.name),
            );
        }
    }
    problems.finish(|| counties).map_err(ApiError::Invalid)
}
