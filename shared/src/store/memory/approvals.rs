//! Approvals in memory: the write-once decision and the budgeted partition reads of the list.

use async_trait::async_trait;

use super::{budgeted, MemoryStore, Tables};
use crate::approval::{ApprovalRecord, ApprovalState};
use crate::store::keys::merge_page;
use crate::store::{
    ApprovalPage, ApprovalPartition, ApprovalQuery, ApprovalStore, DecideOutcome, DecisionWrite, StoreError,
    StoredApproval,
};

impl Tables {
    fn read_partition(
        &self,
        partition: &ApprovalPartition,
        q: &ApprovalQuery,
        now: time::OffsetDateTime,
    ) -> crate::store::keys::ShardRead<ApprovalRecord> {
        let in_partition = |a: &ApprovalRecord| match partition {
            ApprovalPartition::Zone(z) => a.zone == *z,
            // The sparse index holds an approval while it is stored as pending, expired or not.
            ApprovalPartition::PendingIn(z) => a.zone == *z && a.state == ApprovalState::Pending,
            ApprovalPartition::Principal(p) => a.principal == *p,
        };
        let candidates = self
            .approvals
            .values()
            .rev()
            .filter(|a| q.before.as_ref().is_none_or(|b| a.approval_id < *b))
            .filter(|a| in_partition(a))
            .cloned();
        let mut read = budgeted(
            candidates,
            |a| a.approval_id.clone(),
            |a| {
                q.state.is_none_or(|s| a.state_at(now) == s)
                    && q.zone.as_ref().is_none_or(|z| *z == a.zone)
                    && q.principal.as_ref().is_none_or(|p| *p == a.principal)
            },
            q.limit,
        );
        read.items = read.items.into_iter().map(|a| a.as_of(now)).collect();
        read
    }
}

#[async_trait]
impl ApprovalStore for MemoryStore {
    async fn get_approval(&self, approval_id: &str) -> Result<Option<StoredApproval>, StoreError> {
        let t = self.lock();
        Ok(t.approvals.get(approval_id).map(|a| StoredApproval {
            approval: a.clone(),
            key: t.approval_keys.get(approval_id).cloned().unwrap_or_default(),
        }))
    }

    async fn decide_approval(&self, d: &DecisionWrite) -> Result<DecideOutcome, StoreError> {
        let mut t = self.lock();
        let Some(stored) = t.approvals.get(&d.approval.approval_id) else {
            return Ok(DecideOutcome::Missing);
        };
        if stored.state != ApprovalState::Pending || stored.expires_at <= d.now {
            return Ok(DecideOutcome::NotPending(Box::new(stored.clone())));
        }
        let slot_is_ours = t
            .slots
            .get(&d.key)
            .is_none_or(|s| s.approval_id == d.approval.approval_id);
        if !slot_is_ours {
            return Err(StoreError::Unavailable("conditional check failed: slot".into()));
        }
        t.approvals.insert(d.approval.approval_id.clone(), d.approval.clone());
        match &d.slot {
            Some(slot) => {
                t.slots.insert(d.key.clone(), slot.clone());
            }
            None => {
                t.slots.remove(&d.key);
            }
        }
        Ok(DecideOutcome::Decided)
    }

    async fn list_approvals(&self, q: &ApprovalQuery) -> Result<ApprovalPage, StoreError> {
        let now = q.now.time();
        let t = self.lock();
        let mut all = Vec::new();
        let mut frontier: Option<String> = None;
        for p in &q.partitions {
            let read = t.read_partition(p, q, now);
            all.extend(read.items);
            frontier = frontier.max(read.stopped_at);
        }
        Ok(merge_page(all, frontier, q.limit))
    }
}
