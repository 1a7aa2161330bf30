//! Load test of the write path, shared by `make load` (the `load` binary,
//! 2,000 requests at concurrency 50) and `make test` (`tests/tests/zz_load.rs`, 200 at concurrency 20).
//!
//! Every POST carries an `Idempotency-Key`; a fraction of them (default a fifth) replays a key sent
//! earlier with the same principal and body, half of those a key sent moments before (likely still in
//! flight, so the two race in DynamoDB), half any earlier key. A run uses its own principals (one ULID
//! per run), so afterwards its rows (test-only Scan) and its events (drained from the local
//! `egress-all-events` queue while the requests run) are told apart from everything else on the stack.
//!
//! Checks: no 5xx (any non-2xx is listed), one row per unique key, one `201` per key and the same
//! resource for every answer of a key, `egress.requested` plus exactly the one outcome event that
//! matches the decision for every row (distinct `event_id`s = 2 x rows), and no event delivered twice.
//!
//! The collector deletes every message it receives from `egress-all-events`, this run's or not: do not
//! run it against a stack whose queue another test is reading at the same time.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_sqs::types::DeleteMessageBatchRequestEntry;
use serde_json::Value;
use tokio::sync::Semaphore;

use crate::{lambda_endpoint, s, sqs, ALL_EVENTS_QUEUE};

/// What to run. [`LoadConfig::default`]: 2,000 requests, concurrency 50, a fifth replays (`make load`).
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// Number of POSTs.
    pub total: usize,
    /// POSTs in flight at once.
    pub concurrency: usize,
    /// Share of the POSTs that replay an earlier key (0.0 to 0.9).
    pub replay_fraction: f64,
    /// Principals of the run; keys are spread over them round-robin.
    pub principals: usize,
    /// Longest wait for the events after the last answer.
    pub event_timeout: Duration,
    /// Further draining once every expected event is in, to catch late duplicates.
    pub settle: Duration,
    /// Concurrent SQS receivers draining the events. One keeps up with the local pipeline, and
    /// concurrent ReceiveMessage calls can make moto hand the same message to two receivers (seen: one
    /// envelope delivered twice in about one run of 2,000 requests in four with three receivers).
    pub receivers: usize,
    /// Timeout of one POST.
    pub request_timeout: Duration,
    /// Seed of the replay choices (the run's ULID makes keys unique whatever the seed).
    pub seed: u64,
}

impl Default for LoadConfig {
    fn default() -> Self {
        Self {
            total: 2000,
            concurrency: 50,
            replay_fraction: 0.2,
            principals: 4,
            event_timeout: Duration::from_secs(180),
            settle: Duration::from_secs(3),
            receivers: 1,
            request_timeout: Duration::from_secs(120),
            seed: 0x5eed_10ad,
        }
    }
}

/// One POST of the plan: which key (index into the run's keys), and whether the key was sent before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    pub key: usize,
    pub replay: bool,
}

/// xorshift64*: enough to pick replay keys reproducibly without another dependency.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Number of replays in a run of `total` POSTs: `total x fraction` rounded, and at least one new key.
pub fn replay_count(total: usize, fraction: f64) -> usize {
    let fraction = fraction.clamp(0.0, 0.9);
    let r = (total as f64 * fraction).round() as usize;
    r.min(total.saturating_sub(1))
}

/// The order of the POSTs: replays spread evenly over the run; each replays a key sent earlier, half
/// of them one of the last `recent` new keys (likely still in flight), half any earlier key.
pub fn plan(total: usize, fraction: f64, recent: usize, seed: u64) -> Vec<Slot> {
    let replays = replay_count(total, fraction);
    let mut rng = Rng::new(seed);
    let mut slots = Vec::with_capacity(total);
    let mut issued = 0usize;
    for i in 0..total {
        // Bresenham: a replay where floor(i * replays / total) steps; never the first POST.
        let replay = i > 0 && (i + 1) * replays / total > i * replays / total;
        if replay && issued > 0 {
            let key = if rng.next() & 1 == 0 {
                let window = recent.clamp(1, issued);
                issued - 1 - rng.below(window)
            } else {
                rng.below(issued)
            };
            slots.push(Slot { key, replay: true });
        } else {
            slots.push(Slot {
                key: issued,
                replay: false,
            });
            issued += 1;
        }
    }
    slots
}

