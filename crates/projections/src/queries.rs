//! Queries on the read models, for the statistics API. The SQL lives here, beside the
//! tables it reads; the statistics themselves are computed by the `analysis` crate.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};
use sqlx::postgres::PgRow;
use sqlx::{PgPool, Row};

use crate::ProjectionError;

/// Which region a case counts under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RegionBasis {
    /// The region of the organisation that decided.
    #[default]
    Deciding,
    /// The region that serves the patient's county of residence.
    Residence,
}

/// What a statistic can be grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    Year,
    Quarter,
    Region,
    Org,
    ApplyingOrg,
    Scheme,
    MethodId,
    Icd10Category,
    Sex,
    AgeBand,
    RefusalReason,
    Criterion,
}

impl Dimension {
    pub const ALL: [Dimension; 12] = [
        Dimension::Year,
        Dimension::Quarter,
        Dimension::Region,
        Dimension::Org,
        Dimension::ApplyingOrg,
        Dimension::Scheme,
        Dimension::MethodId,
        Dimension::Icd10Category,
        Dimension::Sex,
        Dimension::AgeBand,
        Dimension::RefusalReason,
        Dimension::Criterion,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Dimension::Year => "year",
            Dimension::Quarter => "quarter",
            Dimension::Region => "region",
            Dimension::Org => "org",
            Dimension::ApplyingOrg => "applying_org",
            Dimension::Scheme => "scheme",
            Dimension::MethodId => "method_id",
            Dimension::Icd10Category => "icd10_category",
            Dimension::Sex => "sex",
            Dimension::AgeBand => "age_band",
            Dimension::RefusalReason => "refusal_reason",
            Dimension::Criterion => "criterion",
        }
    }

    pub fn parse(name: &str) -> Option<Dimension> {
        Dimension::ALL.into_iter().find(|d| d.name() == name)
    }

    /// The SQL for this dimension over `case_facts` (aliased `f`), as text. `date` is the
    /// date column the statistic is about.
    fn facts_expression(self, date: &str, basis: RegionBasis) -> String {
        match self {
            Dimension::Year => format!("extract(year from {date})::int::text"),
            Dimension::Quarter => format!("extract(quarter from {date})::int::text"),
            Dimension::Region => match basis {
                RegionBasis::Deciding => "coalesce(f.deciding_region, '')".into(),
                RegionBasis::Residence => "coalesce(f.residence_region, '')".into(),
            },
            Dimension::Org => "f.deciding_org".into(),
            Dimension::ApplyingOrg => "f.applying_org".into(),
            Dimension::Scheme => "f.scheme".into(),
            Dimension::MethodId => "f.method_id".into(),
            Dimension::Icd10Category => "f.icd10_category".into(),
            Dimension::Sex => "f.sex".into(),
            Dimension::AgeBand => "f.age_band".into(),
            Dimension::RefusalReason => "reason.value".into(),
            Dimension::Criterion => "criterion.key || '=' || criterion.value".into(),
        }
    }

    /// The column in `decision_counts`, for the dimensions it has.
    fn counts_column(self, basis: RegionBasis) -> Option<&'static str> {
        match self {
            Dimension::Year => Some("year::text"),
            Dimension::Quarter => Some("quarter::text"),
            Dimension::Region => Some(match basis {
                RegionBasis::Deciding => "deciding_region",
                RegionBasis::Residence => "residence_region",
            }),
            Dimension::Org => Some("deciding_org"),
            Dimension::Scheme => Some("scheme"),
            Dimension::MethodId => Some("method_id"),
            Dimension::Icd10Category => Some("icd10_category"),
            _ => None,
        }
    }
}

/// The common filters of every statistic.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub scheme: Option<String>,
    pub method_id: Option<String>,
    pub deciding_org: Option<String>,
    pub region_basis: RegionBasis,
}

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

