//! The cases projection: case facts, appeals and the organisations' regions, and the
//! counts kept from them, for a batch of events.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use domain::events::RegistryEvent;
use serde::Serialize;
use sqlx::{PgConnection, Postgres, Transaction};
use store::EventText;
use uuid::Uuid;

use super::decode::{decode_all, Decoded};
use super::tables::Target;
use crate::counts::{CountDeltas, SignalDeltas};
use crate::error::ProjectionError;
use crate::facts::{region_of_organisation, AppealFact, CaseFact, Counted, Facts, RegionOf};

/// Organisation regions as the cases projection knows them.
#[derive(Default)]
pub(crate) struct Regions(HashMap<String, Option<String>>);

impl RegionOf for Regions {
    fn region_of(&self, org_number: &str) -> Option<String> {
        self.0.get(org_number).cloned().flatten()
    }
}

#[derive(Serialize)]
pub(crate) struct ProjectedOrganisation {
    org_number: String,
    name: String,
    kind: String,
    region_org_number: Option<String>,
}

pub(super) async fn project_cases(
    tx: &mut Transaction<'_, Postgres>,
    target: Target,
    events: &[EventText],
) -> Result<(), ProjectionError> {
    let decoded = decode_all(events)?;
    let (decisions, signals) = project_decoded_cases(tx, target, &decoded).await?;
    crate::counts::write_count_deltas(tx, target, &decisions).await?;
    crate::counts::write_signal_deltas(tx, target, &signals).await
}

/// Writes the cases' rows for a batch of events; returns how the counts change.
async fn project_decoded_cases(
    tx: &mut Transaction<'_, Postgres>,
    target: Target,
    decoded: &Decoded,
) -> Result<(CountDeltas, SignalDeltas), ProjectionError> {
    // A case begins with CaseReceived (the store refuses a second first event), so cases
    // received in this batch have no rows yet; only the others are looked up.
    let received_here: HashSet<Uuid> = decoded
        .iter()
        .filter_map(|(e, _)| match e {
            RegistryEvent::CaseReceived { case_id, .. } => Some(*case_id),
            _ => None,
        })
        .collect();
    let touched: Vec<Uuid> = decoded
        .iter()
        .filter_map(|(e, _)| case_id_of(e))
        .filter(|case_id| !received_here.contains(case_id))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut rows = CaseRows {
        regions: load_regions(tx, target).await?,
        facts: load_facts(tx, target, &touched).await?,
        appeals: load_appeals(tx, target, &touched).await?,
        organisations: Vec::new(),
    };
    let appeals_before: Vec<Uuid> = rows.appeals.keys().copied().collect();
    let before: HashMap<Uuid, Counted> = rows
        .facts
        .iter()
        .map(|(id, f)| (*id, f.counted()))
        .collect();
    for (event, recorded_at) in decoded {
        rows.apply(event, *recorded_at);
    }
    let deltas = crate::counts::count_deltas(&before, &rows.facts);
    // Only rows that existed before this batch need replacing; new ones are just inserted.
    let existing: Vec<Uuid> = before.keys().copied().collect();
    write_organisations(tx, target, rows.organisations).await?;
    write_facts(tx, target, &existing, &rows.facts).await?;
    write_appeals(tx, target, &appeals_before, &rows.appeals).await?;
    Ok(deltas)
}

/// The cases projection's rows for the cases a run holds in memory, as events change them.
#[derive(Default)]
pub(crate) struct CaseRows {
    pub(crate) regions: Regions,
    pub(crate) facts: Facts,
    pub(crate) appeals: HashMap<Uuid, Vec<AppealFact>>,
    /// Organisations registered, in order (the last entry of one wins).
    pub(crate) organisations: Vec<ProjectedOrganisation>,
}

impl CaseRows {
    /// Applies one event. Events about a case these rows do not hold change nothing: a case
    /// begins with CaseReceived, so its rows are either held or loaded.
    pub(crate) fn apply(&mut self, event: &RegistryEvent, recorded_at: DateTime<Utc>) {
        match event {
            RegistryEvent::OrganisationRegistered { organisation } => {
                let org_number = organisation.org_number.as_str().to_string();
                let region = region_of_organisation(organisation);
                self.regions.0.insert(org_number.clone(), region.clone());
                self.organisations.push(ProjectedOrganisation {
                    org_number,
                    name: organisation.name.clone(),
                    kind: serde_json::to_value(organisation.kind)
                        .ok()
                        .and_then(|kind| kind.as_str().map(str::to_string))
                        .unwrap_or_default(),
                    region_org_number: region,
                });
            }
            RegistryEvent::CaseReceived {
                case_id,
                application,
            } => {
                let regions = &self.regions;
                self.facts.entry(*case_id).or_insert_with(|| {
                    Box::new(CaseFact::received(
                        *case_id,
                        application,
                        recorded_at,
                        regions,
                    ))
                });
            }
            other => {
                if let Some(fact) = case_id_of(other).and_then(|id| self.facts.get_mut(&id)) {
                    // Only cases with appeals have an entry: most never have one.
                    let mut case_appeals = self.appeals.remove(&fact.case_id).unwrap_or_default();
                    fact.apply(other, recorded_at, &self.regions, &mut case_appeals);
                    if !case_appeals.is_empty() {
                        self.appeals.insert(fact.case_id, case_appeals);
                    }
                }
            }
        }
    }
}

