//! The store in memory, with DynamoDB's semantics as [`DynamoStore`](super::DynamoStore) uses them:
//! conditional writes that go through whole or not at all (claims that expire by `expires_at`, approval
//! slots, rate-limit counters), replays and key conflicts, and list pages cut exactly as the index Queries
//! cut them (each partition evaluates at most `limit + 1` items, matched or not). For logic tests that need
//! no wire; the end-to-end suite runs the same assertions against DynamoDB Local.

mod approvals;
mod requests;

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use super::IdempotencyItem;
use crate::{
    approval::{ApprovalRecord, ApprovalSlot},
    request::RequestRecord,
};

#[derive(Default)]
struct Tables {
    /// By request id: ULIDs sort by time, like the index sort keys.
    requests: BTreeMap<String, RequestRecord>,
    /// By claim key hash.
    claims: HashMap<String, IdempotencyItem>,
    /// By approval id.
    approvals: BTreeMap<String, ApprovalRecord>,
    /// The approval key of each approval id.
    approval_keys: HashMap<String, String>,
    /// By approval key.
    slots: HashMap<String, ApprovalSlot>,
    /// By counter key.
    counters: HashMap<String, u32>,
}

/// The in-memory twin of the DynamoDB store.
#[derive(Default)]
pub struct MemoryStore {
    tables: Mutex<Tables>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every stored request, oldest first (for assertions).
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.lock().requests.values().cloned().collect()
    }

    /// Every stored approval, oldest first (for assertions).
    pub fn approvals(&self) -> Vec<ApprovalRecord> {
        self.lock().approvals.values().cloned().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tables> {
        // A test that panicked while holding the lock poisons it; the data is still consistent (every write
        // checks all of its conditions before changing anything), so keep going rather than cascade.
        self.tables.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A budgeted, newest-first read of one index partition, as a Query with `Limit = limit + 1` reads it:
/// `candidates` are the partition's items below the cursor, newest first; `wanted` is the filter.
fn budgeted<T: Clone>(
    candidates: impl Iterator<Item = T>,
    id: impl Fn(&T) -> String,
    wanted: impl Fn(&T) -> bool,
    limit: usize,
) -> super::keys::ShardRead<T> {
    let budget = limit + 1;
    let mut evaluated = 0;
    let mut last = None;
    let mut items = Vec::new();
    for item in candidates {
        if evaluated == budget {
            break;
        }
        evaluated += 1;
        last = Some(id(&item));
        if wanted(&item) {
            items.push(item);
        }
    }
    // Like DynamoDB: a Query that used up its Limit reports where it stopped, more items or not.
    super::keys::ShardRead {
        items,
        stopped_at: (evaluated == budget).then_some(last).flatten(),
    }
}