/// A table of pre-counted decisions, and how to read a dimension from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountsTable {
    /// `decision_counts_by_region`: region (on either basis), scheme and method per quarter.
    ByRegion,
    /// `decision_counts`: every dimension in `Dimension::counts_column`.
    Full,
}

impl CountsTable {
    fn column(self, dimension: Dimension, basis: RegionBasis) -> Option<&'static str> {
        match self {
            CountsTable::Full => dimension.counts_column(basis),
            CountsTable::ByRegion => match dimension {
                Dimension::Year => Some("year::text"),
                Dimension::Quarter => Some("quarter::text"),
                Dimension::Region => Some("region"),
                Dimension::Scheme => Some("scheme"),
                Dimension::MethodId => Some("method_id"),
                _ => None,
            },
        }
    }

    /// The table and the condition that picks its rows for a filter's region basis and
    /// organisation ($5 and $6 in the query).
    fn source(self) -> (&'static str, &'static str) {
        match self {
            CountsTable::ByRegion => (
                "decision_counts_by_region",
                "region_basis = $6 and $5::text is null",
            ),
            CountsTable::Full => (
                "decision_counts",
                "($5::text is null or deciding_org = $5) and $6::text is not null",
            ),
        }
    }

    /// Whether this table answers the question: it has every dimension (and the
    /// organisation, if the filter names one), and the period is whole quarters.
    pub fn answers(self, filter: &Filter, dimensions: &[Dimension]) -> bool {
        let whole_quarters =
            filter.from.is_none_or(starts_quarter) && filter.to.is_none_or(ends_quarter);
        let has_org = self == CountsTable::Full || filter.deciding_org.is_none();
        whole_quarters
            && has_org
            && dimensions
                .iter()
                .all(|d| self.column(*d, filter.region_basis).is_some())
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

fn starts_quarter(date: NaiveDate) -> bool {
    date.day() == 1 && date.month0().is_multiple_of(3)
}

fn ends_quarter(date: NaiveDate) -> bool {
    date.succ_opt().is_some_and(starts_quarter)
}

/// `year * 10 + quarter`, the period key the counts tables can be filtered by.
fn period_key(date: NaiveDate) -> i32 {
    date.year() * 10 + crate::facts::quarter_of(date)
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
    let sql = FactsQuery {
        date: "f.received_date",
        columns: "count(distinct f.case_id) as applications",
        from: "case_facts f",
        condition: "not f.retracted",
        grouped: true,
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

/// One case's processing: received, and decided unless pending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Processing {
    pub keys: Vec<Option<String>>,
    pub received_date: NaiveDate,
    pub decided_date: Option<NaiveDate>,
}

/// Cases received in the period, with their groups, for survival analysis.
pub async fn processing(
    pool: &PgPool,
    filter: &Filter,
    dimensions: &[Dimension],
) -> Result<Vec<Processing>, ProjectionError> {
    let sql = FactsQuery {
        date: "f.received_date",
        columns: "f.received_date, f.decided_date",
        from: "case_facts f",
        condition: "not f.retracted",
        grouped: false,
    }
    .sql(filter, dimensions);
    let rows = bind_filter(sqlx::query(&sql), filter)
        .fetch_all(pool)
        .await?;
    Ok(rows
        .iter()
        .map(|row| Processing {
            keys: group_keys(row, dimensions.len()),
            received_date: row.get("received_date"),
            decided_date: row.get("decided_date"),
        })
        .collect())
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

/// Names of the organisations the cases projection knows, by number.
pub async fn organisation_names(pool: &PgPool) -> Result<HashMap<String, String>, ProjectionError> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("select org_number, name from projected_organisations")
            .fetch_all(pool)
            .await?;
    Ok(rows.into_iter().collect())
}

/// A query over the case facts, with the asked-for dimensions as columns k0, k1, ... and
/// the common filters on `date` as $1..$5 (bind them with `bind_filter`).
struct FactsQuery {
    /// The date the period filters on.
    date: &'static str,
    /// The columns after the group keys.
    columns: &'static str,
    /// The FROM clause; the case facts are aliased `f`.
    from: &'static str,
    condition: &'static str,
    /// Whether to group (and order) by the dimensions.
    grouped: bool,
}

impl FactsQuery {
    fn sql(&self, filter: &Filter, dimensions: &[Dimension]) -> String {
        let expressions: Vec<String> = dimensions
            .iter()
            .map(|d| d.facts_expression(self.date, filter.region_basis))
            .collect();
        let keys: Vec<&str> = expressions.iter().map(String::as_str).collect();
        let grouping = match self.grouped {
            true => format!(
                "{} order by {}",
                group_list(keys.len()),
                order_list(keys.len())
            ),
            false => String::new(),
        };
        format!(
            "select {select_keys} {columns}
               from {from} {joins}
              where {condition} {filters}
              {grouping}",
            select_keys = select_list(&keys),
            columns = self.columns,
            from = self.from,
            joins = lateral_joins(dimensions),
            condition = self.condition,
            filters = facts_filters(self.date),
        )
    }
}

fn select_list(keys: &[&str]) -> String {
    keys.iter()
        .enumerate()
        .map(|(i, key)| format!("{key} as k{i},"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn group_list(count: usize) -> String {
    if count == 0 {
        return String::new();
    }
    format!(
        "group by {}",
        (1..=count)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

fn order_list(count: usize) -> String {
    if count == 0 {
        return "1".into();
    }
    (1..=count)
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn lateral_joins(dimensions: &[Dimension]) -> String {
    let mut joins = String::new();
    if dimensions.contains(&Dimension::RefusalReason) {
        joins.push_str(" left join lateral unnest(f.refusal_reasons) as reason(value) on true");
    }
    if dimensions.contains(&Dimension::Criterion) {
        joins.push_str(
            " left join lateral (select key, value from jsonb_each_text(f.criteria)
                                  where key <> 'exceptional_on') as criterion on true",
        );
    }
    joins
}

fn facts_filters(date: &str) -> String {
    format!(
        "and ($1::date is null or {date} >= $1) and ($2::date is null or {date} <= $2)
         and ($3::text is null or f.scheme = $3) and ($4::text is null or f.method_id = $4)
         and ($5::text is null or f.deciding_org = $5)"
    )
}

fn bind_filter<'q>(
    query: sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments>,
    filter: &'q Filter,
) -> sqlx::query::Query<'q, sqlx::Postgres, sqlx::postgres::PgArguments> {
    query
        .bind(filter.from)
        .bind(filter.to)
        .bind(&filter.scheme)
        .bind(&filter.method_id)
        .bind(&filter.deciding_org)
}

fn group_keys(row: &PgRow, count: usize) -> Vec<Option<String>> {
    (0..count)
        .map(|i| row.get(format!("k{i}").as_str()))
        .collect()
}

fn decision_group(row: &PgRow, count: usize) -> DecisionGroup {
    DecisionGroup {
        keys: group_keys(row, count),
        granted: row.get("granted"),
        refused: row.get("refused"),
    }
}

/// How one organisation reports: volume, delay from decision to report, corrections,
/// retractions and how often the criteria are documented in full.
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct ReportingQuality {
    pub org: String,
    pub cases: i64,
    pub decisions: i64,
    /// Median days from the decision to its report reaching the registry.
    pub median_report_delay_days: Option<f64>,
    pub corrections: i64,
    pub retractions: i64,
    /// Share of decisions that document every criterion of their scheme.
    pub share_complete_criteria: Option<f64>,
}

/// Reporting quality per deciding organisation, for cases received in the period
/// (retracted ones included: retracting is part of how an organisation reports).
pub async fn reporting_quality(
    pool: &PgPool,
    filter: &Filter,
) -> Result<Vec<ReportingQuality>, ProjectionError> {
    let sql = format!(
        "select f.deciding_org as org, count(*) as cases,
                count(*) filter (where f.decided_date is not null) as decisions,
                percentile_cont(0.5) within group (
                    order by ((f.decision_reported_at at time zone 'UTC')::date - f.decided_date)::float8
                ) filter (where f.decision_reported_at is not null) as median_report_delay_days,
                coalesce(sum(f.corrections), 0)::bigint as corrections,
                count(*) filter (where f.retracted) as retractions,
                (avg(case when f.criteria_complete then 1.0 else 0.0 end)
                    filter (where f.decided_date is not null))::float8 as share_complete_criteria
           from case_facts f
          where true {filters}
          group by f.deciding_org order by f.deciding_org",
        filters = facts_filters("f.received_date"),
    );
    let rows = bind_filter(sqlx::query(&sql), filter)
        .fetch_all(pool)
        .await?;
    Ok(rows
        .iter()
        .map(<ReportingQuality as sqlx::FromRow<PgRow>>::from_row)
        .collect::<Result<_, _>>()?)
}

/// Every case the signals count (not retracted), as the signals see it: what
/// `signal_counts` holds counted. The tests count these to check the read model.
pub async fn signal_cases(
    pool: &PgPool,
) -> Result<Vec<analysis::signals::CaseRecord>, ProjectionError> {
    let facts: Vec<crate::facts::CaseFact> =
        sqlx::query_as("select * from case_facts where not retracted")
            .fetch_all(pool)
            .await?;
    Ok(facts.iter().filter_map(|f| f.signal_record()).collect())
}

/// The counts `year`'s signals read (`analysis::signals::periods_read`).
pub async fn signal_counts(
    pool: &PgPool,
    year: i32,
) -> Result<Vec<(analysis::signals::CaseKey, u64)>, ProjectionError> {
    let periods = analysis::signals::periods_read(year);
    let rows: Vec<(String, i64, String, i64)> = sqlx::query_as(
        "select s.kind, s.period, s.key, s.cases
           from unnest($1::text[], $2::bigint[], $3::bigint[]) p(kind, first, last)
           join signal_counts s
             on s.kind = p.kind and s.period between p.first and p.last",
    )
    .bind(periods.iter().map(|p| p.0).collect::<Vec<_>>())
    .bind(periods.iter().map(|p| p.1).collect::<Vec<_>>())
    .bind(periods.iter().map(|p| p.2).collect::<Vec<_>>())
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(kind, period, key, cases)| {
            let kind = periods.iter().find(|p| p.0 == kind)?.0;
            Some(((kind, period, key), cases.max(0) as u64))
        })
        .collect())
}

/// Individual exemptions decided in `year` per organisation, method (of `methods`) and
/// day: for the methods whose assessment status changed during the year.
pub async fn exemption_days(
    pool: &PgPool,
    year: i32,
    methods: &std::collections::BTreeSet<String>,
) -> Result<Vec<analysis::signals::ExemptionDay>, ProjectionError> {
    if methods.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(String, String, NaiveDate, i64)> = sqlx::query_as(
        "select deciding_org, method_id, decided_date, count(*)
           from case_facts
          where not retracted and scheme = 'individual_exemption' and outcome is not null
            and decided_date between $1 and $2 and method_id = any($3)
          group by 1, 2, 3",
    )
    .bind(NaiveDate::from_ymd_opt(year, 1, 1).expect("a real date"))
    .bind(NaiveDate::from_ymd_opt(year, 12, 31).expect("a real date"))
    .bind(methods.iter().cloned().collect::<Vec<_>>())
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(
            |(deciding_org, method_id, decided, cases)| analysis::signals::ExemptionDay {
                deciding_org,
                method_id,
                day: day(decided).days,
                cases: cases.max(0) as u64,
            },
        )
        .collect())
}

/// A date as the analysis crate counts days.
pub fn day(date: NaiveDate) -> analysis::signals::Day {
    analysis::signals::Day {
        days: (date - NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")).num_days(),
        year: date.year(),
        quarter: crate::facts::quarter_of(date) as u8,
    }
}
