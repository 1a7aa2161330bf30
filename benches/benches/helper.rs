//! The proxy helper's own time (DESIGN §12; issue budget: 200 µs p50 per decision), with no services:
//!
//! - `helper/acl_own_time`: everything `acl` does per connection except the gateway's answer itself:
//!   read Squid's line, check the kill-switch state file, build the body, read the gateway's JSON
//!   answer, compare the targets, write the reply line;
//! - `helper/auth_own_time`: `auth` per connection, a token seen before (its hour) and the first time;
//! - `helper/protocol_1000`: 1,000 requests through the real helper loop (stdin/stdout protocol,
//!   out-of-order replies) and the real SigV4-signing gateway client, against a stub gateway on
//!   loopback that answers at once: the helper's throughput with the gateway taken out.
//!
//! Run: `cargo bench -p egress-bench --bench helper` (part of `make bench`).

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use base64::Engine;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use egress_core::proxy_token::{ProxyKeys, TokenVerifier};
use egress_core::{Identity, KillSwitchState};
use egress_proxy::acl::{verdict, Acl, Ask};
use egress_proxy::gateway::{DecisionAnswer, Gateway};
use egress_proxy::kill_switch::{gate, write_state, Gate};
use egress_proxy::protocol::parse_line;
use egress_proxy::serve::serve_on;
use egress_proxy::settings::Settings;
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod http1;

const ANSWER: &str = r#"{"request_id":"01M971MT10RWB8RKKJJKVRY6JF","decision":"allow","reason":"rule_allow","rule":"lab-allow-origin","mode":"enforce","policy_decision":"allow","policy_version":"sha256:f47f0db5d72dec2ae3cf5334bf1c41a3","principal":"arn:aws:iam::000000000000:role/agent","identity":{"kind":"dev","session":null,"account":null,"org":null,"via":"arn:aws:iam::000000000000:role/egress-proxy","token_id":"01M971MT10RWB8RKKJJKVRY6JG"},"zone":"proxy-lab","target":{"scheme":"https","host":"origin.egress-lab.com","port":443,"path":null},"tunnel":true,"created_at":"2026-12-07T01:24:43.168Z"}"#;

/// A kill-switch state directory kept fresh the way `watch` keeps it (rewritten every 500 ms), since a
/// stale state refuses every decision.
fn state_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("egress-bench-helper-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("state dir");
    write_state(&d, &KillSwitchState::Off).expect("state");
    let keep = d.clone();
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_millis(500));
        let _ = write_state(&keep, &KillSwitchState::Off);
    });
    d
}

fn acl_line(token: &str, channel: usize) -> String {
    let cred = base64::engine::general_purpose::STANDARD.encode(format!("proxy-lab:{token}"));
    format!("{channel} proxy-lab CONNECT - origin.egress-lab.com 443 - Basic%20{cred} {channel} -\n")
}

/// A gateway that answers every POST at once with [`ANSWER`] (HTTP/1.1, keep-alive).
async fn stub_gateway() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = Vec::with_capacity(4096);
                while http1::read_request(&mut sock, &mut buf).await.is_some() {
                    let resp = format!(
                        "HTTP/1.1 201 Created\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{ANSWER}",
                        ANSWER.len()
                    );
                    if sock.write_all(resp.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

fn helper(c: &mut Criterion) {
    let keys = ProxyKeys::new(
        b"bench-proxy-token-secret-0123456789abcdef",
        None,
        "egress-egress-proxy",
    )
    .expect("keys");
    let now = OffsetDateTime::now_utc();
    let token = keys
        .mint("arn:aws:iam::000000000000:role/agent", &Identity::dev(), 3600, now)
        .expect("mint")
        .token;
    let dir = state_dir();
    let line = acl_line(&token, 17);
    let answer_bytes = ANSWER.as_bytes();

    let mut g = c.benchmark_group("helper");
    g.bench_function("acl_own_time", |b| {
        b.iter(|| {
            let l = parse_line(black_box(line.trim_end())).expect("line");
            let ask = Ask::from_values(&l.values).expect("ask");
            assert_eq!(gate(&dir, SystemTime::now()), Gate::Open);
            let body = serde_json::to_vec(&ask.body()).expect("body");
            let answer: DecisionAnswer = serde_json::from_slice(black_box(answer_bytes)).expect("answer");
            black_box((body, verdict(&ask, &answer).line(&l.channel)))
        })
    });

    let verifier = TokenVerifier::from_public_keys(&keys.public_keys(), "egress-egress-proxy").expect("verifier");
    let auth_line = format!("3 proxy-lab {token}");
    g.bench_function("auth_own_time/seen_before", |b| {
        b.iter(|| {
            let l = parse_line(black_box(&auth_line)).expect("line");
            let t = l.values[1].as_deref().expect("token");
            black_box(verifier.verify(t, now).expect("verifies"))
        })
    });
    g.bench_function("auth_own_time/first_sight", |b| {
        b.iter_batched(
            || TokenVerifier::from_public_keys(&keys.public_keys(), "egress-egress-proxy").expect("verifier"),
            |fresh| {
                let l = parse_line(black_box(&auth_line)).expect("line");
                black_box(
                    fresh
                        .verify(l.values[1].as_deref().expect("token"), now)
                        .expect("verifies"),
                )
            },
            BatchSize::SmallInput,
        )
    });

    // The whole helper loop against a stub gateway.
    for (k, v) in [
        ("AWS_ACCESS_KEY_ID", "bench"),
        ("AWS_SECRET_ACCESS_KEY", "bench"),
        ("AWS_REGION", "us-east-1"),
    ] {
        if std::env::var_os(k).is_none() {
            std::env::set_var(k, v);
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let acl = rt.block_on(async {
        let settings = Settings {
            gateway_url: stub_gateway().await,
            region: "us-east-1".into(),
            dev_principal: None,
            state_dir: dir.clone(),
        };
        Arc::new(Acl::new(
            Gateway::new(settings.clone()).await.expect("gateway"),
            settings,
        ))
    });
    const N: usize = 1000;
    let input: Vec<u8> = (0..N).flat_map(|i| acl_line(&token, i).into_bytes()).collect();
    g.throughput(criterion::Throughput::Elements(N as u64));
    g.measurement_time(Duration::from_secs(10));
    g.bench_function("protocol_1000", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let (acl, input) = (Arc::clone(&acl), input.clone());
                total += rt.block_on(async move {
                    let (client, mut server) = tokio::io::duplex(1 << 20);
                    let t = Instant::now();
                    let reader = tokio::spawn(async move {
                        let mut out = String::new();
                        server.read_to_string(&mut out).await.expect("replies");
                        out
                    });
                    serve_on(acl, &input[..], client).await.expect("served");
                    let out = reader.await.expect("reader");
                    let elapsed = t.elapsed();
                    let errs: Vec<&str> = out.lines().filter(|l| !l.contains(" OK ")).take(3).collect();
                    assert_eq!(out.lines().filter(|l| l.contains(" OK ")).count(), N, "{errs:?}");
                    elapsed
                });
            }
            total
        })
    });
    g.finish();
}

criterion_group!(benches, helper);
criterion_main!(benches);
