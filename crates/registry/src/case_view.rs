//! Reading a case back: its current state and its history, for the organisation that
//! reported it (and admins). No identity number is ever stored; pseudonyms are not shown
//! either.

use chrono::{DateTime, Utc};
use domain::case::{case_stream, Case};
use serde::Serialize;
use serde_json::Value;
use store::RecordedEvent;
use uuid::Uuid;

use crate::actor::{Actor, Role};
use crate::codec::decode_all;
use crate::error::ServiceError;
use crate::Registry;

/// One event of a case's history, as shown to its reporter.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HistoryEntry {
    pub position: i64,
    pub stream_version: i64,
    pub event_type: String,
    pub recorded_at: DateTime<Utc>,
    /// The token that wrote the event.
    pub token_id: Option<Uuid>,
    #[schema(value_type = Object)]
    pub payload: Value,
}

impl Registry {
    /// The case as it now stands, with every correction applied, without pseudonyms.
    pub async fn case(&self, actor: &Actor, case_id: Uuid) -> Result<Value, ServiceError> {
        let (case, _) = self.readable_case(actor, case_id).await?;
        let document = serde_json::to_value(&case).expect("a case serialises");
        Ok(without_pseudonyms(document))
    }

    /// The case's events, oldest first, without pseudonyms.
    pub async fn case_history(
        &self,
        actor: &Actor,
        case_id: Uuid,
    ) -> Result<Vec<HistoryEntry>, ServiceError> {
        let (_, events) = self.readable_case(actor, case_id).await?;
        Ok(events.into_iter().map(history_entry).collect())
    }

    /// Loads a case the actor may read: a reporter its own organisation's, an admin any.
    async fn readable_case(
        &self,
        actor: &Actor,
        case_id: Uuid,
    ) -> Result<(Case, Vec<RecordedEvent>), ServiceError> {
        actor.require(&[Role::Reporter, Role::Admin])?;
        let events = self.store.read_stream(&case_stream(case_id)).await?;
        let no_such_case = || ServiceError::NotFound(format!("no case {case_id}"));
        let case = Case::from_events(&decode_all(&events)?).ok_or_else(no_such_case)?;
        // Another organisation's case answers as a missing one: a 403 would tell that it
        // exists, and case ids can be computed from an organisation and a case_ref.
        if actor.role == Role::Reporter
            && actor.require_org(&case.application.deciding_org).is_err()
        {
            return Err(no_such_case());
        }
        Ok((case, events))
    }
}

fn history_entry(event: RecordedEvent) -> HistoryEntry {
    HistoryEntry {
        position: event.position,
        stream_version: event.stream_version,
        event_type: event.event_type,
        recorded_at: event.recorded_at,
        token_id: event
            .metadata
            .get("token_id")
            .and_then(Value::as_str)
            .and_then(|id| Uuid::parse_str(id).ok()),
        payload: without_pseudonyms(event.payload),
    }
}

/// Removes patient pseudonyms from a document before it leaves the registry.
fn without_pseudonyms(mut value: Value) -> Value {
    match &mut value {
        Value::Object(map) => {
            map.remove("pseudonym");
            for child in map.values_mut() {
                *child = without_pseudonyms(child.take());
            }
        }
        Value::Array(items) => {
            for child in items.iter_mut() {
                *child = without_pseudonyms(child.take());
            }
        }
        _ => {}
    }
    value
}
