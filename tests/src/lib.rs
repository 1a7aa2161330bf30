//! Helpers for the end-to-end tests: endpoints of the local stack (started by `make test`), SDK clients
//! with dummy credentials, an HTTP client for `cargo lambda watch`, and an event collector that drains
//! the SQS queues bound to the bus by EventBridge rules.

pub mod cases;
pub mod load;
pub mod proxy_lab;
pub mod suites;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;

pub use cases::{long_idempotency_key, rejected_inputs, Rejected};

/// The requests table of the local stack (its name is scoped to the stack, as in AWS).
pub fn table() -> String {
    stack_setting("EGRESS_TABLE")
}
/// Local-only queue bound by a rule matching every `egress.gateway` event.
pub const ALL_EVENTS_QUEUE: &str = "egress-all-events";
/// The template's example queue: `egress.blocked` with decision `require_approval`.
pub const APPROVALS_QUEUE: &str = "egress-approvals";

/// A setting of the local stack: the environment (`make test` exports .local/run/stack.env), else
/// .local/run/stack.env itself (after `make local-up`), which bootstrap.py writes from infra/local/local.env.
pub fn stack_setting(name: &str) -> String {
    if let Ok(v) = std::env::var(name) {
        return v;
    }
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../.local/run/stack.env");
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{name}: not set and {path}: {e} (run make local-up)"));
    text.lines()
        .filter_map(|l| l.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
        .unwrap_or_else(|| panic!("{name}: in neither the environment nor {path}"))
}

pub fn dynamodb_endpoint() -> String {
    stack_setting("AWS_ENDPOINT_URL_DYNAMODB")
}
pub fn moto_endpoint() -> String {
    stack_setting("AWS_ENDPOINT_URL_SQS")
}
pub fn lambda_endpoint() -> String {
    stack_setting("EGRESS_LAMBDA_URL")
}

pub async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "e2e",
        ))
        .endpoint_url(endpoint)
        .load()
        .await
}

pub async fn dynamodb() -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(&sdk_config(&dynamodb_endpoint()).await)
}
pub async fn sqs() -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(&sdk_config(&moto_endpoint()).await)
}
pub async fn ssm() -> aws_sdk_ssm::Client {
    aws_sdk_ssm::Client::new(&sdk_config(&moto_endpoint()).await)
}
pub async fn s3() -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::new(&sdk_config(&moto_endpoint()).await)
}

/// Writes the String parameter `name` in moto's SSM, replacing any value: the policy document, a kill
/// switch's state.
pub async fn put_parameter(name: &str, value: &str) {
    ssm()
        .await
        .put_parameter()
        .name(name)
        .value(value)
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .overwrite(true)
        .send()
        .await
        .expect("put parameter");
}

/// The EMF lines of `metric` captured in this process (`egress_core::capture_metrics`) whose properties
/// include every pair of `with`, parsed.
pub fn captured(lines: &[String], metric: egress_core::Metric, with: &[(&str, &str)]) -> Vec<Value> {
    lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v[metric.as_str()].is_number() && with.iter().all(|(k, want)| v[*k].as_str() == Some(*want)))
        .collect()
}

/// A principal unique to one test, so tests running in parallel never see each other's rows or events.
pub fn unique_principal(tag: &str) -> String {
    format!("arn:aws:iam::000000000000:role/e2e-{tag}-{}", ulid::Ulid::new())
}

pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub content_type: String,
}

/// POSTs to the production path served by `cargo lambda watch`'s router.
pub async fn post(principal: Option<&str>, headers: &[(&str, &str)], body: impl Into<reqwest::Body>) -> Answer {
    let mut req = reqwest::Client::new()
        .post(format!("{}/v1/egress/requests", lambda_endpoint()))
        .timeout(Duration::from_secs(120))
        .body(body);
    if let Some(p) = principal {
        req = req.header(egress_core::PRINCIPAL_HEADER, p);
    }
    let mut has_ct = false;
    for (k, v) in headers {
        has_ct |= k.eq_ignore_ascii_case("content-type");
        req = req.header(*k, *v);
    }
    if !has_ct {
        req = req.header("content-type", "application/json");
    }
    Answer::of(req.send().await.expect("lambda watch reachable")).await
}

