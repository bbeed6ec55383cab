//! The projector: reads the store's global order in batches and updates read models. Each
//! batch is one transaction that also moves the projection's checkpoint, so a crash at any
//! point neither loses nor double-counts an event. A transaction-scoped advisory lock per
//! projection lets any number of projector instances run: one leads each batch.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use domain::events::RegistryEvent;
use serde::Serialize;
use sqlx::{PgConnection, Postgres, Row, Transaction};
use store::{Checkpoint, EventStore, EventText};
use uuid::Uuid;

use crate::counts::{CountDeltas, SignalDeltas};
use crate::facts::{region_of_organisation, AppealFact, CaseFact, Counted, RegionOf};
use crate::ProjectionError;

/// The projections, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Projection {
    /// Case facts, decision counts, the signals' counts, appeals (and the organisation
    /// regions they need).
    Cases,
    /// Residents by year and county.
    Population,
}

impl Projection {
    pub const ALL: [Projection; 2] = [Projection::Cases, Projection::Population];

    pub fn name(self) -> &'static str {
        match self {
            Projection::Cases => "cases",
            Projection::Population => "population",
        }
    }

    pub fn parse(name: &str) -> Option<Projection> {
        Projection::ALL.into_iter().find(|p| p.name() == name)
    }

    /// The tables it owns.
    pub fn tables(self) -> &'static [&'static str] {
        match self {
            Projection::Cases => &[
                "projected_organisations",
                "case_facts",
                "decision_counts",
                "decision_counts_by_region",
                "signal_counts",
                "appeal_facts",
            ],
            Projection::Population => &["population"],
        }
    }

    /// Its tables a rebuild fills in bulk, with no index until they are filled: the large
    /// ones.
    pub fn tables_filled_in_bulk(self) -> &'static [&'static str] {
        match self {
            Projection::Cases => &["case_facts", "decision_counts", "signal_counts"],
            Projection::Population => &[],
        }
    }
}

/// Which copy of a projection's tables a run writes: the serving ones, or the copies a
/// rebuild fills before it swaps them in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Live,
    Rebuild,
}

impl Target {
    pub fn table(self, name: &str) -> String {
        match self {
            Target::Live => name.to_string(),
            Target::Rebuild => format!("{name}_rebuild"),
        }
    }

    pub fn checkpoint_name(self, projection: Projection) -> String {
        self.table(projection.name())
    }
}

/// Events per batch transaction.
pub const DEFAULT_BATCH_SIZE: i64 = 2_000;
/// Events per batch for a rebuild: nothing waits on a rebuild's batches, so fewer, larger
/// ones save commits and lookups.
pub const REBUILD_BATCH_SIZE: i64 = 10_000;
/// Cases a rebuild holds in memory at most (about a kilobyte each) before it writes them
/// and goes on batch by batch: some hundred years of a national registry.
pub const DEFAULT_REBUILD_MEMORY_LIMIT: usize = 2_000_000;

#[derive(Clone)]
pub struct Projector {
    store: EventStore,
    batch_size: i64,
    rebuild_memory_limit: usize,
    wake_ups: WakeUps,
}

/// How a running projector hears of new events: appends in its own process always wake
/// it; these say whether it also listens for other processes' NOTIFY, and how often it
/// looks anyway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WakeUps {
    pub listen_for_notify: bool,
    pub poll_interval: std::time::Duration,
}

impl Default for WakeUps {
    fn default() -> Self {
        WakeUps {
            listen_for_notify: true,
            poll_interval: store::DEFAULT_POLL_INTERVAL,
        }
    }
}

impl Projector {
    pub fn new(store: EventStore) -> Self {
        Self {
            store,
            batch_size: DEFAULT_BATCH_SIZE,
            rebuild_memory_limit: DEFAULT_REBUILD_MEMORY_LIMIT,
            wake_ups: WakeUps::default(),
        }
    }

    /// How `run` hears of new events (see `WakeUps`).
    pub fn with_wake_ups(mut self, wake_ups: WakeUps) -> Self {
        self.wake_ups = wake_ups;
        self
    }

    pub fn with_batch_size(mut self, batch_size: i64) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// How many cases a rebuild may hold in memory (see `Projector::rebuild`).
    pub fn with_rebuild_memory_limit(mut self, cases: usize) -> Self {
        self.rebuild_memory_limit = cases;
        self
    }

    pub fn batch_size(&self) -> i64 {
        self.batch_size
    }

    pub fn rebuild_memory_limit(&self) -> usize {
        self.rebuild_memory_limit
    }

    pub fn store(&self) -> &EventStore {
        &self.store
    }

    /// Projects every final event not yet projected; returns how many events it read.
    pub async fn catch_up(
        &self,
        projection: Projection,
        target: Target,
    ) -> Result<u64, ProjectionError> {
        let mut total = 0;
        loop {
            match self.run_batch(projection, target).await? {
                Some(0) => return Ok(total),
                Some(read) => total += read as u64,
                // Another instance leads this projection now; it will catch up.
                None => return Ok(total),
            }
        }
    }

    /// One batch in one transaction. None when another instance holds the projection.
    pub async fn run_batch(
        &self,
        projection: Projection,
        target: Target,
    ) -> Result<Option<usize>, ProjectionError> {
        let mut tx = self.store.pool().begin().await?;
        let checkpoint_name = target.checkpoint_name(projection);
        if !try_lock(&mut tx, &checkpoint_name).await? {
            return Ok(None);
        }
        let checkpoint = load_checkpoint(&mut tx, &checkpoint_name).await?;
        let events = store::read_all_text(&mut *tx, checkpoint, self.batch_size).await?;
        let Some(last) = events.last() else {
            return Ok(Some(0));
        };
        let last = last.checkpoint();
        match projection {
            Projection::Cases => project_cases(&mut tx, target, &events).await?,
            Projection::Population => project_population(&mut tx, target, &events).await?,
        }
        save_checkpoint(&mut tx, &checkpoint_name, last).await?;
        tx.commit().await?;
        Ok(Some(events.len()))
    }
}

