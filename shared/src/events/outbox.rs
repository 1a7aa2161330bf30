//! The outbox publisher: DynamoDB stream records of request items -> `egress.*` events.
//!
//! Partial-batch reporting: a record is reported failed (by sequence number) unless every one of its
//! events was accepted, so the event source retries only what is unpublished. A record that cannot be
//! decoded is reported failed too: in AWS it reaches the on-failure queue after the bounded retries,
//! rather than being dropped silently.

use aws_lambda_events::event::dynamodb::{Event as StreamEvent, EventRecord};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};

use crate::{events_for, publish_records, Event, EventBus, RequestItem, RetryPolicy, KIND_REQUEST};

enum Decoded {
    /// Not ours to publish (a MODIFY, an idempotency item, a TTL delete): acknowledged.
    Skip,
    Publish(Vec<Event>),
    Corrupt(String),
}

fn decode(record: &EventRecord) -> Decoded {
    if record.event_name != "INSERT" {
        return Decoded::Skip;
    }
    let image = &record.change.new_image;
    let is_request = matches!(image.get("kind"), Some(serde_dynamo::AttributeValue::S(k)) if k == KIND_REQUEST);
    if !is_request {
        return Decoded::Skip;
    }
    match serde_dynamo::from_item::<_, RequestItem>(image.clone()) {
        Ok(item) => Decoded::Publish(events_for(&item.record).to_vec()),
        Err(e) => Decoded::Corrupt(e.to_string()),
    }
}

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
