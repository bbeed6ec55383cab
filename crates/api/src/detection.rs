//! Gathers what the signals need from the read models and the methods register.

use analysis::signals::{
    assessment_periods, methods_changing_status_in, AnalysisInput, MethodRecord, Settings, Tallies,
};
use domain::methods::MethodStatus;
use projections::queries;
use sqlx::PgPool;
use store::EventStore;

use crate::error::ApiError;
use crate::registers::Registers;

fn internal(error: projections::ProjectionError) -> ApiError {
    ApiError::Internal(error.to_string())
}

fn status_name(status: MethodStatus) -> String {
    serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The methods register as the signals read it: each method's status changes.
pub async fn method_records(pool: &PgPool) -> Result<Vec<MethodRecord>, ApiError> {
    Ok(Registers::new(EventStore::new(pool.clone()))
        .all_methods()
        .await?
        .into_iter()
        .map(|method| MethodRecord {
            method_id: method.method_id.as_str().to_string(),
            statuses: method
                .statuses
                .iter()
                .map(|change| {
                    (
                        queries::day(change.in_force_from()),
                        status_name(change.status),
                    )
                })
                .collect(),
        })
        .collect())
}

/// The analysis input for `year`: the tallies, from the counts the projector keeps.
pub async fn load_analysis_input(
    pool: &PgPool,
    year: i32,
    settings: Settings,
) -> Result<AnalysisInput, ApiError> {
    let methods = method_records(pool).await?;
    let counts = queries::signal_counts(pool, year).await.map_err(internal)?;
    let periods = assessment_periods(&methods);
    let changed = methods_changing_status_in(year, &periods);
    let days = queries::exemption_days(pool, year, &changed)
        .await
        .map_err(internal)?;
    let tallies = Tallies::from_counts(year, counts, &days, &periods);
    let population = queries::population_by_year_and_region(pool)
        .await
        .map_err(internal)?
        .into_iter()
        .map(|((year, region), n)| ((year, region), n.max(0) as u64))
        .collect();
    let names = queries::organisation_names(pool)
        .await
        .map_err(internal)?
        .into_iter()
        .collect();
    Ok(AnalysisInput {
        year,
        tallies,
        population,
        names,
        settings,
    })
}
