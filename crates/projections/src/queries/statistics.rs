//! The statistics' queries: decisions, applications, processing times, appeals,
//! residents and reporting quality.

use std::collections::HashMap;

use chrono::NaiveDate;
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};

use super::grouping::{period_key, CountsTable, Dimension, Filter, RegionBasis};
use super::sql::{bind_filter, group_keys, group_list, order_list, select_list, FactsQuery};
use crate::error::ProjectionError;

/// Counts of one group; `keys` in the order of the dimensions asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionGroup {
    pub keys: Vec<Option<String>>,
    pub granted: i64,
    pub refused: i64,
}

impl DecisionGroup {
    pub fn decided(&self) -> i64 {
        self.granted + self.refused
    }
}

/// A group's decisions from a row with its keys as k0, k1, ... and `granted`, `refused`.
fn decision_group(row: &PgRow, count: usize) -> DecisionGroup {
    DecisionGroup {
        keys: group_keys(row, count),
        granted: row.get("granted"),
        refused: row.get("refused"),
    }
}

/// Decisions per group: from the smallest table of counts that has every dimension when
/// the period is whole quarters, else from `case_facts`. All give the same answer.
pub async fn decisions(
    pool: &PgPool,
    filter: &Filter,
    dimensions: &[Dimension],
) -> Result<Vec<DecisionGroup>, ProjectionError> {
    match [CountsTable::ByRegion, CountsTable::Full]
        .into_iter()
        .find(|table| table.answers(filter, dimensions))
    {
        Some(table) => decisions_from_counts(pool, table, filter, dimensions).await,
        None => decisions_from_facts(pool, filter, dimensions).await,
    }
}

/// Decisions per group from a counts table; `table.answers(filter, dimensions)` must hold.
pub async fn decisions_from_counts(
    pool: &PgPool,
    table: CountsTable,
    filter: &Filter,
    dimensions: &[Dimension],
) -> Result<Vec<DecisionGroup>, ProjectionError> {
    let keys: Vec<&str> = dimensions
        .iter()
        .map(|d| {
            table
                .column(*d, filter.region_basis)
                .expect("the caller checked that the table answers")
        })
        .collect();
    let select_keys = select_list(&keys);
    let group = group_list(keys.len());
    let (source, picks_rows) = table.source();
    let sql = format!(
        "select {select_keys}
                coalesce(sum(decisions) filter (where outcome = 'granted'), 0)::bigint as granted,
                coalesce(sum(decisions) filter (where outcome = 'refused'), 0)::bigint as refused
           from {source}
          where ($1::int is null or year * 10 + quarter >= $1)
            and ($2::int is null or year * 10 + quarter <= $2)
            and ($3::text is null or scheme = $3)
            and ($4::text is null or method_id = $4)
            and {picks_rows}
          {group} order by {order}",
        order = order_list(keys.len()),
    );
    let basis = match filter.region_basis {
        RegionBasis::Deciding => "deciding",
        RegionBasis::Residence => "residence",
    };
    let rows = sqlx::query(&sql)
        .bind(filter.from.map(period_key))
        .bind(filter.to.map(period_key))
        .bind(&filter.scheme)
        .bind(&filter.method_id)
        .bind(&filter.deciding_org)
        .bind(basis)
        .fetch_all(pool)
        .await?;
    Ok(rows
        .iter()
        .map(|row| decision_group(row, dimensions.len()))
        .collect())
}

pub async fn decisions_from_facts(
    pool: &PgPool,
    filter: &Filter,
    dimensions: &[Dimension],
) -> Result<Vec<DecisionGroup>, ProjectionError> {
    let sql = FactsQuery {
        date: "f.decided_date",
        columns: "count(*) filter (where f.outcome = 'granted') as granted,
                  count(*) filter (where f.outcome = 'refused') as refused",
        from: "case_facts f",
        condition: "not f.retracted and f.decided_date is not null",
        grouped: true,
        grouped_columns: 0,
    }
    .sql(filter, dimensions);
    let rows = bind_filter(sqlx::query(&sql), filter)
        .fetch_all(pool)
        .await?;
    Ok(rows
        .iter()
        .map(|row| decision_group(row, dimensions.len()))
        .collect())
}