fn case_id_of(event: &RegistryEvent) -> Option<Uuid> {
    match event {
        RegistryEvent::CaseReceived { case_id, .. }
        | RegistryEvent::DecisionReported { case_id, .. }
        | RegistryEvent::CaseCorrected { case_id, .. }
        | RegistryEvent::CaseRetracted { case_id, .. }
        | RegistryEvent::AppealLodged { case_id, .. }
        | RegistryEvent::AppealDecided { case_id, .. } => Some(*case_id),
        _ => None,
    }
}

async fn load_regions(tx: &mut PgConnection, target: Target) -> Result<Regions, ProjectionError> {
    let sql = format!(
        "select org_number, region_org_number from {}",
        target.table("projected_organisations")
    );
    let rows: Vec<(String, Option<String>)> = sqlx::query_as(&sql).fetch_all(tx).await?;
    Ok(Regions(rows.into_iter().collect()))
}

async fn load_facts(
    tx: &mut PgConnection,
    target: Target,
    ids: &[Uuid],
) -> Result<Facts, ProjectionError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!(
        "select * from {} where case_id = any($1)",
        target.table("case_facts")
    );
    let rows: Vec<CaseFact> = sqlx::query_as(&sql).bind(ids).fetch_all(tx).await?;
    Ok(rows.into_iter().map(|f| (f.case_id, Box::new(f))).collect())
}

async fn load_appeals(
    tx: &mut PgConnection,
    target: Target,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, Vec<AppealFact>>, ProjectionError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let sql = format!(
        "select * from {} where case_id = any($1) order by lodged_date, appeal_id",
        target.table("appeal_facts")
    );
    let rows: Vec<AppealFact> = sqlx::query_as(&sql).bind(ids).fetch_all(tx).await?;
    let mut appeals: HashMap<Uuid, Vec<AppealFact>> = HashMap::new();
    for appeal in rows {
        appeals.entry(appeal.case_id).or_default().push(appeal);
    }
    Ok(appeals)
}

async fn delete_rows(
    tx: &mut PgConnection,
    table: &str,
    key_column: &str,
    ids: &[Uuid],
) -> Result<(), ProjectionError> {
    if !ids.is_empty() {
        sqlx::query(&format!("delete from {table} where {key_column} = any($1)"))
            .bind(ids)
            .execute(tx)
            .await?;
    }
    Ok(())
}

/// Replaces rows keyed by `key_column in ids` (the rows that existed) with `rows`, passed as one JSON array and
/// expanded by jsonb_populate_recordset (column names match the struct's fields).
async fn replace_rows<T: Serialize>(
    tx: &mut PgConnection,
    table: &str,
    key_column: &str,
    ids: &[Uuid],
    rows: &[&T],
) -> Result<(), ProjectionError> {
    delete_rows(tx, table, key_column, ids).await?;
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(&format!(
        "insert into {table} select * from jsonb_populate_recordset(null::{table}, $1)"
    ))
    .bind(serde_json::to_value(rows)?)
    .execute(tx)
    .await?;
    Ok(())
}

pub(crate) async fn write_facts(
    tx: &mut PgConnection,
    target: Target,
    existing: &[Uuid],
    facts: &Facts,
) -> Result<(), ProjectionError> {
    let table = target.table("case_facts");
    delete_rows(tx, &table, "case_id", existing).await?;
    let rows: Vec<&CaseFact> = facts.values().map(Box::as_ref).collect();
    crate::facts_table::copy_case_facts(tx, &table, &rows).await
}

pub(crate) async fn write_appeals(
    tx: &mut PgConnection,
    target: Target,
    existing: &[Uuid],
    appeals: &HashMap<Uuid, Vec<AppealFact>>,
) -> Result<(), ProjectionError> {
    let rows: Vec<&AppealFact> = appeals.values().flatten().collect();
    replace_rows(
        tx,
        &target.table("appeal_facts"),
        "case_id",
        existing,
        &rows,
    )
    .await
}

pub(crate) async fn write_organisations(
    tx: &mut PgConnection,
    target: Target,
    organisations: Vec<ProjectedOrganisation>,
) -> Result<(), ProjectionError> {
    if organisations.is_empty() {
        return Ok(());
    }
    let table = target.table("projected_organisations");
    // The last entry of an organisation in the batch wins.
    let latest: BTreeMap<String, ProjectedOrganisation> = organisations
        .into_iter()
        .map(|o| (o.org_number.clone(), o))
        .collect();
    let rows: Vec<&ProjectedOrganisation> = latest.values().collect();
    sqlx::query(&format!(
        "insert into {table} select * from jsonb_populate_recordset(null::{table}, $1)
         on conflict (org_number) do update set name = excluded.name, kind = excluded.kind,
             region_org_number = excluded.region_org_number"
    ))
    .bind(serde_json::to_value(rows)?)
    .execute(tx)
    .await?;
    Ok(())
}
