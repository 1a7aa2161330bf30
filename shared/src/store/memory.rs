//! [`RequestStore`] in memory, with DynamoDB's semantics as [`DynamoStore`](super::DynamoStore) uses them:
//! conditional creates, idempotency claims that expire by `expires_at` (not by deletion), replays and key
//! conflicts, and list pages cut exactly as the sharded index Queries cut them (each shard evaluates at most
//! `limit + 1` items, matched or not). For logic tests that need no wire; the end-to-end suite runs the same
//! assertions against DynamoDB Local.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;

use super::keys::{merge_page, shard_of, ShardRead, INDEX_SHARDS};
use super::{IdempotencyClaim, IdempotencyItem, ListPage, ListQuery, RecordOutcome, RequestStore, StoreError};
use crate::RequestRecord;

#[derive(Default)]
struct Tables {
    /// By request id: ULIDs sort by time, like the index sort keys.
    requests: BTreeMap<String, RequestRecord>,
    /// By claim key hash.
    claims: HashMap<String, IdempotencyItem>,
}

/// The in-memory twin of the DynamoDB store.
#[derive(Default)]
pub struct MemoryStore {
    tables: Mutex<Tables>,
}

/// What the idempotency item must look like for a claimed write to go through (as in DynamoDB).
enum ClaimCondition<'a> {
    Free { now: i64 },
    Answers(&'a str),
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every stored request, oldest first (for assertions).
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.lock().requests.values().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tables> {
        // A test that panicked while holding the lock poisons it; the data is still consistent (every
        // write below is one insert), so keep going rather than cascade the panic.
        self.tables.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn write_claimed(
        &self,
        record: &RequestRecord,
        claim: &IdempotencyClaim,
        condition: ClaimCondition<'_>,
    ) -> Result<RecordOutcome, StoreError> {
        let mut t = self.lock();
        if let Some(existing) = t.claims.get(&claim.key_hash) {
            let free = match condition {
                ClaimCondition::Free { now } => existing.expires_at < now,
                ClaimCondition::Answers(original) => existing.request_id == original,
            };
            if !free {
                return existing.answer(claim);
            }
        }
        if t.requests.contains_key(&record.request_id) {
            return Err(StoreError::Unavailable(
                "conditional check failed: request exists".into(),
            ));
        }
        t.claims
            .insert(claim.key_hash.clone(), IdempotencyItem::claiming(record, claim)?);
        t.requests.insert(record.request_id.clone(), record.clone());
        Ok(RecordOutcome::Created)
    }

    /// One shard's Query: newest first within the bounds, evaluating at most `limit + 1` items.
    fn read_shard(t: &Tables, shard: u8, q: &ListQuery) -> ShardRead {
        let highest = match &q.before {
            Some(b) if b.as_str() <= q.highest.as_str() => b.as_str(),
            _ => q.highest.as_str(),
        };
        let budget = q.limit + 1;
        if q.lowest.as_str() > highest {
            // BTreeMap::range panics on reversed bounds; DynamoDB would match nothing.
            return ShardRead {
                items: Vec::new(),
                stopped_at: None,
            };
        }
        let mut evaluated = 0;
        let mut last = None;
        let mut items = Vec::new();
        let in_range = t
            .requests
            .range(q.lowest.clone()..=highest.to_owned())
            .rev()
            .map(|(_, r)| r)
            .filter(|r| shard_of(&r.request_id) == shard)
            .filter(|r| q.principal.as_ref().is_none_or(|p| *p == r.principal));
        for r in in_range {
            if evaluated == budget {
                break;
            }
            evaluated += 1;
            last = Some(r.request_id.clone());
            let wanted = q.zone.as_ref().is_none_or(|z| *z == r.zone)
                && q.decision.is_none_or(|d| d == r.decision)
                && q.before.as_deref() != Some(r.request_id.as_str());
            if wanted {
                items.push(r.clone());
            }
        }
        // Like DynamoDB: a Query that used up its Limit reports where it stopped, more items or not.
        ShardRead {
            items,
            stopped_at: (evaluated == budget).then_some(last).flatten(),
        }
    }
}

#[async_trait]
impl RequestStore for MemoryStore {
    async fn record(
        &self,
        record: &RequestRecord,
        claim: Option<&IdempotencyClaim>,
    ) -> Result<RecordOutcome, StoreError> {
        let Some(claim) = claim else {
            let mut t = self.lock();
            if t.requests.contains_key(&record.request_id) {
                return Err(StoreError::Unavailable(
                    "conditional check failed: request exists".into(),
                ));
            }
            t.requests.insert(record.request_id.clone(), record.clone());
            return Ok(RecordOutcome::Created);
        };
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        self.write_claimed(record, claim, ClaimCondition::Free { now })
    }

    async fn supersede(
        &self,
        record: &RequestRecord,
        claim: &IdempotencyClaim,
        original: &str,
    ) -> Result<RecordOutcome, StoreError> {
        self.write_claimed(record, claim, ClaimCondition::Answers(original))
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
}
