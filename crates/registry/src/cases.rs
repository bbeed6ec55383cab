//! The case service: reports, decisions, corrections, retractions and appeals. Each runs
//! one domain command against the case's stream: load the stream, fold the case, scope the
//! actor to it, let the domain decide, append in one transaction, and prepare again when
//! another writer changed the case in between. Event ids derive from the client's
//! `report_id`, so a retried report finds its own events and writes nothing.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::NaiveDate;
use domain::case::{case_stream, AppealOutcome, Case, CorrectionReason, RetractionReason};
use domain::codes::MethodId;
use domain::commands::{handle, Accepted, CaseCommand, Subject};
use domain::methods::{method_stream, Method};
use domain::problems::FieldError;
use domain::report::{ReportContext, Warning};
use serde_json::{Map, Value};
use store::{ExpectedVersion, NewEvent, RecordedEvent, StoreError};
use uuid::Uuid;

use crate::actor::{Actor, Role};
use crate::codec::{decode_all, new_event};
use crate::error::ServiceError;
use crate::registers::OrganisationMap;
use crate::Registry;

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
    pub report_id: Uuid,
    /// The appeal a report of an appeal, or of its decision, is about.
    pub appeal_id: Option<Uuid>,
    /// The global position of the last event the report wrote.
    pub position: i64,
    /// Where in the global order the report's last event stands.
    pub checkpoint: store::Checkpoint,
    /// True when the report had been stored before: nothing was written now.
    pub replayed: bool,
    pub warnings: Vec<Warning>,
}

/// A command made ready to append.
pub(crate) struct Prepared {
    pub case_id: Uuid,
    pub stream_id: String,
    pub expected: ExpectedVersion,
    pub events: Vec<NewEvent>,
    pub warnings: Vec<Warning>,
    /// This report's events already in the case's stream, if it is a retry.
    pub already_stored: Vec<RecordedEvent>,
}

/// Everything commands on some cases need from the database, loaded up front.
pub(crate) struct Loaded {
    pub streams: HashMap<String, Vec<RecordedEvent>>,
    pub organisations: Arc<OrganisationMap>,
    pub methods: HashMap<MethodId, Method>,
}

/// A report's idempotency key as the body gave it: a uuid, or what is wrong with it.
pub type ReportId = Result<Uuid, Vec<FieldError>>;

/// The `report_id` of a report body.
pub fn report_id_in(body: &Map<String, Value>) -> ReportId {
    let problem = |code: &str, message: &str| {
        vec![FieldError {
            field: "report_id".into(),
            code: code.into(),
            message: message.into(),
        }]
    };
    match body.get("report_id") {
        None | Some(Value::Null) => Err(problem(
            "required",
            "report_id (a uuid chosen by the reporting system) is required",
        )),
        Some(value) => value
            .as_str()
            .and_then(|text| Uuid::parse_str(text).ok())
            .ok_or_else(|| problem("uuid_format", "report_id must be a uuid")),
    }
}

impl Registry {
    /// Reports a new case, with its decision when `with_decision`.
    pub async fn report_case(
        &self,
        actor: &Actor,
        body: &Map<String, Value>,
        with_decision: bool,
    ) -> Result<Written, ServiceError> {
        let command = || CaseCommand::Report {
            body,
            with_decision,
        };
        self.run(actor, report_id_in(body), None, None, command)
            .await
    }

    /// Reports the decision on a case reported without one.
    pub async fn report_decision(
        &self,
        actor: &Actor,
        case_id: Uuid,
        body: &Map<String, Value>,
    ) -> Result<Written, ServiceError> {
        let command = || CaseCommand::ReportDecision { body };
        self.run(actor, report_id_in(body), Some(case_id), None, command)
            .await
    }

