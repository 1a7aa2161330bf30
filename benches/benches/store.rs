//! Against DynamoDB Local (`make bench` starts it):
//! - `list_page`: a page of 50 through the real list handler with 1,000 vs 100,000 rows;
//! - `request_path`: the create-request handler vs a bare write of the same item(s), without and with an
//!   idempotency key. Ratios, not absolute times, are what the docs record.
//!
//! Each measurement uses its own scratch table cloned from the real table's definition, without a stream.

mod common;

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, Put, PutRequest, TransactWriteItem, WriteRequest};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use egress_core::CreateService;
use egress_core::CursorCodec;
use egress_core::DynamoStore;
use egress_core::ListService;
use egress_core::{CachedPolicySource, FileFetcher};
use egress_e2e::percentile;
use egress_e2e::{drop_table, dynamodb, scratch_table};
use lambda_http::Body;

use common::{item, policy, rt, POLICY};

const AUDITOR: &str = "auditor@example.com";
/// More items than criterion's iterations in warm-up plus measurement at DynamoDB Local's speed.
const PREBUILT: usize = 40_000;

fn policy_source() -> Arc<CachedPolicySource<FileFetcher>> {
    Arc::new(CachedPolicySource::new(
        FileFetcher::new(POLICY),
        Duration::from_secs(1),
    ))
}

async fn seed(table: &str, n: usize) {
    let ddb = dynamodb().await;
    let policy = policy();
    let mut batch = Vec::with_capacity(25);
    for i in 0..n {
        let av = serde_dynamo::to_item(item(&policy, i)).expect("item");
        batch.push(
            WriteRequest::builder()
                .put_request(PutRequest::builder().set_item(Some(av)).build().expect("put"))
                .build(),
        );
        if batch.len() == 25 || i + 1 == n {
            let mut pending = Some(std::mem::take(&mut batch));
            while let Some(reqs) = pending.take() {
                let out = ddb
                    .batch_write_item()
                    .request_items(table, reqs)
                    .send()
                    .await
                    .expect("batch write");
                pending = out
                    .unprocessed_items
                    .and_then(|mut m| m.remove(table))
                    .filter(|v| !v.is_empty());
            }
        }
    }
}

fn list_page(c: &mut Criterion) {
    let rt = rt();
    let mut g = c.benchmark_group("list_page_50");
    g.sample_size(30).measurement_time(Duration::from_secs(10));
    for n in [1_000usize, 100_000] {
        let table = rt.block_on(async {
            let t = scratch_table("bench-list").await;
            seed(&t, n).await;
            t
        });
        let svc = rt.block_on(async {
            ListService {
                store: Arc::new(DynamoStore::new(dynamodb().await, table.clone())),
                policy: policy_source(),
                cursors: CursorCodec::new(&[1u8; 32]).expect("key"),
                dev_mode: true,
            }
        });
        // Unfiltered, and with a filter that matches no row (no such zone): each page evaluates a fixed
        // budget per shard, so the second costs about what the first does, whatever the table size.
        for (case, query) in [("", ""), ("_filter_matches_nothing", "?zone=no-such-zone")] {
            let uri = format!("/v1/egress/requests{query}");
            g.bench_with_input(BenchmarkId::from_parameter(format!("{n}{case}")), &n, |b, _| {
                b.to_async(&rt).iter(|| async {
                    let req = lambda_http::http::Request::builder()
                        .method("GET")
                        .uri(uri.as_str())
                        .header(egress_core::PRINCIPAL_HEADER, AUDITOR)
                        .body(Body::Empty)
                        .expect("request");
                    let resp = svc.handle(req).await;
                    assert_eq!(resp.status(), 200);
                })
            });
        }
        rt.block_on(drop_table(&table));
    }
    g.finish();
}

