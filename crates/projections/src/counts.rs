//! The decision counts: `decision_counts` (every dimension the statistics group on most)
//! and its roll-up `decision_counts_by_region`, moved by deltas: the live projection
//! writes each batch's; a rebuild counts the cases it built in memory and writes the
//! counts once, in bulk. Either way they hold the same numbers (the replay tests compare them).

use std::collections::HashMap;

use sqlx::PgConnection;
use uuid::Uuid;

use analysis::signals::CaseKey;

use crate::copy::copy_text;
use crate::error::ProjectionError;
use crate::facts::{CaseFact, Counted, DecisionKey, Facts};
use crate::projector::tables::Target;

/// A map keyed by counts' keys. A rebuild counts millions of keys, and foldhash hashes
/// them several times faster than the standard library's DoS-resistant hasher; the keys
/// come from the registry's own events, not from anyone who could choose collisions.
type Counts<K> = HashMap<K, i64, foldhash::fast::RandomState>;
/// How decision counts change, by key; never zero.
pub type CountDeltas = Counts<DecisionKey>;
/// How the signals' counts change, by key; never zero.
pub type SignalDeltas = Counts<CaseKey>;

/// How each count changes: -1 under a case's old keys, +1 under its new ones.
pub(crate) fn count_deltas(
    before: &HashMap<Uuid, Counted>,
    facts: &Facts,
) -> (CountDeltas, SignalDeltas) {
    let mut decisions = CountDeltas::default();
    let mut signals = SignalDeltas::default();
    for (case_id, fact) in facts {
        let old = before.get(case_id).cloned().unwrap_or_default();
        let new = fact.counted();
        if old == new {
            continue;
        }
        for (key, delta) in old
            .decision
            .into_iter()
            .map(|k| (k, -1))
            .chain(new.decision.map(|k| (k, 1)))
        {
            *decisions.entry(key).or_insert(0) += delta;
        }
        for (key, delta) in old
            .signals
            .into_iter()
            .map(|k| (k, -1))
            .chain(new.signals.into_iter().map(|k| (k, 1)))
        {
            *signals.entry(key).or_insert(0) += delta;
        }
    }
    decisions.retain(|_, delta| *delta != 0);
    signals.retain(|_, delta| *delta != 0);
    (decisions, signals)
}

/// The decision counts and the signals' counts of these cases.
pub(crate) fn counts_of<'a>(
    facts: impl Iterator<Item = &'a CaseFact>,
) -> (CountDeltas, SignalDeltas) {
    let mut decisions = CountDeltas::default();
    let mut signals = SignalDeltas::default();
    for counted in facts.map(CaseFact::counted) {
        if let Some(key) = counted.decision {
            *decisions.entry(key).or_insert(0) += 1;
        }
        for key in counted.signals {
            *signals.entry(key).or_insert(0) += 1;
        }
    }
    (decisions, signals)
}

/// The counts of these cases, counted on `threads` threads at once.
pub(crate) fn counts_in_parallel(
    facts: &[&CaseFact],
    threads: usize,
) -> (CountDeltas, SignalDeltas) {
    let part_size = facts.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|scope| {
        let parts: Vec<_> = facts
            .chunks(part_size)
            .map(|part| scope.spawn(move || counts_of(part.iter().copied())))
            .collect();
        let mut total = (CountDeltas::default(), SignalDeltas::default());
        for part in parts {
            let (decisions, signals) = part.join().expect("counting never panics");
            add_into(&mut total.0, decisions);
            add_into(&mut total.1, signals);
        }
        total
    })
}

fn add_into<K: std::hash::Hash + Eq>(sum: &mut Counts<K>, more: Counts<K>) {
    if sum.is_empty() {
        *sum = more;
        return;
    }
    for (key, count) in more {
        *sum.entry(key).or_insert(0) += count;
    }
}

