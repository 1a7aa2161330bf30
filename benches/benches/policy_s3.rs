//! A 10,000-rule policy in JSON form served from S3 (moto, started by `make bench`): the fetch (a full
//! GET, and the conditional GET of an unchanged object), the load (parse + compile of the fetched text),
//! and create-request's whole init with `EGRESS_POLICY_S3_URI`, in the same run. Acceptance: init minus
//! the fetch (the load) under 20 ms. Run: `make bench BENCH_ARGS="--bench policy_s3"`.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use egress_bench::{policy_json, rules};
use egress_core::{CompiledPolicy, Fetched, PolicyFetcher, S3Fetcher, S3Location};
use egress_e2e::{moto_endpoint, s3, sdk_config};

fn policy_from_s3(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let text = policy_json(&rules(10_000));
    let bucket = format!("egress-bench-{}", std::process::id());
    let key = "egress/policy.json";
    let client = rt.block_on(async {
        let client = s3().await;
        client
            .create_bucket()
            .bucket(&bucket)
            .send()
            .await
            .expect("bucket (make local-up)");
        client
            .put_object()
            .bucket(&bucket)
            .key(key)
            .body(text.clone().into_bytes().into())
            .send()
            .await
            .expect("put policy");
        client
    });
    let location: S3Location = format!("s3://{bucket}/{key}").parse().expect("uri");
    println!("policy: 10,000 rules, {} bytes of JSON", text.len());
    // The configuration create-request reads at init (set before any other thread reads it).
    for (k, v) in [
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:1".to_owned()),
        ("AWS_ENDPOINT_URL_S3", moto_endpoint()),
        (egress_core::env::TABLE, "bench".to_owned()),
        (egress_core::env::POLICY_S3_URI, location.to_string()),
    ] {
        std::env::set_var(k, v);
    }
    // `make bench` exports the local stack's settings: the policy file would win over S3, and the
    // kill-switch read is not the policy's load.
    for k in [
        egress_core::env::POLICY_FILE,
        egress_core::env::POLICY_PARAMETER,
        egress_core::env::KILL_SWITCH_PARAMETER,
    ] {
        std::env::remove_var(k);
    }
    let conf = rt.block_on(sdk_config(&moto_endpoint()));
    // The init measured below must really load the policy (a failed fetch would fail closed, fast).
    let service = rt.block_on(egress_core::create_service()).expect("init");
    let loaded = rt
        .block_on(service.policy.current())
        .expect("create-request loaded the policy from S3");
    assert_eq!(loaded.rule_count(), 10_000);

    let mut g = c.benchmark_group("policy_s3_10k_rules");
    g.sample_size(20).measurement_time(Duration::from_secs(10));
    g.bench_function("fetch (GET)", |b| {
        b.iter(|| {
            let f = S3Fetcher::new(aws_sdk_s3::Client::new(&conf), location.clone());
            match rt.block_on(f.fetch()).expect("fetch") {
                Fetched::Document(t) => t.len(),
                Fetched::Unchanged => unreachable!("a new fetcher sends no ETag"),
            }
        })
    });
    let warm = S3Fetcher::new(client.clone(), location.clone());
    rt.block_on(warm.fetch()).expect("first fetch");
    g.bench_function("refresh unchanged (conditional GET, 304)", |b| {
        b.iter(|| assert_eq!(rt.block_on(warm.fetch()).expect("fetch"), Fetched::Unchanged))
    });
    g.bench_function("load (parse + compile)", |b| {
        b.iter(|| CompiledPolicy::from_yaml(&text).expect("valid"))
    });
    g.bench_function("create-request init (fetch + load)", |b| {
        b.iter(|| rt.block_on(egress_core::create_service()).expect("init"))
    });
    g.finish();
}

criterion_group!(benches, policy_from_s3);
criterion_main!(benches);
