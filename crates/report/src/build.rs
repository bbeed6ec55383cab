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
    // The statistics are independent of each other: gathered concurrently, each on a
    // connection of its own, so the report takes about as long as its slowest few.
    let whole = of_year(year, "");
    let by_scheme_query = of_year(year, "scheme");
    let by_quarter = of_year(year, "quarter");
    let by_region_query = of_year(year, "region");
    let by_org_query = of_year(year, "org");
    let by_method = of_year(year, "method_id");
    let by_refusal_reason = of_year(year, "scheme,refusal_reason");
    let by_criterion = of_year(year, "scheme,criterion");
    let (national, applications_national, by_scheme, applications_by_scheme) = futures::try_join!(
        registry.decision_statistics(actor, &whole),
        registry.application_statistics(actor, &whole),
        registry.decision_statistics(actor, &by_scheme_query),
        registry.application_statistics(actor, &by_scheme_query),
    )?;
    let (applications_by_quarter, by_region, residence, by_org, methods) = futures::try_join!(
        registry.application_statistics(actor, &by_quarter),
        registry.decision_statistics(actor, &by_region_query),
        registry.application_statistics(actor, &residence),
        registry.decision_statistics(actor, &by_org_query),
        registry.methods(actor),
    )?;
    let (applications_by_method, decisions_by_method, processing, processing_national) = futures::try_join!(
        registry.application_statistics(actor, &by_method),
        registry.decision_statistics(actor, &by_method),
        registry.processing_time_statistics(actor, &processing),
        registry.processing_time_statistics(actor, &whole),
    )?;
    let (appeals, refusal_reasons, criteria, quality, (signals, funnel)) = futures::try_join!(
        registry.appeal_statistics(actor, &by_scheme_query),
        registry.decision_statistics(actor, &by_refusal_reason),
        registry.decision_statistics(actor, &by_criterion),
        registry.reporting_quality_statistics(actor, &whole),
        registry.signals_and_funnel(actor, &funnel_query, year),
    )?;
    let figures = Figures {
        year,
        national,
        applications_national,
        by_scheme,
        applications_by_scheme,
        applications_by_quarter,
        by_region,
        residence,
        by_org,
        funnel,
        applications_by_method,
        decisions_by_method,
        method_names: methods
            .into_iter()
            .filter_map(|m| Some((m.method_id.as_str().to_string(), m.description?.name)))
            .collect(),
        processing,
        processing_national,
        appeals,
        refusal_reasons,
        criteria,
        quality,
        signals,
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
