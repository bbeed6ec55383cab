//! The registry's events: the API of the past. Names are in the past tense; every event has
//! a type and a schema version, and is never changed once written. A new shape is a new
//! schema version plus an upcaster in `RegistryEvent::from_stored`.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::case::{AppealOutcome, Application, CorrectionReason, Decision, RetractionReason};
use crate::codes::{CountyNumber, MethodId};
use crate::identity::Sex;
use crate::methods::{MethodDescription, MethodStatus};
use crate::organisation_register::Organisation;
use crate::research::{Delivery, ProjectId, ProjectTerms};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event_type", content = "payload")]
pub enum RegistryEvent {
    /// An application was reported (with or without its decision).
    CaseReceived {
        case_id: Uuid,
        application: Application,
    },
    /// The decision on a case was reported.
    DecisionReported { case_id: Uuid, decision: Decision },
    /// Part of a case was corrected; carries the whole case as it now stands, and the
    /// names of the fields that changed.
    CaseCorrected {
        case_id: Uuid,
        reason: CorrectionReason,
        changed_fields: Vec<String>,
        application: Application,
        decision: Option<Decision>,
    },
    /// The case was reported in error: it leaves every statistic.
    CaseRetracted {
        case_id: Uuid,
        reason: RetractionReason,
    },
    AppealLodged {
        case_id: Uuid,
        appeal_id: Uuid,
        lodged_date: NaiveDate,
    },
    AppealDecided {
        case_id: Uuid,
        appeal_id: Uuid,
        decided_date: NaiveDate,
        outcome: AppealOutcome,
    },
    /// A method's name, substances and indication were described (or described anew).
    MethodDescribed {
        method_id: MethodId,
        description: MethodDescription,
    },
    /// Beslutningsforum (or Bestillerforum) changed a method's status.
    MethodStatusChanged {
        method_id: MethodId,
        status: MethodStatus,
        decision_date: NaiveDate,
        effective_from: Option<NaiveDate>,
    },
    /// An organisation was added to the register, or its entry changed (trusts merge).
    OrganisationRegistered { organisation: Organisation },
    /// Residents per county for a year were imported (Statistics Norway, table 07459).
    /// Replaces any earlier import for the same year.
    PopulationImported {
        year: i32,
        counties: Vec<CountyPopulation>,
    },
    /// A research project was approved for extracts (admin).
    ResearchProjectApproved {
        project_id: ProjectId,
        terms: ProjectTerms,
    },
    /// A project's terms changed; carries the whole terms as they now stand.
    ResearchProjectChanged {
        project_id: ProjectId,
        terms: ProjectTerms,
    },
    /// A project ended: it receives no more extracts, and its pseudonym key is destroyed.
    ResearchProjectEnded {
        project_id: ProjectId,
        ended_on: NaiveDate,
    },
    /// An extract was delivered to a project (appended before its last byte is sent).
    ExtractDelivered {
        project_id: ProjectId,
        delivery: Delivery,
    },
}

/// The residents of one county in one year.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountyPopulation {
    pub county_number: CountyNumber,
    /// All residents; the sum of `strata` when they are given.
    pub population: u64,
    /// Residents by age band and sex, when the import carries them (every band of
    /// `case::AGE_BANDS` for each sex), for age- and sex-standardised rates. Imports
    /// before these existed have none, and read as county totals.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub strata: Vec<PopulationStratum>,
}

/// The residents of one age band and sex in a county.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PopulationStratum {
    /// One of `case::AGE_BANDS`.
    pub age_band: String,
    pub sex: Sex,
    pub population: u64,
}

/// The stream that holds a year's population imports.
pub fn population_stream(year: i32) -> String {
    format!("population-{year}")
}

/// Whether an event of this type states the whole of what its stream says, so that a
/// later event of the same type in the same stream replaces it entirely: a population
/// import for a year, an organisation's register entry. A reader that cannot apply such an
/// event may pass over it once a later one exists, and end where it would have.
pub fn replaces_earlier_events_of_its_stream(event_type: &str) -> bool {
    matches!(event_type, "PopulationImported" | "OrganisationRegistered")
}

