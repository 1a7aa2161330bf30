//! The request table (`sec_egress_requests`): item layout and the DynamoDB adapter.
//!
//! Layout (see docs/ACCESS_PATTERNS.md):
//! - request item: `pk = REQ#<ulid>`, `sk = REQ`, `kind = request`, the record, and the index keys
//!   `time_pk = T#<shard>` / `time_sk = <ulid>` (GSI `by_time`) and
//!   `principal_pk = P#<shard>#<principal>` / `principal_sk = <ulid>` (GSI `by_principal`);
//! - idempotency item: `pk = IDEM#<sha256(principal, key)>`, `sk = IDEM`, `kind = idempotency`, the body
//!   hash, the answered resource and `expires_at` (TTL).
//!
//! The request path writes both in ONE call, and the stream (NEW_IMAGE) is the outbox for events.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::record::RequestRecord;

/// Write shards of each index: 10,000 writes/s spread over 16 keys is 625 WCU/s per key, under the
/// 1,000 WCU/s a single partition accepts (arithmetic in docs/ACCESS_PATTERNS.md).
pub const INDEX_SHARDS: u8 = 16;
pub const INDEX_BY_TIME: &str = "by_time";
pub const INDEX_BY_PRINCIPAL: &str = "by_principal";
pub const KIND_REQUEST: &str = "request";
pub const KIND_IDEMPOTENCY: &str = "idempotency";
/// Attempts of an idempotent write that loses a same-key race (TransactionConflict).
const CONFLICT_ATTEMPTS: u32 = 4;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// DynamoDB could not be reached or throttled us: the caller answers 503 with `Retry-After`.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The table answered something that does not fit our layout (a bug or tampering).
    #[error("store data error: {0}")]
    Corrupt(String),
}

/// The idempotency claim of one request: who, which key, what body.
#[derive(Debug, Clone)]
pub struct IdempotencyClaim {
    key_hash: String,
    body_hash: String,
    expires_at: i64,
}

impl IdempotencyClaim {
    /// The key is scoped to the principal: two principals can never collide or probe each other's keys.
    pub fn new(principal: &str, key: &str, canonical_body: &[u8], expires_at: i64) -> Self {
        Self {
            key_hash: hex_sha256(&[principal.as_bytes(), b"\n", key.as_bytes()]),
            body_hash: hex_sha256(&[canonical_body]),
            expires_at,
        }
    }
}