fn request_path(c: &mut Criterion) {
    let rt = rt();
    let mut g = c.benchmark_group("request_path");
    g.sample_size(50).measurement_time(Duration::from_secs(10));
    let table = rt.block_on(scratch_table("bench-write"));
    let (svc, ddb, policy) = rt.block_on(async {
        let ddb = dynamodb().await;
        let svc = CreateService {
            store: Arc::new(DynamoStore::new(ddb.clone(), table.clone())),
            policy: policy_source(),
            dev_mode: true,
            organization: None,
            idempotency_ttl: Duration::from_secs(3600),
            proxy_keys: None,
        };
        let policy = policy();
        (svc, ddb, policy)
    });
    let body = r#"{"url":"https://api.github.com/repos/rust-lang/rust","zone":"default","purpose":"bench"}"#;
    let request = |key: Option<String>| {
        let mut b = lambda_http::http::Request::builder()
            .method("POST")
            .uri("/v1/egress/requests")
            .header("content-type", "application/json")
            .header(egress_core::PRINCIPAL_HEADER, "arn:aws:iam::000000000000:role/agent-1");
        if let Some(k) = key {
            b = b.header("idempotency-key", k);
        }
        b.body(Body::Text(body.to_owned())).expect("request")
    };
    // Baseline items are built before timing: the baseline is the SDK call and DynamoDB only.
    type Item = std::collections::HashMap<String, AttributeValue>;
    let prebuilt = |n: usize| -> Vec<Item> {
        (0..n)
            .map(|i| serde_dynamo::to_item(item(&policy, i)).expect("item"))
            .collect()
    };
    let mut items = prebuilt(PREBUILT).into_iter();
    let put = |av: Item| {
        let req = ddb
            .put_item()
            .table_name(&table)
            .set_item(Some(av))
            .condition_expression("attribute_not_exists(pk)");
        async move { req.send().await.expect("put") }
    };
    g.bench_function("bare_put_item", |b| {
        b.to_async(&rt)
            .iter(|| put(items.next().expect("enough prebuilt items")))
    });
    g.bench_function("handler_no_key", |b| {
        b.to_async(&rt).iter(|| async {
            assert_eq!(svc.handle(request(None)).await.status(), 201);
        })
    });
    let mut pairs = prebuilt(PREBUILT)
        .into_iter()
        .map(|av| {
            let idem: Item = [
                ("pk", AttributeValue::S(format!("IDEM#{}", ulid::Ulid::new()))),
                ("sk", AttributeValue::S("IDEM".into())),
                ("kind", AttributeValue::S("idempotency".into())),
                ("request_id", AttributeValue::S(ulid::Ulid::new().to_string())),
                ("body_hash", AttributeValue::S("0".repeat(64))),
                ("response", AttributeValue::S("x".repeat(600))),
                ("expires_at", AttributeValue::N("9999999999".into())),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
            (av, idem)
        })
        .collect::<Vec<_>>()
        .into_iter();
    let transact = |av: Item, idem: Item| {
        let t = |item| {
            TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name(&table)
                        .set_item(Some(item))
                        .condition_expression("attribute_not_exists(pk)")
                        .build()
                        .expect("put"),
                )
                .build()
        };
        let req = ddb.transact_write_items().transact_items(t(av)).transact_items(t(idem));
        async move { req.send().await.expect("transact") }
    };
    g.bench_function("bare_transact_write", |b| {
        b.to_async(&rt).iter(|| {
            let (av, idem) = pairs.next().expect("enough prebuilt items");
            transact(av, idem)
        })
    });
    g.bench_function("handler_with_key", |b| {
        b.to_async(&rt).iter(|| async {
            assert_eq!(
                svc.handle(request(Some(ulid::Ulid::new().to_string()))).await.status(),
                201
            );
        })
    });
    g.finish();

    // p50 and p99 need single-call latencies, which criterion does not keep: time each call, the four
    // cases interleaved round by round so machine noise hits them alike.
    if criterion_filter_allows("request_path") {
        const ROUNDS: usize = 2_000;
        let mut lat: [Vec<Duration>; 4] = Default::default();
        rt.block_on(async {
            for _ in 0..ROUNDS {
                let call = put(items.next().expect("enough prebuilt items"));
                let t = std::time::Instant::now();
                call.await;
                lat[0].push(t.elapsed());
                let t = std::time::Instant::now();
                assert_eq!(svc.handle(request(None)).await.status(), 201);
                lat[1].push(t.elapsed());
                let (tav, idem) = pairs.next().expect("enough prebuilt items");
                let call = transact(tav, idem);
                let t = std::time::Instant::now();
                call.await;
                lat[2].push(t.elapsed());
                let req = request(Some(ulid::Ulid::new().to_string()));
                let t = std::time::Instant::now();
                assert_eq!(svc.handle(req).await.status(), 201);
                lat[3].push(t.elapsed());
            }
        });
        for v in &mut lat {
            v.sort();
        }
        let us = |d: Duration| format!("{:.0} µs", d.as_secs_f64() * 1e6);
        println!("\nrequest_path percentiles, {ROUNDS} interleaved rounds of single calls");
        println!("| case | p50 | p99 | p50 ratio | p99 ratio |\n|---|---:|---:|---:|---:|");
        let names = [
            "bare PutItem",
            "handler, no key",
            "bare TransactWriteItems",
            "handler, with key",
        ];
        for pair in [0, 2] {
            let (b50, b99) = (percentile(&lat[pair], 50.0), percentile(&lat[pair], 99.0));
            let (h50, h99) = (percentile(&lat[pair + 1], 50.0), percentile(&lat[pair + 1], 99.0));
            println!("| {} | {} | {} | 1.00 | 1.00 |", names[pair], us(b50), us(b99));
            println!(
                "| {} | {} | {} | {:.2} | {:.2} |",
                names[pair + 1],
                us(h50),
                us(h99),
                h50.as_secs_f64() / b50.as_secs_f64(),
                h99.as_secs_f64() / b99.as_secs_f64()
            );
        }
    }
    rt.block_on(drop_table(&table));
}

/// Whether a name filter given to the bench binary (`cargo bench -- <filter>`) selects `name`; criterion
/// applies its filter to its own groups only.
fn criterion_filter_allows(name: &str) -> bool {
    const TAKES_VALUE: &[&str] = &[
        "--warm-up-time",
        "--measurement-time",
        "--sample-size",
        "--save-baseline",
        "--baseline",
        "--load-baseline",
        "--profile-time",
        "--noise-threshold",
        "--confidence-level",
        "--significance-level",
        "--nresamples",
        "--output-format",
        "--color",
        "--plotting-backend",
    ];
    let args: Vec<String> = std::env::args().skip(1).collect();
    let filters: Vec<&String> = args
        .iter()
        .enumerate()
        .filter(|(i, a)| {
            let is_flag_value = *i > 0 && TAKES_VALUE.contains(&args[i - 1].as_str());
            !a.starts_with('-') && !is_flag_value
        })
        .map(|(_, a)| a)
        .collect();
    filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()) || f.contains(name))
}

criterion_group!(benches, request_path, list_page);
criterion_main!(benches);
