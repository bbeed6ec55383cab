//! The registry's events as the store keeps them. The encoding itself is the domain's
//! (`RegistryEvent::event_type`, `payload` and `from_stored`, at `SCHEMA_VERSION`); the
//! projector decodes through the same functions. This module only adapts store records.

use domain::events::{RegistryEvent, SCHEMA_VERSION};
use serde_json::Value;
use store::{NewEvent, RecordedEvent};
use uuid::Uuid;

use crate::error::ServiceError;

/// Reads a stored event as a registry event.
pub fn decode(event: &RecordedEvent) -> Result<RegistryEvent, ServiceError> {
    RegistryEvent::from_stored(&event.event_type, event.schema_version, &event.payload).map_err(
        |cause| ServiceError::UnreadableEvent {
            position: event.position,
            cause,
        },
    )
}

pub fn decode_all(events: &[RecordedEvent]) -> Result<Vec<RegistryEvent>, ServiceError> {
    events.iter().map(decode).collect()
}

/// A registry event as the store takes it: its type, the current schema version, and the
/// event without its type as payload.
pub fn new_event(event: &RegistryEvent, event_id: Uuid, metadata: Value) -> NewEvent {
    NewEvent {
        event_id,
        event_type: event.event_type().to_string(),
        schema_version: SCHEMA_VERSION,
        payload: event.payload(),
        metadata,
    }
}
