//! The event publisher (`publish-events`) against moto's EventBridge: stream records per second through
//! `handle_stream_event` vs bare PutEvents calls of the same entries, and the same over a link with 10 ms
//! latency. Run: `make bench` (or `cargo bench -p egress-bench --bench publisher` with the local stack up).

mod common;

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use egress_core::RequestItem;

use common::{item, policy, rt};

/// Stream records per second through the publisher into moto's EventBridge (two events per record), against
/// bare PutEvents calls of the same, prebuilt entries in the same run: sequential (what a plain loop does)
/// and in waves of `PUTS_IN_FLIGHT` calls (what the publisher does). The bus is a scratch bus without rules:
/// moto delivers to rule targets inside PutEvents (EventBridge does it after answering), and its SQS queues
/// slow it down as they fill, which would measure moto, not the publisher.
fn publisher(c: &mut Criterion) {
    use aws_lambda_events::event::dynamodb::{Event, EventRecord};
    use aws_sdk_eventbridge::types::PutEventsRequestEntry;
    use egress_core::{events_for, put_events_entry, EventBridgeBus, MAX_ENTRIES_PER_PUT, PUTS_IN_FLIGHT};
    let rt = rt();
    let policy = policy();
    let moto = egress_e2e::moto_endpoint();
    let bus_name = format!("egress-bench-{}", ulid::Ulid::new());
    let client = rt.block_on(async {
        let client = aws_sdk_eventbridge::Client::new(&egress_e2e::sdk_config(&moto).await);
        client
            .create_event_bus()
            .name(&bus_name)
            .send()
            .await
            .expect("scratch bus");
        client
    });
    let bus = EventBridgeBus::new(client.clone(), bus_name.clone());
    // Bare PutEvents of prebuilt entries, `in_flight` calls at a time.
    let put_all = |client: &aws_sdk_eventbridge::Client, entries: Vec<PutEventsRequestEntry>, in_flight: usize| {
        let client = client.clone();
        async move {
            let chunks: Vec<Vec<PutEventsRequestEntry>> =
                entries.chunks(MAX_ENTRIES_PER_PUT).map(<[_]>::to_vec).collect();
            for wave in chunks.chunks(in_flight) {
                let calls = wave
                    .iter()
                    .map(|chunk| client.put_events().set_entries(Some(chunk.clone())).send());
                for out in futures_util::future::join_all(calls).await {
                    assert_eq!(out.expect("put_events").failed_entry_count(), 0);
                }
            }
        }
    };
    // A stream batch of n new request items, and the PutEvents entries of their events.
    let batch = |n: usize| {
        let items: Vec<RequestItem> = (0..n).map(|i| item(&policy, i)).collect();
        let mut event = Event::default();
        event.records = items
            .iter()
            .enumerate()
            .map(|(i, it)| {
                let mut r = EventRecord::default();
                r.event_name = "INSERT".into();
                r.event_id = format!("e{i}");
                r.change.new_image = serde_dynamo::to_item(it).expect("image");
                r.change.sequence_number = Some(format!("{i:021}"));
                r
            })
            .collect();
        let entries: Vec<PutEventsRequestEntry> = items
            .iter()
            .flat_map(|it| events_for(&it.record))
            .map(|e| put_events_entry(&bus_name, &e).expect("entry"))
            .collect();
        (event, entries)
    };
    let mut g = c.benchmark_group("publisher");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    for n in [1usize, 10, 100] {
        let (event, entries) = batch(n);
        g.throughput(criterion::Throughput::Elements(n as u64));
        g.bench_with_input(BenchmarkId::new("bare_put_events_sequential", n), &n, |b, _| {
            b.to_async(&rt).iter(|| put_all(&client, entries.clone(), 1))
        });
        g.bench_with_input(BenchmarkId::new("bare_put_events_waves", n), &n, |b, _| {
            b.to_async(&rt)
                .iter(|| put_all(&client, entries.clone(), PUTS_IN_FLIGHT))
        });
        g.bench_with_input(BenchmarkId::new("publisher", n), &n, |b, _| {
            b.to_async(&rt).iter(|| async {
                let out = egress_core::handle_stream_event(&bus, &event, Default::default()).await;
                assert!(out.batch_item_failures.is_empty());
            })
        });
    }
    g.finish();

    // What the waves are for: moto serializes PutEvents calls,
    // so waves cannot beat a plain loop. Over a link with AWS-like latency they do: the same 100 records
    // through a proxy that holds each request for LINK, one call at a time vs the publisher.
    const LINK: Duration = Duration::from_millis(10);
    let (far_client, _proxy) = rt.block_on(async {
        let proxy = egress_e2e::Outage::proxy_with_latency(&moto, LINK).await;
        (
            aws_sdk_eventbridge::Client::new(&egress_e2e::sdk_config(&proxy.endpoint).await),
            proxy,
        )
    });
    let far_bus = EventBridgeBus::new(far_client.clone(), bus_name.clone());
    let mut g = c.benchmark_group("publisher_10ms_link");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    let (event, entries) = batch(100);
    g.throughput(criterion::Throughput::Elements(100));
    g.bench_function("bare_put_events_sequential/100", |b| {
        b.to_async(&rt).iter(|| put_all(&far_client, entries.clone(), 1))
    });
    g.bench_function("publisher/100", |b| {
        b.to_async(&rt).iter(|| async {
            let out = egress_core::handle_stream_event(&far_bus, &event, Default::default()).await;
            assert!(out.batch_item_failures.is_empty());
        })
    });
    g.finish();
    rt.block_on(async {
        let _ = client.delete_event_bus().name(&bus_name).send().await;
    });
}

criterion_group!(benches, publisher);
criterion_main!(benches);
