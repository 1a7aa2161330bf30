//! Proxy tokens and enforcers through the running local stack (`cargo lambda watch`, DynamoDB Local, the
//! stream, moto EventBridge): a dev principal mints a token, the example policy's enforcer asks with it,
//! and the row and the events say the agent's principal with `identity.via`; every refused mix writes
//! nothing; tunnels are judged with their path unknown and recorded as tunnels.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use egress_core::proxy_token::ProxyKeys;
use egress_core::{Identity, PROXY_TOKEN_HEADER};
use egress_e2e::*;
use serde_json::{json, Value};

/// The example policy's enforcer (`infra/policy/default.yaml`).
const ENFORCER: &str = "arn:aws:iam::000000000000:role/egress-proxy";

async fn mint(principal: &str, body: Option<Value>) -> Answer {
    let mut req = reqwest::Client::new()
        .post(format!("{}/v1/egress/proxy-tokens", lambda_endpoint()))
        .timeout(Duration::from_secs(120))
        .header(egress_core::PRINCIPAL_HEADER, principal);
    if let Some(b) = body {
        req = req.header("content-type", "application/json").body(b.to_string());
    }
    Answer::of(req.send().await.expect("lambda watch reachable")).await
}

async fn ask_as(who: &str, token: Option<&str>, body: &Value) -> Answer {
    let headers: Vec<(&str, &str)> = token.map(|t| (PROXY_TOKEN_HEADER, t)).into_iter().collect();
    post(Some(who), &headers, body.to_string()).await
}

fn map_field<'a>(row: &'a HashMap<String, AttributeValue>, map: &str, k: &str) -> Option<&'a str> {
    row.get(map)
        .and_then(|v| v.as_m().ok())
        .and_then(|m| m.get(k))
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
}

