//! The create route's logic claims on any store: every refused input class writes nothing; idempotency
//! outcomes (replay, other formatting, other principal, key conflict); replays re-decided under the
//! current policy, each answered replay counted on the row it answered.

use std::sync::Arc;
use std::time::Duration;

use egress_core::{CreateService, ListService, Store};
use serde_json::{json, Value};

use super::http::{self, Answer};
use super::{services, PolicyFile, Services};
use crate::cases::{long_idempotency_key, rejected_inputs, Rejected};

const OPEN: &str = "auditors: ['auditor@example.com']\nzones:\n  default:\n    members: ['*']\n    rules:\n      - {id: gh, effect: allow, hosts: [api.github.com]}\n";
const KILLED: &str = "kill_switch: {engaged: true, reason: drill}\nauditors: ['auditor@example.com']\nzones:\n  default:\n    members: ['*']\n    rules:\n      - {id: gh, effect: allow, hosts: [api.github.com]}\n";

fn post(principal: Option<&str>, headers: &[(&str, &str)], body: Vec<u8>) -> lambda_http::Request {
    http::post(principal, "/v1/egress/requests", headers, body)
}

/// Status, whether it was a replay, the JSON body and the content type.
async fn send(svc: &CreateService, req: lambda_http::Request) -> (u16, bool, Value, String) {
    let a = Answer::of(svc.handle(req).await);
    let replayed = a.header("idempotent-replayed").is_some();
    let ct = a.header("content-type").unwrap_or_default().to_owned();
    (a.status, replayed, a.body, ct)
}

/// The requests of `principal` as the list route shows them to an auditor.
async fn rows_of(list: &ListService, principal: &str) -> Vec<Value> {
    let req = http::get(
        "auditor@example.com",
        "/v1/egress/requests",
        &[("principal", principal.to_owned())],
    );
    let a = Answer::of(list.handle(req).await);
    assert_eq!(a.status, 200);
    a.body["items"].as_array().cloned().unwrap_or_default()
}

fn unique(tag: &str) -> String {
    format!("arn:aws:iam::000000000000:role/logic-{tag}-{}", ulid::Ulid::new())
}

/// Every class of refused input answers problem+json with its status and writes nothing.
pub async fn rejected_inputs_write_nothing(store: Arc<dyn Store>) {
    let policy = PolicyFile::new("rejected", OPEN);
    let Services { create, list, .. } = services(store, &policy.0, Duration::from_secs(1));
    let principal = unique("reject");
    let long_key = long_idempotency_key();
    let mut cases = rejected_inputs(&principal, &long_key);
    cases.push(Rejected {
        name: "invalid UTF-8",
        principal: Some(&principal),
        headers: vec![],
        body: b"{\"url\":\"https://a.com/\xff\",\"zone\":\"default\"}".to_vec(),
        status: 400,
    });
    for c in cases {
        let (status, _, body, ct) = send(&create, post(c.principal, &c.headers, c.body)).await;
        assert_eq!(status, c.status, "{}: {body}", c.name);
        assert_eq!(ct, "application/problem+json", "{}", c.name);
        assert_eq!(body["status"], c.status, "{}", c.name);
        for k in ["type", "title", "detail"] {
            assert!(body[k].is_string(), "{}: {k} in {body}", c.name);
        }
    }
    assert!(
        rows_of(&list, &principal).await.is_empty(),
        "a refused input wrote a row"
    );
}

/// Replays answer the original (whatever the body's formatting), keys are per principal, and a key reused
/// with another body is a 422 that writes nothing.
pub async fn idempotency_outcomes(store: Arc<dyn Store>) {
    let policy = PolicyFile::new("idempotency", OPEN);
    let Services { create, list, .. } = services(store, &policy.0, Duration::from_secs(1));
    let principal = unique("idem");
    let key = format!("key-{}", ulid::Ulid::new());
    let h = [("idempotency-key", key.as_str())];
    let body = json!({"url": "https://api.github.com/x", "zone": "default"});
    let (status, replayed, first, _) = send(&create, post(Some(&principal), &h, body.to_string().into())).await;
    assert_eq!((status, replayed), (201, false), "{first}");
    let reformatted = "{ \"zone\":\"default\",  \"url\":\"https://api.github.com/x\" }";
    let (status, replayed, again, _) = send(&create, post(Some(&principal), &h, reformatted.into())).await;
    assert_eq!((status, replayed), (200, true));
    assert_eq!(again, first);
    let other = unique("idem-other");
    let (status, _, theirs, _) = send(&create, post(Some(&other), &h, body.to_string().into())).await;
    assert_eq!(status, 201);
    assert_ne!(theirs["request_id"], first["request_id"]);
    let changed = json!({"url": "https://api.github.com/y", "zone": "default"}).to_string();
    let (status, _, conflict, ct) = send(&create, post(Some(&principal), &h, changed.into())).await;
    assert_eq!(status, 422, "{conflict}");
    assert_eq!(ct, "application/problem+json");
    let rows = rows_of(&list, &principal).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["replays"], 1, "the replay is counted on the row it answered");
}

/// A replay answers the original only while the current policy gives the same decision: after a kill switch
/// (and after it is lifted again) the replay is a new, recorded request naming the one it replaces.
pub async fn replays_are_re_decided(store: Arc<dyn Store>) {
    let ttl = Duration::from_millis(200);
    let policy = PolicyFile::new("redecide", OPEN);
    let Services { create, list, .. } = services(store, &policy.0, ttl);
    let principal = unique("redecide");
    let body = json!({"url": "https://api.github.com/repos", "zone": "default"}).to_string();
    let again = || {
        post(
            Some(&principal),
            &[("idempotency-key", "k-redecide")],
            body.clone().into(),
        )
    };

    let (status, replayed, first, _) = send(&create, again()).await;
    assert_eq!(
        (status, replayed, first["decision"].as_str()),
        (201, false, Some("allow"))
    );
    let (status, replayed, same, _) = send(&create, again()).await;
    assert_eq!((status, replayed), (200, true));
    assert_eq!(same, first, "a replay under the same decision is the original resource");

    policy.set(KILLED);
    tokio::time::sleep(ttl * 2).await;
    let (status, replayed, killed, _) = send(&create, again()).await;
    assert_eq!((status, replayed), (201, false), "{killed}");
    assert_eq!(killed["decision"], "deny");
    assert_eq!(killed["reason"], "kill_switch");
    assert_eq!(killed["replaces"], first["request_id"]);
    assert_ne!(killed["request_id"], first["request_id"]);
    // The key now answers the re-decided request.
    let (status, replayed, same, _) = send(&create, again()).await;
    assert_eq!((status, replayed, &same), (200, true, &killed));

    policy.set(OPEN);
    tokio::time::sleep(ttl * 2).await;
    let (status, _, reopened, _) = send(&create, again()).await;
    assert_eq!(status, 201);
    assert_eq!(reopened["decision"], "allow");
    assert_eq!(reopened["replaces"], killed["request_id"]);

    // Every answer is in the audit trail: three requests, each replay counted on the row it answered.
    let rows = rows_of(&list, &principal).await;
    assert_eq!(rows.len(), 3);
    let replays = |id: &Value| rows.iter().find(|r| r["request_id"] == *id).unwrap()["replays"].clone();
    assert_eq!(replays(&first["request_id"]), 1);
    assert_eq!(replays(&killed["request_id"]), 1);
    assert_eq!(replays(&reopened["request_id"]), Value::Null);
}
