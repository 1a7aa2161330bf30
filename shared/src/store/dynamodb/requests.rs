//! Requests on DynamoDB: the write (see `write`), GetItem, the replay counter, and list pages of one
//! Query per index shard, each evaluating a fixed budget of items whatever the filters.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;

use super::{from_item, s, unavailable, DynamoStore};
use crate::store::keys::{
    merge_page, principal_pk, request_pk, slot_pk, time_pk, ShardRead, SlotItem, INDEX_BY_PRINCIPAL, INDEX_BY_TIME,
    INDEX_SHARDS,
};
use crate::store::{ListPage, ListQuery, RecordOutcome, RequestItem, RequestStore, StoreError, Write};
use crate::{approval::ApprovalSlot, request::RequestRecord};

#[async_trait]
impl RequestStore for DynamoStore {
    async fn write(&self, write: &Write<'_>) -> Result<RecordOutcome, StoreError> {
        self.write_request(write).await
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

    async fn approval_slot(&self, key: &str) -> Result<Option<ApprovalSlot>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(slot_pk(key)))
            .key("sk", s("AKEY"))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        out.item
            .map(|item| from_item::<SlotItem>(item).map(|i| i.slot))
            .transpose()
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
