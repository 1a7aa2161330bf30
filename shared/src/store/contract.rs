//! What the API needs from the table, as traits and the values they exchange: recording a request (with
//! its idempotency claim, its approval step and its rate-limit charges, all in one write), reading and
//! listing requests, and the approvals' reads, decisions and lists.

use crate::timestamp::Timestamp;
use async_trait::async_trait;

use crate::{
    approval::{ApprovalRecord, ApprovalSlot, ApprovalState},
    digest::hex_sha256,
    policy::Effect,
    request::RequestRecord,
};

/// Why a store call failed: the table was out of reach, or held something that does not fit the layout.
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
    pub(crate) key_hash: String,
    pub(crate) body_hash: String,
    pub(crate) expires_at: i64,
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

/// What the request's write does with its approval key (precedence step 7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApprovalStep {
    /// Open `approval` (pending) and point the key's slot at it, provided the slot is still what was read:
    /// absent (`replacing: None`) or still `replacing`'s. `expires_at`: the pending period's end (Unix s).
    Open {
        /// The approval key (see `approval_key`) whose slot the approval takes.
        key: String,
        /// The approval to create, in state pending.
        approval: Box<ApprovalRecord>,
        /// The approval id the slot held when read, or `None` if there was no slot.
        replacing: Option<String>,
        /// Unix seconds when the pending approval expires (the slot's TTL).
        expires_at: i64,
    },
    /// Use the key's window grant, provided it is still `approval_id`'s, granted and unexpired.
    UseWindow {
        /// The approval key whose slot holds the grant.
        key: String,
        /// The granted approval the decision read in the slot.
        approval_id: String,
    },
    /// Consume the key's once grant, provided it is still `approval_id`'s, granted, unexpired and unused:
    /// the grant (slot and approval) then names this request as `used_by`.
    ConsumeOnce {
        /// The approval key whose slot holds the grant.
        key: String,
        /// The granted approval the decision read in the slot; the write marks it used.
        approval_id: String,
    },
}

/// What an allowed request spends of one rate limit (precedence step 8), counted in the request's write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitCharge {
    /// The counter of this limit, scope and window.
    pub key: String,
    /// Requests the limit admits per window: the charge fails once the counter reaches it.
    pub limit: u32,
    /// Unix seconds after which the counter is garbage (the TTL; the key names the window anyway).
    pub expires_at: i64,
}

/// One request's write: the record, and what must change with it, atomically.
#[derive(Debug, Clone, Copy)]
pub struct Write<'a> {
    /// The request row to create; its `request_id` must be new.
    pub record: &'a RequestRecord,
    /// The idempotency claim taken with the row, if the caller sent a key.
    pub claim: Option<&'a IdempotencyClaim>,
    /// A re-decided replay: the claim must still answer this request, and moves to the new one.
    pub supersedes: Option<&'a str>,
    /// What the write does with the approval slot, if the decision went through step 7.
    pub approval: Option<&'a ApprovalStep>,
    /// The rate-limit counters to increment, each conditional on staying under its limit.
    pub charges: &'a [LimitCharge],
    /// No retry of a write that lost a race (a TransactionConflict) starts after this: the request's one
    /// retry budget (`record::Budget`). `None`: only the store's own bound on attempts.
    pub retry_until: Option<std::time::Instant>,
}

impl<'a> Write<'a> {
    /// Just the record: one conditional put.
    pub fn record(record: &'a RequestRecord) -> Self {
        Self {
            record,
            claim: None,
            supersedes: None,
            approval: None,
            charges: &[],
            retry_until: None,
        }
    }

    /// Whether the record is all there is to write (a single put); anything besides it (a claim, an
    /// approval, rate-limit charges) makes the write a transaction.
    pub fn is_plain(&self) -> bool {
        self.claim.is_none() && self.approval.is_none() && self.charges.is_empty()
    }
}

/// What a request's write did: created the row, or why it wrote nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordOutcome {
    /// The row (and everything that goes with it) was written.
    Created,
    /// Same principal, key and body as an earlier request: its original resource.
    Replayed(Box<RequestRecord>),
    /// Same principal and key, different body.
    KeyConflict,
    /// The approval slot is no longer what the decision read (a concurrent request opened an approval or
    /// used the grant): nothing was written; decide again.
    ApprovalChanged,
    /// The charge at this index would exceed its limit: nothing was written; the request is rate limited.
    LimitReached(usize),
}

