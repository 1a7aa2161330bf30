//! Approvals against DynamoDB Local: the lifecycle, expiry and concurrency suites the logic tests run on
//! the memory store, here on the real table (conditional transactions, the sparse pending index); and the
//! approval events through the outbox: granted, denied and expired, each exactly once, on the bus and in
//! the template's approvals queue.

use std::sync::Arc;
use std::time::Duration;

use egress_core::DynamoStore;
use egress_e2e::suites::{self, http, PolicyFile};
use egress_e2e::*;
use serde_json::{json, Value};

async fn store() -> Arc<DynamoStore> {
    Arc::new(DynamoStore::new(dynamodb().await, table()))
}

#[tokio::test]
async fn approvals_lifecycle_on_dynamodb() {
    suites::approvals_lifecycle(store().await).await;
}

#[tokio::test]
async fn grants_cover_only_the_path_shown_on_dynamodb() {
    suites::grants_cover_only_the_path_shown(store().await).await;
}

#[tokio::test]
async fn on_behalf_of_an_agent_on_dynamodb() {
    suites::on_behalf_of_an_agent(store().await).await;
}

#[tokio::test]
async fn approvals_expire_on_dynamodb() {
    suites::approvals_expire(store().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn approvals_under_concurrency_on_dynamodb() {
    suites::approvals_under_concurrency(store().await).await;
}

const POLICY: &str = r#"
zones:
  gated:
    members: ["*"]
    approvers: ["arn:aws:iam::123456789012:role/egress-approver"]
    default: require_approval
    approval: {pending_ttl_seconds: 2}
"#;

fn of_approval<'a>(id: &'a str, detail_type: &'a str) -> impl Fn(&Value) -> bool + 'a {
    move |e| e["detail-type"] == detail_type && detail_field(e, "approval_id") == Some(id)
}

#[tokio::test]
async fn approval_events_are_published_once_each() {
    let file = PolicyFile::new("approval-events", POLICY);
    let s = suites::services(store().await, &file.0, Duration::from_secs(1));
    let me = unique_principal("approval-events");
    let approver = "arn:aws:iam::123456789012:role/egress-approver";
    let ask = |host: &'static str| {
        let body = json!({"domain": host, "zone": "gated"}).to_string().into_bytes();
        s.create.handle(http::post(Some(&me), "/v1/egress/requests", &[], body))
    };
    let id_of = |a: http::Answer| a.body["approval_id"].as_str().unwrap_or_default().to_owned();
    let decide = |id: String, body: Value| {
        let path = format!("/v1/egress/approvals/{id}/decision");
        s.approvals
            .handle(http::post(Some(approver), &path, &[], body.to_string().into_bytes()))
    };
    let granted = id_of(http::Answer::of(ask("granted.example.com").await));
    assert_eq!(
        http::Answer::of(decide(granted.clone(), json!({"decision": "grant"})).await).status,
        200
    );
    let denied = id_of(http::Answer::of(ask("denied.example.com").await));
    assert_eq!(
        http::Answer::of(decide(denied.clone(), json!({"decision": "deny"})).await).status,
        200
    );
    let expired = id_of(http::Answer::of(ask("expired.example.com").await));
    tokio::time::sleep(Duration::from_millis(2500)).await;
    // The next request replaces the expired approval's slot: that is its expiry on the stream (in AWS,
    // TTL deleting the slot is the other way; tests/fixtures holds that record).
    let replaced = id_of(http::Answer::of(ask("expired.example.com").await));
    assert_ne!(replaced, expired);

    let wait = Duration::from_secs(60);
    for (id, detail_type) in [
        (&granted, "egress.approval.granted"),
        (&denied, "egress.approval.denied"),
        (&expired, "egress.approval.expired"),
    ] {
        let got = wait_events(ALL_EVENTS_QUEUE, 1, wait, of_approval(id, detail_type)).await;
        assert_eq!(got.len(), 1, "{detail_type} for {id}");
        let detail = &got[0]["detail"];
        assert_eq!(detail["event_id"], format!("{id}/{detail_type}"));
        assert_eq!(detail["principal"], me.as_str());
        assert_eq!(detail["state"], detail_type.rsplit('.').next().unwrap());
        let routed = wait_events(APPROVALS_QUEUE, 1, wait, of_approval(id, detail_type)).await;
        assert_eq!(
            routed.len(),
            1,
            "the example rule routes {detail_type} to the approvals queue"
        );
    }
    settle(Duration::from_secs(3)).await;
    for (id, detail_type) in [
        (&granted, "egress.approval.granted"),
        (&denied, "egress.approval.denied"),
        (&expired, "egress.approval.expired"),
    ] {
        assert_eq!(
            seen(ALL_EVENTS_QUEUE, of_approval(id, detail_type)).len(),
            1,
            "exactly one {detail_type}"
        );
    }
    // Nothing else became an approval event: no expiry for the decided ones, none for the pending one.
    let others = seen(ALL_EVENTS_QUEUE, |e| {
        e["detail-type"]
            .as_str()
            .is_some_and(|t| t.starts_with("egress.approval."))
            && detail_field(e, "principal") == Some(me.as_str())
    });
    assert_eq!(others.len(), 3, "{others:?}");
}
