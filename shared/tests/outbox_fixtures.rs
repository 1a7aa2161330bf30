//! The outbox mapping on recorded stream events (tests/fixtures/, recorded from the local stack): which
//! records become which events, for requests and for every kind beside them (idempotency claims, replay
//! counts, approvals, approval slots, TTL deletions), and that every event fits its schema.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: a panic is its failure

use std::sync::Mutex;

use async_trait::async_trait;
use aws_lambda_events::event::dynamodb::Event as StreamEvent;
use egress_core::{handle_stream_event, Event, EventBus, PublishError, RetryPolicy};
use serde_json::Value;

#[derive(Default)]
struct RecordingBus(Mutex<Vec<(String, Value)>>);

#[async_trait]
impl EventBus for RecordingBus {
    async fn put(&self, events: &[Event]) -> Result<Vec<bool>, PublishError> {
        let mut seen = self.0.lock().unwrap();
        for e in events {
            seen.push((e.detail_type.to_owned(), serde_json::to_value(&e.detail).unwrap()));
        }
        Ok(vec![true; events.len()])
    }
}

fn fixture(name: &str) -> StreamEvent {
    let path = format!(
        "{}/tests/fixtures/dynamodb-stream-{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap_or_else(|e| panic!("{path}: {e}"))
}

async fn publish(name: &str) -> Vec<(String, Value)> {
    let bus = RecordingBus::default();
    let response = handle_stream_event(&bus, &fixture(name), RetryPolicy::default()).await;
    assert!(response.batch_item_failures.is_empty(), "{name}: every record decoded");
    let events = bus.0.into_inner().unwrap();
    for (detail_type, detail) in &events {
        let path = format!(
            "{}/../infra/events/{detail_type}.schema.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let errors: Vec<String> = jsonschema::draft4::new(&schema)
            .unwrap()
            .iter_errors(detail)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{detail_type}: {errors:?}");
    }
    events
}

fn types(events: &[(String, Value)]) -> Vec<&str> {
    events.iter().map(|(t, _)| t.as_str()).collect()
}

#[tokio::test]
async fn requests_and_the_items_beside_them() {
    // The request INSERT is published; its idempotency claim and the MODIFY counting a replay are not.
    let events = publish("requests").await;
    assert_eq!(types(&events), ["egress.requested", "egress.allowed"]);
    assert_eq!(
        events[0].1["event_id"],
        format!("{}/egress.requested", events[0].1["request_id"].as_str().unwrap())
    );
}

#[tokio::test]
async fn approvals_publish_each_transition_once() {
    let events = publish("approvals").await;
    let approval_events: Vec<&(String, Value)> = events
        .iter()
        .filter(|(t, _)| t.starts_with("egress.approval."))
        .collect();
    let states: Vec<(&str, &str)> = approval_events
        .iter()
        .map(|(t, d)| (t.as_str(), d["state"].as_str().unwrap_or_default()))
        .collect();
    // Granted (approval MODIFY), denied (approval MODIFY), and the expiry of a pending approval whose slot
    // a new approval replaced. Not events: a granted slot being used or replaced, the slot a denial deleted.
    assert_eq!(
        states,
        [
            ("egress.approval.granted", "granted"),
            ("egress.approval.denied", "denied"),
            ("egress.approval.expired", "expired"),
        ]
    );
    for (t, d) in &approval_events {
        assert_eq!(d["event_id"], format!("{}/{t}", d["approval_id"].as_str().unwrap()));
    }
    let requests = events.iter().filter(|(t, _)| t == "egress.requested").count();
    assert_eq!(requests, 3, "three request INSERTs");
    let granted_use = events
        .iter()
        .find(|(t, d)| t == "egress.allowed" && d["reason"] == "approval_granted")
        .expect("the request that used the grant");
    assert_eq!(granted_use.1["approval_id"], approval_events[0].1["approval_id"]);
}

#[tokio::test]
async fn a_ttl_deletion_of_a_pending_slot_is_its_expiry() {
    let events = publish("ttl-expiry").await;
    assert_eq!(types(&events), ["egress.approval.expired"]);
    assert_eq!(events[0].1["state"], "expired");
    // The same REMOVE made by the gateway (a denial freeing the key) is no expiry.
    let mut by_us = fixture("ttl-expiry");
    by_us.records[0].user_identity = None;
    let bus = RecordingBus::default();
    handle_stream_event(&bus, &by_us, RetryPolicy::default()).await;
    assert!(bus.0.into_inner().unwrap().is_empty());
}
