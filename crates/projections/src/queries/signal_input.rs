//! What the signals read from the read models: the counts the projector keeps, the
//! exemptions per day of the methods whose status changed, and the cases themselves (for
//! the tests that check the counts).

use analysis::calendar::day;
use chrono::NaiveDate;
use sqlx::PgPool;

use crate::error::ProjectionError;

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