/// The request path's side of the table: writes, reads and lists of request rows.
#[async_trait]
pub trait RequestStore: Send + Sync {
    /// Writes the record and everything that goes with it in one call, or nothing.
    async fn write(&self, write: &Write<'_>) -> Result<RecordOutcome, StoreError>;
    /// Records a request with no claim, approval step or charge.
    async fn record(&self, record: &RequestRecord) -> Result<RecordOutcome, StoreError> {
        self.write(&Write::record(record)).await
    }
    /// Counts an idempotent replay answered with `request_id`'s resource, at `at` (audit trail).
    async fn note_replay(&self, request_id: &str, at: &str) -> Result<(), StoreError>;
    /// The request row with this id, if any.
    async fn get(&self, request_id: &str) -> Result<Option<RequestRecord>, StoreError>;
    /// One newest-first page of the requests that `query` matches.
    async fn list(&self, query: &ListQuery) -> Result<ListPage, StoreError>;
    /// The approval slot of a key (one read, on the `require_approval` path only).
    async fn approval_slot(&self, key: &str) -> Result<Option<ApprovalSlot>, StoreError>;
}

/// A list query after validation and authorization: the store applies it as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// `Some` uses the `by_principal` index; `None` the `by_time` index (auditors only).
    pub principal: Option<String>,
    /// Only requests recorded in this zone (a filter, read budget unchanged).
    pub zone: Option<String>,
    /// Only requests with this decision (a filter, read budget unchanged).
    pub decision: Option<Effect>,
    /// Inclusive `request_id` bounds (ULIDs sort by time).
    pub lowest: String,
    /// Inclusive upper `request_id` bound.
    pub highest: String,
    /// Exclusive upper bound from a cursor.
    pub before: Option<String>,
    /// Most items on the page; each index shard evaluates at most `limit + 1`.
    pub limit: usize,
}

/// One page of a list, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The page's items, newest (highest id) first.
    pub items: Vec<T>,
    /// Where the next page starts (exclusive), when there may be more. A page can hold fewer than
    /// `limit` items and still have a next page: each page reads a fixed budget whatever the filters.
    pub next_before: Option<String>,
}

/// A page of request records.
pub type ListPage = Page<RequestRecord>;
/// A page of approvals, each as of the query's `now`.
pub type ApprovalPage = Page<ApprovalRecord>;

/// An approver's decision, to be written if the approval is still pending at `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionWrite {
    /// The approval as decided (state granted or denied, `decided_*`, `note`, `grant`).
    pub approval: ApprovalRecord,
    /// Its key: a grant replaces the slot (`Some`, the granted slot), a deny frees it (`None`).
    pub key: String,
    /// The key's slot after the decision: the granted slot, or `None` (denied) to free it.
    pub slot: Option<ApprovalSlot>,
    /// The approval must expire after this.
    pub now: Timestamp,
}

/// What an approver's decision did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecideOutcome {
    /// The decision was written (approval and slot).
    Decided,
    /// Decided already, or expired: the approval as stored (write-once).
    NotPending(Box<ApprovalRecord>),
    /// No approval has this id.
    Missing,
}

/// Where an approvals list reads: each partition is one index key, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApprovalPartition {
    /// Every approval of a zone.
    Zone(String),
    /// The pending approvals of a zone (the sparse index): an approver's queue.
    PendingIn(String),
    /// Every approval a principal asked for.
    Principal(String),
}

/// An approvals list query after validation and authorization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalQuery {
    /// The index partitions to read (merged, each item once).
    pub partitions: Vec<ApprovalPartition>,
    /// Only approvals in this state as of `now` (a filter).
    pub state: Option<ApprovalState>,
    /// Only approvals of this zone (a filter).
    pub zone: Option<String>,
    /// Only approvals this principal asked for (a filter).
    pub principal: Option<String>,
    /// Exclusive upper bound (an approval id) from a cursor.
    pub before: Option<String>,
    /// Most items on the page; each partition evaluates at most `limit + 1`.
    pub limit: usize,
    /// What `pending` and `expired` mean.
    pub now: Timestamp,
}

/// An approval as stored: the resource and its key (the slot a decision updates).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredApproval {
    /// The approval as stored (its state not yet aged by the clock).
    pub approval: ApprovalRecord,
    /// Its approval key: which slot a decision updates.
    pub key: String,
}

/// The approvers' side of the table: read, decide and list approvals.
#[async_trait]
pub trait ApprovalStore: Send + Sync {
    /// The approval with this id and its key, if any.
    async fn get_approval(&self, approval_id: &str) -> Result<Option<StoredApproval>, StoreError>;
    /// Writes the decision if the approval is still pending at `decision.now` (write-once).
    async fn decide_approval(&self, decision: &DecisionWrite) -> Result<DecideOutcome, StoreError>;
    /// One newest-first page of the approvals that `query` matches.
    async fn list_approvals(&self, query: &ApprovalQuery) -> Result<ApprovalPage, StoreError>;
}

/// Both stores' jobs: what the API services hold.
pub trait Store: RequestStore + ApprovalStore {}
impl<T: RequestStore + ApprovalStore> Store for T {}
