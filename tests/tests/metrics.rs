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
        for field in ["decision", "reason", "mode", "policy_decision"] {
            assert_eq!(p[field], ans.body[field], "{field} of {id}");
        }
        // The dimension names only the policy's zones; the zone as asked stays a property.
        let zone = match ans.body["zone"].as_str() {
            Some("default") => "default",
            _ => egress_core::METRICS_UNKNOWN_ZONE,
        };
        assert_eq!(
            (p["zone"].as_str(), &p["zone_requested"]),
            (Some(zone), &ans.body["zone"]),
            "{id}"
        );
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

/// A caller picks its zone name, and each `zone` dimension value is a billed custom metric: 100 requests
/// with made-up zones give one value, `_unknown`, while the policy's zone keeps its own.
#[tokio::test]
async fn zone_dimension_values_are_the_policys_zones_only() {
    let agent = unique_principal("metrics-zones");
    let mut ids = Vec::new();
    for i in 0..100 {
        let zone = format!("z{}-{i}", ulid::Ulid::new().to_string().to_lowercase());
        let ans = post_json(&agent, &json!({"domain": "example.org", "zone": zone})).await;
        assert_eq!(
            (ans.status, ans.body["zone"].as_str()),
            (201, Some(zone.as_str())),
            "{}",
            ans.body
        );
        ids.push(ans.body["request_id"].as_str().unwrap().to_owned());
    }
    let known = post_json(&agent, &json!({"domain": "example.org", "zone": "default"})).await;
    assert_eq!(known.status, 201, "{}", known.body);
    ids.push(known.body["request_id"].as_str().unwrap().to_owned());
    let mut values = std::collections::BTreeMap::<String, usize>::new();
    let mut asked = std::collections::BTreeSet::new();
    for id in &ids {
        let found = wait_points(Metric::Decisions, "request_id", id, 1).await;
        assert_eq!(found.len(), 1, "one Decisions point for {id}");
        *values
            .entry(found[0]["zone"].as_str().unwrap_or("").to_owned())
            .or_default() += 1;
        asked.insert(found[0]["zone_requested"].as_str().unwrap_or("").to_owned());
    }
    let want = [
        (egress_core::METRICS_UNKNOWN_ZONE.to_owned(), 100),
        ("default".to_owned(), 1),
    ];
    assert_eq!(values, want.into_iter().collect(), "zone dimension values");
    assert_eq!(asked.len(), 101, "every zone as asked is in its line");
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