    /// Corrects a case; it is validated again as it would stand.
    pub async fn correct_case(
        &self,
        actor: &Actor,
        case_id: Uuid,
        report_id: Uuid,
        changes: &Map<String, Value>,
        reason: CorrectionReason,
    ) -> Result<Written, ServiceError> {
        let command = || CaseCommand::Correct { changes, reason };
        self.run(actor, Ok(report_id), Some(case_id), None, command)
            .await
    }

    /// Retracts a case reported in error.
    pub async fn retract_case(
        &self,
        actor: &Actor,
        case_id: Uuid,
        report_id: Uuid,
        reason: RetractionReason,
    ) -> Result<Written, ServiceError> {
        let command = || CaseCommand::Retract { reason };
        self.run(actor, Ok(report_id), Some(case_id), None, command)
            .await
    }

    /// Lodges an appeal; its id derives from the report's, so a retry finds the same one.
    pub async fn lodge_appeal(
        &self,
        actor: &Actor,
        case_id: Uuid,
        report_id: Uuid,
        lodged_date: NaiveDate,
    ) -> Result<Written, ServiceError> {
        let appeal_id = appeal_id_for(report_id);
        let command = || CaseCommand::LodgeAppeal {
            appeal_id,
            lodged_date,
        };
        self.run(
            actor,
            Ok(report_id),
            Some(case_id),
            Some(appeal_id),
            command,
        )
        .await
    }

    /// Reports the outcome of an appeal.
    pub async fn decide_appeal(
        &self,
        actor: &Actor,
        case_id: Uuid,
        appeal_id: Uuid,
        report_id: Uuid,
        decided_date: NaiveDate,
        outcome: AppealOutcome,
    ) -> Result<Written, ServiceError> {
        let command = || CaseCommand::DecideAppeal {
            appeal_id,
            decided_date,
            outcome,
        };
        self.run(
            actor,
            Ok(report_id),
            Some(case_id),
            Some(appeal_id),
            command,
        )
        .await
    }