/// The request a key stands for: its principal, the key and the exact body (the same for replays).
/// Bodies alternate between an allowed, a denied and a require_approval target.
fn request_of(run: &str, principals: &[String], key: usize) -> (String, String, String) {
    let principal = principals[key % principals.len()].clone();
    let idem = format!("load-{run}-{key:06}");
    let url = match key % 3 {
        0 => format!("https://api.github.com/load/{key}"),
        1 => format!("https://example.org/load/{key}"),
        _ => format!("https://pastebin.com/load/{key}"),
    };
    let body = serde_json::json!({"url": url, "zone": "default", "purpose": format!("load test {run}")}).to_string();
    (principal, idem, body)
}

/// One answer (or transport failure) of the run.
#[derive(Debug, Clone)]
pub struct Answer {
    pub slot: Slot,
    /// 0 for a transport error (see `error`).
    pub status: u16,
    pub replayed_header: bool,
    pub body: Value,
    /// Sent and answered, from the start of the run.
    pub sent: Duration,
    pub done: Duration,
    pub error: Option<String>,
}

impl Answer {
    fn request_id(&self) -> Option<&str> {
        self.body.get("request_id").and_then(Value::as_str)
    }
    pub fn latency(&self) -> Duration {
        self.done.saturating_sub(self.sent)
    }
}

/// Outcome of a run: the counts of the summary line and every failed check.
#[derive(Debug, Clone)]
pub struct LoadReport {
    pub total: usize,
    pub unique_keys: usize,
    pub replays: usize,
    pub concurrency: usize,
    pub elapsed: Duration,
    pub statuses: BTreeMap<u16, usize>,
    pub server_errors: usize,
    pub transport_errors: usize,
    pub created: usize,
    pub replayed: usize,
    /// Replays sent while their key's first POST was still unanswered.
    pub replays_in_flight: usize,
    /// Replays answered 201: they won the race and the first POST of their key was the replay.
    pub replays_won: usize,
    pub rows: usize,
    pub events_distinct: usize,
    pub deliveries: usize,
    pub duplicates: usize,
    pub lost: usize,
    pub events_wait: Duration,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
    pub failures: Vec<String>,
}

impl LoadReport {
    /// The one-line summary.
    pub fn summary(&self) -> String {
        format!(
            "load: {} requests ({} unique keys, {} replays) at concurrency {} in {:.1} s: {} 5xx, {} rows, {} events, \
             {} duplicates, {} lost; p50 {} ms p99 {} ms",
            self.total,
            self.unique_keys,
            self.replays,
            self.concurrency,
            self.elapsed.as_secs_f64(),
            self.server_errors,
            self.rows,
            self.events_distinct,
            self.duplicates,
            self.lost,
            self.p50.as_millis(),
            self.p99.as_millis(),
        )
    }

    /// Detail lines: statuses, latency max, how long the events took.
    pub fn details(&self) -> String {
        let statuses: Vec<String> = self.statuses.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!(
            "load: statuses {} (transport errors {}); 201 created {}, 200 replayed {}; {} replays sent while \
             their original was in flight ({} of them answered 201); max {} ms; {} deliveries of {} distinct \
             events, all in {:.1} s after the last answer",
            statuses.join(" "),
            self.transport_errors,
            self.created,
            self.replayed,
            self.replays_in_flight,
            self.replays_won,
            self.max.as_millis(),
            self.deliveries,
            self.events_distinct,
            self.events_wait.as_secs_f64(),
        )
    }

    pub fn ok(&self) -> bool {
        self.failures.is_empty()
    }
}

type Deletes = tokio::sync::mpsc::UnboundedSender<Vec<DeleteMessageBatchRequestEntry>>;

/// Events drained from `egress-all-events` by background receivers, kept when their principal is one
/// of the run's. A separate task deletes what they received, so receiving never waits for it.
struct Collector {
    events: Arc<Mutex<Vec<Value>>>,
    stop: Arc<AtomicBool>,
    receivers: Vec<tokio::task::JoinHandle<()>>,
    deleter: tokio::task::JoinHandle<()>,
}

