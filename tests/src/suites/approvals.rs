//! Approvals on any store, through the real handlers: the lifecycle (open, join while pending, visibility,
//! who may decide, once and window grants, deny, write-once), expiry decided from `expires_at`, a kill
//! switch over a grant, and exactness under concurrency (one approval opened by many identical requests,
//! one request per once grant).

use std::sync::Arc;
use std::time::Duration;

use egress_core::Store;
use serde_json::{json, Value};

use super::http::{self, Answer};
use super::{services, PolicyFile, Services};

const APPROVER: &str = "arn:aws:iam::123456789012:role/egress-approver";
const AUDITOR: &str = "auditor@example.com";

fn policy(kill: bool, pending_ttl: u32) -> String {
    format!(
        r#"
kill_switch: {{engaged: {kill}}}
auditors: ["{AUDITOR}"]
zones:
  gated:
    members: ["*"]
    approvers: ["{APPROVER}"]
    default: require_approval
    dlp: {{secrets_in_url: require_approval}}
    approval: {{pending_ttl_seconds: {pending_ttl}, max_grant_seconds: 7200}}
    rules:
      - {{id: ok, effect: allow, hosts: [ok.example.com]}}
      - {{id: never, effect: deny, hosts: [never.example.com]}}
"#
    )
}

fn agent(tag: &str) -> String {
    format!("arn:aws:iam::123456789012:role/agent-{tag}-{}", ulid::Ulid::new())
}

/// Asks for `target`: a URL when it has a scheme, else a domain.
async fn ask(s: &Services, who: &str, target: &str) -> Value {
    let field = if target.contains("://") { "url" } else { "domain" };
    let body = json!({ field: target, "zone": "gated" }).to_string().into_bytes();
    let a = Answer::of(
        s.create
            .handle(http::post(Some(who), "/v1/egress/requests", &[], body))
            .await,
    );
    assert_eq!(a.status, 201, "{}", a.body);
    a.body
}

async fn approval(s: &Services, who: &str, id: &str) -> Answer {
    let path = format!("/v1/egress/approvals/{id}");
    Answer::of(s.approvals.handle(http::get(who, &path, &[])).await)
}

async fn decide(s: &Services, who: &str, id: &str, body: Value) -> Answer {
    let path = format!("/v1/egress/approvals/{id}/decision");
    let req = http::post(Some(who), &path, &[], body.to_string().into_bytes());
    Answer::of(s.approvals.handle(req).await)
}

async fn list(s: &Services, who: &str, query: &[(&str, &str)]) -> Answer {
    let q: Vec<(&str, String)> = query.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
    Answer::of(s.approvals.handle(http::get(who, "/v1/egress/approvals", &q)).await)
}

