//! `egress.*` events: their detail (the contract of infra/events/*.schema.json), the EventBridge adapter,
//! and the outbox publisher logic used by `publish-events`.
//!
//! Delivery is at least once. `event_id` is deterministic (`<request_id>/<detail-type>`), so consumers can
//! dedupe retried deliveries.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use serde::Serialize;

use crate::decision::{Effect, Mode, Reason};
use crate::normalize::Target;
use crate::record::RequestRecord;

pub const SOURCE: &str = "egress.gateway";
pub const REQUESTED: &str = "egress.requested";
pub const ALLOWED: &str = "egress.allowed";
pub const BLOCKED: &str = "egress.blocked";
/// PutEvents accepts at most 10 entries per call.
pub const MAX_ENTRIES_PER_PUT: usize = 10;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventDetail {
    pub event_id: String,
    pub request_id: String,
    pub principal: String,
    pub zone: String,
    pub target: Target,
    pub decision: Effect,
    pub policy_decision: Effect,
    pub mode: Mode,
    pub reason: Reason,
    pub rule: Option<String>,
    pub approval_id: Option<String>,
    pub policy_version: Option<String>,
    pub requested_at: String,
}

/// One event ready to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub detail_type: &'static str,
    pub detail: EventDetail,
}

/// The two events of a recorded request, in order: `egress.requested`, then the outcome.
pub fn events_for(record: &RequestRecord) -> [Event; 2] {
    let outcome = match record.decision {
        Effect::Allow => ALLOWED,
        Effect::Deny | Effect::RequireApproval => BLOCKED,
    };
    [REQUESTED, outcome].map(|detail_type| Event {
        detail_type,
        detail: EventDetail {
            event_id: format!("{}/{detail_type}", record.request_id),
            request_id: record.request_id.clone(),
            principal: record.principal.clone(),
            zone: record.zone.clone(),
            target: record.target.clone(),
            decision: record.decision,
            policy_decision: record.policy_decision,
            mode: record.mode,
            reason: record.reason,
            rule: record.rule.clone(),
            approval_id: record.approval_id.clone(),
            policy_version: record.policy_version.clone(),
            requested_at: record.created_at.clone(),
        },
    })
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("event bus unavailable: {0}")]
    Unavailable(String),
}

/// Publishes up to [`MAX_ENTRIES_PER_PUT`] events; returns, per event, whether it was accepted.
#[async_trait]
pub trait EventBus: Send + Sync {
    async fn put(&self, events: &[Event]) -> Result<Vec<bool>, PublishError>;
}

pub struct EventBridgeBus {
    client: aws_sdk_eventbridge::Client,
    bus_name: String,
}

impl EventBridgeBus {
    pub fn new(client: aws_sdk_eventbridge::Client, bus_name: impl Into<String>) -> Self {
        Self {
            client,
            bus_name: bus_name.into(),
        }
    }
}

#[async_trait]
impl EventBus for EventBridgeBus {
    async fn put(&self, events: &[Event]) -> Result<Vec<bool>, PublishError> {
        let mut req = self.client.put_events();
        for e in events {
            let detail = serde_json::to_string(&e.detail).map_err(|err| PublishError::Unavailable(err.to_string()))?;
            req = req.entries(
                PutEventsRequestEntry::builder()
                    .event_bus_name(&self.bus_name)
                    .source(SOURCE)
                    .detail_type(e.detail_type)
                    .detail(detail)
                    .resources(format!("egress:request/{}", e.detail.request_id))
                    .build(),
            );
        }
        let out = req
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

/// Retry policy for entries PutEvents reports as failed (throttling, internal errors).
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub base_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 4,
            base_delay: Duration::from_millis(50),
        }
    }
}

/// Publishes the events of many stream records. Returns, for each record (by index), whether all of its
/// events were accepted. Entries PutEvents rejects (throttling, internal errors) are retried with backoff;
/// a failed call (bus unreachable, timeout) ends the attempt at once and reports the rest as unpublished.
pub async fn publish_records(bus: &dyn EventBus, records: &[Vec<Event>], retry: RetryPolicy) -> Vec<bool> {
    // (record index, event) for every event still to publish, in stream order.
    let mut pending: Vec<(usize, &Event)> = records
        .iter()
        .enumerate()
        .flat_map(|(i, evs)| evs.iter().map(move |e| (i, e)))
        .collect();
    'attempts: for attempt in 0..retry.attempts.max(1) {
        if pending.is_empty() {
            break;
        }
        if attempt > 0 {
            tokio::time::sleep(retry.base_delay * 2u32.saturating_pow(attempt - 1)).await;
        }
        let mut still = Vec::new();
        for (n, chunk) in pending.chunks(MAX_ENTRIES_PER_PUT).enumerate() {
            let batch: Vec<Event> = chunk.iter().map(|(_, e)| (*e).clone()).collect();
            match bus.put(&batch).await {
                Ok(accepted) => {
                    for (ok, item) in accepted.iter().zip(chunk) {
                        if !ok {
                            still.push(*item);
                        }
                    }
                }
                Err(e) => {
                    // The bus itself is unreachable: retrying here only holds the batch (and the shard)
                    // for longer. Report everything unpublished now; the event source retries with backoff.
                    tracing::warn!(error = %e, attempt, entries = chunk.len(), "PutEvents failed; giving the batch back");
                    still.extend(pending.chunks(MAX_ENTRIES_PER_PUT).skip(n).flatten().copied());
                    pending = still;
                    break 'attempts;
                }
            }
        }
        pending = still;
    }
    let mut ok = vec![true; records.len()];
    for (i, _) in pending {
        ok[i] = false;
    }
    ok
}
