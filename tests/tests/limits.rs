//! Rate limits against DynamoDB Local: the suite the logic tests run on the memory store, here with the
//! counters in conditional transactions on the real table; and the events: 50 requests, 50 rows, 100
//! events, each denial carrying its limit.

use std::sync::Arc;
use std::time::Duration;

use egress_core::DynamoStore;
use egress_e2e::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rate_limits_on_dynamodb_with_their_events() {
    let store = Arc::new(DynamoStore::new(dynamodb().await, table()));
    let me = suites::rate_limits(store).await;
    let rows = rows_for(&me).await;
    let burst_rows = rows
        .iter()
        .filter(|r| {
            r.get("target")
                .and_then(|t| t.as_m().ok())
                .and_then(|t| t.get("host"))
                .and_then(|h| h.as_s().ok())
                .is_some_and(|h| h == "api.metered.example.com")
        })
        .count();
    assert_eq!(burst_rows, 50);
    let of_burst = |e: &serde_json::Value| {
        detail_field(e, "principal") == Some(me.as_str()) && e["detail"]["target"]["host"] == "api.metered.example.com"
    };
    let events = wait_events(ALL_EVENTS_QUEUE, 100, Duration::from_secs(120), of_burst).await;
    assert_eq!(events.len(), 100, "two events per request");
    let limited: Vec<_> = events.iter().filter(|e| e["detail-type"] == "egress.blocked").collect();
    assert_eq!(limited.len(), 40);
    assert!(limited
        .iter()
        .all(|e| e["detail"]["reason"] == "rate_limited" && e["detail"]["rate_limit"] == "per-agent"));
    settle(Duration::from_secs(3)).await;
    assert_eq!(seen(ALL_EVENTS_QUEUE, of_burst).len(), 100, "no duplicates");
}