fn ids(page: &Answer) -> Vec<String> {
    page.body["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|i| i["approval_id"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The whole lifecycle, as DESIGN.md "Approvals" states it.
pub async fn approvals_lifecycle(store: Arc<dyn Store>) {
    let file = PolicyFile::new("approvals", &policy(false, 3600));
    let s = services(store, &file.0, Duration::from_millis(200));
    let me = agent("life");
    let stranger = agent("stranger");

    // A require_approval opens an approval; the same key joins it while pending.
    let first = ask(&s, &me, "new.example.com").await;
    assert_eq!(
        (first["decision"].as_str(), first["reason"].as_str()),
        (Some("require_approval"), Some("default_require_approval"))
    );
    let x = first["approval_id"].as_str().expect("approval_id").to_owned();
    let again = ask(&s, &me, "new.example.com").await;
    assert_eq!(
        again["approval_id"],
        x.as_str(),
        "a pending approval is joined, not duplicated"
    );
    // Another principal asking for the same host has its own approval.
    let theirs = ask(&s, &stranger, "new.example.com").await;
    assert_ne!(theirs["approval_id"], x.as_str());
    // Allow and deny answers open nothing.
    assert!(ask(&s, &me, "ok.example.com").await.get("approval_id").is_none());
    assert!(ask(&s, &me, "never.example.com").await.get("approval_id").is_none());

    // Visibility: the requester, the zone's approvers and auditors; anyone else gets a 404.
    for who in [me.as_str(), APPROVER, AUDITOR] {
        let a = approval(&s, who, &x).await;
        assert_eq!(a.status, 200, "{who}: {}", a.body);
        assert_eq!(a.body["state"], "pending");
        assert_eq!(a.body["principal"], me.as_str());
        assert_eq!(a.body["request_id"], first["request_id"]);
        assert_eq!(a.body["reason"], "default_require_approval");
    }
    assert_eq!(approval(&s, &stranger, &x).await.status, 404);
    assert_eq!(approval(&s, &me, &ulid::Ulid::new().to_string()).await.status, 404);
    assert_eq!(approval(&s, &me, "not-a-ulid").await.status, 400);
    // Lists: the approver's pending queue holds it; the requester sees its own; a stranger does not.
    let queue = list(&s, APPROVER, &[("zone", "gated"), ("state", "pending")]).await;
    assert_eq!(queue.status, 200, "{}", queue.body);
    assert!(ids(&queue).contains(&x));
    assert!(ids(&list(&s, &me, &[]).await).contains(&x));
    assert!(!ids(&list(&s, &stranger, &[]).await).contains(&x));
    assert_eq!(list(&s, &stranger, &[("principal", &me)]).await.status, 403);
    assert_eq!(list(&s, &me, &[("state", "maybe")]).await.status, 400);

    // Who may decide: never the requester (403), nobody who cannot see it (404), not a non-approver (403).
    let grant_once = json!({"decision": "grant", "scope": "once", "ttl_seconds": 600, "note": "ok for one call"});
    assert_eq!(decide(&s, &me, &x, grant_once.clone()).await.status, 403);
    assert_eq!(decide(&s, &stranger, &x, grant_once.clone()).await.status, 404);
    assert_eq!(decide(&s, AUDITOR, &x, grant_once.clone()).await.status, 403);
    let too_long = json!({"decision": "grant", "ttl_seconds": 7201});
    assert_eq!(decide(&s, APPROVER, &x, too_long).await.status, 400);
    let granted = decide(&s, APPROVER, &x, grant_once.clone()).await;
    assert_eq!(granted.status, 200, "{}", granted.body);
    assert_eq!(granted.body["state"], "granted");
    assert_eq!(granted.body["decided_by"], APPROVER);
    assert_eq!(granted.body["grant"]["scope"], "once");
    // Write-once.
    let twice = decide(&s, APPROVER, &x, json!({"decision": "deny"})).await;
    assert_eq!(twice.status, 409, "{}", twice.body);
    assert_eq!(twice.body["type"], "urn:egress:problem:conflict");

    // A once grant allows the next request, exactly one.
    let used = ask(&s, &me, "new.example.com").await;
    assert_eq!(
        (used["decision"].as_str(), used["reason"].as_str()),
        (Some("allow"), Some("approval_granted"))
    );
    assert_eq!(used["approval_id"], x.as_str());
    let shown = approval(&s, &me, &x).await;
    assert_eq!(shown.body["grant"]["used_by"], used["request_id"]);
    let req = Answer::of(
        s.list
            .handle(http::get(
                &me,
                &format!("/v1/egress/requests/{}", used["request_id"].as_str().unwrap()),
                &[],
            ))
            .await,
    );
    assert_eq!(req.body["approval"]["state"], "granted", "{}", req.body);
    let after = ask(&s, &me, "new.example.com").await;
    assert_eq!(after["decision"], "require_approval");
    let y = after["approval_id"].as_str().unwrap().to_owned();
    assert_ne!(y, x, "a used grant opens a new approval");

    // Deny: the key stays require_approval, with a new approval only after the denied one is decided.
    assert_eq!(ask(&s, &me, "new.example.com").await["approval_id"], y.as_str());
    let denied = decide(&s, APPROVER, &y, json!({"decision": "deny", "note": "no"})).await;
    assert_eq!((denied.status, denied.body["state"].as_str()), (200, Some("denied")));
    let z_ans = ask(&s, &me, "new.example.com").await;
    assert_eq!(z_ans["decision"], "require_approval");
    let z = z_ans["approval_id"].as_str().unwrap().to_owned();
    assert!(z != y && z != x);

    // A window grant allows every request until it expires.
    let window = decide(
        &s,
        APPROVER,
        &z,
        json!({"decision": "grant", "scope": "window", "ttl_seconds": 600}),
    )
    .await;
    assert_eq!(window.status, 200, "{}", window.body);
    for _ in 0..3 {
        let ok = ask(&s, &me, "new.example.com").await;
        assert_eq!(
            (ok["reason"].as_str(), ok["approval_id"].as_str()),
            (Some("approval_granted"), Some(z.as_str()))
        );
    }
    // The grant is for this key only: another host still asks, another principal still asks.
    assert_eq!(ask(&s, &me, "other.example.com").await["decision"], "require_approval");
    assert_eq!(
        ask(&s, &stranger, "new.example.com").await["decision"],
        "require_approval"
    );
    let granted_list = list(&s, APPROVER, &[("zone", "gated"), ("state", "granted")]).await;
    assert!(ids(&granted_list).contains(&z) && ids(&granted_list).contains(&x));
    assert!(!ids(&granted_list).contains(&y));

    // A kill switch beats a window grant.
    file.set(&policy(true, 3600));
    tokio::time::sleep(Duration::from_millis(450)).await;
    let killed = ask(&s, &me, "new.example.com").await;
    assert_eq!(
        (killed["decision"].as_str(), killed["reason"].as_str()),
        (Some("deny"), Some("kill_switch"))
    );
}

/// A grant covers exactly the path the approver was shown: a `once` grant for `/raw/abc` never admits
/// another path, nor a window grant for `/admin/reports/weekly` a sibling, whatever spelling reaches it.
pub async fn grants_cover_only_the_path_shown(store: Arc<dyn Store>) {
    let file = PolicyFile::new("approvals-paths", &policy(false, 3600));
    let s = services(store, &file.0, Duration::from_secs(5));
    let me = agent("paths");
    let once = ask(&s, &me, "https://paste.example.com/raw/abc").await;
    let once_id = once["approval_id"].as_str().unwrap().to_owned();
    assert_eq!(once["target"]["path"], "/raw/abc");
    let shown = approval(&s, APPROVER, &once_id).await;
    assert_eq!(shown.body["target"]["path"], "/raw/abc", "{}", shown.body);
    let granted = decide(&s, APPROVER, &once_id, json!({"decision": "grant", "scope": "once"})).await;
    assert_eq!(granted.status, 200, "{}", granted.body);
    // Other paths, and spellings that reach another path, ask anew (and do not use up the grant).
    for other in [
        "https://paste.example.com/api/api_post.php",
        "https://paste.example.com/raw/abc/../../api/api_post.php",
        "https://paste.example.com/raw/abc/%2e%2e/%2e%2e/api/api_post.php",
        "https://paste.example.com/raw/abc/..%2F..%2Fapi",
        "https://paste.example.com/raw/abcd",
        "https://paste.example.com/raw/abc/x",
        "https://paste.example.com/raw/",
        "https://paste.example.com/",
        "paste.example.com",
        "https://paste.example.com:8443/raw/abc",
        "http://paste.example.com/raw/abc",
    ] {
        let a = ask(&s, &me, other).await;
        assert_eq!(a["decision"], "require_approval", "{other}: {a}");
        assert_ne!(a["approval_id"], once_id.as_str(), "{other}");
    }
    let used = ask(&s, &me, "https://paste.example.com/raw/abc").await;
    assert_eq!(
        (used["reason"].as_str(), used["approval_id"].as_str()),
        (Some("approval_granted"), Some(once_id.as_str()))
    );

    let weekly = ask(&s, &me, "https://reports.example.com/admin/reports/weekly").await;
    let weekly_id = weekly["approval_id"].as_str().unwrap().to_owned();
    let window = json!({"decision": "grant", "scope": "window", "ttl_seconds": 600});
    assert_eq!(decide(&s, APPROVER, &weekly_id, window).await.status, 200);
    for _ in 0..2 {
        let ok = ask(&s, &me, "https://reports.example.com/admin/reports/weekly").await;
        assert_eq!(ok["reason"], "approval_granted", "{ok}");
    }
    // The query is never stored, so no approver is shown one: it is not part of what a grant covers.
    let query = ask(&s, &me, "https://reports.example.com/admin/reports/weekly?week=49").await;
    assert_eq!(query["reason"], "approval_granted", "{query}");
    for other in [
        "https://reports.example.com/admin/users/delete-all",
        "https://reports.example.com/admin/reports/weekly/../../users/delete-all",
        "https://reports.example.com/admin/reports/weekly/..%2F..%2Fusers%2Fdelete-all",
        "https://reports.example.com/admin/reports/weekly;x/../../users",
        "https://reports.example.com/admin/reports/weekly/",
        "https://reports.example.com/admin/reports/WEEKLY",
        "https://reports.example.com/admin/reports/week%6Cy",
        "https://reports.example.com/admin/reports",
    ] {
        let a = ask(&s, &me, other).await;
        assert_eq!(a["decision"], "require_approval", "{other}: {a}");
        assert_ne!(a["approval_id"], weekly_id.as_str(), "{other}");
    }

    // A path written otherwise than it normalizes is shown to the approver as written (a client sending it
    // as is reaches a server that may route the raw text elsewhere), and is its own question.
    let raw = ask(&s, &me, "https://users.example.com/users/alice/delete/..").await;
    let raw_id = raw["approval_id"].as_str().unwrap().to_owned();
    let shown = approval(&s, APPROVER, &raw_id).await;
    assert_eq!(
        (
            shown.body["target"]["path"].as_str(),
            shown.body["path_as_written"].as_str()
        ),
        (Some("/users/alice/"), Some("/users/alice/delete/..")),
        "{}",
        shown.body
    );
    let plain = ask(&s, &me, "https://users.example.com/users/alice/").await;
    assert_ne!(plain["approval_id"], raw_id.as_str());
    let plain_shown = approval(&s, APPROVER, plain["approval_id"].as_str().unwrap()).await;
    assert!(
        plain_shown.body.get("path_as_written").is_none(),
        "{}",
        plain_shown.body
    );
    // A credential in the written path is never stored, there either.
    let secret = ask(
        &s,
        &me,
        "https://users.example.com/x/../ghp_0123456789abcdefghijABCDEFGHIJ012345/..",
    )
    .await;
    assert_eq!(secret["reason"], "dlp_secret_in_url", "{secret}");
    let secret_shown = approval(&s, APPROVER, secret["approval_id"].as_str().unwrap()).await;
    assert_eq!(secret_shown.status, 200, "{}", secret_shown.body);
    assert!(
        secret_shown.body["path_as_written"].is_string() && !secret_shown.body.to_string().contains("ghp_0123456789"),
        "{}",
        secret_shown.body
    );
}

/// A pending approval expires from its `expires_at`, whatever the store deletes: it reads `expired`, a
/// decision is a 409, and the key opens a new approval.
pub async fn approvals_expire(store: Arc<dyn Store>) {
    let file = PolicyFile::new("approvals-expiry", &policy(false, 1));
    let s = services(store, &file.0, Duration::from_secs(1));
    let me = agent("expiry");
    let first = ask(&s, &me, "slow.example.com").await;
    let e = first["approval_id"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let read = approval(&s, &me, &e).await;
    assert_eq!(read.body["state"], "expired", "{}", read.body);
    let late = decide(&s, APPROVER, &e, json!({"decision": "grant"})).await;
    assert_eq!(late.status, 409, "{}", late.body);
    assert!(late.body["detail"].as_str().unwrap_or_default().contains("expired"));
    let expired_list = list(&s, APPROVER, &[("zone", "gated"), ("state", "expired")]).await;
    assert!(ids(&expired_list).contains(&e), "{}", expired_list.body);
    let pending_list = list(&s, APPROVER, &[("zone", "gated"), ("state", "pending")]).await;
    assert!(!ids(&pending_list).contains(&e));
    let next = ask(&s, &me, "slow.example.com").await;
    assert_eq!(next["decision"], "require_approval");
    assert_ne!(next["approval_id"], e.as_str(), "an expired approval is replaced");
}

/// 20 identical requests at once open exactly one approval; 20 requests at once against one `once` grant
/// give exactly one `approval_granted`.
pub async fn approvals_under_concurrency(store: Arc<dyn Store>) {
    let file = PolicyFile::new("approvals-race", &policy(false, 3600));
    let s = Arc::new(services(store, &file.0, Duration::from_secs(5)));
    let me = agent("race");
    let burst = |host: &'static str| {
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let (s, me) = (s.clone(), me.clone());
                tokio::spawn(async move { ask(&s, &me, host).await })
            })
            .collect();
        futures_util::future::join_all(tasks)
    };
    let answers: Vec<Value> = burst("race.example.com")
        .await
        .into_iter()
        .map(|r| r.expect("task"))
        .collect();
    let opened: std::collections::BTreeSet<&str> = answers
        .iter()
        .map(|a| a["approval_id"].as_str().unwrap_or("none"))
        .collect();
    assert_eq!(opened.len(), 1, "one approval for 20 identical requests: {opened:?}");
    let id = opened.into_iter().next().unwrap().to_owned();
    let mine = list(&s, &me, &[]).await;
    assert_eq!(ids(&mine), vec![id.clone()], "exactly one approval stored");

    let g = decide(
        &s,
        APPROVER,
        &id,
        json!({"decision": "grant", "scope": "once", "ttl_seconds": 600}),
    )
    .await;
    assert_eq!(g.status, 200);
    let answers: Vec<Value> = burst("race.example.com")
        .await
        .into_iter()
        .map(|r| r.expect("task"))
        .collect();
    let granted = answers.iter().filter(|a| a["reason"] == "approval_granted").count();
    assert_eq!(granted, 1, "one once grant, one request: {answers:?}");
    let reopened: std::collections::BTreeSet<&str> = answers
        .iter()
        .filter(|a| a["decision"] == "require_approval")
        .map(|a| a["approval_id"].as_str().unwrap_or("none"))
        .collect();
    assert_eq!(reopened.len(), 1, "the other 19 share one new approval: {reopened:?}");
}
