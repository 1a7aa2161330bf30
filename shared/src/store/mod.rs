//! The table behind the API: its contract (traits and values), its item layout, and two implementations,
//! DynamoDB ([`DynamoStore`], behind the `aws` feature) and memory ([`MemoryStore`], the same semantics
//! for logic tests). The layout both follow is in `keys` and docs/ACCESS_PATTERNS.md.

mod contract;
#[cfg(feature = "aws")]
mod dynamodb;
pub(crate) mod keys;
mod memory;

pub use contract::{
    ApprovalPage, ApprovalPartition, ApprovalQuery, ApprovalStep, ApprovalStore, DecideOutcome, DecisionWrite,
    IdempotencyClaim, LimitCharge, ListPage, ListQuery, Page, RecordOutcome, RequestStore, Store, StoreError,
    StoredApproval, Write,
};
#[cfg(feature = "aws")]
pub use dynamodb::DynamoStore;
pub use keys::{
    approval_pk, counter_pk, principal_pk, request_pk, shard_of, slot_pk, time_pk, ApprovalItem, IdempotencyItem,
    RequestItem, SlotItem, INDEX_BY_PENDING, INDEX_BY_PRINCIPAL, INDEX_BY_TIME, INDEX_SHARDS, KIND_APPROVAL,
    KIND_APPROVAL_SLOT, KIND_IDEMPOTENCY, KIND_RATE_COUNTER, KIND_REQUEST,
};
pub use memory::MemoryStore;
