//! The organisation and methods registers, read from their event streams and kept by
//! admins. Organisations change rarely and are needed on every report, so they are cached
//! briefly.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use domain::codes::{AtcCode, MethodId};
use domain::events::RegistryEvent;
use domain::free_text::{check_text, TextKind};
use domain::methods::{method_stream, Method, MethodDescription, MethodStatus};
use domain::organisation::OrganisationNumber;
use domain::organisation_register::{organisation_stream, Organisation, OrganisationKind};
use domain::problems::Problems;
use serde::Deserialize;
use store::{EventStore, ExpectedVersion, RecordedEvent, Register};
use uuid::Uuid;

use crate::actor::{Actor, Role};
use crate::codec::{decode, decode_all, new_event};
use crate::error::ServiceError;
use crate::Registry;

pub type OrganisationMap = HashMap<OrganisationNumber, Organisation>;

/// How long a cached organisation register is used. A change made through this instance
/// is seen at once; one made through another instance within this time.
const ORGANISATION_CACHE_TTL: Duration = Duration::from_secs(10);

pub struct Registers {
    store: EventStore,
    organisations: RwLock<Option<(Instant, Arc<OrganisationMap>)>>,
}

/// Groups register events by stream and folds each stream.
fn fold_streams<T>(
    events: &[RecordedEvent],
    fold: impl Fn(&[RegistryEvent]) -> Option<T>,
) -> Result<Vec<T>, ServiceError> {
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
    pub async fn organisations(&self) -> Result<Arc<OrganisationMap>, ServiceError> {
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

    pub async fn all_organisations(&self) -> Result<Vec<Organisation>, ServiceError> {
        let events = self.store.read_register(Register::Organisations).await?;
        fold_streams(&events, |events| Organisation::from_events(events))
    }

    /// Adds or changes an organisation. Returns false when the register already says so.
    pub async fn register_organisation(
        &self,
        organisation: Organisation,
        event_id: Uuid,
        metadata: serde_json::Value,
    ) -> Result<bool, ServiceError> {
        let current = self.organisations().await?;
        if current.get(&organisation.org_number) == Some(&organisation) {
            return Ok(false);
        }
        let stream = organisation_stream(&organisation.org_number);
        let event = RegistryEvent::OrganisationRegistered { organisation };
        self.append(&stream, event, event_id, metadata).await?;
        *self.organisations.write().expect("cache lock") = None;
        Ok(true)
    }

    /// The methods among `ids` that the register knows.
    pub async fn methods(
        &self,
        ids: &[MethodId],
    ) -> Result<HashMap<MethodId, Method>, ServiceError> {
        let streams: Vec<String> = ids.iter().map(method_stream).collect();
        let mut methods = HashMap::new();
        for events in self.store.read_streams(&streams).await?.values() {
            if let Some(method) = Method::from_events(&decode_all(events)?) {
                methods.insert(method.method_id.clone(), method);
            }
        }
        Ok(methods)
    }

    pub async fn method(&self, id: &MethodId) -> Result<Option<Method>, ServiceError> {
        Ok(self.methods(std::slice::from_ref(id)).await?.remove(id))
    }

    pub async fn all_methods(&self) -> Result<Vec<Method>, ServiceError> {
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
    ) -> Result<(), ServiceError> {
        self.append(&method_stream(method_id), event, event_id, metadata)
            .await
    }

    async fn append(
        &self,
        stream_id: &str,
        event: RegistryEvent,
        event_id: Uuid,
        metadata: serde_json::Value,
    ) -> Result<(), ServiceError> {
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

/// What an admin says of a method.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MethodDescriptionRequest {
    pub name: String,
    /// ATC codes of the method's substances.
    pub atc: Vec<String>,
    /// The indication in words, as Nye metoder states it.
    pub indication: String,
}

impl MethodDescriptionRequest {
    fn validate(self) -> Result<MethodDescription, ServiceError> {
        let mut problems = Problems::new();
        let name = register_text(&self.name, "name", 200, &mut problems);
        let indication = register_text(&self.indication, "indication", 500, &mut problems);
        let atc: Vec<Option<AtcCode>> = self
            .atc
            .iter()
            .enumerate()
            .map(|(i, code)| problems.take(&format!("atc[{i}]"), AtcCode::parse(code)))
            .collect();
        problems
            .finish(|| MethodDescription {
                name,
                atc: atc.into_iter().flatten().collect(),
                indication,
            })
            .map_err(ServiceError::Invalid)
    }
}

/// A register's text (a name, an indication), trimmed: 1 to `max_chars` characters, one
/// line with no control or bidirectional characters, and no identity number, each
/// problem recorded against `field`.
fn register_text(text: &str, field: &str, max_chars: usize, problems: &mut Problems) -> String {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > max_chars {
        problems.add(
            field,
            "length",
            format!("{field} must be 1 to {max_chars} characters"),
        );
    }
    let today = chrono::Utc::now().date_naive();
    check_text(text, field, TextKind::Line, today, problems);
    text.to_string()
}

/// A status change of a method, as an admin records it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MethodStatusRequest {
    /// `under_assessment`, `introduced`, `not_introduced` or `reassessment`.
    #[schema(value_type = String, example = "introduced")]
    pub status: MethodStatus,
    /// The date of the decision (Beslutningsforum, or Bestillerforum for an assessment).
    pub decision_date: NaiveDate,
    /// The date from which the decision applies: for `introduced`, when the method can
    /// actually be used. Defaults to the decision date.
    pub effective_from: Option<NaiveDate>,
}

/// Whether a register change was new or already said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    Now,
    Before,
}

