//! Redrive of the publisher's on-failure queue: the events of a failed stream batch, found again and
//! re-published. Requests are read back from the table on the time index over the batch's window; the
//! batch's own stream records are read again while the stream keeps them (24 h), which also recovers
//! approval transitions (decisions, expiries) that no index orders by time. Event ids are deterministic,
//! so consumers that dedupe on `event_id` see nothing new, however often a window is redriven.

mod batch;
mod stream;

use std::collections::BTreeMap;

pub use batch::FailedBatch;
pub use stream::StreamRead;

use crate::{
    events_for, publish_records, Event, EventBus, ListQuery, RequestStore, RetryPolicy, StoreError, MAX_LIMIT,
};

#[derive(Debug, thiserror::Error)]
pub enum RedriveError {
    #[error("{0}")]
    Message(String),
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
    /// The batch's records read again from the stream, or why not.
    pub stream: StreamRead,
}

/// The events of the batch's window: its requests from the table, and every outbox entry of its
/// stream records when the stream still has them.
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
        lowest: crate::ulid_bound(Some(from), false),
        highest: crate::ulid_bound(Some(to), true),
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
    let stream = stream::read_batch(streams, batch).await;
    if let StreamRead::Read { events: found, .. } = &stream {
        for e in found.iter().cloned() {
            add(e, &mut events);
        }
    }
    Ok(WindowEvents {
        events,
        requests,
        stream,
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
