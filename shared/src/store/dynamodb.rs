//! [`RequestStore`] on DynamoDB: one conditional write per request (PutItem, or TransactWriteItems with an
//! idempotency claim, answered from the cancellation reason on a replay), GetItem, and bounded list pages of
//! one Query per index shard. The stream of these writes is the outbox for events.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem};
use serde::Serialize;

use super::keys::{
    merge_page, principal_pk, request_pk, time_pk, ShardRead, INDEX_BY_PRINCIPAL, INDEX_BY_TIME, INDEX_SHARDS,
};
use super::{
    IdempotencyClaim, IdempotencyItem, ListPage, ListQuery, RecordOutcome, RequestItem, RequestStore, StoreError,
};
use crate::RequestRecord;

/// Attempts of an idempotent write that loses a same-key race (TransactionConflict).
const CONFLICT_ATTEMPTS: u32 = 4;

/// What the idempotency item must look like for a claimed write to go through.
#[derive(Debug, Clone, Copy)]
enum ClaimCondition<'a> {
    /// No live claim for the key (absent, or expired: TTL deletion lags by up to days).
    Free,
    /// The claim answers this request (a re-decision moves it to the new record).
    Answers(&'a str),
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
        let idem = to_item(&IdempotencyItem::claiming(record, claim)?)?;
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
                return old.answer(claim);
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
