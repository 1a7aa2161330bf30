//! Egress gateway core. The functions are thin entrypoints over this crate. One public module per
//! concern; a module names its siblings' items by their module path (`crate::policy::Decision`), so an
//! import says where a name lives:
//!
//! - [`normalize`]: caller input to a normalized [`Target`] (WHATWG URL, IDNA, paths), and the internal and
//!   special-use targets of the IANA registries;
//! - [`policy`]: the policy document, its compiled form and [`authorize_egress`] (steps 1-6);
//! - [`identity`], [`names`]: who the caller is; the principal and zone name validators;
//! - [`request`]: the request body and the recorded [`RequestRecord`];
//! - [`approval`]: approvals, their slots and grants, and their state changes;
//! - [`store`]: the request table behind [`RequestStore`] (DynamoDB, and an in-memory twin);
//! - [`events`]: the `egress.*` contract, its schemas and the outbox publisher;
//! - [`metrics`]: the embedded-metric lines; [`mod@env`]: the environment variables' names;
//! - `policy_source`: where the policy comes from (file, S3, SSM), its cache and the kill switch;
//! - [`problem`], `api`: the HTTP API's error model (RFC 9457) and services;
//! - `init`: configuration, wiring and telemetry of each function; `redrive`: the publisher's failures;
//! - [`proxy_token`], `sigv4`: the enforcers' tokens and their signed calls.
//!
//! The re-exports below are the names other crates (functions, CLIs, proxy, tests, benches) use; nothing is
//! re-exported for this crate's own use. Without the default `aws` feature the crate is the pure, I/O-free
//! core (normalize, policy, identity, request, the store contract with its memory implementation, the
//! event contract), which benchmarks and fuzzers link.

// Every public item says what it is for (issue 20); `make lint` denies warnings.
#![warn(missing_docs)]

#[cfg(feature = "aws")]
pub mod api;
pub mod approval;
mod digest;
pub mod env;
pub mod events;
pub mod field;
pub mod identity;
#[cfg(feature = "aws")]
pub mod init;
mod json;
pub mod metrics;
pub mod names;
pub mod normalize;
pub mod offline;
pub mod policy;
#[cfg(feature = "aws")]
pub mod policy_source;
pub mod problem;
pub mod proxy_token;
pub mod record;
#[cfg(feature = "aws")]
pub mod redrive;
pub mod request;
#[cfg(feature = "aws")]
pub mod sigv4;
pub mod store;
pub mod timestamp;
mod wire_enum;

pub use approval::{
    approval_key, ApprovalRecord, ApprovalSlot, ApprovalState, Grant, GrantPath, GrantScope, SlotState,
};
pub use events::{
    approval_event, detail_schema, events_for, render_schema, schemas_template, Event, DETAIL_TYPES,
    MAX_ENTRIES_PER_PUT, SOURCE,
};
pub use identity::{Identity, IdentityKind, OrganizationId};
pub use metrics::{
    capture as capture_metrics, namespace as metrics_namespace, take_captured as captured_metrics, Metric,
    UNKNOWN_ZONE as METRICS_UNKNOWN_ZONE,
};
pub use names::valid_zone_name;
pub use normalize::{
    internal_ranges, special_target, special_v4, Host, InternalRange, NormalizeError, Scheme, SpecialKind, Target,
    UrlTail,
};
pub use policy::{
    authorize_egress, redact_path, scan_for_secrets, scan_host_for_secrets, to_json_form, CompiledPolicy, Decision,
    DefaultEffect, Detector, DlpAction, Effect, Mode, PolicyDocument, PolicyError, Reason,
};
pub use request::{parse_body, rfc3339_millis, RequestRecord, MAX_PURPOSE_CHARS};
pub use store::{
    slot_pk, ApprovalItem, ListQuery, MemoryStore, RequestItem, RequestStore, SlotItem, Store, INDEX_SHARDS,
    KIND_REQUEST,
};

#[cfg(feature = "aws")]
pub use api::{
    ApprovalsService, CreateService, CursorCodec, ListService, ProxyTokensService, MAX_IDEMPOTENCY_KEY_LEN,
    PRINCIPAL_HEADER, PROXY_TOKEN_HEADER,
};
#[cfg(feature = "aws")]
pub use events::{
    handle_stream_event, put_events_entry, EventBridgeBus, EventBus, PublishError, RetryPolicy, PUTS_IN_FLIGHT,
};
#[cfg(feature = "aws")]
pub use init::{
    approvals_service, create_service, event_bus, in_invocation, init_telemetry, invocation_id, list_service,
    proxy_tokens_service,
};
#[cfg(feature = "aws")]
pub use policy_source::{
    CachedPolicySource, FetchError, Fetched, FileFetcher, KillSwitchGuard, KillSwitchState, PolicyFetcher,
    PolicySource, S3Fetcher, S3Location, SsmFetcher, KILL_SWITCH_AGE,
};
#[cfg(feature = "aws")]
pub use redrive::{republish, window_events, BatchRecords, FailedBatch, FailureNotice};
#[cfg(feature = "aws")]
pub use store::DynamoStore;