#[tokio::test]
async fn an_enforcer_asks_for_the_agent_with_its_token() {
    let agent = unique_principal("proxy-agent");
    let minted = mint(&agent, Some(json!({"ttl_seconds": 600}))).await;
    assert_eq!(minted.status, 201, "{}", minted.body);
    let token = minted.body["token"].as_str().expect("token").to_owned();
    let token_id = minted.body["token_id"].as_str().expect("token_id").to_owned();
    assert!(token.starts_with("v4.public."), "{token}");
    let keys = Answer::of(
        reqwest::Client::new()
            .get(format!("{}/v1/egress/proxy-keys", lambda_endpoint()))
            .header(egress_core::PRINCIPAL_HEADER, &agent)
            .send()
            .await
            .expect("reachable"),
    )
    .await;
    assert_eq!(keys.status, 200, "{}", keys.body);
    assert_eq!(keys.body["audience"], "egress-egress-proxy");
    assert_eq!(keys.body["keys"].as_array().map(Vec::len), Some(1));

    let body = json!({"url": "https://api.github.com/repos/acme/x", "zone": "default"});
    let a = ask_as(ENFORCER, Some(&token), &body).await;
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!(
        (a.body["principal"].as_str(), a.body["decision"].as_str()),
        (Some(agent.as_str()), Some("allow"))
    );
    assert_eq!(a.body["identity"]["via"], ENFORCER);
    assert_eq!(a.body["identity"]["token_id"], token_id.as_str());
    let rows = rows_for(&agent).await;
    assert_eq!(rows.len(), 1);
    assert_eq!(map_field(&rows[0], "identity", "via"), Some(ENFORCER));
    assert_eq!(map_field(&rows[0], "identity", "token_id"), Some(token_id.as_str()));
    assert!(
        rows_for(ENFORCER).await.is_empty(),
        "nothing is recorded for the enforcer"
    );
    let id = a.body["request_id"].as_str().unwrap_or_default().to_owned();
    let events = wait_events(ALL_EVENTS_QUEUE, 2, Duration::from_secs(60), |e| {
        detail_field(e, "request_id") == Some(id.as_str())
    })
    .await;
    for e in &events {
        assert_eq!(e["detail"]["identity"]["via"], ENFORCER, "{e}");
        assert_eq!(e["detail"]["principal"], agent.as_str(), "{e}");
    }

    // A non-enforcer with the same token: 403, nothing written (neither for it nor for the agent).
    let other = unique_principal("proxy-other");
    let refused = ask_as(&other, Some(&token), &body).await;
    assert_eq!(
        (refused.status, refused.body["type"].as_str()),
        (403, Some("urn:egress:problem:forbidden"))
    );
    assert!(rows_for(&other).await.is_empty());

    // Tampered (one byte flipped), signed by another key, for another audience: 401, nothing written.
    let mut flipped = token.clone().into_bytes();
    let i = "v4.public.".len() + 10;
    flipped[i] = if flipped[i] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap_or_default();
    let now = time::OffsetDateTime::now_utc();
    let other_key = ProxyKeys::new(&[9u8; 32], None, "egress-egress-proxy").expect("keys");
    let foreign = other_key.mint(&agent, &Identity::dev(), 600, now).expect("mint");
    let local_secret = stack_setting("LOCAL_PROXY_KEY");
    let other_stack = ProxyKeys::new(local_secret.as_bytes(), None, "other-egress-proxy").expect("keys");
    let elsewhere = other_stack.mint(&agent, &Identity::dev(), 600, now).expect("mint");
    for (case, t) in [
        ("tampered", flipped.as_str()),
        ("another key", foreign.token.as_str()),
        ("another audience", elsewhere.token.as_str()),
    ] {
        let a = ask_as(ENFORCER, Some(t), &body).await;
        assert_eq!(
            (a.status, a.body["type"].as_str()),
            (401, Some("urn:egress:problem:invalid-proxy-token")),
            "{case}: {}",
            a.body
        );
    }
    // The enforcer without a token.
    assert_eq!(ask_as(ENFORCER, None, &body).await.status, 401);
    assert_eq!(rows_for(&agent).await.len(), 1, "refused requests write nothing");
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let agent = unique_principal("proxy-expiry");
    let minted = mint(&agent, Some(json!({"ttl_seconds": 1}))).await;
    assert_eq!(minted.status, 201, "{}", minted.body);
    let token = minted.body["token"].as_str().expect("token").to_owned();
    // One second of life and 30 s of tolerated clock skew.
    tokio::time::sleep(Duration::from_secs(33)).await;
    let body = json!({"url": "https://api.github.com/", "zone": "default"});
    let a = ask_as(ENFORCER, Some(&token), &body).await;
    assert_eq!(
        (a.status, a.body["detail"].as_str()),
        (401, Some("the proxy token has expired")),
        "{}",
        a.body
    );
    assert!(rows_for(&agent).await.is_empty());
}

#[tokio::test]
async fn tunnels_are_judged_with_their_path_unknown() {
    let agent = unique_principal("proxy-tunnel");
    let minted = mint(&agent, None).await;
    assert_eq!(minted.status, 201, "{}", minted.body);
    let token = minted.body["token"].as_str().expect("token").to_owned();
    // default.yaml: api.openai.com is allowed only on two paths; api.github.com has a path-limited deny;
    // github.com is a host-only allow.
    for (host, decision, reason) in [
        ("api.openai.com", "deny", "default_deny"),
        ("api.github.com", "deny", "rule_deny"),
        ("github.com", "allow", "rule_allow"),
    ] {
        let body = json!({"domain": host, "zone": "default", "tunnel": true});
        let a = ask_as(ENFORCER, Some(&token), &body).await;
        assert_eq!(a.status, 201, "{host}: {}", a.body);
        assert_eq!(
            (
                a.body["decision"].as_str(),
                a.body["reason"].as_str(),
                a.body["tunnel"].as_bool()
            ),
            (Some(decision), Some(reason), Some(true)),
            "{host}: {}",
            a.body
        );
    }
    let rows = rows_for(&agent).await;
    assert_eq!(rows.len(), 3);
    assert!(rows
        .iter()
        .all(|r| r.get("tunnel").and_then(|v| v.as_bool().ok()) == Some(&true)));
}
