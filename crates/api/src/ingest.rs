//! Ingest: runs a case command against the case's stream. Load the stream, fold the case,
//! let the domain decide, append in one transaction. Event ids derive from the client's
//! `report_id`, so a retried report finds its own events and writes nothing.

use std::collections::HashMap;

use domain::case::{case_id_for, case_stream, Case};
use domain::codes::MethodId;
use domain::commands::{handle, Accepted, CaseCommand};
use domain::methods::{method_stream, Method};
use domain::organisation::OrganisationNumber;
use domain::report::{ReportContext, Warning};
use serde_json::{json, Map, Value};
use store::{ExpectedVersion, NewEvent, RecordedEvent, StoreError};
use uuid::Uuid;

use crate::auth::{Caller, Role};
use crate::error::ApiError;
use crate::registers::{decode_all, new_event, OrganisationMap};
use crate::AppState;

/// How often a command is prepared again when the case changed under it.
const CASE_CHANGED_RETRIES: usize = 3;

/// A report writes at most this many events (an application and its decision).
pub const MAX_EVENTS_PER_REPORT: usize = 2;

const REPORT_NAMESPACE: Uuid = Uuid::from_u128(0x2d7b_51c0_8e44_4f7a_a1b9_0c3e_6d5f_7a81);

/// The ids of the events a report writes, derived from its `report_id`.
pub fn report_event_ids(report_id: Uuid) -> [Uuid; MAX_EVENTS_PER_REPORT] {
    std::array::from_fn(|index| {
        Uuid::new_v5(&REPORT_NAMESPACE, format!("{report_id}/{index}").as_bytes())
    })
}

/// The appeal id a report of an appeal creates: the same on every retry.
pub fn appeal_id_for(report_id: Uuid) -> Uuid {
    Uuid::new_v5(&REPORT_NAMESPACE, format!("{report_id}/appeal").as_bytes())
}

/// Where a report landed.
#[derive(Debug, Clone)]
pub struct Written {
    pub case_id: Uuid,
    pub position: i64,
    /// True when the report had been stored before: nothing was written now.
    pub replayed: bool,
    pub warnings: Vec<Warning>,
}

/// A command made ready to append.
pub struct Prepared {
    pub case_id: Uuid,
    pub stream_id: String,
    pub expected: ExpectedVersion,
    pub events: Vec<NewEvent>,
    pub warnings: Vec<Warning>,
    /// This report's events already in the case's stream, if it is a retry.
    pub already_stored: Vec<RecordedEvent>,
}

/// Who wrote an event and in answer to what.
pub fn event_metadata(caller: &Caller, request_id: &str, report_id: Uuid) -> Value {
    json!({
        "actor": caller.role.as_str(),
        "token_id": caller.token_id,
        "org": caller.org.as_ref().map(|o| o.as_str()),
        "request_id": request_id,
        "correlation_id": report_id,
    })
}

/// Everything a command on one case needs from the database, loaded up front.
pub struct Loaded {
    pub streams: HashMap<String, Vec<RecordedEvent>>,
    pub organisations: std::sync::Arc<OrganisationMap>,
    pub methods: HashMap<MethodId, Method>,
}

