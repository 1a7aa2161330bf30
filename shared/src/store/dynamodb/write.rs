//! A request's one write: a conditional PutItem when the record goes alone, else one TransactWriteItems
//! with the idempotency claim, the approval step and the rate-limit charges. A failed condition is read
//! from the cancellation reasons (a replay is answered from the claim's ALL_OLD image: no second read).

use std::time::Duration;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    CancellationReason, ConditionCheck, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};

use super::{from_item, n, s, to_item, unavailable, DynamoStore};
use crate::approval::{ApprovalSlot, SlotState};
use crate::store::keys::{approval_pk, counter_pk, slot_pk, ApprovalItem, SlotItem, KIND_RATE_COUNTER};
use crate::store::{ApprovalStep, IdempotencyItem, RecordOutcome, RequestItem, StoreError, Write};

/// Attempts of a write that loses a race on one of its items (TransactionConflict): same-key replays, a
/// shared approval slot, a shared rate-limit counter. Jittered backoff between them.
const CONFLICT_ATTEMPTS: u32 = 8;

/// What each item of the transaction is, to read its cancellation reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Request,
    Claim,
    Approval,
    Charge(usize),
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

impl DynamoStore {
    pub(super) async fn write_request(&self, w: &Write<'_>) -> Result<RecordOutcome, StoreError> {
        let item = to_item(&RequestItem::new(w.record.clone()).expiring(self.request_expiry()))?;
        if w.is_plain() {
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
        }
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let mut items = Vec::new();
        let mut roles = Vec::new();
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(corrupt)?;
        items.push(TransactWriteItem::builder().put(put).build());
        roles.push(Role::Request);
        if let Some(claim) = w.claim {
            items.push(self.claim_put(w, claim, now)?);
            roles.push(Role::Claim);
        }
        if let Some(step) = w.approval {
            for item in self.approval_items(step, &w.record.request_id, now)? {
                items.push(item);
                roles.push(Role::Approval);
            }
        }
        for (i, charge) in w.charges.iter().enumerate() {
            let update = Update::builder()
                .table_name(&self.table)
                .key("pk", s(counter_pk(&charge.key)))
                .key("sk", s("RL"))
                .update_expression("ADD #c :one SET expires_at = if_not_exists(expires_at, :ttl), kind = :kind")
                .condition_expression("attribute_not_exists(#c) OR #c < :limit")
                .expression_attribute_names("#c", "count")
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":ttl", n(charge.expires_at))
                .expression_attribute_values(":kind", s(KIND_RATE_COUNTER))
                .expression_attribute_values(":limit", n(charge.limit))
                .build()
                .map_err(corrupt)?;
            items.push(TransactWriteItem::builder().update(update).build());
            roles.push(Role::Charge(i));
        }
        let transaction = self.client.transact_write_items().set_transact_items(Some(items));
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
            if let Some(outcome) = read_cancellation(w, &reasons, &roles)? {
                return Ok(outcome);
            }
            // Two writes on one item at the same instant: one transaction wins, the other is cancelled with
            // TransactionConflict. Retrying turns the loser into a replay, a reference to the winner's
            // approval, or the next count, instead of a 503.
            let conflict = reasons.iter().any(|r| r.code() == Some("TransactionConflict"));
            let out_of_time = w.retry_until.is_some_and(|t| std::time::Instant::now() >= t);
            if !conflict || attempt >= CONFLICT_ATTEMPTS || out_of_time {
                return Err(unavailable(e));
            }
            let jitter = u64::from(ulid::Ulid::new().random() as u8 % 20);
            tokio::time::sleep(Duration::from_millis(10 * u64::from(attempt) + jitter)).await;
        }
    }

    /// The claim put: free (absent or expired: TTL deletion lags by up to days), or, for a re-decided
    /// replay, still answering the original (or deleted by TTL meanwhile).
    fn claim_put(
        &self,
        w: &Write<'_>,
        claim: &crate::store::IdempotencyClaim,
        now: i64,
    ) -> Result<TransactWriteItem, StoreError> {
        let idem = to_item(&IdempotencyItem::claiming(w.record, claim)?)?;
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(idem))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        let put = match w.supersedes {
            None => put
                .condition_expression("attribute_not_exists(pk) OR expires_at < :now")
                .expression_attribute_values(":now", n(now)),
            Some(original) => put
                .condition_expression("request_id = :original OR attribute_not_exists(pk)")
                .expression_attribute_values(":original", s(original)),
        };
        Ok(TransactWriteItem::builder().put(put.build().map_err(corrupt)?).build())
    }

    /// The items of an approval step (precedence step 7), each conditioned on the slot the decision read.
    fn approval_items(
        &self,
        step: &ApprovalStep,
        request_id: &str,
        now: i64,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let live_grant = "approval_id = :a AND #state = :granted AND expires_at > :now";
        Ok(match step {
            ApprovalStep::Open {
                key,
                approval,
                replacing,
                expires_at,
            } => {
                let put_approval = Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(to_item(&ApprovalItem::new((**approval).clone(), key.clone()))?))
                    .condition_expression("attribute_not_exists(pk)")
                    .build()
                    .map_err(corrupt)?;
                let slot = SlotItem::new(key, ApprovalSlot::pending((**approval).clone(), *expires_at));
                let put_slot = Put::builder().table_name(&self.table).set_item(Some(to_item(&slot)?));
                let put_slot = match replacing {
                    None => put_slot.condition_expression("attribute_not_exists(pk)"),
                    // Deleted by TTL since it was read counts as unchanged: the key is free either way.
                    Some(r) => put_slot
                        .condition_expression("attribute_not_exists(pk) OR approval_id = :r")
                        .expression_attribute_values(":r", s(r)),
                };
                vec![
                    TransactWriteItem::builder().put(put_approval).build(),
                    TransactWriteItem::builder()
                        .put(put_slot.build().map_err(corrupt)?)
                        .build(),
                ]
            }
            ApprovalStep::UseWindow { key, approval_id } => {
                let check = ConditionCheck::builder()
                    .table_name(&self.table)
                    .key("pk", s(slot_pk(key)))
                    .key("sk", s("AKEY"))
                    .condition_expression(live_grant)
                    .expression_attribute_names("#state", "state")
                    .expression_attribute_values(":a", s(approval_id))
                    .expression_attribute_values(":granted", s(SlotState::Granted.as_str()))
                    .expression_attribute_values(":now", n(now))
                    .build()
                    .map_err(corrupt)?;
                vec![TransactWriteItem::builder().condition_check(check).build()]
            }
            ApprovalStep::ConsumeOnce { key, approval_id } => {
                let use_slot = Update::builder()
                    .table_name(&self.table)
                    .key("pk", s(slot_pk(key)))
                    .key("sk", s("AKEY"))
                    .update_expression("SET used_by = :rid, #approval.#grant.used_by = :rid")
                    .condition_expression(format!("{live_grant} AND attribute_not_exists(used_by)"))
                    .expression_attribute_names("#state", "state")
                    .expression_attribute_names("#approval", "approval")
                    .expression_attribute_names("#grant", "grant")
                    .expression_attribute_values(":a", s(approval_id))
                    .expression_attribute_values(":granted", s(SlotState::Granted.as_str()))
                    .expression_attribute_values(":now", n(now))
                    .expression_attribute_values(":rid", s(request_id))
                    .build()
                    .map_err(corrupt)?;
                let mark_approval = Update::builder()
                    .table_name(&self.table)
                    .key("pk", s(approval_pk(approval_id)))
                    .key("sk", s("APR"))
                    .update_expression("SET #grant.used_by = :rid")
                    .condition_expression("attribute_exists(pk)")
                    .expression_attribute_names("#grant", "grant")
                    .expression_attribute_values(":rid", s(request_id))
                    .build()
                    .map_err(corrupt)?;
                vec![
                    TransactWriteItem::builder().update(use_slot).build(),
                    TransactWriteItem::builder().update(mark_approval).build(),
                ]
            }
        })
    }
}