impl Collector {
    async fn start(prefix: String, receivers: usize) -> Result<Self, String> {
        let client = sqs().await;
        let url = client
            .get_queue_url()
            .queue_name(ALL_EVENTS_QUEUE)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "queue url of {ALL_EVENTS_QUEUE}: {}",
                    aws_sdk_sqs::error::DisplayErrorContext(e)
                )
            })?
            .queue_url()
            .map(str::to_owned)
            .ok_or_else(|| format!("no url for {ALL_EVENTS_QUEUE}"))?;
        let events = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (deletes, mut to_delete) = tokio::sync::mpsc::unbounded_channel::<Vec<DeleteMessageBatchRequestEntry>>();
        let deleter = {
            let (client, url) = (client.clone(), url.clone());
            tokio::spawn(async move {
                while let Some(entries) = to_delete.recv().await {
                    if let Err(e) = client
                        .delete_message_batch()
                        .queue_url(&url)
                        .set_entries(Some(entries))
                        .send()
                        .await
                    {
                        eprintln!("load: delete: {}", aws_sdk_sqs::error::DisplayErrorContext(e));
                    }
                }
            })
        };
        let receivers = (0..receivers)
            .map(|_| {
                let (client, url, prefix) = (client.clone(), url.clone(), prefix.clone());
                let (events, stop, deletes) = (events.clone(), stop.clone(), deletes.clone());
                tokio::spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        receive_once(&client, &url, &prefix, &events, &deletes).await;
                    }
                })
            })
            .collect();
        Ok(Self {
            events,
            stop,
            receivers,
            deleter,
        })
    }

    fn snapshot(&self) -> Vec<Value> {
        self.events.lock().unwrap().clone()
    }

    async fn stop(self) -> Vec<Value> {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.receivers {
            let _ = t.await;
        }
        // every receiver (and with it every sender) is gone: the deleter ends after the last batch
        let _ = self.deleter.await;
        let events = self.events.lock().unwrap().clone();
        events
    }
}

async fn receive_once(
    client: &aws_sdk_sqs::Client,
    url: &str,
    prefix: &str,
    events: &Mutex<Vec<Value>>,
    deletes: &Deletes,
) {
    let messages = match crate::receive_json(client, url).await {
        Ok(m) => m,
        Err(e) => {
            eprintln!("load: receive: {e}");
            tokio::time::sleep(Duration::from_millis(200)).await;
            return;
        }
    };
    let mut entries = Vec::new();
    for (i, (body, handle)) in messages.into_iter().enumerate() {
        if let Some(v) = body {
            let principal = v.get("detail").and_then(|d| d.get("principal")).and_then(Value::as_str);
            if principal.is_some_and(|p| p.starts_with(prefix)) {
                events.lock().unwrap().push(v);
            }
        }
        if let Some(h) = handle {
            entries.push(
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(h)
                    .build()
                    .expect("entry"),
            );
        }
    }
    if !entries.is_empty() {
        let _ = deletes.send(entries);
    }
}

/// The run's request items (test-only paginated Scan; the product never scans).
async fn rows_with_prefix(prefix: &str) -> Result<Vec<HashMap<String, AttributeValue>>, String> {
    crate::scan_items(
        "kind = :k AND begins_with(principal, :p)",
        &[(":k", egress_core::KIND_REQUEST), (":p", prefix)],
    )
    .await
}

fn outcome_type(decision: &str) -> &'static str {
    if decision == "allow" {
        "egress.allowed"
    } else {
        "egress.blocked"
    }
}

/// Lists at most `n` items, then how many more.
fn some<T: std::fmt::Display>(items: &[T], n: usize) -> String {
    let mut out = String::new();
    for (i, it) in items.iter().take(n).enumerate() {
        if i > 0 {
            out.push_str("; ");
        }
        let _ = write!(out, "{it}");
    }
    if items.len() > n {
        let _ = write!(out, "; ... {} more", items.len() - n);
    }
    out
}

async fn send(
    client: &reqwest::Client,
    endpoint: &str,
    epoch: Instant,
    slot: Slot,
    (principal, idem, body): (String, String, String),
) -> Answer {
    let sent = epoch.elapsed();
    let res = client
        .post(format!("{endpoint}/v1/egress/requests"))
        .header("content-type", "application/json")
        .header(egress_core::PRINCIPAL_HEADER, &principal)
        .header("idempotency-key", &idem)
        .body(body)
        .send()
        .await;
    let (status, replayed_header, body, error) = match res {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let replayed = resp
                .headers()
                .get("idempotent-replayed")
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"true"));
            match resp.text().await {
                Ok(text) => {
                    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
                    (status, replayed, body, None)
                }
                Err(e) => (status, replayed, Value::Null, Some(format!("reading body: {e}"))),
            }
        }
        Err(e) => (0, false, Value::Null, Some(e.to_string())),
    };
    Answer {
        slot,
        status,
        replayed_header,
        body,
        sent,
        done: epoch.elapsed(),
        error,
    }
}

