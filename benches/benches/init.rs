//! Cold-start work of each function, in process: configuration, SDK clients, and (create-request,
//! list-requests) loading and compiling a 10,000-rule policy from a file. No network: the SDK resolves
//! credentials lazily. Run: `make bench BENCH_ARGS="--bench init"`.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use egress_bench::{policy_json, rules};

fn init(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let policy = std::env::temp_dir().join(format!("egress-init-bench-{}.json", std::process::id()));
    // JSON form: see docs/BENCHMARKS.md (cold start) for YAML vs JSON.
    std::fs::write(&policy, policy_json(&rules(10_000))).expect("write policy");
    // Set before any thread starts: this is the configuration a function reads at init.
    for (k, v) in [
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:1"),
        (egress_core::env::TABLE, "sec_egress_requests"),
        (egress_core::env::BUS_NAME, "egress"),
        (
            egress_core::env::CURSOR_KEY,
            "bench-cursor-key-0123456789abcdef0123456789",
        ),
    ] {
        std::env::set_var(k, v);
    }
    std::env::set_var(egress_core::env::POLICY_FILE, &policy);

    let mut g = c.benchmark_group("init_10k_rules");
    g.sample_size(20).measurement_time(Duration::from_secs(10));
    g.bench_function("create-request", |b| {
        b.iter(|| rt.block_on(egress_core::create_service()).expect("init"))
    });
    g.bench_function("list-requests", |b| {
        b.iter(|| rt.block_on(egress_core::list_service()).expect("init"))
    });
    g.bench_function("publish-events", |b| {
        b.iter(|| rt.block_on(egress_core::event_bus()).expect("init"))
    });
    g.finish();
    let _ = std::fs::remove_file(policy);
}

criterion_group!(benches, init);
criterion_main!(benches);
