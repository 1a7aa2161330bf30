//! Requests in memory: the write with everything that goes with it, checked whole before anything changes.

use async_trait::async_trait;

use super::{budgeted, MemoryStore, Tables};
use crate::store::keys::{merge_page, shard_of, INDEX_SHARDS};
use crate::store::{
    ApprovalStep, IdempotencyItem, ListPage, ListQuery, RecordOutcome, RequestStore, StoreError, Write,
};
use crate::{
    approval::{ApprovalSlot, GrantScope, SlotState},
    request::RequestRecord,
};

/// Whether the slot is a live grant of `approval_id` (and, for a `once`, still unused).
fn live_grant(slot: Option<&ApprovalSlot>, approval_id: &str, once: bool, now: i64) -> bool {
    slot.is_some_and(|s| {
        s.approval_id == approval_id
            && s.state == SlotState::Granted
            && s.expires_at > now
            && (!once || (s.used_by.is_none() && s.scope == Some(GrantScope::Once)))
    })
}

impl Tables {
    /// Every condition of the write, in DynamoDB's order of precedence for our outcomes.
    fn check(&self, w: &Write<'_>, now: i64) -> Result<Option<RecordOutcome>, StoreError> {
        if self.requests.contains_key(&w.record.request_id) {
            return Err(StoreError::Unavailable(
                "conditional check failed: request exists".into(),
            ));
        }
        if let Some(claim) = w.claim {
            if let Some(existing) = self.claims.get(&claim.key_hash) {
                let free = match w.supersedes {
                    None => existing.expires_at < now,
                    Some(original) => existing.request_id == original,
                };
                if !free {
                    return existing.answer(claim).map(Some);
                }
            }
        }
        let approval_ok = match w.approval {
            None => true,
            Some(ApprovalStep::Open { key, replacing, .. }) => match (self.slots.get(key), replacing) {
                (None, _) => true,
                (Some(s), Some(r)) => s.approval_id == *r,
                (Some(_), None) => false,
            },
            Some(ApprovalStep::UseWindow { key, approval_id }) => {
                live_grant(self.slots.get(key), approval_id, false, now)
            }
            Some(ApprovalStep::ConsumeOnce { key, approval_id }) => {
                live_grant(self.slots.get(key), approval_id, true, now)
            }
        };
        if !approval_ok {
            return Ok(Some(RecordOutcome::ApprovalChanged));
        }
        for (i, c) in w.charges.iter().enumerate() {
            if self.counters.get(&c.key).copied().unwrap_or(0) >= c.limit {
                return Ok(Some(RecordOutcome::LimitReached(i)));
            }
        }
        Ok(None)
    }

    fn apply(&mut self, w: &Write<'_>) -> Result<(), StoreError> {
        if let Some(claim) = w.claim {
            self.claims
                .insert(claim.key_hash.clone(), IdempotencyItem::claiming(w.record, claim)?);
        }
        let request_id = &w.record.request_id;
        match w.approval {
            None | Some(ApprovalStep::UseWindow { .. }) => {}
            Some(ApprovalStep::Open {
                key,
                approval,
                expires_at,
                ..
            }) => {
                self.approvals
                    .insert(approval.approval_id.clone(), (**approval).clone());
                self.approval_keys.insert(approval.approval_id.clone(), key.clone());
                let slot = ApprovalSlot::pending((**approval).clone(), *expires_at);
                self.slots.insert(key.clone(), slot);
            }
            Some(ApprovalStep::ConsumeOnce { key, approval_id }) => {
                if let Some(slot) = self.slots.get_mut(key) {
                    slot.used_by = Some(request_id.clone());
                    if let Some(g) = &mut slot.approval.grant {
                        g.used_by = Some(request_id.clone());
                    }
                }
                if let Some(g) = self.approvals.get_mut(approval_id).and_then(|a| a.grant.as_mut()) {
                    g.used_by = Some(request_id.clone());
                }
            }
        }
        for c in w.charges {
            *self.counters.entry(c.key.clone()).or_default() += 1;
        }
        self.requests.insert(request_id.clone(), w.record.clone());
        Ok(())
    }
}

impl MemoryStore {
    /// One shard's Query: newest first within the bounds, evaluating at most `limit + 1` items.
    fn read_shard(t: &Tables, shard: u8, q: &ListQuery) -> crate::store::keys::ShardRead<RequestRecord> {
        let highest = match &q.before {
            Some(b) if b.as_str() <= q.highest.as_str() => b.clone(),
            _ => q.highest.clone(),
        };
        if q.lowest > highest {
            // BTreeMap::range panics on reversed bounds; DynamoDB would match nothing.
            return budgeted(std::iter::empty(), |_| String::new(), |_| false, q.limit);
        }
        let candidates = t
            .requests
            .range(q.lowest.clone()..=highest)
            .rev()
            .map(|(_, r)| r.clone())
            .filter(|r| shard_of(&r.request_id) == shard)
            .filter(|r| q.principal.as_ref().is_none_or(|p| *p == r.principal));
        budgeted(
            candidates,
            |r| r.request_id.clone(),
            |r| {
                q.zone.as_ref().is_none_or(|z| *z == r.zone)
                    && q.decision.is_none_or(|d| d == r.decision)
                    && q.before.as_deref() != Some(r.request_id.as_str())
            },
            q.limit,
        )
    }
}

#[async_trait]
impl RequestStore for MemoryStore {
    async fn write(&self, w: &Write<'_>) -> Result<RecordOutcome, StoreError> {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let mut t = self.lock();
        if let Some(outcome) = t.check(w, now)? {
            return Ok(outcome);
        }
        t.apply(w)?;
        Ok(RecordOutcome::Created)
    }

    async fn note_replay(&self, request_id: &str, at: &str) -> Result<(), StoreError> {
        let mut t = self.lock();
        let r = t.requests.get_mut(request_id).ok_or_else(|| {
            StoreError::Corrupt(format!("an idempotency claim answers the missing request {request_id}"))
        })?;
        r.replays = Some(r.replays.unwrap_or(0) + 1);
        r.last_replayed_at = Some(at.to_owned());
        Ok(())
    }

    async fn get(&self, request_id: &str) -> Result<Option<RequestRecord>, StoreError> {
        Ok(self.lock().requests.get(request_id).cloned())
    }

    async fn list(&self, q: &ListQuery) -> Result<ListPage, StoreError> {
        let t = self.lock();
        let mut all = Vec::new();
        let mut frontier: Option<String> = None;
        for shard in 0..INDEX_SHARDS {
            let read = Self::read_shard(&t, shard, q);
            all.extend(read.items);
            frontier = frontier.max(read.stopped_at);
        }
        Ok(merge_page(all, frontier, q.limit))
    }

    async fn approval_slot(&self, key: &str) -> Result<Option<ApprovalSlot>, StoreError> {
        Ok(self.lock().slots.get(key).cloned())
    }
}
