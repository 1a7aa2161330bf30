//! EventBridge (moto) down while requests are recorded: every POST still answers 201 (the request path
//! never calls EventBridge), and once moto is back every event arrives (the stream is the outbox and the
//! poller keeps unpublished records). Its own test binary: it stops moto, which the others need.

use std::collections::BTreeSet;
use std::process::Command;
use std::time::Duration;

use egress_e2e::*;
use serde_json::json;

fn moto(action: &str) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/local/moto.sh");
    let status = Command::new("bash")
        .arg(script)
        .arg(action)
        .status()
        .expect("run moto.sh");
    assert!(status.success(), "moto.sh {action} failed");
}

#[tokio::test]
async fn no_event_is_lost_while_eventbridge_is_down() {
    let principal = unique_principal("outage");
    moto("stop");
    let mut expected = BTreeSet::new();
    for i in 0..50 {
        let url = if i % 2 == 0 {
            "https://api.github.com/x"
        } else {
            "https://example.org/y"
        };
        let ans = post_json(&principal, &json!({"url": url, "zone": "default"})).await;
        assert_eq!(ans.status, 201, "POST {i} while EventBridge is down: {}", ans.body);
        expected.extend(ans.event_ids());
    }
    // Let the poller try (and fail) to publish before EventBridge comes back.
    tokio::time::sleep(Duration::from_secs(3)).await;
    moto("start");

    let mine = |e: &serde_json::Value| detail_field(e, "principal") == Some(principal.as_str());
    // Generous: the acceptance is "none lost"; a slow restart of moto only delays them.
    wait_events(ALL_EVENTS_QUEUE, 100, Duration::from_secs(300), mine).await;
    settle(Duration::from_secs(3)).await;
    let got = seen(ALL_EVENTS_QUEUE, mine);
    let event_ids: BTreeSet<String> = got
        .iter()
        .filter_map(|e| detail_field(e, "event_id").map(str::to_owned))
        .collect();
    let lost: Vec<&String> = expected.difference(&event_ids).collect();
    println!(
        "outage: 50 requests, {} events expected, {} distinct received, {} deliveries, lost {}",
        expected.len(),
        event_ids.len(),
        got.len(),
        lost.len()
    );
    assert!(lost.is_empty(), "lost events: {lost:?}");
    assert_eq!(expected.len(), 100);
    assert_eq!(
        event_ids, expected,
        "exactly the expected events, none missing, none foreign"
    );
    assert_eq!(rows_for(&principal).await.len(), 50);
}
