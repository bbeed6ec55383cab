//! The decision counts: `decision_counts` (every dimension the statistics group on most)
//! and its roll-up `decision_counts_by_region`. The live projection moves them by deltas,
//! batch by batch; a rebuild counts them once from its case facts before it swaps in.
//! Either way they hold the same numbers (the replay tests compare them).

use std::collections::{BTreeMap, HashMap};

use sqlx::PgConnection;
use uuid::Uuid;

use crate::facts::{CaseFact, DecisionKey};
use crate::projector::Target;
use crate::ProjectionError;

/// How each count changes: -1 under a case's old key, +1 under its new one.
pub(crate) fn count_deltas(
    before: &HashMap<Uuid, Option<DecisionKey>>,
    facts: &HashMap<Uuid, CaseFact>,
) -> BTreeMap<DecisionKey, i64> {
    let mut deltas = BTreeMap::new();
    for (case_id, fact) in facts {
        let old = before.get(case_id).cloned().flatten();
        let new = fact.decision_key();
        if old == new {
            continue;
        }
        if let Some(old) = old {
            *deltas.entry(old).or_insert(0) -= 1;
        }
        if let Some(new) = new {
            *deltas.entry(new).or_insert(0) += 1;
        }
    }
    deltas.retain(|_, delta| *delta != 0);
    deltas
}

/// A key of the roll-up: region basis, year, quarter, region, scheme, method, outcome.
type RegionKey = (&'static str, i32, i32, String, String, String, String);

fn region_deltas(deltas: &BTreeMap<DecisionKey, i64>) -> BTreeMap<RegionKey, i64> {
    let mut rolled_up = BTreeMap::new();
    for (key, delta) in deltas {
        for (basis, region) in [
            ("deciding", &key.deciding_region),
            ("residence", &key.residence_region),
        ] {
            let region_key = (
                basis,
                key.year,
                key.quarter,
                region.clone(),
                key.scheme.clone(),
                key.method_id.clone(),
                key.outcome.clone(),
            );
            *rolled_up.entry(region_key).or_insert(0) += delta;
        }
    }
    rolled_up.retain(|_, delta| *delta != 0);
    rolled_up
}

/// Applies a batch's deltas to the live counts. Neither table ever keeps a zero count, as
/// a rebuild would not write one.
pub(crate) async fn write_count_deltas(
    tx: &mut PgConnection,
    deltas: BTreeMap<DecisionKey, i64>,
) -> Result<(), ProjectionError> {
    if deltas.is_empty() {
        return Ok(());
    }
    let has_decrements = deltas.values().any(|delta| *delta < 0);
    let rolled_up = region_deltas(&deltas);
    // Typed arrays rather than JSON: this runs for every batch.
    let column =
        |pick: fn(&DecisionKey) -> String| deltas.keys().map(pick).collect::<Vec<String>>();
    sqlx::query(
        "insert into decision_counts (year, quarter, deciding_region, deciding_org,
                                      residence_region, scheme, method_id, icd10_category,
                                      outcome, decisions)
         select * from unnest($1::int[], $2::int[], $3::text[], $4::text[], $5::text[],
                              $6::text[], $7::text[], $8::text[], $9::text[], $10::bigint[])
         on conflict (year, quarter, deciding_region, deciding_org, residence_region, scheme,
                      method_id, icd10_category, outcome)
         do update set decisions = decision_counts.decisions + excluded.decisions",
    )
    .bind(deltas.keys().map(|k| k.year).collect::<Vec<i32>>())
    .bind(deltas.keys().map(|k| k.quarter).collect::<Vec<i32>>())
    .bind(column(|k| k.deciding_region.clone()))
    .bind(column(|k| k.deciding_org.clone()))
    .bind(column(|k| k.residence_region.clone()))
    .bind(column(|k| k.scheme.clone()))
    .bind(column(|k| k.method_id.clone()))
    .bind(column(|k| k.icd10_category.clone()))
    .bind(column(|k| k.outcome.clone()))
    .bind(deltas.values().copied().collect::<Vec<i64>>())
    .execute(&mut *tx)
    .await?;
    let text = |pick: fn(&RegionKey) -> &String| {
        rolled_up
            .keys()
            .map(|k| pick(k).clone())
            .collect::<Vec<_>>()
    };
    sqlx::query(
        "insert into decision_counts_by_region (region_basis, year, quarter, region, scheme,
                                                method_id, outcome, decisions)
         select * from unnest($1::text[], $2::int[], $3::int[], $4::text[], $5::text[],
                              $6::text[], $7::text[], $8::bigint[])
         on conflict (region_basis, year, quarter, region, scheme, method_id, outcome)
         do update set decisions = decision_counts_by_region.decisions + excluded.decisions",
    )
    .bind(
        rolled_up
            .keys()
            .map(|k| k.0.to_string())
            .collect::<Vec<_>>(),
    )
    .bind(rolled_up.keys().map(|k| k.1).collect::<Vec<i32>>())
    .bind(rolled_up.keys().map(|k| k.2).collect::<Vec<i32>>())
    .bind(text(|k| &k.3))
    .bind(text(|k| &k.4))
    .bind(text(|k| &k.5))
    .bind(text(|k| &k.6))
    .bind(rolled_up.values().copied().collect::<Vec<i64>>())
    .execute(&mut *tx)
    .await?;
    if has_decrements {
        for table in ["decision_counts", "decision_counts_by_region"] {
            sqlx::query(&format!("delete from {table} where decisions = 0"))
                .execute(&mut *tx)
                .await?;
        }
    }
    Ok(())
}

/// Counts a rebuild's decisions from its case facts, as the deltas would have: retracted
/// and undecided cases are not counted, an unknown region counts as ''.
pub(crate) async fn count_rebuilt_decisions(tx: &mut PgConnection) -> Result<(), ProjectionError> {
    let facts = Target::Rebuild.table("case_facts");
    let counts = Target::Rebuild.table("decision_counts");
    let by_region = Target::Rebuild.table("decision_counts_by_region");
    sqlx::query(&format!(
        "insert into {counts} (year, quarter, deciding_region, deciding_org, residence_region,
                               scheme, method_id, icd10_category, outcome, decisions)
         select extract(year from decided_date)::int, extract(quarter from decided_date)::int,
                coalesce(deciding_region, ''), deciding_org, coalesce(residence_region, ''),
                scheme, method_id, icd10_category, outcome, count(*)
           from {facts}
          where not retracted and decided_date is not null and outcome is not null
          group by 1, 2, 3, 4, 5, 6, 7, 8, 9"
    ))
    .execute(&mut *tx)
    .await?;
    sqlx::query(&format!(
        "insert into {by_region} (region_basis, year, quarter, region, scheme, method_id,
                                  outcome, decisions)
         select 'deciding', year, quarter, deciding_region, scheme, method_id, outcome,
                sum(decisions)
           from {counts} group by year, quarter, deciding_region, scheme, method_id, outcome
         union all
         select 'residence', year, quarter, residence_region, scheme, method_id, outcome,
                sum(decisions)
           from {counts} group by year, quarter, residence_region, scheme, method_id, outcome"
    ))
    .execute(&mut *tx)
    .await?;
    Ok(())
}
