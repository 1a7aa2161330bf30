//! `egress-admin redrive` end to end on the local stack. The bus is deleted, so every PutEvents of the
//! publisher fails; the poller (as Lambda's event source mapping) gives the batch up after the template's
//! MaximumRetryAttempts and writes Lambda's on-failure record with its payload to the failure bucket,
//! whose "Object Created" event the template's rule turns into a message of the on-failure queue. The
//! bus comes back (the bootstrap recreates it and its rules), the redrive re-publishes the batch's
//! records (requests, an approval decision) from the object, every event arrives with its original
//! `event_id`, the queue and the bucket are empty, and a second redrive finds nothing. An object whose
//! message was lost is found by `--scan-bucket`. Its own test binary: it takes the bus away.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: a panic is its failure

use std::collections::BTreeSet;
use std::process::Command;
use std::time::{Duration, Instant};

use egress_e2e::*;
use serde_json::{json, Value};

const APPROVER: &str = "approver@example.com";

fn local(path: &str) -> String {
    format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"))
}

/// Stops or continues the stream poller, as moto.sh does around a restart: records written meanwhile
/// reach the publisher in one batch.
fn poller(signal: &str) {
    let pid = std::fs::read_to_string(local(".local/run/poller.pid")).expect("poller pid (make local-up)");
    let ok = Command::new("kill")
        .args([signal, pid.trim()])
        .status()
        .expect("kill")
        .success();
    assert!(ok, "kill {signal} poller");
}