/// SHA-256 of length-prefixed parts, in hex.
pub(crate) fn hex_sha256(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        // Length-prefix each part so ("ab","c") and ("a","bc") hash differently.
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    hex::encode(h.finalize())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordOutcome {
    Created,
    /// Same principal, key and body as an earlier request: its original resource.
    Replayed(Box<RequestRecord>),
    /// Same principal and key, different body.
    KeyConflict,
}

#[cfg(test)]
mod shard_tests {
    use super::*;

    fn records(ids: &[&str]) -> Vec<RequestRecord> {
        let target = crate::normalize::Target::from_url("https://example.com/").unwrap();
        let decision = crate::decision::Decision::policy_unavailable();
        ids.iter()
            .map(|id| {
                let mut r = RequestRecord::new(
                    ulid::Ulid::nil(),
                    "p".into(),
                    crate::identity::Identity::dev(),
                    "z".into(),
                    target.clone(),
                    None,
                    &decision,
                );
                r.request_id = (*id).to_owned();
                r
            })
            .collect()
    }

    fn ids(page: &ListPage) -> Vec<&str> {
        page.items.iter().map(|r| r.request_id.as_str()).collect()
    }

    #[test]
    fn a_page_stops_where_a_shard_stopped_early() {
        // Shard A read 09, 07, 05 and stopped; shard B read 08, 04, 02 and was done. Below 05, A has unread
        // items that may be newer than 04: the page ends at 05 and the next one starts below it.
        let page = merge_page(records(&["09", "07", "05", "08", "04", "02"]), Some("05".into()), 10);
        assert_eq!(ids(&page), ["09", "08", "07", "05"]);
        assert_eq!(page.next_before.as_deref(), Some("05"));
    }

    #[test]
    fn a_full_page_continues_below_its_last_item_and_a_done_one_ends() {
        let page = merge_page(records(&["09", "07", "05", "08"]), Some("05".into()), 2);
        assert_eq!(ids(&page), ["09", "08"]);
        assert_eq!(page.next_before.as_deref(), Some("08"));
        let last = merge_page(records(&["03", "01"]), None, 2);
        assert_eq!(ids(&last), ["03", "01"]);
        assert_eq!(last.next_before, None);
    }

    #[test]
    fn a_filter_that_matched_nothing_still_moves_the_cursor() {
        let page = merge_page(Vec::new(), Some("05".into()), 50);
        assert!(page.items.is_empty());
        assert_eq!(page.next_before.as_deref(), Some("05"));
    }

    #[test]
    fn shards_are_even() {
        let mut counts = [0u32; INDEX_SHARDS as usize];
        for _ in 0..64_000 {
            counts[usize::from(shard_of(&ulid::Ulid::new().to_string()))] += 1;
        }
        // 4,000 expected per shard; a skewed shard function would leave some near 0 or 6,000.
        assert!(counts.iter().all(|c| (3_600..=4_400).contains(c)), "{counts:?}");
    }
}

#[async_trait]
pub trait RequestStore: Send + Sync {
    async fn record(
        &self,
        record: &RequestRecord,
        claim: Option<&IdempotencyClaim>,
    ) -> Result<RecordOutcome, StoreError>;
    /// Records `record`, which re-decides the replayed request `original`, and moves the claim to it, in one
    /// transaction, provided the claim still answers `original`. `Replayed` carries whatever the claim
    /// answers instead (another re-decision won the race).
    async fn supersede(
        &self,
        record: &RequestRecord,
        claim: &IdempotencyClaim,
        original: &str,
    ) -> Result<RecordOutcome, StoreError>;
    /// Counts an idempotent replay answered with `request_id`'s resource, at `at` (audit trail).
    async fn note_replay(&self, request_id: &str, at: &str) -> Result<(), StoreError>;
    async fn get(&self, request_id: &str) -> Result<Option<RequestRecord>, StoreError>;
    async fn list(&self, query: &ListQuery) -> Result<ListPage, StoreError>;
}

/// What the idempotency item must look like for a claimed write to go through.
#[derive(Debug, Clone, Copy)]
enum ClaimCondition<'a> {
    /// No live claim for the key (absent, or expired: TTL deletion lags by up to days).
    Free,
    /// The claim answers this request (a re-decision moves it to the new record).
    Answers(&'a str),
}

/// The request item as stored: the record plus its keys.
#[derive(Debug, Serialize, Deserialize)]
pub struct RequestItem {
    pub pk: String,
    pub sk: String,
    pub kind: String,
    pub time_pk: String,
    pub time_sk: String,
    pub principal_pk: String,
    pub principal_sk: String,
    #[serde(flatten)]
    pub record: RequestRecord,
}

impl RequestItem {
    pub fn new(record: RequestRecord) -> Self {
        let shard = shard_of(&record.request_id);
        Self {
            pk: request_pk(&record.request_id),
            sk: "REQ".into(),
            kind: KIND_REQUEST.into(),
            time_pk: time_pk(shard),
            time_sk: record.request_id.clone(),
            principal_pk: principal_pk(shard, &record.principal),
            principal_sk: record.request_id.clone(),
            record,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct IdempotencyItem {
    pk: String,
    sk: String,
    kind: String,
    request_id: String,
    body_hash: String,
    /// The resource as first answered, so a replay needs no second read.
    response: String,
    expires_at: i64,
}

pub fn request_pk(request_id: &str) -> String {
    format!("REQ#{request_id}")
}
pub fn time_pk(shard: u8) -> String {
    format!("T#{shard:02}")
}
pub fn principal_pk(shard: u8, principal: &str) -> String {
    format!("P#{shard:02}#{principal}")
}

/// Spreads writes over the index shards using the ULID's 80 random bits (uniform by construction). Not the
/// last character's byte: Crockford base32 leaves some byte values unused, which would skew the shards.
pub fn shard_of(request_id: &str) -> u8 {
    let random = ulid::Ulid::from_string(request_id).map(|u| u.random()).unwrap_or(0);
    (random % u128::from(INDEX_SHARDS)) as u8
}

pub struct DynamoStore {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoStore {
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn client(&self) -> &aws_sdk_dynamodb::Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }
}

impl DynamoStore {
    /// The request item and its idempotency claim in one TransactWriteItems. A claim that fails its
    /// condition is answered from the cancellation reason (ALL_OLD): a replay or a key conflict, no
    /// second read.
    async fn write_claimed(
        &self,
        item: HashMap<String, AttributeValue>,
        record: &RequestRecord,
        claim: &IdempotencyClaim,
        condition: ClaimCondition<'_>,
    ) -> Result<RecordOutcome, StoreError> {
        let response = serde_json::to_string(record).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let idem = to_item(&IdempotencyItem {
            pk: format!("IDEM#{}", claim.key_hash),
            sk: "IDEM".into(),
            kind: KIND_IDEMPOTENCY.into(),
            request_id: record.request_id.clone(),
            body_hash: claim.body_hash.clone(),
            response,
            expires_at: claim.expires_at,
        })?;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let put_request = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        // TTL deletion lags by up to days, so an expired key is reclaimed here explicitly.
        let put_idem = Put::builder()
            .table_name(&self.table)
            .set_item(Some(idem))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        let put_idem = match condition {
            ClaimCondition::Free => put_idem
                .condition_expression("attribute_not_exists(pk) OR expires_at < :now")
                .expression_attribute_values(":now", AttributeValue::N(now.to_string())),
            ClaimCondition::Answers(original) => put_idem
                // A claim deleted by TTL in the meantime is free for the new record.
                .condition_expression("request_id = :original OR attribute_not_exists(pk)")
                .expression_attribute_values(":original", AttributeValue::S(original.to_owned())),
        }
        .build()
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let transaction = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put_request).build())
            .transact_items(TransactWriteItem::builder().put(put_idem).build());
        let mut attempt = 0;
        loop {
            attempt += 1;
            let e = match transaction.clone().send().await {
                Ok(_) => return Ok(RecordOutcome::Created),
                Err(e) => e,
            };
            let reasons = match e.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(c)) => c.cancellation_reasons().to_vec(),
                _ => Vec::new(),
            };
            let existing = reasons
                .get(1)
                .filter(|r| r.code() == Some("ConditionalCheckFailed"))
                .and_then(|r| r.item().cloned());
            if let Some(existing) = existing {
                let old: IdempotencyItem =
                    serde_dynamo::from_item(existing).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                if old.body_hash != claim.body_hash {
                    return Ok(RecordOutcome::KeyConflict);
                }
                let original: RequestRecord =
                    serde_json::from_str(&old.response).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                return Ok(RecordOutcome::Replayed(Box::new(original)));
            }
            // Two requests with the same key at the same instant: one transaction wins, the other is
            // cancelled with TransactionConflict. Retrying turns the loser into a replay instead of a 503.
            let conflict = reasons.iter().any(|r| r.code() == Some("TransactionConflict"));
            if !conflict || attempt >= CONFLICT_ATTEMPTS {
                return Err(unavailable(e));
            }
            tokio::time::sleep(std::time::Duration::from_millis(10 * u64::from(attempt))).await;
        }
    }
}

