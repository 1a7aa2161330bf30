//! Approvals on DynamoDB: GetItem, the write-once decision (the approval and its key's slot in one
//! transaction, conditioned on the approval still pending and unexpired), and list pages of one Query per
//! partition (a zone, a zone's pending queue on the sparse index, a principal), each with a fixed budget.

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{Delete, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update};

use super::{from_item, s, to_item, unavailable, DynamoStore};
use crate::approval::{ApprovalRecord, ApprovalState};
use crate::store::keys::{
    approval_pk, approvals_of_principal, approvals_of_zone, merge_page, pending_in_zone, slot_pk, ApprovalItem,
    ShardRead, SlotItem, INDEX_BY_PENDING, INDEX_BY_PRINCIPAL, INDEX_BY_TIME,
};
use crate::store::{
    ApprovalPage, ApprovalPartition, ApprovalQuery, ApprovalStore, DecideOutcome, DecisionWrite, StoreError,
    StoredApproval,
};

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

/// The filter expression (and its values) for a state: `pending` and `expired` are both stored as
/// `pending` and told apart by `expires_at` (RFC 3339 in one fixed format, so strings compare as times).
fn state_filter(state: ApprovalState) -> (&'static str, &'static str) {
    match state {
        ApprovalState::Pending => ("#state = :stored AND expires_at > :now", "pending"),
        ApprovalState::Expired => ("#state = :stored AND expires_at <= :now", "pending"),
        ApprovalState::Granted => ("#state = :stored", "granted"),
        ApprovalState::Denied => ("#state = :stored", "denied"),
    }
}

impl DynamoStore {
    async fn query_partition(
        &self,
        partition: &ApprovalPartition,
        q: &ApprovalQuery,
    ) -> Result<ShardRead<ApprovalRecord>, StoreError> {
        let (index, pk_name, sk_name, pk) = match partition {
            ApprovalPartition::Zone(z) => (INDEX_BY_TIME, "time_pk", "time_sk", approvals_of_zone(z)),
            ApprovalPartition::PendingIn(z) => (INDEX_BY_PENDING, "pending_pk", "pending_sk", pending_in_zone(z)),
            ApprovalPartition::Principal(p) => (
                INDEX_BY_PRINCIPAL,
                "principal_pk",
                "principal_sk",
                approvals_of_principal(p),
            ),
        };
        let mut builder = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .expression_attribute_names("#pk", pk_name)
            .expression_attribute_values(":pk", s(pk))
            .scan_index_forward(false)
            // A budget of items evaluated, matched or not: a filter that matches nothing still stops.
            .limit((q.limit + 1) as i32);
        builder = match &q.before {
            Some(b) => builder
                .key_condition_expression("#pk = :pk AND #sk < :before")
                .expression_attribute_names("#sk", sk_name)
                .expression_attribute_values(":before", s(b)),
            None => builder.key_condition_expression("#pk = :pk"),
        };
        let mut filters = vec!["kind = :kind"];
        builder = builder.expression_attribute_values(":kind", s(crate::store::KIND_APPROVAL));
        if let Some(state) = q.state {
            let (expr, stored) = state_filter(state);
            filters.push(expr);
            builder = builder
                .expression_attribute_names("#state", "state")
                .expression_attribute_values(":stored", s(stored));
            if expr.contains(":now") {
                builder = builder.expression_attribute_values(":now", s(q.now.to_string()));
            }
        }
        if let Some(z) = &q.zone {
            filters.push("#zone = :zone");
            builder = builder
                .expression_attribute_names("#zone", "zone")
                .expression_attribute_values(":zone", s(z));
        }
        if let Some(p) = &q.principal {
            filters.push("principal = :principal");
            builder = builder.expression_attribute_values(":principal", s(p));
        }
        let resp = builder
            .filter_expression(filters.join(" AND "))
            .send()
            .await
            .map_err(unavailable)?;
        let now = q.now.time();
        let items = resp
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|item| from_item::<ApprovalItem>(item).map(|i| i.approval.as_of(now)))
            .collect::<Result<Vec<_>, _>>()?;
        let stopped_at = match resp.last_evaluated_key {
            Some(key) => match key.get(sk_name) {
                Some(aws_sdk_dynamodb::types::AttributeValue::S(sk)) => Some(sk.clone()),
                _ => return Err(StoreError::Corrupt(format!("LastEvaluatedKey without {sk_name}"))),
            },
            None => None,
        };
        Ok(ShardRead { items, stopped_at })
    }
}

