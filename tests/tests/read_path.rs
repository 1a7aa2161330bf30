//! The read path against DynamoDB Local: the read-path suite (1,000 requests through the real handlers,
//! every filter, pagination, bounded pages, cursors, isolation) on a scratch copy of the table, and the
//! in-memory store held to the same pages as DynamoDB for the same rows.

use std::sync::Arc;

use egress_core::{
    authorize_egress, CompiledPolicy, DynamoStore, Effect, Identity, ListQuery, MemoryStore, RequestRecord,
    RequestStore, Target,
};
use egress_e2e::*;
use ulid::Ulid;

#[tokio::test]
async fn read_path_filters_pagination_and_isolation() {
    // Same keys and indexes as the real table, without its stream: 1,000 rows would otherwise put 2,000
    // events through moto ahead of the other tests' events.
    let table = scratch_table("read-path").await;
    suites::read_path(Arc::new(DynamoStore::new(dynamodb().await, &table))).await;
    drop_table(&table).await;
}

/// The same 400 records in both stores, then the same queries page by page: every page (items and where
/// the next one starts) is identical, so logic tests on the twin say what they would say on DynamoDB.
#[tokio::test]
async fn the_memory_store_pages_exactly_like_dynamodb() {
    let table = scratch_table("twin").await;
    let dynamo = DynamoStore::new(dynamodb().await, &table);
    let memory = MemoryStore::new();
    let policy = CompiledPolicy::from_yaml(
        "zones:\n  a:\n    members: ['*']\n    rules:\n      - {id: ok, effect: allow, hosts: ['*.ok.example.com']}\n  b:\n    members: ['*']\n    default: require_approval\n",
    )
    .unwrap();
    let principals = ["p-0", "p-1", "p-2"];
    for i in 0..400usize {
        let zone = ["a", "b"][i % 2];
        let target = Target::from_url(&format!("https://h{}.ok.example.com/", i % 3)).unwrap();
        let principal = principals[i % 3];
        let decision = authorize_egress(&policy, principal, zone, &target);
        let record = RequestRecord::new(
            Ulid::new(),
            principal.into(),
            Identity::dev(),
            zone.into(),
            target,
            None,
            &decision,
        );
        dynamo.record(&record).await.unwrap();
        memory.record(&record).await.unwrap();
    }
    let lowest = Ulid::nil().to_string();
    let highest = Ulid::from_parts((1 << 48) - 1, u128::MAX).to_string();
    let mut pages = 0;
    for principal in [None, Some("p-1")] {
        for zone in [None, Some("a"), Some("none")] {
            for decision in [None, Some(Effect::RequireApproval)] {
                for limit in [1, 7, 50] {
                    let mut q = ListQuery {
                        principal: principal.map(str::to_owned),
                        zone: zone.map(str::to_owned),
                        decision,
                        lowest: lowest.clone(),
                        highest: highest.clone(),
                        before: None,
                        limit,
                    };
                    loop {
                        let (d, m) = (dynamo.list(&q).await.unwrap(), memory.list(&q).await.unwrap());
                        assert_eq!(d, m, "{q:?}");
                        pages += 1;
                        match d.next_before {
                            Some(b) => q.before = Some(b),
                            None => break,
                        }
                    }
                }
            }
        }
    }
    println!("{pages} identical pages");
    drop_table(&table).await;
}