impl Answer {
    /// The status, headers and body (JSON, else the text as a JSON string) of an HTTP answer.
    pub async fn of(resp: reqwest::Response) -> Self {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let content_type = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let text = resp.text().await.unwrap_or_default();
        Answer {
            status,
            headers,
            body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
            content_type,
        }
    }

    /// The two event ids a recorded request produces (`egress.requested` and its outcome).
    pub fn event_ids(&self) -> [String; 2] {
        let id = self.body["request_id"]
            .as_str()
            .expect("a recorded request has a request_id");
        let outcome = if self.body["decision"] == "allow" {
            "egress.allowed"
        } else {
            "egress.blocked"
        };
        [format!("{id}/egress.requested"), format!("{id}/{outcome}")]
    }
}

/// An approver's decision through the API served by `cargo lambda watch` (dev header).
pub async fn decide_approval(approver: &str, approval_id: &str, body: &Value) -> Answer {
    let resp = reqwest::Client::new()
        .post(format!(
            "{}/v1/egress/approvals/{approval_id}/decision",
            lambda_endpoint()
        ))
        .timeout(Duration::from_secs(120))
        .header(egress_core::PRINCIPAL_HEADER, approver)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("lambda watch reachable");
    Answer::of(resp).await
}

/// Invokes a function served by `cargo lambda watch` through the Lambda Invoke API with a full event (an
/// API Gateway payload 2.0 event for the API functions), and returns the API Gateway response it gives.
pub async fn invoke(function: &str, event: &Value) -> Value {
    let resp = reqwest::Client::new()
        .post(format!(
            "{}/2015-03-31/functions/{function}/invocations",
            lambda_endpoint()
        ))
        .timeout(Duration::from_secs(120))
        .json(event)
        .send()
        .await
        .expect("lambda watch reachable");
    assert!(resp.status().is_success(), "invoke {function}: {}", resp.status());
    resp.json().await.expect("a JSON invocation result")
}

/// The API Gateway payload 2.0 event in `tests/fixtures/<name>.json`.
pub fn fixture(name: &str) -> Value {
    let path = format!("{}/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("fixture JSON")
}

/// The create-request service in process, on `client`, with the policy file at `policy_path`.
pub fn create_service(
    client: aws_sdk_dynamodb::Client,
    dev_mode: bool,
    policy_path: &str,
    policy_ttl: Duration,
) -> egress_core::CreateService {
    use egress_core::{CachedPolicySource, FileFetcher};
    egress_core::CreateService {
        store: std::sync::Arc::new(egress_core::DynamoStore::new(client, table())),
        policy: std::sync::Arc::new(CachedPolicySource::new(FileFetcher::new(policy_path), policy_ttl)),
        dev_mode,
        organization: None,
        idempotency_ttl: Duration::from_secs(3600),
        proxy_keys: None,
    }
}

/// `POST /v1/egress/requests` as the in-process create service receives it: JSON `body`, the development
/// principal header, and an `Idempotency-Key` when given.
pub fn create_request(principal: &str, key: Option<&str>, body: &Value) -> lambda_http::Request {
    let mut b = lambda_http::http::Request::builder()
        .method("POST")
        .uri("/v1/egress/requests")
        .header("content-type", "application/json")
        .header(egress_core::PRINCIPAL_HEADER, principal);
    if let Some(k) = key {
        b = b.header("idempotency-key", k);
    }
    b.body(lambda_http::Body::Text(body.to_string()))
        .expect("a request of valid parts")
}

/// The example policy `make dev` and the watch server load.
pub const DEFAULT_POLICY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../infra/policy/default.yaml");

pub async fn post_json(principal: &str, body: &Value) -> Answer {
    post(Some(principal), &[], body.to_string()).await
}

/// Every item of the table that passes `filter` (test-only paginated, consistent Scan: the product never
/// scans).
pub async fn scan_items(filter: &str, values: &[(&str, &str)]) -> Result<Vec<HashMap<String, AttributeValue>>, String> {
    let ddb = dynamodb().await;
    let mut rows = Vec::new();
    let mut start = None;
    loop {
        let mut scan = ddb
            .scan()
            .table_name(table())
            .consistent_read(true)
            .filter_expression(filter);
        for (k, v) in values {
            scan = scan.expression_attribute_values(*k, AttributeValue::S((*v).to_owned()));
        }
        let out = scan
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| format!("scan: {}", aws_sdk_dynamodb::error::DisplayErrorContext(e)))?;
        rows.extend(out.items().iter().cloned());
        start = out.last_evaluated_key().cloned();
        if start.is_none() {
            return Ok(rows);
        }
    }
}