fn to_item<T: Serialize>(v: &T) -> Result<HashMap<String, AttributeValue>, StoreError> {
    serde_dynamo::to_item(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn unavailable<E: std::error::Error + Send + Sync + 'static, R: std::fmt::Debug>(e: SdkError<E, R>) -> StoreError {
    StoreError::Unavailable(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())
}

#[async_trait]
impl RequestStore for DynamoStore {
    async fn record(
        &self,
        record: &RequestRecord,
        claim: Option<&IdempotencyClaim>,
    ) -> Result<RecordOutcome, StoreError> {
        let item = to_item(&RequestItem::new(record.clone()))?;
        let Some(claim) = claim else {
            // One conditional PutItem: half the write cost of a one-item transaction.
            return self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk)")
                .send()
                .await
                .map(|_| RecordOutcome::Created)
                .map_err(unavailable);
        };
        self.write_claimed(item, record, claim, ClaimCondition::Free).await
    }

    async fn supersede(
        &self,
        record: &RequestRecord,
        claim: &IdempotencyClaim,
        original: &str,
    ) -> Result<RecordOutcome, StoreError> {
        let item = to_item(&RequestItem::new(record.clone()))?;
        self.write_claimed(item, record, claim, ClaimCondition::Answers(original))
            .await
    }

    async fn note_replay(&self, request_id: &str, at: &str) -> Result<(), StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(request_pk(request_id)))
            .key("sk", AttributeValue::S("REQ".into()))
            .update_expression("SET last_replayed_at = :at ADD replays :one")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":at", AttributeValue::S(at.to_owned()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .send()
            .await;
        match out {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Err(StoreError::Corrupt(format!(
                    "an idempotency claim answers the missing request {request_id}"
                )))
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn get(&self, request_id: &str) -> Result<Option<RequestRecord>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(request_pk(request_id)))
            .key("sk", AttributeValue::S("REQ".into()))
            .send()
            .await
            .map_err(unavailable)?;
        out.item
            .map(|item| serde_dynamo::from_item::<_, RequestItem>(item).map(|i| i.record))
            .transpose()
            .map_err(|e| StoreError::Corrupt(e.to_string()))
    }

    async fn list(&self, query: &ListQuery) -> Result<ListPage, StoreError> {
        DynamoStore::list(self, query).await
    }
}

