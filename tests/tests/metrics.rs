//! The functions' metrics (CloudWatch embedded metric format) as a run writes them: the log lines of the
//! functions served by `cargo lambda watch` (.local/logs/watch.log) hold exactly one `Decisions` data
//! point per recorded request, with its dimensions, and one `ApprovalsDecided` per decision; the
//! publisher counts what PutEvents (moto) accepted and what it handed back.

use std::time::{Duration, Instant};

use egress_core::{handle_stream_event, EventBridgeBus, Metric, RetryPolicy};
use egress_e2e::*;
use serde_json::{json, Value};

const APPROVER: &str = "approver@example.com";

fn log_path() -> String {
    format!("{}/../.local/logs/watch.log", env!("CARGO_MANIFEST_DIR"))
}

/// The EMF data points of `metric` in the functions' log whose property `key` is `value`.
fn points(metric: Metric, key: &str, value: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(log_path()).expect("watch log (make watch-up)");
    let lines: Vec<String> = text.lines().filter(|l| l.contains(value)).map(str::to_owned).collect();
    captured(&lines, metric, &[(key, value)])
}

/// Waits for the log to hold `n` points (stdout reaches the file a little after the answer).
async fn wait_points(metric: Metric, key: &str, value: &str, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let found = points(metric, key, value);
        if found.len() >= n || Instant::now() > deadline {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn dimensions(point: &Value) -> Value {
    point["_aws"]["CloudWatchMetrics"][0]["Dimensions"].clone()
}

#[tokio::test]
async fn every_decision_and_approval_decision_is_one_data_point() {
    let agent = unique_principal("metrics");
    let namespace = stack_setting("EGRESS_METRICS_NAMESPACE");
    let mut approval = None;
    for body in [
        json!({"url": "https://api.github.com/", "zone": "default"}),
        json!({"url": "https://example.org/", "zone": "default"}),
        json!({"url": "http://10.0.0.1/", "zone": "default"}),
        json!({"domain": "metrics.pastebin.com", "zone": "default"}),
        json!({"url": "https://api.github.com/", "zone": "no-such-zone"}),
    ] {
        let ans = post_json(&agent, &body).await;
        assert_eq!(ans.status, 201, "{}", ans.body);
        let id = ans.body["request_id"].as_str().unwrap();
        let found = wait_points(Metric::Decisions, "request_id", id, 1).await;
        assert_eq!(found.len(), 1, "one Decisions point for {id}: {found:?}");
        let p = &found[0];
        assert_eq!(p["Decisions"], 1);
        assert_eq!(p["_aws"]["CloudWatchMetrics"][0]["Namespace"], json!(namespace));
        assert_eq!(
            dimensions(p),
            json!([
                ["decision", "reason"],
                ["zone", "decision"],
                ["mode"],
                ["mode", "policy_decision"]
            ])
        );
        for field in ["decision", "reason", "zone", "mode", "policy_decision"] {
            assert_eq!(p[field], ans.body[field], "{field} of {id}");
        }
        if ans.body["decision"] == "require_approval" {
            approval = ans.body["approval_id"].as_str().map(str::to_owned);
        }
    }
    let approval = approval.expect("an approval was opened");
    let decided = decide_approval(APPROVER, &approval, &json!({"decision": "deny", "note": "metrics"})).await;
    assert_eq!(decided.status, 200, "{}", decided.body);
    let found = wait_points(Metric::ApprovalsDecided, "approval_id", &approval, 1).await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        (found[0]["ApprovalsDecided"].as_u64(), found[0]["decision"].as_str()),
        (Some(1), Some("denied"))
    );
    assert_eq!(dimensions(&found[0]), json!([[], ["decision"]]));
    // A refused decision (409) is not a decision.
    let again = decide_approval(APPROVER, &approval, &json!({"decision": "grant"})).await;
    assert_eq!(again.status, 409);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(points(Metric::ApprovalsDecided, "approval_id", &approval).len(), 1);
}

/// The recorded request fixture (shared/tests/fixtures) through the real publisher and moto's
/// EventBridge: published events counted as published; against a bus that does not exist, every event
/// counted as handed back.
#[tokio::test]
async fn the_publisher_counts_what_put_events_accepted() {
    let path = format!(
        "{}/../shared/tests/fixtures/dynamodb-stream-requests.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let event: aws_lambda_events::event::dynamodb::Event =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let client = aws_sdk_eventbridge::Client::new(&sdk_config(&moto_endpoint()).await);
    egress_core::capture_metrics();
    let sum = |lines: &[String], metric: Metric| -> u64 {
        captured(lines, metric, &[])
            .iter()
            .filter_map(|p| p[metric.as_str()].as_u64())
            .sum()
    };

    let bus = EventBridgeBus::new(client.clone(), stack_setting("EGRESS_BUS_NAME"));
    let answer = handle_stream_event(&bus, &event, RetryPolicy::default()).await;
    assert!(answer.batch_item_failures.is_empty());
    let lines = egress_core::captured_metrics();
    let published = sum(&lines, Metric::EventsPublished);
    assert!(
        published >= 2 && published % 2 == 0,
        "two events per request record: {published}"
    );
    assert_eq!(sum(&lines, Metric::EventsRejected), 0);

    let missing = EventBridgeBus::new(client, format!("no-such-bus-{}", ulid::Ulid::new()));
    let answer = handle_stream_event(
        &missing,
        &event,
        RetryPolicy {
            attempts: 1,
            base_delay: Duration::ZERO,
        },
    )
    .await;
    assert!(!answer.batch_item_failures.is_empty());
    let lines = egress_core::captured_metrics();
    assert_eq!(sum(&lines, Metric::EventsPublished), 0);
    assert_eq!(
        sum(&lines, Metric::EventsRejected),
        published,
        "every event handed back"
    );
}