/// Applications received per group (pending cases included).
pub async fn applications(
    pool: &PgPool,
    filter: &Filter,
    dimensions: &[Dimension],
) -> Result<Vec<(Vec<Option<String>>, i64)>, ProjectionError> {
    // A case is one row of the facts unless a multi-valued dimension joins it once per
    // value; only then must its rows be told apart, which costs a sort.
    let columns = match dimensions.iter().any(|d| d.joins_several_rows()) {
        true => "count(distinct f.case_id) as applications",
        false => "count(*) as applications",
    };
    let sql = FactsQuery {
        date: "f.received_date",
        columns,
        from: "case_facts f",
        condition: "not f.retracted",
        grouped: true,
        grouped_columns: 0,
    }
    .sql(filter, dimensions);
    let rows = bind_filter(sqlx::query(&sql), filter)
        .fetch_all(pool)
        .await?;
    Ok(rows
        .iter()
        .map(|row| (group_keys(row, dimensions.len()), row.get("applications")))
        .collect())
}

/// Cases of one group that took the same number of days: decided after `days`, or
/// still pending after `days` (censored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Processing {
    pub keys: Vec<Option<String>>,
    pub days: i32,
    pub decided: bool,
    pub cases: i64,
}

/// Cases received in the period, with their groups, for survival analysis: counted by
/// days to decision, pending cases by days until `censored_at`, so that a year's
/// hundred thousand cases arrive as some thousand counts.
pub async fn processing(
    pool: &PgPool,
    filter: &Filter,
    dimensions: &[Dimension],
    censored_at: NaiveDate,
) -> Result<Vec<Processing>, ProjectionError> {
    let sql = FactsQuery {
        date: "f.received_date",
        columns: "case when f.decided_date is null then greatest($6 - f.received_date, 0)
                       else f.decided_date - f.received_date end as days,
                  f.decided_date is not null as decided, count(*) as cases",
        from: "case_facts f",
        condition: "not f.retracted",
        grouped: true,
        grouped_columns: 2,
    }
    .sql(filter, dimensions);
    let rows = bind_filter(sqlx::query(&sql), filter)
        .bind(censored_at)
        .fetch_all(pool)
        .await?;
    Ok(rows
        .iter()
        .map(|row| Processing {
            keys: group_keys(row, dimensions.len()),
            days: row.get("days"),
            decided: row.get("decided"),
            cases: row.get("cases"),
        })
        .collect())
}

/// The last day the cases know of (the latest day a case was received or decided): pending
/// cases are censored there, in the published processing times as in the signals, so late
/// reporting does not count as waiting. None while there are no cases.
pub async fn last_day_known(pool: &PgPool) -> Result<Option<NaiveDate>, ProjectionError> {
    // The greater of the two latest dates, each read off the end of its index rather
    // than by a scan of every case.
    Ok(sqlx::query_scalar(
        "select greatest(
                    (select max(received_date) from case_facts where not retracted),
                    (select max(decided_date) from case_facts where not retracted))",
    )
    .fetch_one(pool)
    .await?)
}

/// One appeal, with the groups of its case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppealRow {
    pub keys: Vec<Option<String>>,
    pub lodged_date: NaiveDate,
    pub decided_date: Option<NaiveDate>,
    pub outcome: Option<String>,
}

/// Appeals lodged in the period on cases not retracted.
pub async fn appeals(
    pool: &PgPool,
    filter: &Filter,
    dimensions: &[Dimension],
) -> Result<Vec<AppealRow>, ProjectionError> {
    let sql = FactsQuery {
        date: "a.lodged_date",
        columns: "a.lodged_date, a.decided_date, a.outcome",
        from: "appeal_facts a join case_facts f on f.case_id = a.case_id",
        condition: "not f.retracted",
        grouped: false,
        grouped_columns: 0,
    }
    .sql(filter, dimensions);
    let rows = bind_filter(sqlx::query(&sql), filter)
        .fetch_all(pool)
        .await?;
    Ok(rows
        .iter()
        .map(|row| AppealRow {
            keys: group_keys(row, dimensions.len()),
            lodged_date: row.get("lodged_date"),
            decided_date: row.get("decided_date"),
            outcome: row.get("outcome"),
        })
        .collect())
}