/// A key of the roll-up: region basis, year, quarter, region, scheme, method, outcome.
type RegionKey = (&'static str, i32, i32, String, String, String, String);

fn region_deltas(deltas: &CountDeltas) -> HashMap<RegionKey, i64> {
    let mut rolled_up = HashMap::new();
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

/// Applies deltas to the counts of `target`. Neither table ever keeps a zero count.
pub(crate) async fn write_count_deltas(
    tx: &mut PgConnection,
    target: Target,
    deltas: &CountDeltas,
) -> Result<(), ProjectionError> {
    if deltas.is_empty() {
        return Ok(());
    }
    let has_decrements = deltas.values().any(|delta| *delta < 0);
    let counts = target.table("decision_counts");
    // Typed arrays rather than JSON: this runs for every batch.
    let column =
        |pick: fn(&DecisionKey) -> String| deltas.keys().map(pick).collect::<Vec<String>>();
    sqlx::query(&format!(
        "insert into {counts} (year, quarter, deciding_region, deciding_org, residence_region,
                               scheme, method_id, icd10_category, outcome, decisions)
         select * from unnest($1::int[], $2::int[], $3::text[], $4::text[], $5::text[],
                              $6::text[], $7::text[], $8::text[], $9::text[], $10::bigint[])
         on conflict (year, quarter, deciding_region, deciding_org, residence_region, scheme,
                      method_id, icd10_category, outcome)
         do update set decisions = {counts}.decisions + excluded.decisions"
    ))
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
    write_region_deltas(tx, target, &region_deltas(deltas)).await?;
    if has_decrements {
        for table in [counts, target.table("decision_counts_by_region")] {
            sqlx::query(&format!("delete from {table} where decisions = 0"))
                .execute(&mut *tx)
                .await?;
        }
    }
    Ok(())
}

/// Applies deltas to the roll-up by region of `target`'s counts.
async fn write_region_deltas(
    tx: &mut PgConnection,
    target: Target,
    rolled_up: &HashMap<RegionKey, i64>,
) -> Result<(), ProjectionError> {
    let by_region = target.table("decision_counts_by_region");
    let text = |pick: fn(&RegionKey) -> &String| {
        rolled_up
            .keys()
            .map(|k| pick(k).clone())
            .collect::<Vec<_>>()
    };
    sqlx::query(&format!(
        "insert into {by_region} (region_basis, year, quarter, region, scheme, method_id,
                                  outcome, decisions)
         select * from unnest($1::text[], $2::int[], $3::int[], $4::text[], $5::text[],
                              $6::text[], $7::text[], $8::bigint[])
         on conflict (region_basis, year, quarter, region, scheme, method_id, outcome)
         do update set decisions = {by_region}.decisions + excluded.decisions"
    ))
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
    Ok(())
}

/// Applies deltas to the signals' counts of `target`, which never keep a zero count.
pub(crate) async fn write_signal_deltas(
    tx: &mut PgConnection,
    target: Target,
    deltas: &SignalDeltas,
) -> Result<(), ProjectionError> {
    if deltas.is_empty() {
        return Ok(());
    }
    let table = target.table("signal_counts");
    sqlx::query(&format!(
        "insert into {table} (kind, period, key, cases)
         select * from unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[])
         on conflict (kind, period, key) do update set cases = {table}.cases + excluded.cases"
    ))
    .bind(deltas.keys().map(|k| k.0).collect::<Vec<&str>>())
    .bind(deltas.keys().map(|k| k.1).collect::<Vec<i64>>())
    .bind(deltas.keys().map(|k| k.2.as_str()).collect::<Vec<&str>>())
    .bind(deltas.values().copied().collect::<Vec<i64>>())
    .execute(&mut *tx)
    .await?;
    if deltas.values().any(|delta| *delta < 0) {
        sqlx::query(&format!("delete from {table} where cases = 0"))
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

/// Writes a rebuild's counts into its (still empty) count tables: the full decision counts
/// and the signals' counts with COPY (hundreds of thousands of keys at national volumes),
/// the roll-up by region as the live projection writes it.
pub(crate) async fn write_rebuilt_counts(
    tx: &mut PgConnection,
    (decisions, signals): &(CountDeltas, SignalDeltas),
) -> Result<(), ProjectionError> {
    let full = Target::Rebuild.table("decision_counts");
    copy_decision_counts(tx, &full, decisions).await?;
    let signal_counts = Target::Rebuild.table("signal_counts");
    copy_signal_counts(tx, &signal_counts, signals).await?;
    write_region_deltas(tx, Target::Rebuild, &region_deltas(decisions)).await
}

const DECISION_COUNT_COLUMNS: &[&str] = &[
    "year",
    "quarter",
    "deciding_region",
    "deciding_org",
    "residence_region",
    "scheme",
    "method_id",
    "icd10_category",
    "outcome",
    "decisions",
];

/// Writes decision counts into `table` (a `decision_counts` copy) with COPY.
async fn copy_decision_counts(
    connection: &mut PgConnection,
    table: &str,
    counts: &CountDeltas,
) -> Result<(), ProjectionError> {
    copy_text(
        connection,
        table,
        DECISION_COUNT_COLUMNS,
        counts.iter(),
        |row, (key, decisions)| {
            row.display(Some(key.year));
            row.display(Some(key.quarter));
            for value in [
                &key.deciding_region,
                &key.deciding_org,
                &key.residence_region,
                &key.scheme,
                &key.method_id,
                &key.icd10_category,
                &key.outcome,
            ] {
                row.text(Some(value));
            }
            row.display(Some(decisions));
        },
    )
    .await
}

/// Writes the signals' counts into `table` (a `signal_counts` copy) with COPY.
async fn copy_signal_counts(
    connection: &mut PgConnection,
    table: &str,
    counts: &SignalDeltas,
) -> Result<(), ProjectionError> {
    let columns = &["kind", "period", "key", "cases"];
    copy_text(
        connection,
        table,
        columns,
        counts.iter(),
        |row, ((kind, period, key), cases)| {
            row.text(Some(kind));
            row.display(Some(period));
            row.text(Some(key));
            row.display(Some(cases));
        },
    )
    .await
}