/// A list query after validation and authorization: the store applies it as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// `Some` uses the `by_principal` index; `None` the `by_time` index (auditors only).
    pub principal: Option<String>,
    pub zone: Option<String>,
    pub decision: Option<crate::decision::Effect>,
    /// Inclusive `request_id` bounds (ULIDs sort by time).
    pub lowest: String,
    pub highest: String,
    /// Exclusive upper bound from a cursor.
    pub before: Option<String>,
    pub limit: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListPage {
    pub items: Vec<RequestRecord>,
    /// Where the next page starts (exclusive), when there may be more. A page can hold fewer than
    /// `limit` items and still have a next page: each page reads a fixed budget whatever the filters.
    pub next_before: Option<String>,
}

/// What one shard's Query read: its matches, and how far down it got when it stopped before the end.
struct ShardRead {
    items: Vec<RequestRecord>,
    /// The index sort key (a request id) of the last item the Query evaluated, if the shard has more.
    stopped_at: Option<String>,
}

impl DynamoStore {
    /// Newest-first page: one Query per index shard (16, in parallel), each evaluating at most
    /// `limit + 1` items, matched or not, so a page costs the same whatever the filters and the table
    /// size. Merged by `request_id`, and cut at the highest point where a shard stopped early: below it
    /// that shard has unread items, which the next page reads (from there, exclusive).
    pub async fn list(&self, q: &ListQuery) -> Result<ListPage, StoreError> {
        let mut tasks = tokio::task::JoinSet::new();
        for shard in 0..INDEX_SHARDS {
            let client = self.client.clone();
            let table = self.table.clone();
            let q = q.clone();
            tasks.spawn(async move { query_shard(&client, &table, shard, &q).await });
        }
        let mut all = Vec::new();
        let mut frontier: Option<String> = None;
        while let Some(joined) = tasks.join_next().await {
            let read = joined.map_err(|e| StoreError::Unavailable(format!("query task failed: {e}")))??;
            all.extend(read.items);
            frontier = frontier.max(read.stopped_at);
        }
        Ok(merge_page(all, frontier, q.limit))
    }
}