/// What a cancelled transaction means, from its reasons: a claim that is taken answers a replay or a key
/// conflict; a changed approval slot or a full counter is an outcome the caller decides on; anything
/// else is `None` (a conflict to retry, or an error).
fn read_cancellation(
    w: &Write<'_>,
    reasons: &[CancellationReason],
    roles: &[Role],
) -> Result<Option<RecordOutcome>, StoreError> {
    let failed = |wanted: &dyn Fn(Role) -> bool| {
        reasons
            .iter()
            .zip(roles)
            .find(|(r, role)| wanted(**role) && r.code() == Some("ConditionalCheckFailed"))
            .map(|(r, role)| (r, *role))
    };
    if let (Some(claim), Some((reason, _))) = (w.claim, failed(&|r| r == Role::Claim)) {
        let Some(existing) = reason.item().cloned() else {
            return Err(StoreError::Corrupt("a failed claim without its item".into()));
        };
        let old: IdempotencyItem = from_item(existing)?;
        return old.answer(claim).map(Some);
    }
    if failed(&|r| r == Role::Approval).is_some() {
        return Ok(Some(RecordOutcome::ApprovalChanged));
    }
    if let Some((_, Role::Charge(i))) = failed(&|r| matches!(r, Role::Charge(_))) {
        return Ok(Some(RecordOutcome::LimitReached(i)));
    }
    Ok(None)
}