#[async_trait]
impl ApprovalStore for DynamoStore {
    async fn get_approval(&self, approval_id: &str) -> Result<Option<StoredApproval>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(approval_pk(approval_id)))
            .key("sk", s("APR"))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        out.item
            .map(|item| {
                from_item::<ApprovalItem>(item).map(|i| StoredApproval {
                    approval: i.approval,
                    key: i.approval_key,
                })
            })
            .transpose()
    }

    async fn decide_approval(&self, d: &DecisionWrite) -> Result<DecideOutcome, StoreError> {
        let a = &d.approval;
        let grant = serde_dynamo::to_attribute_value(&a.grant).map_err(corrupt)?;
        let decided = Update::builder()
            .table_name(&self.table)
            .key("pk", s(approval_pk(&a.approval_id)))
            .key("sk", s("APR"))
            .update_expression(
                "SET #state = :state, decided_by = :by, decided_at = :at, note = :note, #grant = :grant \
                 REMOVE pending_pk, pending_sk",
            )
            .condition_expression("#state = :pending AND expires_at > :now")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#grant", "grant")
            .expression_attribute_values(":state", s(a.state.as_str()))
            .expression_attribute_values(":by", serde_dynamo::to_attribute_value(&a.decided_by).map_err(corrupt)?)
            .expression_attribute_values(":at", serde_dynamo::to_attribute_value(a.decided_at).map_err(corrupt)?)
            .expression_attribute_values(":note", serde_dynamo::to_attribute_value(&a.note).map_err(corrupt)?)
            .expression_attribute_values(":grant", grant)
            .expression_attribute_values(":pending", s(ApprovalState::Pending.as_str()))
            .expression_attribute_values(":now", s(d.now.to_string()))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(corrupt)?;
        // The slot still names this approval (or is gone): a grant replaces it, a deny frees the key.
        let slot_condition = "attribute_not_exists(pk) OR approval_id = :a";
        let slot = match &d.slot {
            Some(slot) => TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(to_item(&SlotItem::new(&d.key, slot.clone()))?))
                        .condition_expression(slot_condition)
                        .expression_attribute_values(":a", s(&a.approval_id))
                        .build()
                        .map_err(corrupt)?,
                )
                .build(),
            None => TransactWriteItem::builder()
                .delete(
                    Delete::builder()
                        .table_name(&self.table)
                        .key("pk", s(slot_pk(&d.key)))
                        .key("sk", s("AKEY"))
                        .condition_expression(slot_condition)
                        .expression_attribute_values(":a", s(&a.approval_id))
                        .build()
                        .map_err(corrupt)?,
                )
                .build(),
        };
        let sent = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(decided).build())
            .transact_items(slot)
            .send()
            .await;
        let e = match sent {
            Ok(_) => return Ok(DecideOutcome::Decided),
            Err(e) => e,
        };
        let reasons = match e.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(c)) => c.cancellation_reasons().to_vec(),
            _ => return Err(unavailable(e)),
        };
        match reasons.first() {
            Some(r) if r.code() == Some("ConditionalCheckFailed") => match r.item().cloned() {
                Some(item) => Ok(DecideOutcome::NotPending(Box::new(
                    from_item::<ApprovalItem>(item)?.approval,
                ))),
                None => Ok(DecideOutcome::Missing),
            },
            _ => Err(unavailable(e)),
        }
    }

    async fn list_approvals(&self, q: &ApprovalQuery) -> Result<ApprovalPage, StoreError> {
        let reads = futures_util::future::join_all(q.partitions.iter().map(|p| self.query_partition(p, q))).await;
        let mut all = Vec::new();
        let mut frontier: Option<String> = None;
        for read in reads {
            let read = read?;
            all.extend(read.items);
            frontier = frontier.max(read.stopped_at);
        }
        Ok(merge_page(all, frontier, q.limit))
    }
}
