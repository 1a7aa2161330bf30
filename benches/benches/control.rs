//! Steps 7 and 8 against DynamoDB Local (`make bench` starts it): each request path that reads an approval
//! slot or charges a rate limit, through the real create handler, against the bare DynamoDB calls it makes
//! (items prebuilt, so the baseline is the SDK and DynamoDB only). Single calls, the cases interleaved
//! round by round so machine noise hits them alike; p50 and p99 and their ratios, as docs/BENCHMARKS.md
//! records them. Run: `make bench BENCH_ARGS="--bench control"`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Put, TransactWriteItem, Update};
use egress_core::{
    approval_key, authorize_egress, slot_pk, ApprovalItem, ApprovalRecord, ApprovalSlot, CachedPolicySource,
    CompiledPolicy, CreateService, DynamoStore, FileFetcher, Identity, RequestItem, RequestRecord, SlotItem, SlotState,
    Target,
};
use egress_e2e::{drop_table, dynamodb, percentile, scratch_table};
use lambda_http::Body;

const ROUNDS: usize = 1_000;
const POLICY: &str = r#"
zones:
  gated:
    members: ["*"]
    approvers: ["approver@example.com"]
    default: require_approval
  metered:
    members: ["*"]
    default: allow
    rate_limits:
      - {id: huge, hosts: ["*"], per: principal, limit: 1000000000, window_seconds: 86400}
"#;
const AGENT: &str = "arn:aws:iam::000000000000:role/agent-bench";

type Item = HashMap<String, AttributeValue>;

fn item<T: serde::Serialize>(v: &T) -> Item {
    serde_dynamo::to_item(v).expect("item")
}

fn put(table: &str, av: Item) -> TransactWriteItem {
    TransactWriteItem::builder()
        .put(
            Put::builder()
                .table_name(table)
                .set_item(Some(av))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .expect("put"),
        )
        .build()
}

