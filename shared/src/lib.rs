//! Egress gateway core. The functions are thin entrypoints over this crate; its modules each have one job
//! and are private, and this file is the whole public surface (one path per item):
//!
//! - `target`: caller input to a normalized [`Target`], and internal/special targets;
//! - `policy`: the policy document, its compiled form and [`authorize_egress`];
//! - `identity`, `names`: who the caller is; the principal and zone name validators;
//! - `request`: the request body and the recorded [`RequestRecord`];
//! - `store`: the request table behind [`RequestStore`] (DynamoDB, and an in-memory twin);
//! - `events`: the `egress.*` contract and the outbox publisher;
//! - `policy_source`: where the policy comes from (file, SSM) and its cache;
//! - `problem`, `api`: the HTTP API's error model and services;
//! - `init`: configuration, wiring and telemetry of each function.
//!
//! Without the default `aws` feature the crate is the pure, I/O-free core (target, policy, identity, request,
//! the store contract with its memory implementation, the event contract), which benchmarks and fuzzers link.

#[cfg(feature = "aws")]
mod api;
mod approval;
mod digest;
pub mod env;
mod events;
mod identity;
#[cfg(feature = "aws")]
mod init;
mod json;
mod metrics;
mod names;
mod policy;
#[cfg(feature = "aws")]
mod policy_source;
mod problem;
pub mod proxy_token;
#[cfg(feature = "aws")]
mod redrive;
mod request;
#[cfg(feature = "aws")]
pub mod sigv4;
mod store;
mod target;
mod wire_enum;

pub use approval::{
    approval_basis, approval_key, key_state, parse_decision_body, ApprovalRecord, ApprovalSlot, ApprovalState,
    DecisionBody, DecisionKind, Grant, GrantPath, GrantScope, KeyState, SlotState, DEFAULT_GRANT_SECONDS,
    MAX_NOTE_CHARS,
};
pub use digest::hex_sha256;
pub use events::{
    approval_event, detail_schema, entry_size, events_for, outcome_type, render_schema, schemas_template,
    ApprovalEventDetail, Detail, Event, EventDetail, ALLOWED, APPROVAL_DENIED, APPROVAL_EXPIRED, APPROVAL_GRANTED,
    BLOCKED, DETAIL_TYPES, MAX_ENTRIES_PER_PUT, MAX_PUT_BYTES, REQUESTED, SOURCE,
};
pub use identity::{iam_principal, is_account_id, is_org_id, jwt_scopes, IamPrincipal, Identity, IdentityKind};
pub use metrics::{
    capture as capture_metrics, namespace as metrics_namespace, take_captured as captured_metrics, Metric,
    NAMESPACE as METRICS_NAMESPACE, UNKNOWN_ZONE as METRICS_UNKNOWN_ZONE,
};
pub use names::{valid_principal, valid_zone_name, MAX_PRINCIPAL_LEN};
/// Deciding offline (`egress-policy eval|test|diff`).
pub use policy::offline;
pub use policy::{
    authorize_egress, compile_detectors, policy_version, redact_path, redact_target, requests_kill_switch,
    scan_for_secrets, scan_host_for_secrets, to_json_form, ApprovalDocument, ApprovalSettings, CompiledPolicy,
    Decision, DefaultEffect, Detector, DlpAction, DlpDocument, Effect, KillSwitch, LimitScope, Mode, PolicyDocument,
    PolicyError, RateLimit, RateLimitDocument, Reason, Restriction, RuleDocument, Subject, Verdict, ZoneDocument,
    DEFAULT_APPROVAL_SECONDS, MAX_APPROVAL_SECONDS, MAX_WINDOW_SECONDS,
};
pub use problem::{FieldError, Problem};
pub use request::{
    parse_body, rfc3339_millis, ulid_bound, ulid_time, BodyError, CreateBody, RequestRecord, ValidRequest,
    MAX_BODY_BYTES, MAX_PURPOSE_CHARS,
};
pub use store::{
    approval_pk, counter_pk, principal_pk, request_pk, shard_of, slot_pk, time_pk, ApprovalItem, ApprovalPage,
    ApprovalPartition, ApprovalQuery, ApprovalStep, ApprovalStore, DecideOutcome, DecisionWrite, IdempotencyClaim,
    IdempotencyItem, LimitCharge, ListPage, ListQuery, MemoryStore, Page, RecordOutcome, RequestItem, RequestStore,
    SlotItem, Store, StoreError, StoredApproval, Write, INDEX_BY_PENDING, INDEX_BY_PRINCIPAL, INDEX_BY_TIME,
    INDEX_SHARDS, KIND_APPROVAL, KIND_APPROVAL_SLOT, KIND_IDEMPOTENCY, KIND_RATE_COUNTER, KIND_REQUEST,
};
pub use target::{
    any_reading_under, every_reading_under, fully_decoded, internal_ranges, normalize_host, special_host,
    special_target, special_v4, special_v6, Host, InternalRange, NormalizeError, PathPrefix, PathReadings, Requested,
    Scheme, SpecialKind, Target, UrlTail, MAX_HOST_LEN, MAX_LABEL_LEN, MAX_URL_LEN,
};

#[cfg(feature = "aws")]
pub use api::{
    approver_zones, approves, body_bytes, caller, idempotency_key, is_auditor, is_canonical_ulid, is_json_content_type,
    json_response, parse_params, query_binding, respond, ApprovalsPage, ApprovalsService, Caller, CreateService,
    CursorCodec, CursorError, ListParams, ListService, ProxyKeysPage, ProxyTokensService, RequestsPage, APPROVE_SCOPE,
    AUDIT_SCOPE, DEFAULT_LIMIT, IDEMPOTENCY_HEADER, MAX_IDEMPOTENCY_KEY_LEN, MAX_LIMIT, MIN_KEY_LEN, PRINCIPAL_HEADER,
    PROXY_KEYS_PATH, PROXY_TOKENS_PATH, PROXY_TOKEN_HEADER,
};
#[cfg(feature = "aws")]
pub use events::{
    events_of_record, handle_stream_event, publish_records, put_events_entry, EventBridgeBus, EventBus, PublishError,
    RetryPolicy, PUTS_IN_FLIGHT,
};
#[cfg(feature = "aws")]
pub use init::{
    approvals_service, create_service, dev_mode, event_bus, guarded_policy_source, in_invocation, init_telemetry,
    invocation_id, list_service, parse_u64, policy_source_from_env, proxy_keys, proxy_tokens_service, required,
    sdk_config, ConfigError, Timeouts, DEFAULT_IDEMPOTENCY_TTL_SECS,
};
#[cfg(feature = "aws")]
pub use policy_source::{
    CachedPolicySource, FetchError, Fetched, FileFetcher, KillSwitchGuard, KillSwitchState, PolicyFetcher,
    PolicySource, S3Fetcher, S3Location, SsmFetcher, KILL_SWITCH_AGE, MAX_POLICY_AGE, MAX_POLICY_BYTES,
};
#[cfg(feature = "aws")]
pub use redrive::{republish, window_events, BatchRecords, FailedBatch, FailureNotice, RedriveError, WindowEvents};
#[cfg(feature = "aws")]
pub use store::DynamoStore;
