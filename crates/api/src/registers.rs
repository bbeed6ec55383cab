//! The organisation and methods registers, read from their event streams. Organisations
//! change rarely and are needed on every report, so they are cached briefly.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use domain::codes::MethodId;
use domain::events::{RegistryEvent, SCHEMA_VERSION};
use domain::methods::{method_stream, Method};
use domain::organisation::OrganisationNumber;
use domain::organisation_register::{organisation_stream, Organisation};
use serde_json::json;
use store::{EventStore, ExpectedVersion, NewEvent, RecordedEvent, Register};
use uuid::Uuid;

use crate::error::ApiError;

pub type OrganisationMap = HashMap<OrganisationNumber, Organisation>;

/// How long a cached organisation register is used. A change made through this instance
/// is seen at once; one made through another instance within this time.
const ORGANISATION_CACHE_TTL: Duration = Duration::from_secs(10);

pub struct Registers {
    store: EventStore,
    organisations: RwLock<Option<(Instant, Arc<OrganisationMap>)>>,
}

/// Reads a stored event as a registry event.
pub fn decode(event: &RecordedEvent) -> Result<RegistryEvent, ApiError> {
    RegistryEvent::from_stored(&event.event_type, event.schema_version, &event.payload)
        .map_err(|e| ApiError::Internal(e.to_string()))
}

pub fn decode_all(events: &[RecordedEvent]) -> Result<Vec<RegistryEvent>, ApiError> {
    events.iter().map(decode).collect()
}

/// A registry event as the store takes it: its type, the current schema version, and the
/// event without its type as payload.
pub fn new_event(event: &RegistryEvent, event_id: Uuid, metadata: serde_json::Value) -> NewEvent {
    NewEvent {
        event_id,
        event_type: event.event_type().to_string(),
        schema_version: SCHEMA_VERSION,
        payload: event.payload(),
        metadata,
    }
}

/// Groups register events by stream and folds each stream.
fn fold_streams<T>(
    events: &[RecordedEvent],
    fold: impl Fn(&[RegistryEvent]) -> Option<T>,
) -> Result<Vec<T>, ApiError> {
    let mut by_stream: Vec<(String, Vec<RegistryEvent>)> = Vec::new();
    for event in events {
        let decoded = decode(event)?;
        match by_stream.last_mut() {
            Some((stream, list)) if *stream == event.stream_id => list.push(decoded),
            _ => by_stream.push((event.stream_id.clone(), vec![decoded])),
        }
    }
    Ok(by_stream
        .iter()
        .filter_map(|(_, events)| fold(events))
        .collect())
}

impl Registers {
    pub fn new(store: EventStore) -> Self {
        Self {
            store,
            organisations: RwLock::new(None),
        }
    }

    /// The organisation register, from cache when fresh.
    pub async fn organisations(&self) -> Result<Arc<OrganisationMap>, ApiError> {
        if let Some((loaded, map)) = self.organisations.read().expect("cache lock").as_ref() {
            if loaded.elapsed() < ORGANISATION_CACHE_TTL {
                return Ok(map.clone());
            }
        }
        let map: OrganisationMap = self
            .all_organisations()
            .await?
            .into_iter()
            .map(|org| (org.org_number.clone(), org))
            .collect();
        let map = Arc::new(map);
        *self.organisations.write().expect("cache lock") = Some((Instant::now(), map.clone()));
        Ok(map)
    }

    pub async fn all_organisations(&self) -> Result<Vec<Organisation>, ApiError> {
        let events = self.store.read_register(Register::Organisations).await?;
        fold_streams(&events, |events| Organisation::from_events(events))
    }

    /// Adds or changes an organisation. Returns false when the register already says so.
    pub async fn register_organisation(
        &self,
        organisation: Organisation,
        event_id: Uuid,
        metadata: serde_json::Value,
    ) -> Result<bool, ApiError> {
        let current = self.organisations().await?;
        if current.get(&organisation.org_number) == Some(&organisation) {
            return Ok(false);
        }
        let event = RegistryEvent::OrganisationRegistered {
            organisation: organisation.clone(),
        };
        self.append(
            &organisation_stream(&organisation.org_number),
            event,
            event_id,
            metadata,
        )
        .await?;
        *self.organisations.write().expect("cache lock") = None;
        Ok(true)
    }

