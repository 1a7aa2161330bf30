//! Events: the `egress.*` contract, and (feature `aws`) the outbox that turns the table's stream into
//! EventBridge PutEvents calls.

pub(crate) mod contract;
mod entry;
#[cfg(feature = "aws")]
mod eventbridge;
#[cfg(feature = "aws")]
mod outbox;
#[cfg(feature = "aws")]
mod publisher;
mod schema;

pub use contract::{
    approval_event, events_for, outcome_type, ApprovalEventDetail, Detail, Event, EventDetail, ALLOWED,
    APPROVAL_DENIED, APPROVAL_EXPIRED, APPROVAL_GRANTED, BLOCKED, REQUESTED, SOURCE,
};
pub use entry::{entry_size, MAX_ENTRIES_PER_PUT, MAX_PUT_BYTES};
#[cfg(feature = "aws")]
pub use eventbridge::{put_events_entry, EventBridgeBus};
#[cfg(feature = "aws")]
pub use outbox::{events_of_record, handle_stream_event};
#[cfg(feature = "aws")]
pub use publisher::{publish_records, EventBus, PublishError, RetryPolicy, PUTS_IN_FLIGHT};
pub use schema::{detail_schema, render as render_schema, schemas_template, DETAIL_TYPES};