/// Residents per (year, region) from the population import; region is the RHF that serves
/// the county.
pub async fn population_by_year_and_region(
    pool: &PgPool,
) -> Result<HashMap<(i32, String), i64>, ProjectionError> {
    let rows: Vec<(i32, String, i64)> =
        sqlx::query_as("select year, county_number, population from population")
            .fetch_all(pool)
            .await?;
    let mut totals = HashMap::new();
    for (year, county, population) in rows {
        let region = domain::codes::CountyNumber::parse(&county)
            .map(|c| c.county().health_authority_org_number.to_string())
            .unwrap_or_default();
        *totals.entry((year, region)).or_insert(0) += population;
    }
    Ok(totals)
}

/// Residents per (year, region, age band, sex), for the years whose population import
/// gives them; region is the RHF that serves the county.
pub async fn population_strata_by_year_and_region(
    pool: &PgPool,
) -> Result<HashMap<(i32, String, String, String), i64>, ProjectionError> {
    let rows: Vec<(i32, String, String, String, i64)> = sqlx::query_as(
        "select year, county_number, age_band, sex, population from population_strata",
    )
    .fetch_all(pool)
    .await?;
    let mut totals = HashMap::new();
    for (year, county, age_band, sex, population) in rows {
        let region = domain::codes::CountyNumber::parse(&county)
            .map(|c| c.county().health_authority_org_number.to_string())
            .unwrap_or_default();
        *totals.entry((year, region, age_band, sex)).or_insert(0) += population;
    }
    Ok(totals)
}

/// Names of the organisations the cases projection knows, by number.
pub async fn organisation_names(pool: &PgPool) -> Result<HashMap<String, String>, ProjectionError> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("select org_number, name from projected_organisations")
            .fetch_all(pool)
            .await?;
    Ok(rows.into_iter().collect())
}

/// Each organisation's regional health authority (none for national bodies such as Helfo).
pub async fn organisation_regions(
    pool: &PgPool,
) -> Result<HashMap<String, Option<String>>, ProjectionError> {
    let rows: Vec<(String, Option<String>)> =
        sqlx::query_as("select org_number, region_org_number from projected_organisations")
            .fetch_all(pool)
            .await?;
    Ok(rows.into_iter().collect())
}

/// How one organisation reports: volume, delay from decision to report, corrections,
/// retractions and how often the criteria are documented in full.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ReportingQuality {
    /// The group's keys in the order of the dimensions asked for (the deciding
    /// organisation first).
    pub keys: Vec<Option<String>>,
    pub cases: i64,
    pub decisions: i64,
    /// Median days from the decision to its report reaching the registry.
    pub median_report_delay_days: Option<f64>,
    pub corrections: i64,
    pub retractions: i64,
    /// Share of decisions that document every criterion of their scheme.
    pub share_complete_criteria: Option<f64>,
}

/// Reporting quality per group of `dimensions` (the deciding organisation, and what a
/// filter is sliced by), for cases received in the period (retracted ones included:
/// retracting is part of how an organisation reports).
pub async fn reporting_quality(
    pool: &PgPool,
    filter: &Filter,
    dimensions: &[Dimension],
) -> Result<Vec<ReportingQuality>, ProjectionError> {
    let sql = FactsQuery {
        date: "f.received_date",
        columns: "count(*) as cases,
                count(*) filter (where f.decided_date is not null) as decisions,
                percentile_cont(0.5) within group (
                    order by ((f.decision_reported_at at time zone 'UTC')::date - f.decided_date)::float8
                ) filter (where f.decision_reported_at is not null) as median_report_delay_days,
                coalesce(sum(f.corrections), 0)::bigint as corrections,
                count(*) filter (where f.retracted) as retractions,
                (avg(case when f.criteria_complete then 1.0 else 0.0 end)
                    filter (where f.decided_date is not null))::float8 as share_complete_criteria",
        from: "case_facts f",
        condition: "true",
        grouped: true,
        grouped_columns: 0,
    }
    .sql(filter, dimensions);
    let rows = bind_filter(sqlx::query(&sql), filter)
        .fetch_all(pool)
        .await?;
    Ok(rows
        .iter()
        .map(|row| ReportingQuality {
            keys: group_keys(row, dimensions.len()),
            cases: row.get("cases"),
            decisions: row.get("decisions"),
            median_report_delay_days: row.get("median_report_delay_days"),
            corrections: row.get("corrections"),
            retractions: row.get("retractions"),
            share_complete_criteria: row.get("share_complete_criteria"),
        })
        .collect())
}