    /// Runs one command on one case, retrying when another writer changed the case
    /// between load and append. A report without a usable report_id still goes through
    /// the validation, so the reporter hears of every problem at once; it writes nothing.
    async fn run<'a>(
        &self,
        actor: &Actor,
        report_id: ReportId,
        case_id: Option<Uuid>,
        appeal_id: Option<Uuid>,
        command: impl Fn() -> CaseCommand<'a>,
    ) -> Result<Written, ServiceError> {
        actor.require(&[Role::Reporter])?;
        for _ in 0..CASE_CHANGED_RETRIES {
            let subject = command().subject();
            let case_id = case_id.or(subject.case_id);
            let loaded = self.load_case(case_id, subject.method_id.as_ref()).await?;
            let id = *report_id.as_ref().unwrap_or(&Uuid::nil());
            let prepared = self.prepare(actor, id, case_id, &subject, command(), &loaded);
            let prepared = match (&report_id, prepared.await) {
                (Ok(_), prepared) => prepared?,
                (Err(problems), Err(ServiceError::Invalid(more))) => {
                    return Err(ServiceError::Invalid([problems.clone(), more].concat()))
                }
                (Err(problems), _) => return Err(ServiceError::Invalid(problems.clone())),
            };
            if let Some(mut written) = self.write(prepared).await? {
                written.report_id = id;
                written.appeal_id = appeal_id;
                return Ok(written);
            }
        }
        Err(ServiceError::Conflict(
            "the case kept changing while this report was processed; send it again".into(),
        ))
    }

    async fn load_case(
        &self,
        case_id: Option<Uuid>,
        method: Option<&MethodId>,
    ) -> Result<Loaded, ServiceError> {
        let mut streams: Vec<String> = case_id.map(case_stream).into_iter().collect();
        streams.extend(method.map(method_stream));
        self.load_streams(streams).await
    }

    /// Loads the given case and method streams, with the organisation register.
    pub(crate) async fn load_streams(&self, streams: Vec<String>) -> Result<Loaded, ServiceError> {
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

    /// Folds the case as it stood before this report, scopes the actor to it, and lets the
    /// domain turn the command into events.
    pub(crate) async fn prepare(
        &self,
        actor: &Actor,
        report_id: Uuid,
        case_id: Option<Uuid>,
        subject: &Subject,
        command: CaseCommand<'_>,
        loaded: &Loaded,
    ) -> Result<Prepared, ServiceError> {
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
        scope(actor, case.as_ref(), subject)?;
        let methods = self.methods_for(loaded, case.as_ref()).await?;
        let context = ReportContext {
            today: chrono::Utc::now().date_naive(),
            pseudonym_key: &self.settings.pseudonym_key,
            accept_synthetic_identity_numbers: self.settings.accept_synthetic_identity_numbers,
            organisations: &loaded.organisations,
            methods: &methods,
        };
        let accepted = handle(case.as_ref(), command, &context)?;
        Ok(to_prepared(
            accepted,
            prior,
            already_stored,
            actor,
            report_id,
        ))
    }

    /// The methods loaded for the command, and the method of the case if not among them.
    async fn methods_for(
        &self,
        loaded: &Loaded,
        case: Option<&Case>,
    ) -> Result<HashMap<MethodId, Method>, ServiceError> {
        let mut methods = loaded.methods.clone();
        if let Some(case) = case {
            let method_id = &case.application.method_id;
            if !methods.contains_key(method_id) {
                methods.extend(
                    self.registers
                        .methods(std::slice::from_ref(method_id))
                        .await?,
                );
            }
        }
        Ok(methods)
    }

    /// Appends a prepared command; a retry of a stored report writes nothing. None when
    /// another writer changed the case since it was loaded: prepare it again.
    pub(crate) async fn write(&self, prepared: Prepared) -> Result<Option<Written>, ServiceError> {
        let appended = self
            .store
            .append(&prepared.stream_id, prepared.expected, &prepared.events)
            .await;
        match appended {
            Ok(result) => {
                if !result.replayed {
                    self.count_appended(prepared.events.len());
                }
                Ok(Some(Written {
                    case_id: prepared.case_id,
                    report_id: Uuid::nil(),
                    appeal_id: None,
                    position: *result.positions.last().expect("one position per event"),
                    checkpoint: result.checkpoint,
                    replayed: result.replayed,
                    warnings: prepared.warnings,
                }))
            }
            Err(StoreError::WrongExpectedVersion { .. })
                if prepared.expected == ExpectedVersion::NoStream =>
            {
                Err(ServiceError::Conflict(
                    "a case with this case_ref is already reported by this organisation".into(),
                ))
            }
            Err(StoreError::WrongExpectedVersion { .. }) => Ok(None),
            Err(error) => Err(error.into()),
        }
    }
}

/// The one scoping rule of a command: a reporter touches only cases its organisation
/// decides, the case's own when it exists, else the one its body names. (A body that names
/// no valid organisation fails validation instead.)
/// The actor may write to the case: it decides for the organisation of the case, or of
/// the report when the case is new. Another organisation's existing case answers as a
/// missing one (404), so that a reporter cannot learn which cases exist elsewhere.
/// A report naming another organisation is refused (403) whether or not its case exists.
fn scope(actor: &Actor, case: Option<&Case>, subject: &Subject) -> Result<(), ServiceError> {
    if let Some(org) = &subject.deciding_org {
        actor.require_org(org)?;
    }
    match case {
        Some(case) => actor
            .require_org(&case.application.deciding_org)
            .map_err(|_| ServiceError::NotFound("no such case".into())),
        None => Ok(()),
    }
}

fn to_prepared(
    accepted: Accepted,
    prior: &[RecordedEvent],
    already_stored: &[RecordedEvent],
    actor: &Actor,
    report_id: Uuid,
) -> Prepared {
    let metadata = actor.metadata(report_id);
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