/// Parses a method id from a path or a field.
pub fn parse_method_id(text: &str) -> Result<MethodId, ServiceError> {
    MethodId::parse(text).map_err(|e| ServiceError::invalid("method_id", e.code(), e.to_string()))
}

impl Registry {
    /// Every method in the register: anyone with a token may read it.
    pub async fn methods(&self, actor: &Actor) -> Result<Vec<Method>, ServiceError> {
        actor.require(&Role::ALL)?;
        self.registers.all_methods().await
    }

    /// One method, with its statuses over time.
    pub async fn method(&self, actor: &Actor, id: &str) -> Result<Method, ServiceError> {
        actor.require(&Role::ALL)?;
        self.known_method(&parse_method_id(id)?).await
    }

    async fn known_method(&self, id: &MethodId) -> Result<Method, ServiceError> {
        self.registers
            .method(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("{id} is not in the methods register")))
    }

    /// Describes a method (admin), creating it when new; returns the method as it stands.
    pub async fn describe_method(
        &self,
        actor: &Actor,
        id: &str,
        request: MethodDescriptionRequest,
    ) -> Result<Method, ServiceError> {
        actor.require(&[Role::Admin])?;
        let id = parse_method_id(id)?;
        let description = request.validate()?;
        let current = self.registers.method(&id).await?;
        if current.as_ref().and_then(|m| m.description.as_ref()) != Some(&description) {
            let event = RegistryEvent::MethodDescribed {
                method_id: id.clone(),
                description,
            };
            self.record_method_event(actor, &id, event).await?;
        }
        self.known_method(&id).await
    }

    /// Records a status change of a method (admin); a change already recorded is not
    /// recorded twice.
    pub async fn change_method_status(
        &self,
        actor: &Actor,
        id: &str,
        request: MethodStatusRequest,
        today: NaiveDate,
    ) -> Result<(Recorded, Method), ServiceError> {
        actor.require(&[Role::Admin])?;
        let id = parse_method_id(id)?;
        if request.decision_date > today {
            return Err(ServiceError::invalid(
                "decision_date",
                "date_in_future",
                "decision_date is in the future",
            ));
        }
        let method = self.known_method(&id).await?;
        let already = method.statuses.iter().any(|change| {
            change.status == request.status
                && change.decision_date == request.decision_date
                && change.effective_from == request.effective_from
        });
        if already {
            return Ok((Recorded::Before, method));
        }
        let event = RegistryEvent::MethodStatusChanged {
            method_id: id.clone(),
            status: request.status,
            decision_date: request.decision_date,
            effective_from: request.effective_from,
        };
        self.record_method_event(actor, &id, event).await?;
        Ok((Recorded::Now, self.known_method(&id).await?))
    }

    async fn record_method_event(
        &self,
        actor: &Actor,
        id: &MethodId,
        event: RegistryEvent,
    ) -> Result<(), ServiceError> {
        let event_id = Uuid::new_v4();
        self.registers
            .record_method_event(id, event, event_id, actor.metadata(event_id))
            .await
    }

    /// Every organisation, active or not, by organisation number.
    pub async fn organisations(&self, actor: &Actor) -> Result<Vec<Organisation>, ServiceError> {
        actor.require(&Role::ALL)?;
        let mut organisations = self.registers.all_organisations().await?;
        organisations.sort_by(|a, b| a.org_number.as_str().cmp(b.org_number.as_str()));
        Ok(organisations)
    }

    /// Adds an organisation (admin); one already in the register is a conflict.
    pub async fn add_organisation(
        &self,
        actor: &Actor,
        request: OrganisationRequest,
    ) -> Result<Organisation, ServiceError> {
        actor.require(&[Role::Admin])?;
        let register = self.registers.organisations().await?;
        let organisation = request.validate(&register)?;
        if register.contains_key(&organisation.org_number) {
            return Err(ServiceError::Conflict(format!(
                "{} is already in the register; change it with PUT",
                organisation.org_number
            )));
        }
        self.record_organisation(actor, organisation).await
    }

    /// Changes an organisation (admin): a rename, a move, or marking it inactive.
    pub async fn change_organisation(
        &self,
        actor: &Actor,
        org_number: &str,
        request: OrganisationRequest,
    ) -> Result<Organisation, ServiceError> {
        actor.require(&[Role::Admin])?;
        let register = self.registers.organisations().await?;
        let organisation = request.validate(&register)?;
        if organisation.org_number.as_str() != org_number {
            return Err(ServiceError::invalid(
                "org_number",
                "path_mismatch",
                "org_number must match the path",
            ));
        }
        if !register.contains_key(&organisation.org_number) {
            return Err(ServiceError::NotFound(format!(
                "{} is not in the register",
                organisation.org_number
            )));
        }
        self.record_organisation(actor, organisation).await
    }

    async fn record_organisation(
        &self,
        actor: &Actor,
        organisation: Organisation,
    ) -> Result<Organisation, ServiceError> {
        let event_id = Uuid::new_v4();
        self.registers
            .register_organisation(organisation.clone(), event_id, actor.metadata(event_id))
            .await?;
        Ok(organisation)
    }
}