fn admin(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_egress-admin"))
        .args(["--api-url", &lambda_endpoint(), "--principal", APPROVER])
        .args(args)
        .env("EGRESS_TABLE", table())
        .env("EGRESS_BUS_NAME", stack_setting("EGRESS_BUS_NAME"))
        .env("EGRESS_PUBLISH_EVENTS_DLQ_QUEUE_URL", dlq_url())
        .env("EGRESS_PUBLISH_FAILURES_BUCKET", failure_bucket())
        .output()
        .expect("egress-admin runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn failure_bucket() -> String {
    stack_setting("EGRESS_PUBLISH_FAILURES_BUCKET")
}

/// The failure bucket's objects: (key, body).
async fn failure_objects(s3: &aws_sdk_s3::Client) -> Vec<(String, Vec<u8>)> {
    let listed = s3
        .list_objects_v2()
        .bucket(failure_bucket())
        .send()
        .await
        .expect("list the failure bucket");
    let mut out = Vec::new();
    for o in listed.contents() {
        let key = o.key().unwrap_or_default().to_owned();
        let got = s3
            .get_object()
            .bucket(failure_bucket())
            .key(&key)
            .send()
            .await
            .expect("get a failure object");
        out.push((key, got.body.collect().await.expect("body").into_bytes().to_vec()));
    }
    out
}

/// Deletes every message of the on-failure queue: the notices of an object "lost".
async fn drop_notices(sqs: &aws_sdk_sqs::Client) {
    sqs.purge_queue()
        .queue_url(dlq_url())
        .send()
        .await
        .expect("purge the on-failure queue");
}

fn dlq_url() -> String {
    stack_setting("EGRESS_PUBLISH_EVENTS_DLQ_QUEUE_URL")
}

async fn dlq_depth(sqs: &aws_sdk_sqs::Client) -> usize {
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(dlq_url())
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .expect("queue attributes");
    attrs
        .attributes()
        .map(|a| a.values().filter_map(|v| v.parse::<usize>().ok()).sum())
        .unwrap_or(0)
}

/// Deletes the bus and its rules (EventBridge refuses to delete a bus that has rules).
async fn delete_bus() {
    let events = aws_sdk_eventbridge::Client::new(&sdk_config(&moto_endpoint()).await);
    let bus = stack_setting("EGRESS_BUS_NAME");
    let rules = events
        .list_rules()
        .event_bus_name(&bus)
        .send()
        .await
        .expect("list rules");
    for rule in rules.rules() {
        let name = rule.name().unwrap_or_default();
        let targets = events
            .list_targets_by_rule()
            .rule(name)
            .event_bus_name(&bus)
            .send()
            .await
            .expect("targets");
        let ids: Vec<String> = targets.targets().iter().map(|t| t.id().to_owned()).collect();
        if !ids.is_empty() {
            events
                .remove_targets()
                .rule(name)
                .event_bus_name(&bus)
                .set_ids(Some(ids))
                .send()
                .await
                .expect("remove targets");
        }
        events
            .delete_rule()
            .name(name)
            .event_bus_name(&bus)
            .send()
            .await
            .expect("delete rule");
    }
    events.delete_event_bus().name(&bus).send().await.expect("delete bus");
}

fn bootstrap() {
    let ok = Command::new(local(".local/venv/bin/python"))
        .arg(local("infra/local/bootstrap.py"))
        .status()
        .expect("bootstrap runs")
        .success();
    assert!(ok, "bootstrap.py");
}

#[tokio::test]
async fn events_of_exhausted_batches_are_redriven_once_each() {
    let sqs = sqs().await;
    let s3 = s3().await;
    assert_eq!(dlq_depth(&sqs).await, 0, "the on-failure queue is empty to begin with");
    assert!(
        failure_objects(&s3).await.is_empty(),
        "the failure bucket is empty to begin with"
    );
    let agent = unique_principal("redrive");
    delete_bus().await;
    poller("-STOP");
    let mut expected = BTreeSet::new();
    let mut approval = None;
    for (i, body) in [
        json!({"url": "https://api.github.com/repos", "zone": "default"}),
        json!({"url": "https://example.org/", "zone": "default"}),
        json!({"domain": "redrive.pastebin.com", "zone": "default"}),
        json!({"url": "http://169.254.169.254/latest/meta-data/", "zone": "default"}),
    ]
    .iter()
    .enumerate()
    {
        let ans = post_json(&agent, body).await;
        assert_eq!(ans.status, 201, "POST {i}: {}", ans.body);
        expected.extend(ans.event_ids());
        if ans.body["decision"] == "require_approval" {
            approval = ans.body["approval_id"].as_str().map(str::to_owned);
        }
    }
    let approval = approval.expect("one request needs approval");
    let (ok, _, err) = admin(&["approvals", "grant", &approval, "--scope", "once"]);
    assert!(ok, "grant: {err}");
    expected.insert(format!("{approval}/egress.approval.granted"));
    poller("-CONT");

    // The template's MaximumRetryAttempts (10) with the poller's backoff: about 40 s.
    let deadline = Instant::now() + Duration::from_secs(240);
    while dlq_depth(&sqs).await == 0 {
        assert!(Instant::now() < deadline, "no on-failure message within 240 s");
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    bootstrap();
    // Each given-up batch is an object with the records themselves, and a message announcing it.
    let objects = failure_objects(&s3).await;
    assert!(!objects.is_empty(), "no failure object");
    assert_eq!(dlq_depth(&sqs).await, objects.len(), "one message per failure object");
    for (key, body) in &objects {
        assert!(key.starts_with("aws/lambda/"), "{key}");
        let record: Value = serde_json::from_slice(body).expect("a JSON record");
        let payload: Value = serde_json::from_str(record["payload"].as_str().expect("a payload")).expect("JSON text");
        assert_eq!(
            payload["Records"].as_array().map(Vec::len),
            record["DDBStreamBatchInfo"]["batchSize"].as_u64().map(|n| n as usize),
            "{key}"
        );
    }

    let (ok, out, err) = admin(&["--json", "redrive"]);
    assert!(ok, "redrive: {out}\n{err}");
    let report: Value = serde_json::from_str(&out).expect("json report");
    let messages = report["messages"].as_array().unwrap();
    assert!(!messages.is_empty(), "{report}");
    for m in messages {
        assert_eq!(
            (m["ok"].as_bool(), m["deleted"].as_bool()),
            (Some(true), Some(true)),
            "{m}"
        );
        assert!(m["payload_records"].as_u64().unwrap() >= 1, "{m}");
        assert!(m["object"].as_str().unwrap().starts_with("aws/lambda/"), "{m}");
    }
    assert_eq!(dlq_depth(&sqs).await, 0, "every redriven message deleted");
    assert!(failure_objects(&s3).await.is_empty(), "every redriven object deleted");

    let mine = |e: &Value| {
        detail_field(e, "principal") == Some(agent.as_str())
            || detail_field(e, "approval_id") == Some(approval.as_str())
    };
    wait_events(ALL_EVENTS_QUEUE, expected.len(), Duration::from_secs(60), mine).await;
    settle(Duration::from_secs(3)).await;
    let ids = |got: Vec<Value>| -> BTreeSet<String> {
        got.iter()
            .filter_map(|e| detail_field(e, "event_id").map(str::to_owned))
            .collect()
    };
    let first = ids(seen(ALL_EVENTS_QUEUE, mine));
    assert_eq!(
        first, expected,
        "every event of the window, under its original event_id, nothing else"
    );

    // Idempotent: nothing left, nothing published again.
    let (ok, out, err) = admin(&["redrive"]);
    assert!(ok, "{err}");
    assert!(out.contains("0 message(s)"), "{out}");
    settle(Duration::from_secs(3)).await;
    assert_eq!(ids(seen(ALL_EVENTS_QUEUE, mine)), expected);

    // An object whose message was lost (its event undeliverable, the queue's 14 days past): the queue
    // alone does not find it, --scan-bucket does, and re-publishes the same events.
    let (_, body) = &objects[0];
    let orphan = "aws/lambda/orphan/shardId-0/2026/12/07/2026-12-07T10.00.00-orphan";
    s3.put_object()
        .bucket(failure_bucket())
        .key(orphan)
        .body(body.clone().into())
        .send()
        .await
        .expect("put the orphan");
    drop_notices(&sqs).await;
    let (ok, out, err) = admin(&["redrive"]);
    assert!(ok && out.contains("0 message(s)"), "{out}\n{err}");
    assert_eq!(
        failure_objects(&s3).await.len(),
        1,
        "the queue alone does not see the orphan"
    );
    let (ok, out, err) = admin(&["--json", "redrive", "--scan-bucket"]);
    assert!(ok, "redrive --scan-bucket: {out}\n{err}");
    let report: Value = serde_json::from_str(&out).expect("json report");
    let found: Vec<&Value> = report["messages"].as_array().unwrap().iter().collect();
    assert_eq!(found.len(), 1, "{report}");
    assert_eq!(
        (
            found[0]["object"].as_str(),
            found[0]["ok"].as_bool(),
            found[0]["deleted"].as_bool()
        ),
        (Some(orphan), Some(true), Some(true)),
        "{report}"
    );
    assert!(found[0]["published"].as_u64().unwrap() >= 1, "{report}");
    assert!(
        failure_objects(&s3).await.is_empty(),
        "the orphan deleted once redriven"
    );
    settle(Duration::from_secs(3)).await;
    assert_eq!(
        ids(seen(ALL_EVENTS_QUEUE, mine)),
        expected,
        "the same events, under the same ids"
    );
}
