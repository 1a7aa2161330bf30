//! Asking on an agent's behalf (DESIGN §12), on any store, through the real handlers: an enforcer with
//! the agent's proxy token decides and records for the agent (`identity.via`, `identity.token_id`); every
//! other mix of caller and token is refused and writes nothing; a tunnel is judged with its path unknown.

use std::sync::Arc;
use std::time::Duration;

use egress_core::proxy_token::ProxyKeys;
use egress_core::{Identity, IdentityKind, Store, PROXY_TOKEN_HEADER};
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::http::{self, Answer};
use super::{proxy_keys, services, PolicyFile, Services, PROXY_AUDIENCE};

const ENFORCER: &str = "arn:aws:iam::123456789012:role/egress-proxy";

const POLICY: &str = r#"
enforcers: ["arn:aws:iam::123456789012:role/egress-proxy"]
zones:
  agents:
    members: ["arn:aws:iam::123456789012:role/agent-*"]
    approvers: ["arn:aws:iam::123456789012:role/egress-approver"]
    default: deny
    rules:
      - {id: open, effect: allow, hosts: [open.example.com]}
      - {id: api-only, effect: allow, hosts: [paths.example.com], paths: ["/v1/"]}
      - {id: site, effect: allow, hosts: [mixed.example.com]}
      - {id: no-admin, effect: deny, hosts: [mixed.example.com], paths: ["/admin/"]}
      - {id: export-site, effect: allow, hosts: [export.example.com]}
      - {id: ask-export, effect: require_approval, hosts: [export.example.com], paths: ["/export/"]}
"#;

fn agent_identity() -> Identity {
    Identity {
        kind: IdentityKind::Iam,
        session: Some("agent-fn".into()),
        account: Some("123456789012".into()),
        org: None,
        via: None,
        token_id: None,
    }
}

async fn ask(s: &Services, who: &str, token: Option<&str>, body: Value) -> Answer {
    let headers: Vec<(&str, &str)> = token.map(|t| (PROXY_TOKEN_HEADER, t)).into_iter().collect();
    let req = http::post(
        Some(who),
        "/v1/egress/requests",
        &headers,
        body.to_string().into_bytes(),
    );
    Answer::of(s.create.handle(req).await)
}

/// How many requests the agent has on record (its own list).
async fn recorded(s: &Services, agent: &str) -> usize {
    let page = Answer::of(
        s.list
            .handle(http::get(agent, "/v1/egress/requests", &[("limit", "200".to_owned())]))
            .await,
    );
    page.body["items"].as_array().map_or(0, Vec::len)
}

