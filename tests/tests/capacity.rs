//! What each request path costs in DynamoDB capacity units, measured: every call the handlers make is sent
//! with `ReturnConsumedCapacity: INDEXES` (added on the wire by an interceptor, the code under test is
//! unchanged) and DynamoDB Local's answer is summed, table and indexes. The runbook's table
//! (docs/OPERATIONS.md, "Cost per million requests") must say exactly this, so the cost it prices is
//! the cost the code has. <https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/read-write-operations.html>

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeTransmitInterceptorContextMut, FinalizerInterceptorContextRef,
};
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::{Storable, StoreReplace};
use egress_core::{ListQuery, RequestStore};
use egress_e2e::*;
use serde_json::{json, Value};

/// Write and read units consumed since the last `take`, and the operations that consumed them.
#[derive(Debug, Clone, Default)]
struct Units(Arc<Mutex<Measured>>);

#[derive(Debug, Default, Clone, PartialEq)]
struct Measured {
    write: f64,
    read: f64,
    calls: Vec<String>,
}

/// The operation of one call, kept in that call's own config bag (calls of a list run concurrently).
#[derive(Debug, Clone)]
struct Op(String);

impl Storable for Op {
    type Storer = StoreReplace<Self>;
}

impl Units {
    fn take(&self) -> Measured {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// Operations that consume write units; every other one reads.
const WRITES: [&str; 4] = ["PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems"];

impl Intercept for Units {
    fn name(&self) -> &'static str {
        "Units"
    }

    fn modify_before_signing(
        &self,
        ctx: &mut BeforeTransmitInterceptorContextMut<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let req = ctx.request_mut();
        let op = req.headers().get("x-amz-target").unwrap_or_default();
        let op = op.rsplit('.').next().unwrap_or_default().to_owned();
        let Some(bytes) = req.body().bytes() else {
            return Ok(());
        };
        let mut body: Value = serde_json::from_slice(bytes)?;
        body["ReturnConsumedCapacity"] = json!("INDEXES");
        let body = serde_json::to_vec(&body)?;
        req.headers_mut().insert("content-length", body.len().to_string());
        *req.body_mut() = SdkBody::from(body);
        cfg.interceptor_state().store_put(Op(op));
        Ok(())
    }

    fn read_after_execution(
        &self,
        ctx: &FinalizerInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let op = cfg.load::<Op>().map(|o| o.0.clone()).unwrap_or_default();
        let mut m = self.0.lock().unwrap();
        let body: Value = ctx
            .response()
            .and_then(|r| r.body().bytes())
            .and_then(|b| serde_json::from_slice(b).ok())
            .unwrap_or(Value::Null);
        // One object, or one per table for transactions.
        let consumed = match &body["ConsumedCapacity"] {
            Value::Array(a) => a.clone(),
            Value::Null => vec![],
            one => vec![one.clone()],
        };
        let units: f64 = consumed.iter().filter_map(|c| c["CapacityUnits"].as_f64()).sum();
        if WRITES.contains(&op.as_str()) {
            m.write += units;
        } else {
            m.read += units;
        }
        m.calls.push(op);
        Ok(())
    }
}

async fn measured_client(units: &Units) -> aws_sdk_dynamodb::Client {
    let sdk = sdk_config(&dynamodb_endpoint()).await;
    let conf = aws_sdk_dynamodb::config::Builder::from(&sdk)
        .interceptor(units.clone())
        .build();
    aws_sdk_dynamodb::Client::from_conf(conf)
}

/// The runbook's table: path -> (write units, read units).
fn documented() -> BTreeMap<String, (f64, f64)> {
    let doc = format!("{}/../docs/OPERATIONS.md", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(doc).expect("OPERATIONS.md");
    let section = text
        .split("\n## Cost per million requests\n")
        .nth(1)
        .expect("a \"Cost per million requests\" section");
    section
        .lines()
        .take_while(|l| !l.starts_with("## "))
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let path = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            Some((
                path.to_owned(),
                (cells.get(3)?.parse().ok()?, cells.get(4)?.parse().ok()?),
            ))
        })
        .collect()
}

