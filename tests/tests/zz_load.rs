//! The small version of `make load` inside `make test`: 200 POSTs at concurrency 20, a fifth of them
//! replays of earlier idempotency keys; rows = unique keys, events = 2 x rows, no 5xx, no duplicates.
//! Its own test binary (named to run last): its event collector drains the shared all-events queue.

use std::time::Duration;

use egress_e2e::load::{run, LoadConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_posts_with_replays_give_exact_rows_and_events() {
    let cfg = LoadConfig {
        total: 200,
        concurrency: 20,
        replay_fraction: 0.2,
        event_timeout: Duration::from_secs(60),
        ..LoadConfig::default()
    };
    let report = run(&cfg).await;
    println!("{}", report.details());
    println!("{}", report.summary());
    assert_eq!((report.unique_keys, report.replays), (160, 40));
    assert!(
        report.ok(),
        "{}\nfailed checks:\n{}",
        report.summary(),
        report.failures.join("\n")
    );
    assert_eq!(report.rows, 160);
    assert_eq!(report.events_distinct, 320);
}
