//! Rate limits on any store, through the real create handler: exact under concurrency (never more than
//! `limit` allows per window), per principal or shared by the zone, a new window allows again, shadow
//! mode records and allows, and every request is recorded.

use std::sync::Arc;
use std::time::Duration;

use egress_core::Store;
use serde_json::{json, Value};

use super::http::{self, Answer};
use super::{services, PolicyFile, Services};

pub const LIMITS_POLICY: &str = r#"
auditors: ["auditor@example.com"]
zones:
  metered:
    members: ["*"]
    default: allow
    rate_limits:
      - {id: per-agent, hosts: [api.metered.example.com], per: principal, limit: 10, window_seconds: 60}
      - {id: zone-wide, hosts: ["*.shared.example.com"], per: zone, limit: 5, window_seconds: 60}
      - {id: short, hosts: [short.metered.example.com], per: principal, limit: 2, window_seconds: 2}
  metered-shadow:
    members: ["*"]
    default: allow
    mode: shadow
    rate_limits:
      - {id: per-agent, hosts: ["*"], per: principal, limit: 3, window_seconds: 60}
"#;

fn agent(tag: &str) -> String {
    format!("arn:aws:iam::123456789012:role/agent-{tag}-{}", ulid::Ulid::new())
}

/// Posts a request for `host` in `zone` as `who`; the answer.
pub async fn ask(s: &Services, who: &str, zone: &str, host: &str) -> Answer {
    let body = json!({"domain": host, "zone": zone}).to_string().into_bytes();
    let a = Answer::of(
        s.create
            .handle(http::post(Some(who), "/v1/egress/requests", &[], body))
            .await,
    );
    assert_eq!(a.status, 201, "{}", a.body);
    a
}

/// Waits until at least `margin` is left in the current window of `window` seconds, so a burst does
/// not straddle two windows (each of which would have its own budget).
pub async fn not_near_a_window_end(window: u64, margin: u64) {
    let now = time::OffsetDateTime::now_utc().unix_timestamp() as u64;
    let left = window - now % window;
    if left < margin {
        tokio::time::sleep(Duration::from_secs(left) + Duration::from_millis(100)).await;
    }
}

/// `n` concurrent requests; the answers.
pub async fn burst(s: &Arc<Services>, who: &str, zone: &'static str, host: &'static str, n: usize) -> Vec<Answer> {
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let (s, who) = (s.clone(), who.to_owned());
            tokio::spawn(async move { ask(&s, &who, zone, host).await })
        })
        .collect();
    futures_util::future::join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.expect("task"))
        .collect()
}

fn count(answers: &[Answer], reason: &str) -> usize {
    answers.iter().filter(|a| a.body["reason"] == reason).count()
}

/// All the rate-limit claims; returns the principal of the 50-request burst (for event checks).
pub async fn rate_limits(store: Arc<dyn Store>) -> String {
    let file = PolicyFile::new("limits", LIMITS_POLICY);
    let s = Arc::new(services(store, &file.0, Duration::from_secs(5)));

    // 50 at once from one principal against limit 10: exactly 10 allowed.
    let me = agent("burst");
    not_near_a_window_end(60, 15).await;
    let answers = burst(&s, &me, "metered", "api.metered.example.com", 50).await;
    assert_eq!(count(&answers, "default_allow"), 10, "exactly the limit is allowed");
    let limited: Vec<&Answer> = answers.iter().filter(|a| a.body["reason"] == "rate_limited").collect();
    assert_eq!(limited.len(), 40);
    for a in &limited {
        assert_eq!(
            (a.body["decision"].as_str(), a.body["rate_limit"].as_str()),
            (Some("deny"), Some("per-agent"))
        );
        let retry = a.body["retry_after_seconds"].as_u64().expect("retry_after_seconds");
        assert!((1..=60).contains(&retry), "{retry}");
        assert_eq!(
            a.header("retry-after"),
            Some(retry.to_string().as_str()),
            "Retry-After header"
        );
    }
    // Every request is recorded, allowed or not.
    let mut ids = std::collections::BTreeSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut q = vec![("principal", me.clone()), ("limit", "200".to_owned())];
        q.extend(cursor.take().map(|c| ("cursor", c)));
        let page = Answer::of(
            s.list
                .handle(http::get("auditor@example.com", "/v1/egress/requests", &q))
                .await,
        );
        for item in page.body["items"].as_array().cloned().unwrap_or_default() {
            ids.insert(item["request_id"].as_str().unwrap_or_default().to_owned());
        }
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(ids.len(), 50, "50 requests, 50 records");
    // Another principal has its own budget; another host is under no limit.
    assert_eq!(
        ask(&s, &agent("other"), "metered", "api.metered.example.com")
            .await
            .body["reason"],
        "default_allow"
    );
    assert_eq!(
        ask(&s, &me, "metered", "free.example.com").await.body["reason"],
        "default_allow"
    );

    // per: zone: every principal spends the same budget.
    not_near_a_window_end(60, 15).await;
    let mut zone_answers = Vec::new();
    for i in 0..3 {
        zone_answers.extend(burst(&s, &agent(&format!("zone{i}")), "metered", "a.shared.example.com", 3).await);
    }
    assert_eq!(count(&zone_answers, "default_allow"), 5, "one budget for the zone");
    assert_eq!(count(&zone_answers, "rate_limited"), 4);

    // The next window allows again.
    let short = agent("window");
    not_near_a_window_end(2, 1).await;
    let first: Vec<Value> = burst(&s, &short, "metered", "short.metered.example.com", 3)
        .await
        .into_iter()
        .map(|a| a.body)
        .collect();
    assert_eq!(
        first.iter().filter(|b| b["reason"] == "default_allow").count(),
        2,
        "{first:?}"
    );
    let wait = first
        .iter()
        .find_map(|b| b["retry_after_seconds"].as_u64())
        .expect("one rate limited");
    tokio::time::sleep(Duration::from_secs(wait) + Duration::from_millis(200)).await;
    assert_eq!(
        ask(&s, &short, "metered", "short.metered.example.com").await.body["reason"],
        "default_allow"
    );

    // Shadow mode: what enforce would do is recorded; the answer is allow.
    let watched = agent("shadow");
    not_near_a_window_end(60, 15).await;
    let shadow = burst(&s, &watched, "metered-shadow", "anything.example.com", 5).await;
    assert!(shadow.iter().all(|a| a.body["decision"] == "allow"));
    let would = shadow.iter().filter(|a| a.body["policy_decision"] == "deny").count();
    assert_eq!((would, count(&shadow, "rate_limited")), (2, 2));
    me
}