/// The newest `limit` items at or above `frontier` (ids are unique, so the item at the frontier is the
/// stopping shard's own, already read), and where the next page starts.
fn merge_page(mut all: Vec<RequestRecord>, frontier: Option<String>, limit: usize) -> ListPage {
    if let Some(f) = &frontier {
        all.retain(|r| r.request_id.as_str() >= f.as_str());
    }
    all.sort_by(|a, b| b.request_id.cmp(&a.request_id));
    if all.len() > limit {
        all.truncate(limit);
        let next_before = all.last().map(|r| r.request_id.clone());
        return ListPage {
            items: all,
            next_before,
        };
    }
    ListPage {
        items: all,
        next_before: frontier,
    }
}

async fn query_shard(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    shard: u8,
    q: &ListQuery,
) -> Result<ShardRead, StoreError> {
    let (index, pk_name, sk_name, pk) = match &q.principal {
        Some(p) => (
            INDEX_BY_PRINCIPAL,
            "principal_pk",
            "principal_sk",
            principal_pk(shard, p),
        ),
        None => (INDEX_BY_TIME, "time_pk", "time_sk", time_pk(shard)),
    };
    let highest = match &q.before {
        Some(b) if b.as_str() <= q.highest.as_str() => b.clone(),
        _ => q.highest.clone(),
    };
    let mut filters = Vec::new();
    let mut builder = client
        .query()
        .table_name(table)
        .index_name(index)
        .key_condition_expression("#pk = :pk AND #sk BETWEEN :lo AND :hi")
        .expression_attribute_names("#pk", pk_name)
        .expression_attribute_names("#sk", sk_name)
        .expression_attribute_values(":pk", AttributeValue::S(pk))
        .expression_attribute_values(":lo", AttributeValue::S(q.lowest.clone()))
        .expression_attribute_values(":hi", AttributeValue::S(highest))
        .scan_index_forward(false);
    if let Some(z) = &q.zone {
        filters.push("#zone = :zone");
        builder = builder
            .expression_attribute_names("#zone", "zone")
            .expression_attribute_values(":zone", AttributeValue::S(z.clone()));
    }
    if let Some(d) = q.decision {
        filters.push("#decision = :decision");
        builder = builder
            .expression_attribute_names("#decision", "decision")
            .expression_attribute_values(":decision", AttributeValue::S(d.as_str().to_owned()));
    }
    if !filters.is_empty() {
        builder = builder.filter_expression(filters.join(" AND "));
    }
    // One call with a budget of items to evaluate: `Limit` counts items read, not items matched, so
    // a filter that matches nothing still stops here instead of paging through the shard.
    let resp = builder.limit((q.limit + 1) as i32).send().await.map_err(unavailable)?;
    let mut items = Vec::new();
    for item in resp.items.unwrap_or_default() {
        let item: RequestItem = serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        // The cursor bound is exclusive; BETWEEN is inclusive.
        if q.before.as_deref() != Some(item.record.request_id.as_str()) {
            items.push(item.record);
        }
    }
    let stopped_at = match resp.last_evaluated_key {
        Some(key) => match key.get(sk_name) {
            Some(AttributeValue::S(sk)) => Some(sk.clone()),
            _ => return Err(StoreError::Corrupt(format!("LastEvaluatedKey without {sk_name}"))),
        },
        None => None,
    };
    Ok(ShardRead { items, stopped_at })
}