pub async fn on_behalf_of_an_agent(store: Arc<dyn Store>) {
    let file = PolicyFile::new("on-behalf", POLICY);
    let s = services(store, &file.0, Duration::from_secs(5));
    let agent = format!("arn:aws:iam::123456789012:role/agent-{}", ulid::Ulid::new());
    let now = OffsetDateTime::now_utc();
    let keys = proxy_keys();
    let minted = keys.mint(&agent, &agent_identity(), 600, now).expect("mint");
    let open = json!({"url": "https://open.example.com/x", "zone": "agents"});

    // The enforcer with the agent's token: decided and recorded for the agent.
    let a = ask(&s, ENFORCER, Some(&minted.token), open.clone()).await;
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!(
        (a.body["decision"].as_str(), a.body["principal"].as_str()),
        (Some("allow"), Some(agent.as_str()))
    );
    assert_eq!(
        a.body["identity"],
        json!({"kind": "iam", "session": "agent-fn", "account": "123456789012", "org": null,
               "via": ENFORCER, "token_id": minted.token_id})
    );
    assert_eq!(recorded(&s, &agent).await, 1);
    let read = Answer::of(
        s.list
            .handle(http::get(
                &agent,
                &format!(
                    "/v1/egress/requests/{}",
                    a.body["request_id"].as_str().unwrap_or_default()
                ),
                &[],
            ))
            .await,
    );
    assert_eq!(read.body["identity"]["via"], ENFORCER, "{}", read.body);

    // Every other mix writes nothing: a token from a non-enforcer (the agent itself, another principal).
    for who in [agent.as_str(), "arn:aws:iam::123456789012:role/agent-other"] {
        let a = ask(&s, who, Some(&minted.token), open.clone()).await;
        assert_eq!(
            (a.status, a.body["type"].as_str()),
            (403, Some("urn:egress:problem:forbidden")),
            "{who}"
        );
    }
    // The enforcer without a token, with a tampered, expired, foreign-key or other-audience token, or two.
    let flipped = {
        let mut b = minted.token.clone().into_bytes();
        let i = "v4.public.".len() + 20;
        b[i] = if b[i] == b'A' { b'B' } else { b'A' };
        String::from_utf8(b).unwrap_or_default()
    };
    let expired = keys
        .mint(&agent, &agent_identity(), 60, now - time::Duration::hours(2))
        .expect("mint");
    let mint_with = |secret: u8, audience: &str| {
        let keys = ProxyKeys::new(&[secret; 32], None, audience).expect("keys");
        keys.mint(&agent, &agent_identity(), 600, now).expect("mint")
    };
    // Another key for this audience; this stack's secret for another stack's audience.
    let foreign = mint_with(7, PROXY_AUDIENCE);
    let elsewhere = mint_with(42, "another-stack-egress-proxy");
    for (case, token) in [
        ("tampered", Some(flipped.as_str())),
        ("expired", Some(expired.token.as_str())),
        ("another key", Some(foreign.token.as_str())),
        ("another audience", Some(elsewhere.token.as_str())),
        ("not a token", Some("v4.public.bm90IGEgdG9rZW4")),
        ("none", None),
    ] {
        let a = ask(&s, ENFORCER, token, open.clone()).await;
        assert_eq!(
            (a.status, a.body["type"].as_str()),
            (401, Some("urn:egress:problem:invalid-proxy-token")),
            "{case}: {}",
            a.body
        );
    }
    let twice = http::post(
        Some(ENFORCER),
        "/v1/egress/requests",
        &[(PROXY_TOKEN_HEADER, &minted.token), (PROXY_TOKEN_HEADER, &minted.token)],
        open.to_string().into_bytes(),
    );
    assert_eq!(Answer::of(s.create.handle(twice).await).status, 401);
    assert_eq!(recorded(&s, &agent).await, 1, "a refused request writes nothing");

    // Tunnels: the path is unknown, so only a rule that allows every path allows one.
    for (host, decision, reason) in [
        ("open.example.com", "allow", "rule_allow"),
        ("paths.example.com", "deny", "default_deny"),
        ("mixed.example.com", "deny", "rule_deny"),
        ("export.example.com", "require_approval", "rule_require_approval"),
    ] {
        let a = ask(
            &s,
            ENFORCER,
            Some(&minted.token),
            json!({"domain": host, "zone": "agents", "tunnel": true}),
        )
        .await;
        assert_eq!(a.status, 201, "{host}: {}", a.body);
        assert_eq!(
            (
                a.body["decision"].as_str(),
                a.body["reason"].as_str(),
                a.body["tunnel"].as_bool()
            ),
            (Some(decision), Some(reason), Some(true)),
            "{host}"
        );
        if decision == "require_approval" {
            let id = a.body["approval_id"].as_str().unwrap_or_default();
            let shown = Answer::of(
                s.approvals
                    .handle(http::get(&agent, &format!("/v1/egress/approvals/{id}"), &[]))
                    .await,
            );
            assert_eq!(shown.body["tunnel"], true, "the approver sees a tunnel: {}", shown.body);
        }
    }
    // The same hosts asked with a path decide by the path.
    let a = ask(
        &s,
        ENFORCER,
        Some(&minted.token),
        json!({"url": "https://paths.example.com/v1/x", "zone": "agents"}),
    )
    .await;
    assert_eq!(
        (a.body["decision"].as_str(), a.body.get("tunnel")),
        (Some("allow"), None)
    );
    // A tunnel with a path is no tunnel: a 400 that writes nothing.
    let before = recorded(&s, &agent).await;
    let a = ask(
        &s,
        ENFORCER,
        Some(&minted.token),
        json!({"url": "https://open.example.com/x", "zone": "agents", "tunnel": true}),
    )
    .await;
    assert_eq!(a.status, 400, "{}", a.body);
    assert_eq!(recorded(&s, &agent).await, before);
}