/// Runs the load against the local stack (`LAMBDA_PORT`, `DYNAMODB_PORT`, `MOTO_PORT`) and checks it.
pub async fn run(cfg: &LoadConfig) -> LoadReport {
    let run = ulid::Ulid::new().to_string().to_lowercase();
    let prefix = format!("arn:aws:iam::000000000000:role/e2e-load-{run}-");
    let principals: Vec<String> = (0..cfg.principals.max(1)).map(|j| format!("{prefix}p{j}")).collect();
    let concurrency = cfg.concurrency.max(1);
    let slots = plan(cfg.total, cfg.replay_fraction, concurrency, cfg.seed);
    let unique_keys = slots.iter().filter(|s| !s.replay).count();
    let replays = slots.len() - unique_keys;
    let mut failures = Vec::new();

    let collector = match Collector::start(prefix.clone(), cfg.receivers.max(1)).await {
        Ok(c) => Some(c),
        Err(e) => {
            failures.push(format!("event collector: {e}"));
            None
        }
    };

    // --- the requests -------------------------------------------------------------------------
    let client = reqwest::Client::builder()
        .timeout(cfg.request_timeout)
        .pool_max_idle_per_host(concurrency)
        .build()
        .expect("http client");
    let endpoint = lambda_endpoint();
    let sem = Arc::new(Semaphore::new(concurrency));
    let started = Instant::now();
    let mut handles = Vec::with_capacity(slots.len());
    for slot in &slots {
        // Acquire before spawning: the POSTs start in plan order, `concurrency` at a time.
        let permit = sem.clone().acquire_owned().await.expect("semaphore");
        let request = request_of(&run, &principals, slot.key);
        let (client, endpoint, slot) = (client.clone(), endpoint.clone(), *slot);
        handles.push(tokio::spawn(async move {
            let a = send(&client, &endpoint, started, slot, request).await;
            drop(permit);
            a
        }));
    }
    let mut answers = Vec::with_capacity(handles.len());
    for h in handles {
        answers.push(h.await.expect("request task"));
    }
    let elapsed = started.elapsed();

    // --- the answers --------------------------------------------------------------------------
    let mut statuses = BTreeMap::new();
    for a in &answers {
        *statuses.entry(a.status).or_insert(0usize) += 1;
    }
    let server_errors = answers.iter().filter(|a| a.status >= 500).count();
    let transport: Vec<String> = answers
        .iter()
        .filter(|a| a.status == 0)
        .map(|a| format!("key {}: {}", a.slot.key, a.error.as_deref().unwrap_or("?")))
        .collect();
    if !transport.is_empty() {
        failures.push(format!("{} transport errors: {}", transport.len(), some(&transport, 5)));
    }
    // Every non-2xx, grouped by status with a sample body.
    let mut non_2xx: BTreeMap<u16, (usize, String)> = BTreeMap::new();
    for a in answers
        .iter()
        .filter(|a| a.status != 0 && !(200..300).contains(&a.status))
    {
        let e = non_2xx.entry(a.status).or_insert((0, a.body.to_string()));
        e.0 += 1;
    }
    for (status, (n, sample)) in &non_2xx {
        let what = if *status >= 500 { "5xx" } else { "non-2xx" };
        failures.push(format!("{n} x HTTP {status} ({what}), e.g. {sample}"));
    }
    let created = answers.iter().filter(|a| a.status == 201).count();
    let replayed = answers.iter().filter(|a| a.status == 200).count();
    let first_of: HashMap<usize, &Answer> = answers
        .iter()
        .filter(|a| !a.slot.replay)
        .map(|a| (a.slot.key, a))
        .collect();
    let in_flight: Vec<&Answer> = answers
        .iter()
        .filter(|a| a.slot.replay && first_of.get(&a.slot.key).is_some_and(|o| a.sent < o.done))
        .collect();
    let replays_won = in_flight.iter().filter(|a| a.status == 201).count();
    let mut per_key: BTreeMap<usize, Vec<&Answer>> = BTreeMap::new();
    for a in answers.iter().filter(|a| (200..300).contains(&a.status)) {
        per_key.entry(a.slot.key).or_default().push(a);
    }
    let (mut odd_2xx, mut multi_201, mut no_201, mut split_ids, mut body_mismatch) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (key, list) in &per_key {
        for a in list {
            if a.status == 200 && !a.replayed_header {
                odd_2xx.push(*key);
            }
            if a.status != 200 && a.status != 201 {
                odd_2xx.push(*key);
            }
        }
        let originals: Vec<&&Answer> = list.iter().filter(|a| a.status == 201).collect();
        match originals.len() {
            0 => no_201.push(*key),
            1 => {
                let original = &originals[0].body;
                if list.iter().any(|a| a.status == 200 && &a.body != original) {
                    body_mismatch.push(*key);
                }
            }
            _ => multi_201.push(*key),
        }
        let ids: BTreeSet<Option<&str>> = list.iter().map(|a| a.request_id()).collect();
        if ids.len() != 1 || ids.contains(&None) {
            split_ids.push(*key);
        }
    }
    let keys_answered = per_key.len();
    if keys_answered != unique_keys {
        failures.push(format!(
            "{} of {unique_keys} keys got no 2xx answer",
            unique_keys - keys_answered
        ));
    }
    for (what, keys) in [
        (
            "2xx answers that are neither 201 nor 200 + Idempotent-Replayed: true",
            &odd_2xx,
        ),
        ("keys answered 201 more than once (created twice)", &multi_201),
        ("keys never answered 201", &no_201),
        ("keys whose answers carry different request_ids", &split_ids),
        ("keys whose replay body differs from the original", &body_mismatch),
    ] {
        if !keys.is_empty() {
            failures.push(format!("{} {what}: keys {}", keys.len(), some(keys, 10)));
        }
    }
    let answered_ids: HashSet<String> = per_key
        .values()
        .flatten()
        .filter_map(|a| a.request_id().map(str::to_owned))
        .collect();

    // --- the rows -----------------------------------------------------------------------------
    let rows = match rows_with_prefix(&prefix).await {
        Ok(rows) => rows,
        Err(e) => {
            failures.push(e);
            Vec::new()
        }
    };
    // request_id -> decision, from the table
    let row_decisions: BTreeMap<String, String> = rows
        .iter()
        .map(|row| {
            let id = s(row, "request_id").unwrap_or_default().to_owned();
            (id, s(row, "decision").unwrap_or_default().to_owned())
        })
        .collect();
    if rows.len() != unique_keys {
        failures.push(format!("rows: {} for {unique_keys} unique keys", rows.len()));
    }
    let orphans: Vec<&String> = row_decisions.keys().filter(|id| !answered_ids.contains(*id)).collect();
    if !orphans.is_empty() {
        failures.push(format!(
            "{} rows whose request_id no answer carried: {}",
            orphans.len(),
            some(&orphans, 5)
        ));
    }
    let missing_rows: Vec<&String> = answered_ids
        .iter()
        .filter(|id| !row_decisions.contains_key(*id))
        .collect();
    if !missing_rows.is_empty() {
        failures.push(format!(
            "{} answered request_ids without a row: {}",
            missing_rows.len(),
            some(&missing_rows, 5)
        ));
    }

    // --- the events ---------------------------------------------------------------------------
    let expected: BTreeSet<String> = row_decisions
        .iter()
        .flat_map(|(id, d)| [format!("{id}/egress.requested"), format!("{id}/{}", outcome_type(d))])
        .collect();
    let event_id = |e: &Value| {
        e.get("detail")
            .and_then(|d| d.get("event_id"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let waited = Instant::now();
    let mut events_wait = Duration::ZERO;
    let events = match collector {
        Some(collector) => {
            let deadline = waited + cfg.event_timeout;
            loop {
                let got: HashSet<String> = collector.snapshot().iter().filter_map(event_id).collect();
                if expected.iter().all(|id| got.contains(id)) {
                    events_wait = waited.elapsed();
                    break;
                }
                if Instant::now() > deadline {
                    events_wait = waited.elapsed();
                    failures.push(format!(
                        "events: waited {} s, {} of {} expected arrived",
                        cfg.event_timeout.as_secs(),
                        expected.iter().filter(|id| got.contains(*id)).count(),
                        expected.len()
                    ));
                    break;
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            tokio::time::sleep(cfg.settle).await;
            collector.stop().await
        }
        None => Vec::new(),
    };
    let deliveries = events.len();
    // event_id -> the EventBridge envelope id of every delivery: the same envelope twice is the queue
    // delivering one message again; two envelopes are the publisher putting the event twice.
    let mut per_event: HashMap<String, Vec<String>> = HashMap::new();
    let mut per_request: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for e in &events {
        let Some(id) = event_id(e) else {
            failures.push(format!("event without event_id: {e}"));
            continue;
        };
        let envelope = e.get("id").and_then(Value::as_str).unwrap_or_default().to_owned();
        per_event.entry(id.clone()).or_default().push(envelope);
        let request = e
            .get("detail")
            .and_then(|d| d.get("request_id"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let dtype = e
            .get("detail-type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if id != format!("{request}/{dtype}") {
            failures.push(format!(
                "event_id {id} is not <request_id>/<detail-type> ({request}, {dtype})"
            ));
        }
        per_request.entry(request).or_default().push(dtype);
    }
    let distinct: BTreeSet<String> = per_event.keys().cloned().collect();
    // duplicate deliveries, plus rows beyond one per key
    let duplicates = (deliveries - distinct.len()) + rows.len().saturating_sub(unique_keys);
    let lost: Vec<&String> = expected.difference(&distinct).collect();
    let foreign: Vec<&String> = distinct.difference(&expected).collect();
    if distinct.len() != 2 * rows.len() {
        failures.push(format!(
            "events: {} distinct event_ids for {} rows (want {})",
            distinct.len(),
            rows.len(),
            2 * rows.len()
        ));
    }
    if deliveries != distinct.len() {
        let mut twice = Vec::new();
        let (mut published_again, mut delivered_again) = (0, 0);
        for (id, envelopes) in per_event.iter().filter(|(_, v)| v.len() > 1) {
            let unique: BTreeSet<&String> = envelopes.iter().collect();
            published_again += unique.len() - 1;
            delivered_again += envelopes.len() - unique.len();
            twice.push(format!("{id} x{} in {} envelope(s)", envelopes.len(), unique.len()));
        }
        twice.sort();
        failures.push(format!(
            "events: {deliveries} deliveries of {} distinct events ({published_again} published again, \
             {delivered_again} copies of one envelope delivered again): {}",
            distinct.len(),
            some(&twice, 5)
        ));
    }
    if !lost.is_empty() {
        failures.push(format!("{} events lost: {}", lost.len(), some(&lost, 5)));
    }
    if !foreign.is_empty() {
        failures.push(format!(
            "{} events for no row or the wrong outcome: {}",
            foreign.len(),
            some(&foreign, 5)
        ));
    }
    let mut shape = Vec::new();
    for (id, decision) in &row_decisions {
        let mut types: Vec<String> = per_request.get(id).cloned().unwrap_or_default();
        types.sort();
        types.dedup();
        let mut want = vec!["egress.requested".to_owned(), outcome_type(decision).to_owned()];
        want.sort();
        if types != want {
            shape.push(format!("{id} ({decision}): {types:?}"));
        }
    }
    if !shape.is_empty() {
        failures.push(format!(
            "{} requests without egress.requested + exactly their one outcome event: {}",
            shape.len(),
            some(&shape, 5)
        ));
    }

    let mut latencies: Vec<Duration> = answers.iter().filter(|a| a.status != 0).map(Answer::latency).collect();
    latencies.sort();
    LoadReport {
        total: slots.len(),
        unique_keys,
        replays,
        concurrency,
        elapsed,
        statuses,
        server_errors,
        transport_errors: transport.len(),
        created,
        replayed,
        replays_in_flight: in_flight.len(),
        replays_won,
        rows: rows.len(),
        events_distinct: distinct.len(),
        deliveries,
        duplicates,
        lost: lost.len(),
        events_wait,
        p50: crate::percentile(&latencies, 50.0),
        p99: crate::percentile(&latencies, 99.0),
        max: latencies.last().copied().unwrap_or_default(),
        failures,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_has_the_requested_mix_and_replays_only_earlier_keys() {
        for (total, fraction) in [(2000, 0.2), (200, 0.2), (7, 0.5), (1, 0.2), (10, 0.0)] {
            let slots = plan(total, fraction, 50, 42);
            assert_eq!(slots.len(), total);
            let replays = slots.iter().filter(|s| s.replay).count();
            assert_eq!(replays, replay_count(total, fraction), "{total} {fraction}");
            let mut issued = 0;
            for s in &slots {
                if s.replay {
                    assert!(s.key < issued);
                } else {
                    assert_eq!(s.key, issued);
                    issued += 1;
                }
            }
        }
        let slots = plan(2000, 0.2, 50, 1);
        assert_eq!(slots.iter().filter(|s| s.replay).count(), 400);
        assert!(!slots[0].replay);
    }
}
