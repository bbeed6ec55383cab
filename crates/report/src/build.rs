//! Gathers the year's published statistics and signals through the registry, as the
//! statistics API would answer the same actor, and arranges them into the report.

use chrono::{NaiveDate, Utc};
use registry::error::ServiceError;
use registry::statistics::{FunnelQuery, StatisticsQuery};
use registry::{Actor, Registry};

use crate::sections::{self, Figures};
use crate::AnnualReport;

/// A statistics query over the calendar year, grouped by `group_by` (empty: one row).
fn of_year(year: i32, group_by: &str) -> StatisticsQuery {
    StatisticsQuery {
        from: NaiveDate::from_ymd_opt(year, 1, 1),
        to: NaiveDate::from_ymd_opt(year, 12, 31),
        group_by: (!group_by.is_empty()).then(|| group_by.to_string()),
        ..StatisticsQuery::default()
    }
}

/// The annual report of `year` as `actor` may see it: every table suppressed as the
/// statistics API suppresses it for that actor.
pub async fn annual_report(
    registry: &Registry,
    actor: &Actor,
    year: i32,
) -> Result<AnnualReport, ServiceError> {
    let residence = StatisticsQuery {
        region_basis: Some("residence".into()),
        ..of_year(year, "region")
    };
    let processing = StatisticsQuery {
        curve: Some(true),
        ..of_year(year, "region")
    };
    let funnel_query = FunnelQuery {
        year: Some(year),
        scheme: None,
        method_id: None,
        unit: None,
        suppress: None,
    };
    let figures = Figures {
        year,
        national: registry
            .decision_statistics(actor, &of_year(year, ""))
            .await?,
        applications_national: registry
            .application_statistics(actor, &of_year(year, ""))
            .await?,
        by_scheme: registry
            .decision_statistics(actor, &of_year(year, "scheme"))
            .await?,
        applications_by_scheme: registry
            .application_statistics(actor, &of_year(year, "scheme"))
            .await?,
        applications_by_quarter: registry
            .application_statistics(actor, &of_year(year, "quarter"))
            .await?,
        by_region: registry
            .decision_statistics(actor, &of_year(year, "region"))
            .await?,
        residence: registry.application_statistics(actor, &residence).await?,
        by_org: registry
            .decision_statistics(actor, &of_year(year, "org"))
            .await?,
        funnel: registry.funnel(actor, &funnel_query, year).await?,
        applications_by_method: registry
            .application_statistics(actor, &of_year(year, "method_id"))
            .await?,
        decisions_by_method: registry
            .decision_statistics(actor, &of_year(year, "method_id"))
            .await?,
        method_names: registry
            .methods(actor)
            .await?
            .into_iter()
            .filter_map(|m| Some((m.method_id.as_str().to_string(), m.description?.name)))
            .collect(),
        processing: registry
            .processing_time_statistics(actor, &processing)
            .await?,
        processing_national: registry
            .processing_time_statistics(actor, &of_year(year, ""))
            .await?,
        appeals: registry
            .appeal_statistics(actor, &of_year(year, "scheme"))
            .await?,
        refusal_reasons: registry
            .decision_statistics(actor, &of_year(year, "scheme,refusal_reason"))
            .await?,
        criteria: registry
            .decision_statistics(actor, &of_year(year, "scheme,criterion"))
            .await?,
        quality: registry
            .reporting_quality_statistics(actor, &of_year(year, ""))
            .await?,
        signals: registry.signals(actor, year, None).await?,
    };
    let as_of_position = figures.national.as_of_position();
    Ok(AnnualReport {
        year,
        generated_at: Utc::now(),
        as_of_position,
        summary: sections::summary(&figures),
        sections: sections::all(&figures),
    })
}