    /// The methods among `ids` that the register knows.
    pub async fn methods(&self, ids: &[MethodId]) -> Result<HashMap<MethodId, Method>, ApiError> {
        let streams: Vec<String> = ids.iter().map(method_stream).collect();
        let mut methods = HashMap::new();
        for events in self.store.read_streams(&streams).await?.values() {
            if let Some(method) = Method::from_events(&decode_all(events)?) {
                methods.insert(method.method_id.clone(), method);
            }
        }
        Ok(methods)
    }

    pub async fn method(&self, id: &MethodId) -> Result<Option<Method>, ApiError> {
        Ok(self.methods(std::slice::from_ref(id)).await?.remove(id))
    }

    pub async fn all_methods(&self) -> Result<Vec<Method>, ApiError> {
        let events = self.store.read_register(Register::Methods).await?;
        fold_streams(&events, |events| Method::from_events(events))
    }

    /// Appends a method event to the method's stream.
    pub async fn record_method_event(
        &self,
        method_id: &MethodId,
        event: RegistryEvent,
        event_id: Uuid,
        metadata: serde_json::Value,
    ) -> Result<(), ApiError> {
        self.append(&method_stream(method_id), event, event_id, metadata)
            .await
    }

    async fn append(
        &self,
        stream_id: &str,
        event: RegistryEvent,
        event_id: Uuid,
        metadata: serde_json::Value,
    ) -> Result<(), ApiError> {
        self.store
            .append(
                stream_id,
                ExpectedVersion::Any,
                &[new_event(&event, event_id, metadata)],
            )
            .await?;
        Ok(())
    }
}

/// Metadata for events written by the system itself (seeding), not through a token.
pub fn system_metadata(actor: &str) -> serde_json::Value {
    json!({ "actor": actor })
}

/// Adds to the register every organisation in `csv_text` (columns org_number, name, kind,
/// region_org_number, region) that it does not have yet. Entries already there are left
/// alone: the register, not the file, is the truth once running. Safe to run concurrently:
/// each seed event's id derives from the organisation number.
pub async fn seed_organisations(registers: &Registers, csv_text: &str) -> Result<usize, ApiError> {
    let present = registers.organisations().await?;
    let mut added = 0;
    for record in csv::Reader::from_reader(csv_text.as_bytes()).deserialize::<SeedRow>() {
        let row = record.map_err(|e| ApiError::Internal(format!("organisation seed file: {e}")))?;
        let organisation = row.into_organisation()?;
        if present.contains_key(&organisation.org_number) {
            continue;
        }
        let event_id = Uuid::new_v5(&SEED_NAMESPACE, organisation.org_number.as_str().as_bytes());
        registers
            .register_organisation(organisation, event_id, system_metadata("seed"))
            .await?;
        added += 1;
    }
    Ok(added)
}

const SEED_NAMESPACE: Uuid = Uuid::from_u128(0x51ee_d0e6_7a2b_4c11_8d3f_6e9a_0b1c_2d3e);

#[derive(serde::Deserialize)]
struct SeedRow {
    org_number: String,
    name: String,
    kind: String,
    region_org_number: String,
}

impl SeedRow {
    fn into_organisation(self) -> Result<Organisation, ApiError> {
        let bad = |what: &str| {
            ApiError::Internal(format!(
                "organisation seed file: bad {what} for {}",
                self.org_number
            ))
        };
        let org_number =
            OrganisationNumber::parse(&self.org_number).map_err(|_| bad("org_number"))?;
        let kind = domain::organisation_register::OrganisationKind::parse(&self.kind)
            .ok_or_else(|| bad("kind"))?;
        let region_org_number = match self.region_org_number.trim() {
            "" => None,
            region => {
                Some(OrganisationNumber::parse(region).map_err(|_| bad("region_org_number"))?)
            }
        };
        Ok(Organisation {
            org_number,
            name: self.name,
            kind,
            region_org_number,
            active: true,
        })
    }
}
