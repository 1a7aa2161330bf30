//! The approval resource: what the approvals API answers, the table stores and approval events describe.
//! Expiry is decided from `expires_at` (DynamoDB's TTL only cleans up), so the stored state of an
//! approval that nobody decided in time stays `pending` and every reader sees `expired`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use ulid::Ulid;

use crate::{
    identity::Identity,
    normalize::Target,
    policy::{Detector, Reason},
    request::{ulid_time, RequestRecord},
    timestamp::Timestamp,
};

crate::wire_enum::wire_enum! {
    /// Where an approval is in its lifecycle. `expired` is never stored: it is a `pending` past `expires_at`.
    pub enum ApprovalState in "snake_case" {
        /// Waiting for an approver until `expires_at`
        Pending,
        /// An approver granted it; `grant` says what
        Granted,
        /// An approver denied it
        Denied,
        /// Nobody decided before `expires_at` (derived when read, never stored)
        Expired,
    }
}

crate::wire_enum::wire_enum! {
    /// What a grant covers: the next matching request (`once`), or every one until it expires (`window`).
    pub enum GrantScope in "snake_case" {
        /// The next matching request only
        Once,
        /// Every matching request until the grant expires
        Window,
    }
}

/// What an approver granted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Grant {
    /// What the grant covers: the next matching request (`once`), or every one until it expires (`window`)
    pub scope: GrantScope,
    /// When the grant stops applying (RFC 3339, milliseconds, UTC)
    pub expires_at: Timestamp,
    /// The request that used a `once` grant; null until then (and always for `window`)
    pub used_by: Option<String>,
}

/// One approval. Opened by the request that got the first `require_approval` for its key (principal, zone,
/// scheme, host, port); later requests for the key reference it while it is pending.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ApprovalRecord {
    /// The approval's ULID; its time part is `created_at`
    #[schemars(regex(pattern = crate::request::ULID_PATTERN))]
    pub approval_id: String,
    /// Where the approval is in its lifecycle; `expired` is never stored (a `pending` past `expires_at`)
    pub state: ApprovalState,
    /// The principal that asked (never decides it)
    pub principal: String,
    /// What the authorizer said about the principal when it asked: `iam` (principal = the IAM user, the
    /// role of an assumed-role session, or the federated user), `jwt` (principal = `sub`) or `dev` (the
    /// local development header); `null` where it said nothing.
    pub identity: Identity,
    /// The zone the request was made in; only its approvers may decide
    pub zone: String,
    /// The destination asked for (normalized; the query is never recorded)
    pub target: Target,
    /// A CONNECT tunnel: a grant covers any path to `target`'s host and port (the approver is told so)
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tunnel: bool,
    /// The path as the request wrote it, when that differs from `target.path` (a client sending it as
    /// written reaches a server that may route the raw text elsewhere); a grant covers exactly this
    /// spelling too. A credential in it is redacted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_as_written: Option<String>,
    /// The request that opened the approval
    #[schemars(regex(pattern = crate::request::ULID_PATTERN))]
    pub request_id: String,
    /// Why that request needed an approval: `rule_require_approval`, `default_require_approval` or
    /// `dlp_secret_in_url`
    pub reason: Reason,
    /// The rule that asked, if a rule did
    pub rule: Option<String>,
    /// The secrets-in-URL detector that asked, if one did (never the secret)
    pub dlp: Option<Detector>,
    /// When the approval was opened (RFC 3339, milliseconds, UTC)
    pub created_at: Timestamp,
    /// When a pending approval expires (RFC 3339, milliseconds, UTC)
    pub expires_at: Timestamp,
    /// The approver's principal, once decided
    pub decided_by: Option<String>,
    /// When an approver decided it (RFC 3339, milliseconds, UTC); null while undecided
    pub decided_at: Option<Timestamp>,
    /// The approver's note
    pub note: Option<String>,
    /// What was granted; null unless granted
    pub grant: Option<Grant>,
}

impl ApprovalRecord {
    /// The pending approval `request` opens, waiting `pending_ttl_seconds` for a decision.
    pub fn open(id: Ulid, request: &RequestRecord, pending_ttl_seconds: u32) -> Self {
        let created = ulid_time(id);
        Self {
            approval_id: id.to_string(),
            state: ApprovalState::Pending,
            principal: request.principal.clone(),
            identity: request.identity.clone(),
            zone: request.zone.clone(),
            target: request.target.clone(),
            tunnel: request.tunnel,
            path_as_written: None,
            request_id: request.request_id.clone(),
            reason: request.reason,
            rule: request.rule.clone(),
            dlp: request.dlp,
            created_at: Timestamp::new(created),
            expires_at: Timestamp::new(created + time::Duration::seconds(i64::from(pending_ttl_seconds))),
            decided_by: None,
            decided_at: None,
            note: None,
            grant: None,
        }
    }

    /// The state as of `now`: a pending approval past its `expires_at` is expired.
    pub fn state_at(&self, now: OffsetDateTime) -> ApprovalState {
        match self.state {
            ApprovalState::Pending if self.expires_at <= Timestamp::new(now) => ApprovalState::Expired,
            s => s,
        }
    }

    /// The resource as a reader sees it at `now` (the derived state filled in).
    pub fn as_of(mut self, now: OffsetDateTime) -> Self {
        self.state = self.state_at(now);
        self
    }
}
