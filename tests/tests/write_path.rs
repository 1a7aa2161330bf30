//! POST /v1/egress/requests end to end: `cargo lambda watch` (real function binaries) -> DynamoDB Local ->
//! stream poller -> `publish-events` -> moto EventBridge -> rules -> SQS.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;

use egress_e2e::*;
use serde_json::{json, Value};

const EVENT_WAIT: Duration = Duration::from_secs(60);

fn for_request(id: &str) -> impl Fn(&Value) -> bool + '_ {
    move |e| detail_field(e, "request_id") == Some(id)
}

/// What one round trip left behind: the answer, the row, and the two events.
type Trail = (Value, HashMap<String, AttributeValue>, Vec<Value>);

/// Posts one request and checks the complete row and the two events.
async fn decision_round_trip(
    tag: &str,
    zone: &str,
    url: &str,
    decision: &str,
    reason: &str,
    outcome_type: &str,
) -> Trail {
    let principal = unique_principal(tag);
    let ans = post_json(&principal, &json!({"url": url, "zone": zone, "purpose": "e2e"})).await;
    assert_eq!(ans.status, 201, "{}", ans.body);
    let b = &ans.body;
    assert_eq!(b["decision"], decision, "{b}");
    assert_eq!(b["reason"], reason, "{b}");
    assert_eq!(b["principal"], principal.as_str());
    assert_eq!(b["zone"], zone);
    assert_eq!(b["mode"], "enforce");
    assert!(b["policy_version"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(b["approval_id"].is_string(), decision == "require_approval", "{b}");
    let id = b["request_id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 26);
    assert_eq!(
        ans.headers.get("location").unwrap().to_str().unwrap(),
        format!("/v1/egress/requests/{id}")
    );

    let rows = rows_for(&principal).await;
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    for (k, v) in [
        ("request_id", id.as_str()),
        ("decision", decision),
        ("reason", reason),
        ("kind", "request"),
    ] {
        assert_eq!(s(row, k), Some(v), "row field {k}");
    }
    assert_eq!(s(row, "pk"), Some(format!("REQ#{id}").as_str()));
    assert!(s(row, "time_pk").unwrap().starts_with("T#"));
    assert!(s(row, "principal_pk").unwrap().ends_with(&principal));
    let target = row.get("target").unwrap().as_m().unwrap();
    assert_eq!(
        target.get("host").unwrap().as_s().unwrap(),
        b["target"]["host"].as_str().unwrap()
    );

    let events = wait_events(ALL_EVENTS_QUEUE, 2, EVENT_WAIT, for_request(&id)).await;
    let mut types: Vec<&str> = events.iter().map(|e| e["detail-type"].as_str().unwrap()).collect();
    types.sort();
    let mut want = vec!["egress.requested", outcome_type];
    want.sort();
    assert_eq!(types, want, "events for {id}");
    for e in &events {
        assert_eq!(e["source"], "egress.gateway");
        let d = &e["detail"];
        assert_eq!(d["decision"], decision);
        assert_eq!(d["reason"], reason);
        assert_eq!(d["principal"], principal.as_str());
        assert_eq!(d["target"], b["target"]);
        assert_eq!(d["policy_version"], b["policy_version"]);
        assert_eq!(d["approval_id"], b.get("approval_id").cloned().unwrap_or(Value::Null));
        assert_eq!(d["event_id"], format!("{id}/{}", e["detail-type"].as_str().unwrap()));
        assert_eq!(d["requested_at"], b["created_at"]);
        assert_eq!(d["dlp"], b.get("dlp").cloned().unwrap_or(Value::Null));
    }
    (ans.body, rows.into_iter().next().unwrap_or_default(), events)
}

#[tokio::test]
async fn allow_gives_row_and_requested_plus_allowed() {
    decision_round_trip(
        "allow",
        "default",
        "https://api.github.com/repos?token=secret",
        "allow",
        "rule_allow",
        "egress.allowed",
    )
    .await;
}

/// A denylist zone: allowed by default, a feed entry denied, internal targets still denied.
#[tokio::test]
async fn denylist_zone_allows_by_default_and_denies_its_feed() {
    let zone = "open-research";
    decision_round_trip(
        "deny-list-open",
        zone,
        "https://example.org/x",
        "allow",
        "default_allow",
        "egress.allowed",
    )
    .await;
    decision_round_trip(
        "deny-list-feed",
        zone,
        "https://a.b.malware.example.net/",
        "deny",
        "rule_deny",
        "egress.blocked",
    )
    .await;
    decision_round_trip(
        "deny-list-internal",
        zone,
        "http://metadata.google.internal/",
        "deny",
        "internal_target",
        "egress.blocked",
    )
    .await;
}

/// Path rules through the whole pipeline: the example policy allows two API paths of api.openai.com.
#[tokio::test]
async fn path_rules_allow_their_prefixes_only() {
    let url = "https://api.openai.com/v1/chat/completions";
    let (b, _, _) = decision_round_trip("path-in", "default", url, "allow", "rule_allow", "egress.allowed").await;
    assert_eq!(b["rule"], "allow-openai-api");
    let outside = "https://api.openai.com/v1/files";
    decision_round_trip("path-out", "default", outside, "deny", "default_deny", "egress.blocked").await;
    let sneaky = "https://api.openai.com/v1/chat/completions/../../files";
    decision_round_trip("path-dots", "default", sneaky, "deny", "default_deny", "egress.blocked").await;
}

/// A credential in the URL: denied by step 4 even on an allowed host; the row and the events name the
/// detector, and the credential is nowhere (not in the path, and query and fragment are never stored).
#[tokio::test]
async fn a_secret_in_the_url_is_denied_and_never_recorded() {
    const TOKEN: &str = "ghp_0123456789abcdefghijABCDEFGHIJ012345";
    let url = format!("https://api.github.com/repos/{TOKEN}/x?access_token={TOKEN}#{TOKEN}");
    let (b, row, events) =
        decision_round_trip("dlp", "default", &url, "deny", "dlp_secret_in_url", "egress.blocked").await;
    assert_eq!(b["dlp"], "github_token");
    assert_eq!(b["target"]["path"], "/repos/[REDACTED]/x");
    assert_eq!(s(&row, "dlp"), Some("github_token"));
    let everything = format!("{b} {row:?} {events:?}");
    assert!(!everything.contains(TOKEN), "the credential leaked: {everything}");
    assert!(!everything.contains("access_token"), "the query leaked: {everything}");
}

#[tokio::test]
async fn deny_gives_row_and_requested_plus_blocked() {
    decision_round_trip(
        "deny",
        "default",
        "https://example.org/",
        "deny",
        "default_deny",
        "egress.blocked",
    )
    .await;
}

#[tokio::test]
async fn internal_target_is_denied_and_recorded() {
    decision_round_trip(
        "internal",
        "default",
        "http://0xa9.0xfe.0xa9.0xfe/latest/meta-data/",
        "deny",
        "internal_target",
        "egress.blocked",
    )
    .await;
}

#[tokio::test]
async fn require_approval_reaches_the_example_queue() {
    let principal = unique_principal("approval");
    let ans = post_json(&principal, &json!({"domain": "pastebin.com", "zone": "default"})).await;
    assert_eq!(ans.status, 201, "{}", ans.body);
    assert_eq!(ans.body["decision"], "require_approval");
    let id = ans.body["request_id"].as_str().unwrap().to_owned();
    let approval_id = ans.body["approval_id"].as_str().unwrap().to_owned();
    // The template's example rule routes only blocked+require_approval to the approvals queue.
    let got = wait_events(APPROVALS_QUEUE, 1, EVENT_WAIT, for_request(&id)).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["detail-type"], "egress.blocked");
    assert_eq!(detail_field(&got[0], "approval_id"), Some(approval_id.as_str()));
    decision_round_trip(
        "approval2",
        "default",
        "https://gist.github.com/x",
        "require_approval",
        "rule_require_approval",
        "egress.blocked",
    )
    .await;
}

#[tokio::test]
async fn unknown_zone_is_recorded_as_zone_not_permitted() {
    decision_round_trip(
        "zone",
        "no-such-zone",
        "https://api.github.com/",
        "deny",
        "zone_not_permitted",
        "egress.blocked",
    )
    .await;
}

#[tokio::test]
async fn idempotent_replay_gives_one_row_and_one_set_of_events() {
    let principal = unique_principal("idem");
    let key = format!("key-{}", ulid::Ulid::new());
    let body = json!({"url": "https://api.github.com/x", "zone": "default"});
    let first = post(Some(&principal), &[("idempotency-key", &key)], body.to_string()).await;
    assert_eq!(first.status, 201, "{}", first.body);
    // Same body with other formatting and key order: still the same request.
    let again = post(
        Some(&principal),
        &[("idempotency-key", &key)],
        "{ \"zone\":\"default\",  \"url\":\"https://api.github.com/x\" }",
    )
    .await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.headers.get("idempotent-replayed").unwrap(), "true");
    assert_eq!(again.body, first.body);
    // Another principal may use the same key independently.
    let other = unique_principal("idem-other");
    let theirs = post(Some(&other), &[("idempotency-key", &key)], body.to_string()).await;
    assert_eq!(theirs.status, 201);
    // Same key, different body: 422, nothing written.
    let conflict = post(
        Some(&principal),
        &[("idempotency-key", &key)],
        json!({"url": "https://api.github.com/y", "zone": "default"}).to_string(),
    )
    .await;
    assert_eq!(conflict.status, 422, "{}", conflict.body);
    assert_eq!(conflict.content_type, "application/problem+json");

    assert_eq!(rows_for(&principal).await.len(), 1);
    let id = first.body["request_id"].as_str().unwrap().to_owned();
    let got = wait_events(ALL_EVENTS_QUEUE, 2, EVENT_WAIT, for_request(&id)).await;
    assert_eq!(got.len(), 2);
    settle(Duration::from_secs(3)).await;
    let by_principal = seen(ALL_EVENTS_QUEUE, |e| {
        detail_field(e, "principal") == Some(principal.as_str())
    });
    assert_eq!(by_principal.len(), 2, "exactly one set of events: {by_principal:?}");
}

#[tokio::test]
async fn rejected_inputs_answer_problem_json_and_write_and_emit_nothing() {
    let principal = unique_principal("reject");
    let long_key = long_idempotency_key();
    let cases = rejected_inputs(&principal, &long_key);
    assert!(cases.len() >= 10);
    for Rejected {
        name,
        principal: p,
        headers,
        body,
        status,
    } in cases
    {
        let ans = post(p, &headers, body).await;
        assert_eq!(ans.status, status, "{name}: {}", ans.body);
        assert_eq!(ans.content_type, "application/problem+json", "{name}");
        assert_eq!(ans.body["status"], status, "{name}");
        for k in ["type", "title", "detail"] {
            assert!(ans.body[k].is_string(), "{name}: {k} in {}", ans.body);
        }
    }
    // A valid request afterwards: its events prove the pipeline ran past the rejected ones.
    let ok = post_json(
        &principal,
        &json!({"url": "https://api.github.com/", "zone": "default"}),
    )
    .await;
    assert_eq!(ok.status, 201);
    let id = ok.body["request_id"].as_str().unwrap().to_owned();
    assert_eq!(
        wait_events(ALL_EVENTS_QUEUE, 2, EVENT_WAIT, for_request(&id))
            .await
            .len(),
        2
    );
    settle(Duration::from_secs(2)).await;
    let rows = rows_for(&principal).await;
    assert_eq!(rows.len(), 1, "only the valid request wrote a row");
    let events = seen(ALL_EVENTS_QUEUE, |e| {
        detail_field(e, "principal") == Some(principal.as_str())
    });
    assert_eq!(events.len(), 2, "only the valid request emitted events");
}
