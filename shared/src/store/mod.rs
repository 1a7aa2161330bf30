//! The request store: what the API needs from the table, as a trait with two implementations, DynamoDB
//! ([`DynamoStore`], behind the `aws` feature) and memory ([`MemoryStore`], the same semantics for logic
//! tests). The item layout both follow is in `keys` and docs/ACCESS_PATTERNS.md.

#[cfg(feature = "aws")]
mod dynamodb;
mod keys;
mod memory;

use async_trait::async_trait;

use crate::digest::hex_sha256;
use crate::{Effect, RequestRecord};

#[cfg(feature = "aws")]
pub use dynamodb::DynamoStore;
pub use keys::{
    principal_pk, request_pk, shard_of, time_pk, IdempotencyItem, RequestItem, INDEX_BY_PRINCIPAL, INDEX_BY_TIME,
    INDEX_SHARDS, KIND_IDEMPOTENCY, KIND_REQUEST,
};
pub use memory::MemoryStore;

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

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordOutcome {
    Created,
    /// Same principal, key and body as an earlier request: its original resource.
    Replayed(Box<RequestRecord>),
    /// Same principal and key, different body.
    KeyConflict,
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

/// A list query after validation and authorization: the store applies it as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// `Some` uses the `by_principal` index; `None` the `by_time` index (auditors only).
    pub principal: Option<String>,
    pub zone: Option<String>,
    pub decision: Option<Effect>,
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
