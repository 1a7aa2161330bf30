//! Proxy tokens: minting (the proxy-tokens function's work per call) and verification (what the gateway
//! does for every request an enforcer sends, and the proxy helper for every connection). Pure CPU, no
//! services. Run: `cargo bench -p egress-bench --bench proxy_tokens` (part of `make bench`).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use egress_core::proxy_token::ProxyKeys;
use egress_core::Identity;
use time::OffsetDateTime;

const AGENT: &str = "arn:aws:iam::123456789012:role/agent-runner";
const SECRET: &[u8] = b"bench-proxy-token-secret-0123456789abcdef";

fn proxy_tokens(c: &mut Criterion) {
    let keys = ProxyKeys::new(
        b"bench-proxy-token-secret-0123456789abcdef",
        None,
        "egress-egress-proxy",
    )
    .expect("32-byte secret");
    let identity = Identity::dev();
    let now = OffsetDateTime::now_utc();
    let mut g = c.benchmark_group("proxy_token");
    g.bench_function("mint", |b| {
        b.iter(|| black_box(keys.mint(AGENT, &identity, 3600, now).expect("mint")))
    });
    let token = keys.mint(AGENT, &identity, 3600, now).expect("mint").token;
    // The first time a process sees a token: the signature check (fresh keys each time, made outside the
    // timing, so nothing is remembered).
    g.bench_function("verify_first_sight", |b| {
        b.iter_batched(
            || ProxyKeys::new(SECRET, None, "egress-egress-proxy").expect("32-byte secret"),
            |fresh| black_box(fresh.verify(black_box(&token), now).expect("verifies")),
            BatchSize::SmallInput,
        )
    });
    // Every later connection with the same token (an agent's hour): remembered, only the time checked.
    g.bench_function("verify_again", |b| {
        b.iter(|| black_box(keys.verify(black_box(&token), now).expect("verifies")))
    });
    // A forged token costs the signature check and no more (it is never remembered).
    let mut forged = token.clone().into_bytes();
    let i = "v4.public.".len() + 12;
    forged[i] = if forged[i] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).expect("ascii");
    g.bench_function("verify_forged", |b| {
        b.iter(|| black_box(keys.verify(black_box(&forged), now).is_err()))
    });
    g.finish();
}

criterion_group!(benches, proxy_tokens);
criterion_main!(benches);