/// Every request item of a principal.
pub async fn rows_for(principal: &str) -> Vec<HashMap<String, AttributeValue>> {
    scan_items(
        "kind = :k AND principal = :p",
        &[(":k", egress_core::KIND_REQUEST), (":p", principal)],
    )
    .await
    .expect("scan")
}

/// A fresh table with the request table's keys and indexes (read from DynamoDB Local, so it follows
/// template.yaml) but no stream: for tests that write many rows without flooding the event pipeline.
pub async fn scratch_table(tag: &str) -> String {
    let ddb = dynamodb().await;
    let main = ddb
        .describe_table()
        .table_name(table())
        .send()
        .await
        .expect("describe table");
    let t = main.table().expect("table");
    let name = format!("{tag}-{}", ulid::Ulid::new());
    let gsis = t
        .global_secondary_indexes()
        .iter()
        .map(|g| {
            aws_sdk_dynamodb::types::GlobalSecondaryIndex::builder()
                .index_name(g.index_name().unwrap_or_default())
                .set_key_schema(g.key_schema.clone())
                .set_projection(g.projection.clone())
                .build()
                .expect("gsi")
        })
        .collect();
    ddb.create_table()
        .table_name(&name)
        .set_key_schema(t.key_schema.clone())
        .set_attribute_definitions(t.attribute_definitions.clone())
        .set_global_secondary_indexes(Some(gsis))
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .send()
        .await
        .expect("create scratch table");
    name
}

pub async fn drop_table(name: &str) {
    let _ = dynamodb().await.delete_table().table_name(name).send().await;
}

/// Events received so far, per queue, across every test of this binary.
static EVENTS: Mutex<Vec<(String, Value)>> = Mutex::new(Vec::new());

/// Drains both queues once into [`EVENTS`].
async fn drain(sqs: &aws_sdk_sqs::Client) {
    for queue in [ALL_EVENTS_QUEUE, APPROVALS_QUEUE] {
        let url = match sqs.get_queue_url().queue_name(queue).send().await {
            Ok(url) => url,
            Err(e) => {
                // moto restarting, in the outage test
                eprintln!("queue url of {queue}: {}", aws_sdk_sqs::error::DisplayErrorContext(e));
                continue;
            }
        };
        let Some(url) = url.queue_url() else { continue };
        let messages = match receive_json(sqs, url).await {
            Ok(m) => m,
            Err(e) => {
                eprintln!("receive from {queue}: {e}");
                continue;
            }
        };
        for (body, handle) in messages {
            if let Some(v) = body {
                EVENTS.lock().unwrap().push((queue.to_owned(), v));
            }
            if let Some(h) = handle {
                let _ = sqs.delete_message().queue_url(url).receipt_handle(h).send().await;
            }
        }
    }
}

/// One receive of up to 10 messages (1 s long poll): each body as JSON (`None` when it is not), with its
/// receipt handle.
pub async fn receive_json(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
) -> Result<Vec<(Option<Value>, Option<String>)>, String> {
    let out = sqs
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .send()
        .await
        .map_err(|e| aws_sdk_sqs::error::DisplayErrorContext(e).to_string())?;
    Ok(out
        .messages()
        .iter()
        .map(|m| {
            let body = m.body().and_then(|b| serde_json::from_str::<Value>(b).ok());
            (body, m.receipt_handle().map(str::to_owned))
        })
        .collect())
}