/// The current schema version of every event type.
pub const SCHEMA_VERSION: i32 = 1;

#[derive(Debug, thiserror::Error)]
#[error("cannot read stored event {event_type} v{schema_version}: {reason}")]
pub struct UnreadableEvent {
    pub event_type: String,
    pub schema_version: i32,
    pub reason: String,
}

impl RegistryEvent {
    /// The event's type name, as stored.
    pub fn event_type(&self) -> &'static str {
        match self {
            RegistryEvent::CaseReceived { .. } => "CaseReceived",
            RegistryEvent::DecisionReported { .. } => "DecisionReported",
            RegistryEvent::CaseCorrected { .. } => "CaseCorrected",
            RegistryEvent::CaseRetracted { .. } => "CaseRetracted",
            RegistryEvent::AppealLodged { .. } => "AppealLodged",
            RegistryEvent::AppealDecided { .. } => "AppealDecided",
            RegistryEvent::MethodDescribed { .. } => "MethodDescribed",
            RegistryEvent::MethodStatusChanged { .. } => "MethodStatusChanged",
            RegistryEvent::OrganisationRegistered { .. } => "OrganisationRegistered",
            RegistryEvent::PopulationImported { .. } => "PopulationImported",
            RegistryEvent::ResearchProjectApproved { .. } => "ResearchProjectApproved",
            RegistryEvent::ResearchProjectChanged { .. } => "ResearchProjectChanged",
            RegistryEvent::ResearchProjectEnded { .. } => "ResearchProjectEnded",
            RegistryEvent::ExtractDelivered { .. } => "ExtractDelivered",
        }
    }

    /// The payload as stored: the event without its type tag.
    pub fn payload(&self) -> Value {
        let mut tagged = serde_json::to_value(self).expect("events serialise to JSON");
        tagged
            .get_mut("payload")
            .map(Value::take)
            .expect("adjacently tagged events have a payload")
    }

    /// Reads a stored event, upcasting older schema versions.
    pub fn from_stored(
        event_type: &str,
        schema_version: i32,
        payload: &Value,
    ) -> Result<RegistryEvent, UnreadableEvent> {
        RegistryEvent::from_stored_owned(event_type, schema_version, payload.clone())
    }

    /// `from_stored` from the payload's JSON text, without building a JSON tree first.
    pub fn from_stored_text(
        event_type: &str,
        schema_version: i32,
        payload: &str,
    ) -> Result<RegistryEvent, UnreadableEvent> {
        let unreadable = unreadable_as(event_type, schema_version)?;
        let tag = serde_json::to_string(event_type).map_err(|e| unreadable(e.to_string()))?;
        let tagged = format!(r#"{{"event_type":{tag},"payload":{payload}}}"#);
        serde_json::from_str(&tagged).map_err(|e| unreadable(e.to_string()))
    }

    /// `from_stored` without copying the payload, for readers that are done with it.
    pub fn from_stored_owned(
        event_type: &str,
        schema_version: i32,
        payload: Value,
    ) -> Result<RegistryEvent, UnreadableEvent> {
        let unreadable = unreadable_as(event_type, schema_version)?;
        let tagged = serde_json::json!({ "event_type": event_type, "payload": payload });
        serde_json::from_value(tagged).map_err(|e| unreadable(e.to_string()))
    }
}

/// How to say why an event of this type and version cannot be read; an error at once when
/// no reader knows its schema version.
fn unreadable_as(
    event_type: &str,
    schema_version: i32,
) -> Result<impl Fn(String) -> UnreadableEvent + '_, UnreadableEvent> {
    let unreadable = move |reason: String| UnreadableEvent {
        event_type: event_type.to_string(),
        schema_version,
        reason,
    };
    if schema_version != SCHEMA_VERSION {
        return Err(unreadable("no upcaster for this schema version".into()));
    }
    Ok(unreadable)
}
