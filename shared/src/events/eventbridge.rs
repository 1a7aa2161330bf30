//! [`EventBus`] on EventBridge: one PutEvents call per chunk, per-entry results read back.

use async_trait::async_trait;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;

use super::contract::{Event, SOURCE};
use super::publisher::{EventBus, PublishError};

/// [`EventBus`] on one EventBridge event bus, through the SDK client.
pub struct EventBridgeBus {
    client: aws_sdk_eventbridge::Client,
    bus_name: String,
}

impl EventBridgeBus {
    /// The bus named `bus_name` (a name or ARN), called through `client`.
    pub fn new(client: aws_sdk_eventbridge::Client, bus_name: impl Into<String>) -> Self {
        Self {
            client,
            bus_name: bus_name.into(),
        }
    }
}

/// The PutEvents entry of one event on the bus `bus_name`.
pub fn put_events_entry(bus_name: &str, e: &Event) -> Result<PutEventsRequestEntry, serde_json::Error> {
    Ok(PutEventsRequestEntry::builder()
        .event_bus_name(bus_name)
        .source(SOURCE)
        .detail_type(e.detail_type)
        .detail(serde_json::to_string(&e.detail)?)
        .resources(e.detail.resource())
        .build())
}

#[async_trait]
impl EventBus for EventBridgeBus {
    async fn put(&self, events: &[Event]) -> Result<Vec<bool>, PublishError> {
        let entries = events
            .iter()
            .map(|e| put_events_entry(&self.bus_name, e))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|err| PublishError::Unavailable(err.to_string()))?;
        let out = self
            .client
            .put_events()
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| PublishError::Unavailable(aws_sdk_eventbridge::error::DisplayErrorContext(e).to_string()))?;
        let entries = out.entries();
        // The response lists one result per request entry, in order; a missing one counts as failed.
        Ok((0..events.len())
            .map(|i| {
                entries
                    .get(i)
                    .is_some_and(|r| r.event_id().is_some() && r.error_code().is_none())
            })
            .collect())
    }
}