/// Events (full EventBridge envelopes) seen on `queue` that satisfy `pred`.
pub fn seen(queue: &str, pred: impl Fn(&Value) -> bool) -> Vec<Value> {
    EVENTS
        .lock()
        .unwrap()
        .iter()
        .filter(|(q, v)| q == queue && pred(v))
        .map(|(_, v)| v.clone())
        .collect()
}

/// Polls until at least `n` matching events are on `queue`, or the timeout passes; returns what it saw.
pub async fn wait_events(queue: &str, n: usize, timeout: Duration, pred: impl Fn(&Value) -> bool) -> Vec<Value> {
    let sqs = sqs().await;
    let deadline = Instant::now() + timeout;
    loop {
        let got = seen(queue, &pred);
        if got.len() >= n || Instant::now() > deadline {
            return got;
        }
        drain(&sqs).await;
    }
}

/// Keeps draining for `d` (to catch duplicates that would arrive late).
pub async fn settle(d: Duration) {
    let sqs = sqs().await;
    let deadline = Instant::now() + d;
    while Instant::now() < deadline {
        drain(&sqs).await;
    }
}

pub fn detail_field<'a>(event: &'a Value, field: &str) -> Option<&'a str> {
    event.get("detail").and_then(|d| d.get(field)).and_then(Value::as_str)
}

pub fn s<'a>(row: &'a HashMap<String, AttributeValue>, k: &str) -> Option<&'a str> {
    row.get(k).and_then(|v| v.as_s().ok()).map(String::as_str)
}

/// A TCP proxy to a local service that a test can switch off and on, to play a dependency outage
/// without stopping the shared service. While off, it drops open connections and refuses new ones
/// (accept, then close). Lives on the runtime of the test that starts it.
pub struct Outage {
    pub endpoint: String,
    up: tokio::sync::watch::Sender<bool>,
}

impl Outage {
    pub async fn proxy_to(target: &str) -> Outage {
        Self::proxy_with_latency(target, Duration::ZERO).await
    }

    /// The same proxy, holding every chunk the client sends for `latency` before passing it on: a
    /// request then costs a network round trip, as it does against a regional AWS endpoint, while
    /// concurrent requests overlap their waits.
    pub async fn proxy_with_latency(target: &str, latency: Duration) -> Outage {
        let target = target.trim_start_matches("http://").to_owned();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
        let (up, rx) = tokio::sync::watch::channel(true);
        tokio::spawn(async move {
            loop {
                let Ok((inbound, _)) = listener.accept().await else {
                    return;
                };
                if !*rx.borrow() {
                    drop(inbound);
                    continue;
                }
                let target = target.clone();
                let mut down = rx.clone();
                tokio::spawn(async move {
                    let Ok(outbound) = tokio::net::TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = pipe(inbound, outbound, latency) => {}
                        _ = down.wait_for(|up| !*up) => {}
                    }
                });
            }
        });
        Outage { endpoint, up }
    }

    pub fn set_up(&self, up: bool) {
        let _ = self.up.send(up);
    }
}

/// Copies both ways until either side closes, delaying client-to-server chunks by `latency`.
async fn pipe(mut inbound: tokio::net::TcpStream, mut outbound: tokio::net::TcpStream, latency: Duration) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    if latency.is_zero() {
        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
        return;
    }
    let (mut in_r, mut in_w) = inbound.split();
    let (mut out_r, mut out_w) = outbound.split();
    let upstream = async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match in_r.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    tokio::time::sleep(latency).await;
                    if out_w.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            }
        }
    };
    tokio::select! {
        _ = upstream => {}
        _ = tokio::io::copy(&mut out_r, &mut in_w) => {}
    }
}

/// The `p`-th percentile (0 < p <= 100) of ascending `sorted` latencies, by nearest rank: the one statistic
/// `make load` and `make bench` report. Zero for no samples.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    // nearest rank
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_is_nearest_rank() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&v, 50.0), Duration::from_millis(50));
        assert_eq!(percentile(&v, 99.0), Duration::from_millis(99));
        assert_eq!(percentile(&[], 99.0), Duration::ZERO);
    }
}