impl AppState {
    /// Runs one command on one case, retrying when another writer changed the case
    /// between load and append.
    pub async fn run_case_command<'a>(
        &self,
        caller: &Caller,
        request_id: &str,
        report_id: Uuid,
        case_id: Option<Uuid>,
        command: impl Fn() -> CaseCommand<'a>,
    ) -> Result<Written, ApiError> {
        caller.require(&[Role::Reporter])?;
        let mut attempts = 0;
        loop {
            attempts += 1;
            let case_id = case_id.or_else(|| match command() {
                CaseCommand::Report { body, .. } => case_id_in(body),
                _ => None,
            });
            let loaded = self.load(case_id, method_hint(&command()).as_ref()).await?;
            let prepared = self
                .prepare(caller, request_id, report_id, case_id, command(), &loaded)
                .await?;
            match self.write(prepared).await? {
                Some(written) => return Ok(written),
                None if attempts < CASE_CHANGED_RETRIES => continue,
                None => {
                    return Err(ApiError::Conflict(
                        "the case kept changing while this report was processed; send it again"
                            .into(),
                    ))
                }
            }
        }
    }

    /// Every problem the command would meet, without writing anything: for a report that
    /// lacks its report_id, so the reporter hears of all its problems at once.
    pub async fn problems_with<'a>(
        &self,
        caller: &Caller,
        case_id: Option<Uuid>,
        command: impl Fn() -> CaseCommand<'a>,
    ) -> Result<Vec<domain::problems::FieldError>, ApiError> {
        let case_id = case_id.or_else(|| match command() {
            CaseCommand::Report { body, .. } => case_id_in(body),
            _ => None,
        });
        // The method the body names, as for a report with its id: else every report
        // without a report_id would also be told its method is unknown.
        let loaded = self.load(case_id, method_hint(&command()).as_ref()).await?;
        match self
            .prepare(caller, "", Uuid::nil(), case_id, command(), &loaded)
            .await
        {
            Err(ApiError::Invalid(problems)) => Ok(problems),
            _ => Ok(Vec::new()),
        }
    }

    pub async fn load(
        &self,
        case_id: Option<Uuid>,
        method: Option<&MethodId>,
    ) -> Result<Loaded, ApiError> {
        let mut streams: Vec<String> = case_id.map(case_stream).into_iter().collect();
        streams.extend(method.map(method_stream));
        self.load_streams(streams).await
    }

    /// Loads the given case and method streams, with the organisation register.
    pub async fn load_streams(&self, streams: Vec<String>) -> Result<Loaded, ApiError> {
        let mut loaded = Loaded {
            streams: self.store.read_streams(&streams).await?,
            organisations: self.registers.organisations().await?,
            methods: HashMap::new(),
        };
        for events in loaded.streams.values() {
            if let Some(method) = Method::from_events(&decode_all(events)?) {
                loaded.methods.insert(method.method_id.clone(), method);
            }
        }
        Ok(loaded)
    }

    /// Folds the case as it stood before this report, checks the caller may touch it, and
    /// lets the domain turn the command into events.
    pub async fn prepare(
        &self,
        caller: &Caller,
        request_id: &str,
        report_id: Uuid,
        case_id: Option<Uuid>,
        command: CaseCommand<'_>,
        loaded: &Loaded,
    ) -> Result<Prepared, ApiError> {
        let own_ids = report_event_ids(report_id);
        let stream_events = case_id
            .and_then(|id| loaded.streams.get(&case_stream(id)))
            .map(Vec::as_slice)
            .unwrap_or_default();
        let before_report = stream_events
            .iter()
            .position(|e| own_ids.contains(&e.event_id))
            .unwrap_or(stream_events.len());
        let (prior, already_stored) = stream_events.split_at(before_report);
        let case = Case::from_events(&decode_all(prior)?);
        match (&case, &command) {
            (Some(case), _) => caller.require_org(&case.application.deciding_org)?,
            (None, CaseCommand::Report { body, .. }) => {
                if let Some(org) = org_in(body) {
                    caller.require_org(&org)?;
                }
            }
            (None, _) => {}
        }
        let mut methods = loaded.methods.clone();
        if let Some(case) = &case {
            if !methods.contains_key(&case.application.method_id) {
                methods.extend(
                    self.registers
                        .methods(std::slice::from_ref(&case.application.method_id))
                        .await?,
                );
            }
        }
        let context = ReportContext {
            today: chrono::Utc::now().date_naive(),
            pseudonym_key: &self.config.pseudonym_key,
            accept_synthetic_identity_numbers: self.config.accept_synthetic_identity_numbers,
            organisations: &loaded.organisations,
            methods: &methods,
        };
        let accepted = handle(case.as_ref(), command, &context)?;
        if let Some(org) = org_of_new_case(&accepted) {
            caller.require_org(&org)?;
        }
        Ok(self.to_prepared(
            accepted,
            prior,
            already_stored,
            caller,
            request_id,
            report_id,
        ))
    }

    fn to_prepared(
        &self,
        accepted: Accepted,
        prior: &[RecordedEvent],
        already_stored: &[RecordedEvent],
        caller: &Caller,
        request_id: &str,
        report_id: Uuid,
    ) -> Prepared {
        let metadata = event_metadata(caller, request_id, report_id);
        let events = accepted
            .events
            .iter()
            .zip(report_event_ids(report_id))
            .map(|(event, event_id)| new_event(event, event_id, metadata.clone()))
            .collect();
        let expected = match prior.last() {
            Some(last) => ExpectedVersion::Exact(last.stream_version),
            None => ExpectedVersion::NoStream,
        };
        Prepared {
            case_id: accepted.case_id,
            stream_id: case_stream(accepted.case_id),
            expected,
            events,
            warnings: accepted.warnings,
            already_stored: already_stored.to_vec(),
        }
    }

    /// Appends a prepared command; a retry of a stored report writes nothing. None when
    /// another writer changed the case since it was loaded: prepare it again.
    pub async fn write(&self, prepared: Prepared) -> Result<Option<Written>, ApiError> {
        let appended = self
            .store
            .append(&prepared.stream_id, prepared.expected, &prepared.events)
            .await;
        match appended {
            Ok(result) => {
                if !result.replayed {
                    self.metrics.events_appended(prepared.events.len());
                }
                Ok(Some(Written {
                    case_id: prepared.case_id,
                    position: *result.positions.last().expect("one position per event"),
                    replayed: result.replayed,
                    warnings: prepared.warnings,
                }))
            }
            Err(StoreError::WrongExpectedVersion { .. })
                if prepared.expected == ExpectedVersion::NoStream =>
            {
                Err(ApiError::Conflict(
                    "a case with this case_ref is already reported by this organisation".into(),
                ))
            }
            Err(StoreError::WrongExpectedVersion { .. }) => Ok(None),
            Err(error) => Err(error.into()),
        }
    }
}

fn org_of_new_case(accepted: &Accepted) -> Option<OrganisationNumber> {
    accepted.events.iter().find_map(|event| match event {
        domain::events::RegistryEvent::CaseReceived { application, .. } => {
            Some(application.deciding_org.clone())
        }
        _ => None,
    })
}

/// The deciding organisation a body names, if it names a valid one.
pub fn org_in(body: &Map<String, Value>) -> Option<OrganisationNumber> {
    OrganisationNumber::parse(body.get("deciding_org")?.as_str()?).ok()
}

/// The case a report body is about, if it names one.
pub fn case_id_in(body: &Map<String, Value>) -> Option<Uuid> {
    let case_ref = body.get("case_ref")?.as_str()?;
    Some(case_id_for(&org_in(body)?, case_ref))
}

/// The method a new case or a correction names, to load with the case.
fn method_hint(command: &CaseCommand<'_>) -> Option<MethodId> {
    match command {
        CaseCommand::Report { body, .. } => method_in(body),
        CaseCommand::Correct { changes, .. } => method_in(changes),
        _ => None,
    }
}

pub fn method_in(body: &Map<String, Value>) -> Option<MethodId> {
    MethodId::parse(body.get("method_id")?.as_str()?).ok()
}