/// An organisation as an admin adds or changes it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganisationRequest {
    pub org_number: String,
    pub name: String,
    /// `rhf`, `hf`, `private_nonprofit` or `national_agency`.
    pub kind: String,
    /// The regional health authority it belongs to; for an RHF, itself.
    pub region_org_number: Option<String>,
    #[serde(default = "active_by_default")]
    pub active: bool,
}

fn active_by_default() -> bool {
    true
}

impl OrganisationRequest {
    fn validate(self, register: &OrganisationMap) -> Result<Organisation, ServiceError> {
        let mut problems = Problems::new();
        let org_number = problems.take("org_number", OrganisationNumber::parse(&self.org_number));
        let name = register_text(&self.name, "name", 200, &mut problems);
        let kind = OrganisationKind::parse(&self.kind);
        if kind.is_none() {
            problems.add(
                "kind",
                "unknown_kind",
                "kind must be rhf, hf, private_nonprofit or national_agency",
            );
        }
        let region = self
            .region_org_number
            .as_deref()
            .and_then(|r| problems.take("region_org_number", OrganisationNumber::parse(r)));
        if let (Some(kind), Some(org_number)) = (kind, &org_number) {
            check_region(kind, org_number, region.as_ref(), register, &mut problems);
        }
        problems
            .finish(|| Organisation {
                org_number: org_number.expect("checked"),
                name,
                kind: kind.expect("checked"),
                region_org_number: region,
                active: self.active,
            })
            .map_err(ServiceError::Invalid)
    }
}

fn check_region(
    kind: OrganisationKind,
    org_number: &OrganisationNumber,
    region: Option<&OrganisationNumber>,
    register: &OrganisationMap,
    problems: &mut Problems,
) {
    match (kind, region) {
        (OrganisationKind::NationalAgency, None) => {}
        (OrganisationKind::NationalAgency, Some(_)) => {
            problems.not_allowed("region_org_number", "for a national agency")
        }
        (OrganisationKind::Rhf, Some(region)) if region == org_number => {}
        (OrganisationKind::Rhf, _) => problems.add(
            "region_org_number",
            "region_mismatch",
            "an RHF is its own region",
        ),
        (_, None) => problems.required("region_org_number"),
        (_, Some(region)) => {
            let is_rhf = register
                .get(region)
                .is_some_and(|r| r.kind == OrganisationKind::Rhf);
            if !is_rhf {
                problems.add(
                    "region_org_number",
                    "unknown_region",
                    "region_org_number must be a regional health authority in the register",
                );
            }
        }
    }
}

