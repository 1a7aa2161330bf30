//! The outbox publisher: DynamoDB stream records of requests and approvals -> `egress.*` events.
//!
//! Partial-batch reporting: a record is reported failed (by sequence number) unless every one of its
//! events was accepted, so the event source retries only what is unpublished. A record that cannot be
//! decoded is reported failed too: in AWS it reaches the on-failure queue after the bounded retries,
//! rather than being dropped silently.

use aws_lambda_events::event::dynamodb::{Event as StreamEvent, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};

use crate::metrics;
use crate::store::keys::{ApprovalItem, SlotItem};
use crate::{
    approval::{ApprovalRecord, ApprovalSlot, ApprovalState, SlotState},
    events::{approval_event, events_for, publish_records, Event, EventBus, RetryPolicy},
    store::{RequestItem, KIND_APPROVAL, KIND_APPROVAL_SLOT, KIND_REQUEST},
};

enum Decoded {
    /// Not an outbox entry (an idempotency claim, a counter, a replay count, a grant being used, a slot a
    /// decision freed): acknowledged.
    Skip,
    Publish(Vec<Event>),
    Corrupt(String),
}

/// The `kind` of a stream image.
fn kind(image: &serde_dynamo::Item) -> Option<&str> {
    match image.get("kind") {
        Some(serde_dynamo::AttributeValue::S(k)) => Some(k),
        _ => None,
    }
}

/// A deletion DynamoDB's TTL made (not ours): the stream record names the service as its user.
fn deleted_by_ttl(record: &EventRecord) -> bool {
    record
        .user_identity
        .as_ref()
        .is_some_and(|u| u.type_ == "Service" && u.principal_id == "dynamodb.amazonaws.com")
}

fn slot(image: &serde_dynamo::Item) -> Result<ApprovalSlot, String> {
    serde_dynamo::from_item::<_, SlotItem>(image.clone())
        .map(|i| i.slot)
        .map_err(|e| e.to_string())
}

/// The events of one stream record, from the images the table's NEW_AND_OLD_IMAGES stream carries:
/// - a request INSERT: `egress.requested` and its outcome;
/// - an approval MODIFY from pending to granted or denied: `egress.approval.granted|denied`;
/// - a pending approval's slot that TTL deleted, or that a new approval replaced after it expired:
///   `egress.approval.expired` (a decision rewrites or deletes the slot itself, and emits no expiry).
fn decode(record: &EventRecord) -> Decoded {
    let (old, new) = (&record.change.old_image, &record.change.new_image);
    let outcome = match (record.event_name.as_str(), kind(new).or(kind(old))) {
        ("INSERT", Some(KIND_REQUEST)) => serde_dynamo::from_item::<_, RequestItem>(new.clone())
            .map(|item| events_for(&item.record).to_vec())
            .map_err(|e| e.to_string()),
        ("MODIFY", Some(KIND_APPROVAL)) => {
            let state = |image: &serde_dynamo::Item| match image.get("state") {
                Some(serde_dynamo::AttributeValue::S(s)) => s.clone(),
                _ => String::new(),
            };
            if state(old) != ApprovalState::Pending.as_str() || state(new) == ApprovalState::Pending.as_str() {
                return Decoded::Skip;
            }
            serde_dynamo::from_item::<_, ApprovalItem>(new.clone())
                .map(|item| approval_event(&item.approval).into_iter().collect())
                .map_err(|e| e.to_string())
        }
        ("REMOVE", Some(KIND_APPROVAL_SLOT)) if deleted_by_ttl(record) => slot(old).map(expired),
        ("MODIFY", Some(KIND_APPROVAL_SLOT)) => match (slot(old), slot(new)) {
            (Ok(before), Ok(after)) if before.approval_id != after.approval_id => Ok(expired(before)),
            (Ok(_), Ok(_)) => Ok(Vec::new()),
            (Err(e), _) | (_, Err(e)) => Err(e),
        },
        _ => return Decoded::Skip,
    };
    match outcome {
        Ok(events) if events.is_empty() => Decoded::Skip,
        Ok(events) => Decoded::Publish(events),
        Err(e) => Decoded::Corrupt(e),
    }
}

/// The events of one stream record (none for records that are not outbox entries); `Err` when the record
/// cannot be decoded. What the publisher sends, for a redrive that re-reads the stream.
pub fn events_of_record(record: &EventRecord) -> Result<Vec<Event>, String> {
    match decode(record) {
        Decoded::Skip => Ok(Vec::new()),
        Decoded::Publish(events) => Ok(events),
        Decoded::Corrupt(e) => Err(e),
    }
}

/// The expiry event of the approval a slot held while pending (a granted slot expiring is a grant
/// running out, not an approval transition: no event).
fn expired(slot: ApprovalSlot) -> Vec<Event> {
    if slot.state != SlotState::Pending {
        return Vec::new();
    }
    let approval = ApprovalRecord {
        state: ApprovalState::Expired,
        ..slot.approval
    };
    approval_event(&approval).into_iter().collect()
}

/// The outbox Lambda's handler: publishes the events of a stream batch and reports, as batch item
/// failures (by sequence number), every record not wholly published or not decodable.
pub async fn handle_stream_event(bus: &dyn EventBus, event: &StreamEvent, retry: RetryPolicy) -> DynamoDbEventResponse {
    let mut to_publish: Vec<Vec<Event>> = Vec::with_capacity(event.records.len());
    let mut failed_ids: Vec<Option<String>> = Vec::new();
    let mut index_of_publish: Vec<Option<usize>> = Vec::with_capacity(event.records.len());
    for record in &event.records {
        match decode(record) {
            Decoded::Skip => index_of_publish.push(None),
            Decoded::Publish(evs) => {
                index_of_publish.push(Some(to_publish.len()));
                to_publish.push(evs);
            }
            Decoded::Corrupt(err) => {
                tracing::error!(event_id = %record.event_id, error = %err, "undecodable request record");
                index_of_publish.push(None);
                failed_ids.push(record.change.sequence_number.clone());
            }
        }
    }
    let published = publish_records(bus, &to_publish, retry).await;
    for (record, idx) in event.records.iter().zip(&index_of_publish) {
        if let Some(i) = idx {
            if !published[*i] {
                failed_ids.push(record.change.sequence_number.clone());
            }
        }
    }
    let published_count = published.iter().filter(|ok| **ok).count();
    let events = |ok: bool| -> u64 {
        to_publish
            .iter()
            .zip(&published)
            .filter(|(_, p)| **p == ok)
            .map(|(evs, _)| evs.len() as u64)
            .sum()
    };
    metrics::published(events(true), events(false));
    tracing::info!(
        records = event.records.len(),
        published = published_count,
        failed = failed_ids.len(),
        "stream batch processed"
    );
    let mut response = DynamoDbEventResponse::default();
    response.batch_item_failures = failed_ids
        .into_iter()
        .map(|id| {
            let mut f = DynamoDbBatchItemFailure::default();
            f.item_identifier = id;
            f
        })
        .collect();
    response
}
