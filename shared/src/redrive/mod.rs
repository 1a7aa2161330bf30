//! Redrive of the publisher's on-failure queue: the events of a failed stream batch, found again and
//! re-published. The batch's own records come from its failure object's payload (the S3 destination)
//! or, for a record without one, are read again from the stream while it keeps them (24 h); they also
//! carry the approval transitions (decisions, expiries) that no index orders by time. Requests are read
//! back from the table on the time index over the batch's window as well. Event ids are deterministic,
//! so consumers that dedupe on `event_id` see nothing new, however often a window is redriven.

mod batch;
mod notice;
mod stream;

use std::collections::BTreeMap;

use aws_lambda_events::event::dynamodb::Event as StreamEvent;

pub use batch::FailedBatch;
pub use notice::FailureNotice;

use crate::{
    api::MAX_LIMIT,
    events::{events_for, publish_records, Event, EventBus, RetryPolicy},
    store::{ListQuery, RequestStore, StoreError},
};

/// Why a failure notice could not be redriven (the message stays in the queue).
#[derive(Debug, thiserror::Error)]
pub enum RedriveError {
    /// The message, its failure object or its payload is not what a redrive reads.
    #[error("{0}")]
    Message(String),
    /// Reading the window's requests back from the table failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a failed batch's window holds.
#[derive(Debug)]
pub struct WindowEvents {
    /// Every event, once (by `event_id`), in the order found.
    pub events: Vec<Event>,
    /// Requests read back from the table.
    pub requests: usize,
    /// Where the batch's own records came from, or why they could not be had.
    pub records: BatchRecords,
}

/// The failed batch's own records.
#[derive(Debug)]
pub enum BatchRecords {
    /// From the failure object's payload: `records` of them, giving `events`.
    Payload {
        /// How many stream records the payload held.
        records: usize,
        /// The outbox events of those records.
        events: Vec<Event>,
    },
    /// Read again from the stream: `records` of them, giving `events`.
    Stream {
        /// How many stream records the stream held.
        records: usize,
        /// The outbox events of those records.
        events: Vec<Event>,
    },
    /// No payload, and the stream no longer holds them (past its 24 h retention, the stream replaced)
    /// or could not be read: only what the table holds can be re-published.
    Unavailable(String),
}

/// The events of a failure object's payload (the Lambda DynamoDB event the publisher failed on), through
/// the publisher's own mapping; an undecodable payload or record is an error (the notice stays).
fn payload_events(payload: &str) -> Result<(usize, Vec<Event>), RedriveError> {
    let event: StreamEvent = serde_json::from_str(payload)
        .map_err(|e| RedriveError::Message(format!("the failure object's payload is no stream event: {e}")))?;
    let mut events = Vec::new();
    for (i, record) in event.records.iter().enumerate() {
        events.extend(
            crate::events::events_of_record(record)
                .map_err(|e| RedriveError::Message(format!("payload record {i}: {e}")))?,
        );
    }
    Ok((event.records.len(), events))
}

/// The events of the batch's window: its requests from the table, and every outbox entry of its own
/// records (from the payload, else from the stream while it still has them).
pub async fn window_events(
    store: &dyn RequestStore,
    streams: &aws_sdk_dynamodbstreams::Client,
    batch: &FailedBatch,
) -> Result<WindowEvents, RedriveError> {
    let (from, to) = batch.window();
    let mut query = ListQuery {
        principal: None,
        zone: None,
        decision: None,
        lowest: crate::request::ulid_bound(Some(from), false),
        highest: crate::request::ulid_bound(Some(to), true),
        before: None,
        limit: MAX_LIMIT,
    };
    let mut by_id: BTreeMap<String, usize> = BTreeMap::new();
    let mut events = Vec::new();
    let mut add = |e: Event, events: &mut Vec<Event>| {
        if !by_id.contains_key(e.detail.event_id()) {
            by_id.insert(e.detail.event_id().to_owned(), events.len());
            events.push(e);
        }
    };
    let mut requests = 0;
    loop {
        let page = store.list(&query).await?;
        requests += page.items.len();
        for record in &page.items {
            for e in events_for(record) {
                add(e, &mut events);
            }
        }
        match page.next_before {
            Some(next) => query.before = Some(next),
            None => break,
        }
    }
    let records = match &batch.payload {
        Some(payload) => {
            let (records, events) = payload_events(payload)?;
            BatchRecords::Payload { records, events }
        }
        None => stream::read_batch(streams, batch).await,
    };
    if let BatchRecords::Payload { events: found, .. } | BatchRecords::Stream { events: found, .. } = &records {
        for e in found.iter().cloned() {
            add(e, &mut events);
        }
    }
    Ok(WindowEvents {
        events,
        requests,
        records,
    })
}

/// Publishes every event; true when PutEvents accepted them all.
pub async fn republish(bus: &dyn EventBus, events: &[Event]) -> bool {
    let records: Vec<Vec<Event>> = events.iter().map(|e| vec![e.clone()]).collect();
    publish_records(bus, &records, RetryPolicy::default())
        .await
        .into_iter()
        .all(|ok| ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_is_a_stream_event_or_an_error() {
        let (records, events) = payload_events(r#"{"Records": []}"#).unwrap();
        assert_eq!((records, events.len()), (0, 0));
        for bad in [
            "",
            "[]",
            r#"{"Records": [{"eventName": "INSERT", "dynamodb": {"NewImage": {"kind": {"S": "request"}}}}]}"#,
        ] {
            assert!(payload_events(bad).is_err(), "{bad}");
        }
    }
}
