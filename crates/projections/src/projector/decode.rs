//! Events as the projections read them: decoded from the store's text, each with when it
//! was recorded.

use chrono::{DateTime, Utc};
use domain::events::RegistryEvent;
use store::EventText;

use crate::error::ProjectionError;

pub(super) fn decode(event: &EventText) -> Result<RegistryEvent, ProjectionError> {
    Ok(RegistryEvent::from_stored_text(
        &event.event_type,
        event.schema_version,
        &event.payload,
    )?)
}

/// Events decoded, each with when it was recorded.
pub(crate) type Decoded = Vec<(RegistryEvent, DateTime<Utc>)>;

pub(crate) fn decode_all(events: &[EventText]) -> Result<Decoded, ProjectionError> {
    events
        .iter()
        .map(|e| decode(e).map(|d| (d, e.recorded_at)))
        .collect()
}