fn request(host: &str, zone: &str) -> lambda_http::Request {
    lambda_http::http::Request::builder()
        .method("POST")
        .uri("/v1/egress/requests")
        .header("content-type", "application/json")
        .header(egress_core::PRINCIPAL_HEADER, AGENT)
        .body(Body::Text(format!(r#"{{"domain":"{host}","zone":"{zone}"}}"#)))
        .expect("request")
}

fn record(policy: &CompiledPolicy, host: &str, zone: &str) -> RequestRecord {
    let target = Target::from_domain(host).expect("target");
    let d = authorize_egress(policy, AGENT, zone, &target).awaiting(ulid::Ulid::new().to_string());
    RequestRecord::new(
        ulid::Ulid::new(),
        AGENT.into(),
        Identity::dev(),
        zone.into(),
        target,
        None,
        &d,
    )
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let path = std::env::temp_dir().join(format!("egress-bench-control-{}.yaml", std::process::id()));
    std::fs::write(&path, POLICY).expect("policy");
    let policy = CompiledPolicy::from_yaml(POLICY).expect("policy compiles");
    rt.block_on(async {
        let table = scratch_table("bench-control").await;
        let ddb = dynamodb().await;
        let svc = CreateService {
            store: Arc::new(DynamoStore::new(ddb.clone(), table.clone())),
            policy: Arc::new(CachedPolicySource::new(
                FileFetcher::new(&path),
                Duration::from_secs(60),
            )),
            dev_mode: true,
            organization: None,
            idempotency_ttl: Duration::from_secs(3600),
            proxy_keys: None,
        };
        // A pending approval to join, and a window grant to use, both for AGENT.
        let ok = |r: lambda_http::Response<Body>| assert_eq!(r.status(), 201);
        ok(svc.handle(request("pending.example.com", "gated")).await);
        let granted_host = "granted.example.com";
        ok(svc.handle(request(granted_host, "gated")).await);
        let target = Target::from_domain(granted_host).expect("target");
        let key = approval_key(
            AGENT,
            "gated",
            &target,
            egress_core::GrantPath::Written(None),
            "default",
        );
        let slot_key = |k: &str| -> [(String, AttributeValue); 2] {
            [
                ("pk".into(), AttributeValue::S(slot_pk(k))),
                ("sk".into(), AttributeValue::S("AKEY".into())),
            ]
        };
        let got = ddb
            .get_item()
            .table_name(&table)
            .set_key(Some(slot_key(&key).into_iter().collect()))
            .send()
            .await
            .expect("slot");
        let mut slot: ApprovalSlot = serde_dynamo::from_item::<_, SlotItem>(got.item.expect("slot"))
            .expect("slot")
            .slot;
        slot.state = SlotState::Granted;
        slot.scope = Some(egress_core::GrantScope::Window);
        slot.expires_at = time::OffsetDateTime::now_utc().unix_timestamp() + 86_400;
        ddb.put_item()
            .table_name(&table)
            .set_item(Some(item(&SlotItem::new(&key, slot.clone()))))
            .send()
            .await
            .expect("grant");

        let mut lat: [Vec<Duration>; 8] = Default::default();
        let get_slot = |k: String| {
            let req = ddb
                .get_item()
                .table_name(&table)
                .set_key(Some(slot_key(&k).into_iter().collect()))
                .consistent_read(true);
            async move { req.send().await.expect("get") }
        };
        for i in 0..ROUNDS {
            // 1. require_approval joining a pending approval: GetItem + PutItem.
            let av = item(&RequestItem::new(record(&policy, "pending.example.com", "gated")));
            let t = Instant::now();
            get_slot(ulid::Ulid::new().to_string()).await;
            ddb.put_item()
                .table_name(&table)
                .set_item(Some(av))
                .send()
                .await
                .expect("put");
            lat[0].push(t.elapsed());
            let t = Instant::now();
            ok(svc.handle(request("pending.example.com", "gated")).await);
            lat[1].push(t.elapsed());

            // 2. require_approval opening an approval: GetItem + TransactWriteItems (request, approval, slot).
            let host = format!("new{i}.example.com");
            let r = record(&policy, &host, "gated");
            let a = ApprovalRecord::open(ulid::Ulid::new(), &r, 86_400);
            let k = ulid::Ulid::new().to_string();
            let s = ApprovalSlot {
                approval_id: a.approval_id.clone(),
                state: SlotState::Pending,
                scope: None,
                used_by: None,
                expires_at: 9_999_999_999,
                approval: a.clone(),
            };
            let tx = ddb
                .transact_write_items()
                .transact_items(put(&table, item(&RequestItem::new(r))))
                .transact_items(put(&table, item(&ApprovalItem::new(a, k.clone()))))
                .transact_items(put(&table, item(&SlotItem::new(&k, s))));
            let t = Instant::now();
            get_slot(k.clone()).await;
            tx.send().await.expect("open");
            lat[2].push(t.elapsed());
            let host2 = format!("fresh{i}.example.com");
            let t = Instant::now();
            ok(svc.handle(request(&host2, "gated")).await);
            lat[3].push(t.elapsed());

            // 3. granted (window): GetItem + TransactWriteItems (request, condition check on the slot).
            let av = item(&RequestItem::new(record(&policy, granted_host, "gated")));
            let check = ConditionCheck::builder()
                .table_name(&table)
                .set_key(Some(slot_key(&key).into_iter().collect()))
                .condition_expression("approval_id = :a AND #state = :granted AND expires_at > :now")
                .expression_attribute_names("#state", "state")
                .expression_attribute_values(":a", AttributeValue::S(slot.approval_id.clone()))
                .expression_attribute_values(":granted", AttributeValue::S("granted".into()))
                .expression_attribute_values(":now", AttributeValue::N("0".into()))
                .build()
                .expect("check");
            let tx = ddb
                .transact_write_items()
                .transact_items(put(&table, av))
                .transact_items(TransactWriteItem::builder().condition_check(check).build());
            let t = Instant::now();
            get_slot(key.clone()).await;
            tx.send().await.expect("granted");
            lat[4].push(t.elapsed());
            let t = Instant::now();
            let resp = svc.handle(request(granted_host, "gated")).await;
            lat[5].push(t.elapsed());
            ok(resp);

            // 4. allow under a rate limit: TransactWriteItems (request, counter update).
            let av = item(&RequestItem::new(record(&policy, "api.example.com", "metered")));
            let counter = Update::builder()
                .table_name(&table)
                .key("pk", AttributeValue::S(format!("RL#bench-{}", i % 7)))
                .key("sk", AttributeValue::S("RL".into()))
                .update_expression("ADD #c :one SET expires_at = if_not_exists(expires_at, :ttl), kind = :kind")
                .condition_expression("attribute_not_exists(#c) OR #c < :limit")
                .expression_attribute_names("#c", "count")
                .expression_attribute_values(":one", AttributeValue::N("1".into()))
                .expression_attribute_values(":ttl", AttributeValue::N("9999999999".into()))
                .expression_attribute_values(":kind", AttributeValue::S("rate_counter".into()))
                .expression_attribute_values(":limit", AttributeValue::N("1000000000".into()))
                .build()
                .expect("update");
            let tx = ddb
                .transact_write_items()
                .transact_items(put(&table, av))
                .transact_items(TransactWriteItem::builder().update(counter).build());
            let t = Instant::now();
            tx.send().await.expect("limited");
            lat[6].push(t.elapsed());
            let t = Instant::now();
            ok(svc.handle(request("api.example.com", "metered")).await);
            lat[7].push(t.elapsed());
        }
        for v in &mut lat {
            v.sort();
        }
        let us = |d: Duration| format!("{:.0} µs", d.as_secs_f64() * 1e6);
        println!("\ncontrol (steps 7 and 8): {ROUNDS} interleaved rounds of single calls");
        println!("| case | p50 | p99 | p50 ratio | p99 ratio |\n|---|---:|---:|---:|---:|");
        let names = [
            (
                "bare GetItem + PutItem",
                "handler, require_approval joining a pending approval",
            ),
            (
                "bare GetItem + TransactWriteItems (3 puts)",
                "handler, require_approval opening an approval",
            ),
            (
                "bare GetItem + TransactWriteItems (put, check)",
                "handler, allowed by a window grant",
            ),
            (
                "bare TransactWriteItems (put, counter)",
                "handler, allow under a rate limit",
            ),
        ];
        for (i, (bare, handler)) in names.iter().enumerate() {
            let (b50, b99) = (percentile(&lat[2 * i], 50.0), percentile(&lat[2 * i], 99.0));
            let (h50, h99) = (percentile(&lat[2 * i + 1], 50.0), percentile(&lat[2 * i + 1], 99.0));
            println!("| {bare} | {} | {} | 1.00 | 1.00 |", us(b50), us(b99));
            println!(
                "| {handler} | {} | {} | {:.2} | {:.2} |",
                us(h50),
                us(h99),
                h50.as_secs_f64() / b50.as_secs_f64(),
                h99.as_secs_f64() / b99.as_secs_f64()
            );
        }
        drop_table(&table).await;
    });
    let _ = std::fs::remove_file(path);
}