const SEED_NAMESPACE: Uuid = Uuid::from_u128(0x51ee_d0e6_7a2b_4c11_8d3f_6e9a_0b1c_2d3e);

impl Registry {
    /// Adds to the register every organisation in `csv_text` (columns org_number, name,
    /// kind, region_org_number) that it does not have yet. Entries already there are left
    /// alone: the register, not the file, is the truth once running. Safe to run
    /// concurrently: each seed event's id derives from the organisation number. A bad row
    /// is named with its line and what is wrong with it, and nothing of the file is added.
    pub async fn seed_organisations(&self, csv_text: &str) -> Result<usize, ServiceError> {
        let organisations = parse_organisation_seed(csv_text)?;
        let present = self.registers.organisations().await?;
        let seeder = Actor::client("seed", Role::Admin, None);
        let mut added = 0;
        for organisation in organisations {
            if present.contains_key(&organisation.org_number) {
                continue;
            }
            let event_id =
                Uuid::new_v5(&SEED_NAMESPACE, organisation.org_number.as_str().as_bytes());
            self.registers
                .register_organisation(organisation, event_id, seeder.metadata(event_id))
                .await?;
            added += 1;
        }
        Ok(added)
    }
}

#[derive(Deserialize)]
struct SeedRow {
    org_number: String,
    name: String,
    kind: String,
    region_org_number: String,
}

/// Every organisation of a seed file, or the first bad row with its line and reason.
pub fn parse_organisation_seed(csv_text: &str) -> Result<Vec<Organisation>, ServiceError> {
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|error| ServiceError::OrganisationSeed {
            line: 1,
            org_number: String::new(),
            reason: error.to_string(),
        })?
        .clone();
    let mut organisations = Vec::new();
    for record in reader.records() {
        let (line, record) = match record {
            Ok(record) => (record.position().map_or(0, |p| p.line()), record),
            Err(error) => {
                return Err(ServiceError::OrganisationSeed {
                    line: error.position().map_or(0, |p| p.line()),
                    org_number: String::new(),
                    reason: error.to_string(),
                })
            }
        };
        let bad = |org_number: &str, reason: String| ServiceError::OrganisationSeed {
            line,
            org_number: org_number.to_string(),
            reason,
        };
        let row: SeedRow = record
            .deserialize(Some(&headers))
            .map_err(|e| bad(record.get(0).unwrap_or_default(), e.to_string()))?;
        let organisation = row
            .to_organisation()
            .map_err(|reason| bad(&row.org_number, reason))?;
        organisations.push(organisation);
    }
    Ok(organisations)
}

impl SeedRow {
    fn to_organisation(&self) -> Result<Organisation, String> {
        let org_number = OrganisationNumber::parse(&self.org_number)
            .map_err(|e| format!("org_number {:?}: {e}", self.org_number))?;
        let kind = OrganisationKind::parse(&self.kind).ok_or_else(|| {
            format!(
                "kind {:?} is not rhf, hf, private_nonprofit or national_agency",
                self.kind
            )
        })?;
        let region_org_number = match self.region_org_number.trim() {
            "" => None,
            region => Some(
                OrganisationNumber::parse(region)
                    .map_err(|e| format!("region_org_number {region:?}: {e}"))?,
            ),
        };
        Ok(Organisation {
            org_number,
            name: self.name.clone(),
            kind,
            region_org_number,
            active: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "org_number,name,kind,region_org_number,region\n";

    #[test]
    fn a_bad_seed_row_is_named_with_its_line_and_reason() {
        let text = format!(
            "{HEADER}983658725,Helse Vest RHF,rhf,983658725,Vest\n983974724,Helse Bergen HF,hospital,983658725,Vest\n"
        );
        let error = parse_organisation_seed(&text).unwrap_err();
        let message = error.to_string();
        assert!(message.contains("line 3"), "{message}");
        assert!(message.contains("983974724"), "{message}");
        assert!(message.contains("hospital"), "{message}");
    }

    #[test]
    fn a_good_seed_file_parses_every_row() {
        let text = format!("{HEADER}983658725,Helse Vest RHF,rhf,983658725,Vest\n");
        let organisations = parse_organisation_seed(&text).unwrap();
        assert_eq!(organisations.len(), 1);
        assert_eq!(organisations[0].kind, OrganisationKind::Rhf);
    }
}