/// The advisory lock key of a projection copy: stable across processes.
pub(crate) fn lock_key(checkpoint_name: &str) -> i64 {
    let digest = checkpoint_name
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3)
        });
    digest as i64
}

pub(crate) async fn try_lock(
    tx: &mut PgConnection,
    checkpoint_name: &str,
) -> Result<bool, ProjectionError> {
    Ok(sqlx::query_scalar("select pg_try_advisory_xact_lock($1)")
        .bind(lock_key(checkpoint_name))
        .fetch_one(tx)
        .await?)
}

pub(crate) async fn lock(
    tx: &mut PgConnection,
    checkpoint_name: &str,
) -> Result<(), ProjectionError> {
    sqlx::query("select pg_advisory_xact_lock($1)")
        .bind(lock_key(checkpoint_name))
        .execute(tx)
        .await?;
    Ok(())
}

pub(crate) async fn load_checkpoint(
    tx: &mut PgConnection,
    name: &str,
) -> Result<Checkpoint, ProjectionError> {
    let row = sqlx::query(
        "select transaction_id, position from projection_checkpoints where projection = $1",
    )
    .bind(name)
    .fetch_optional(tx)
    .await?;
    Ok(row.map_or(Checkpoint::ORIGIN, |row| Checkpoint {
        transaction_id: row.get(0),
        position: row.get(1),
    }))
}

pub(crate) async fn save_checkpoint(
    tx: &mut PgConnection,
    name: &str,
    checkpoint: Checkpoint,
) -> Result<(), ProjectionError> {
    sqlx::query(
        "insert into projection_checkpoints (projection, transaction_id, position, updated_at)
         values ($1, $2, $3, now())
         on conflict (projection) do update
            set transaction_id = excluded.transaction_id, position = excluded.position,
                updated_at = excluded.updated_at",
    )
    .bind(name)
    .bind(checkpoint.transaction_id)
    .bind(checkpoint.position)
    .execute(tx)
    .await?;
    Ok(())
}

fn decode(event: &EventText) -> Result<RegistryEvent, ProjectionError> {
    Ok(RegistryEvent::from_stored_text(
        &event.event_type,
        event.schema_version,
        &event.payload,
    )?)
}

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

/// Events decoded, each with when it was recorded.
pub(crate) type Decoded = Vec<(RegistryEvent, DateTime<Utc>)>;

pub(crate) fn decode_all(events: &[EventText]) -> Result<Decoded, ProjectionError> {
    events
        .iter()
        .map(|e| decode(e).map(|d| (d, e.recorded_at)))
        .collect()
}

async fn project_cases(
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

/// Case facts by case. Boxed: a rebuild holds millions, and a map of the facts themselves
/// would copy them all each time it grows.
pub(crate) type Facts = HashMap<Uuid, Box<CaseFact>>;

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
    crate::copy::copy_case_facts(tx, &table, &rows).await
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

async fn project_population(
    tx: &mut Transaction<'_, Postgres>,
    target: Target,
    events: &[EventText],
) -> Result<(), ProjectionError> {
    let table = target.table("population");
    for event in events
        .iter()
        .filter(|e| e.event_type == "PopulationImported")
    {
        let RegistryEvent::PopulationImported { year, counties } = decode(event)? else {
            continue;
        };
        sqlx::query(&format!("delete from {table} where year = $1"))
            .bind(year)
            .execute(&mut **tx)
            .await?;
        for county in counties {
            sqlx::query(&format!(
                "insert into {table} (year, county_number, population) values ($1, $2, $3)"
            ))
            .bind(year)
            .bind(county.county_number.as_str())
            .bind(county.population as i64)
            .execute(&mut **tx)
            .await?;
        }
    }
    Ok(())
}

impl Projector {
    /// Keeps every projection current until the process stops: catches up, then waits for
    /// new events. Errors are logged and retried after a pause; nothing is skipped.
    pub async fn run(&self) {
        let mut wake_ups = match self.subscribe().await {
            Ok(subscription) => subscription,
            Err(error) => {
                tracing::error!(%error, "the projector cannot subscribe to the store");
                return;
            }
        };
        tracing::info!("projector running");
        loop {
            // Armed before catching up: an append while the projector reads still wakes it.
            let armed = wake_ups.arm();
            for projection in Projection::ALL {
                let caught_up = self.catch_up(projection, Target::Live).await;
                if let Ok(events @ 1..) = caught_up {
                    tracing::debug!(events, projection = projection.name(), "projected");
                }
                if let Err(error) = caught_up {
                    tracing::error!(%error, projection = projection.name(), "projection failed; retrying");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
            }
            wake_ups.wait_for_events_since(armed).await;
        }
    }

    async fn subscribe(&self) -> Result<store::Subscription, store::StoreError> {
        let subscription = self
            .store
            .subscribe(Checkpoint::ORIGIN)
            .await?
            .with_poll_interval(self.wake_ups.poll_interval);
        Ok(match self.wake_ups.listen_for_notify {
            true => subscription,
            false => subscription.without_listener(),
        })
    }
}