#[tokio::test]
async fn the_runbook_prices_the_capacity_each_path_consumes() {
    let units = Units::default();
    let client = measured_client(&units).await;
    let svc = create_service(client.clone(), true, DEFAULT_POLICY, Duration::from_secs(60));
    let store = egress_core::DynamoStore::new(client, table());
    let mut measured: BTreeMap<String, Measured> = BTreeMap::new();

    let agent = unique_principal("capacity");
    let allowed = json!({"url": "https://api.github.com/", "zone": "default"});
    let cases: [(&str, Option<String>, Value, &str); 5] = [
        ("decide", None, allowed.clone(), "allow"),
        (
            "decide-idempotent",
            Some(ulid::Ulid::new().to_string()),
            allowed.clone(),
            "allow",
        ),
        (
            "open-approval",
            None,
            json!({"domain": "capacity.pastebin.com", "zone": "default"}),
            "require_approval",
        ),
        (
            "pending-approval",
            None,
            json!({"domain": "capacity.pastebin.com", "zone": "default"}),
            "require_approval",
        ),
        (
            "rate-limited-rule",
            None,
            json!({"url": "https://api.openai.com/v1/embeddings", "zone": "default"}),
            "allow",
        ),
    ];
    let mut last_id = String::new();
    let mut replay = None;
    for (path, key, body, decision) in &cases {
        units.take();
        let resp = svc.handle(create_request(&agent, key.as_deref(), body)).await;
        let status = resp.status();
        let answer: Value = serde_json::from_slice(resp.body().as_ref()).unwrap();
        assert_eq!(status, 201, "{path}: {answer}");
        assert_eq!(answer["decision"], *decision, "{path}: {answer}");
        measured.insert((*path).to_owned(), units.take());
        last_id = answer["request_id"].as_str().unwrap().to_owned();
        if key.is_some() {
            replay = Some((key.clone(), body.clone()));
        }
    }
    let (key, body) = replay.unwrap();
    units.take();
    let resp = svc.handle(create_request(&agent, key.as_deref(), &body)).await;
    assert_eq!(resp.status(), 200, "a replay answers the original");
    measured.insert("replay".into(), units.take());

    units.take();
    assert!(store.get(&last_id).await.unwrap().is_some());
    measured.insert("get".into(), units.take());
    units.take();
    let page = store
        .list(&ListQuery {
            principal: Some(agent.clone()),
            zone: None,
            decision: None,
            lowest: ulid::Ulid::nil().to_string(),
            highest: ulid::Ulid::from_parts((1 << 48) - 1, u128::MAX).to_string(),
            before: None,
            limit: 50,
        })
        .await
        .unwrap();
    assert_eq!(page.items.len(), 5, "the five requests above (the replay records none)");
    measured.insert("list".into(), units.take());

    let table: Vec<String> = measured
        .iter()
        .map(|(p, m)| format!("{p}: {} write, {} read ({})", m.write, m.read, m.calls.join(", ")))
        .collect();
    println!("{}", table.join("\n"));
    // A page queries every shard of the index. DynamoDB bills each Query at least 0.5 read units (an
    // eventually consistent read, rounded up to 4 KB) where DynamoDB Local reports 0 for an empty shard:
    // the runbook prices the service's minimum for the queries the code makes.
    let list = measured.remove("list").unwrap();
    assert_eq!(list.calls, vec!["Query"; usize::from(egress_core::INDEX_SHARDS)]);
    assert_eq!(list.write, 0.0);
    let list_minimum = 0.5 * list.calls.len() as f64;
    assert!(list.read <= list_minimum, "{list:?}");
    let mut got: BTreeMap<String, (f64, f64)> = measured.iter().map(|(p, m)| (p.clone(), (m.write, m.read))).collect();
    got.insert("list".into(), (0.0, list_minimum));
    assert_eq!(
        got,
        documented(),
        "docs/OPERATIONS.md's units differ from the measured ones:\n{}",
        table.join("\n")
    );
}
