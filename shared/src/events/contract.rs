//! The `egress.*` events: those of a recorded request and those of an approval's decision or expiry, their
//! names and details (the contract of infra/events/*.schema.json). `event_id` is deterministic
//! (`<request_id>/<detail-type>`, `<approval_id>/<detail-type>`), so consumers dedupe retried deliveries.

use schemars::JsonSchema;
use serde::Serialize;

use crate::{
    approval::{ApprovalRecord, ApprovalState},
    identity::Identity,
    normalize::Target,
    policy::{Detector, Effect, Mode, Reason},
    request::{RequestRecord, ULID_PATTERN},
};

/// The EventBridge `source` of every event the gateway publishes.
pub const SOURCE: &str = "egress.gateway";
/// Detail-type of a recorded request; its outcome event always follows.
pub const REQUESTED: &str = "egress.requested";
/// Detail-type of the outcome of an allowed request.
pub const ALLOWED: &str = "egress.allowed";
/// Detail-type of the outcome of a denied request or one held for approval.
pub const BLOCKED: &str = "egress.blocked";
/// Detail-type of an approval an approver granted.
pub const APPROVAL_GRANTED: &str = "egress.approval.granted";
/// Detail-type of an approval an approver denied.
pub const APPROVAL_DENIED: &str = "egress.approval.denied";
/// Detail-type of a pending approval that expired without a decision.
pub const APPROVAL_EXPIRED: &str = "egress.approval.expired";

/// The `detail` of `egress.requested`, `egress.allowed` and `egress.blocked`. Its JSON Schemas
/// (infra/events/) are generated from this type (`egress-schemas`), so the contract cannot drift from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct EventDetail {
    /// `<request_id>/<detail-type>`: unique per request and type; dedupe on it
    pub event_id: String,
    /// The recorded request (a ULID, the API's id)
    #[schemars(regex(pattern = ULID_PATTERN))]
    pub request_id: String,
    /// The authenticated caller the request is recorded for
    #[schemars(length(min = 1))]
    pub principal: String,
    /// What the authorizer said about the caller: `iam` (principal = the IAM user, the role of an
    /// assumed-role session, or the federated user), `jwt` (principal = `sub`) or `dev` (the local
    /// development header); `null` where it said nothing.
    pub identity: Identity,
    /// The zone the request was decided in
    #[schemars(regex(pattern = crate::names::ZONE_PATTERN))]
    pub zone: String,
    /// The target as the API, the table and events write it.
    pub target: Target,
    /// Present (`true`) for a CONNECT tunnel: the path is unknown
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    #[schemars(with = "bool")]
    pub tunnel: bool,
    /// The answer given (after shadow mode)
    pub decision: Effect,
    /// What the policy said before shadow mode
    pub policy_decision: Effect,
    /// The zone's mode: `shadow` records what the policy said but allows
    pub mode: Mode,
    /// Which precedence step decided, as a reason code
    pub reason: Reason,
    /// Id of the matched rule, if any
    pub rule: Option<String>,
    /// The approval opened or referenced (decision `require_approval`)
    pub approval_id: Option<String>,
    /// `sha256:` + 32 hex digits; null only with reason policy_unavailable
    pub policy_version: Option<String>,
    /// The request's `created_at` (RFC 3339, milliseconds, UTC)
    #[schemars(extend("format" = "date-time"))]
    pub requested_at: String,
    /// The secrets-in-URL detector that found a credential in the URL (never the credential)
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Detector")]
    pub dlp: Option<Detector>,
    /// The zone rate limit that denied the request (reason `rate_limited`)
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub rate_limit: Option<String>,
    /// With `rate_limit`: seconds until the limit's window ends
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "u32", range(min = 1))]
    pub retry_after_seconds: Option<u32>,
    /// Present when this request re-decided an idempotent replay whose original decision no longer held:
    /// the original request_id
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String", regex(pattern = ULID_PATTERN))]
    pub replaces: Option<String>,
}

/// The `detail` of `egress.approval.granted`, `.denied` and `.expired`: the approval as it stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct ApprovalEventDetail {
    /// `<approval_id>/<detail-type>`: unique per approval and type; dedupe on it
    pub event_id: String,
    /// The approval as it stands after the transition (flattened into the detail).
    #[serde(flatten)]
    pub approval: ApprovalRecord,
}

/// An event's detail, serialized as the object itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Detail {
    /// The detail of a request's `egress.requested` or outcome event.
    Request(EventDetail),
    /// The detail of an approval's decision or expiry.
    Approval(ApprovalEventDetail),
}

impl Detail {
    /// The detail's deterministic `event_id`, which consumers dedupe on.
    pub fn event_id(&self) -> &str {
        match self {
            Detail::Request(d) => &d.event_id,
            Detail::Approval(d) => &d.event_id,
        }
    }

    /// The resource the event is about, as an EventBridge `resources` entry.
    pub fn resource(&self) -> String {
        match self {
            Detail::Request(d) => format!("egress:request/{}", d.request_id),
            Detail::Approval(d) => format!("egress:approval/{}", d.approval.approval_id),
        }
    }
}

/// One event ready to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The EventBridge detail-type (one of the `egress.*` constants).
    pub detail_type: &'static str,
    /// The detail object, serialized as the event's `detail`.
    pub detail: Detail,
}

/// The outcome event of a decision: `egress.allowed` for allow, `egress.blocked` otherwise.
pub fn outcome_type(decision: Effect) -> &'static str {
    match decision {
        Effect::Allow => ALLOWED,
        Effect::Deny | Effect::RequireApproval => BLOCKED,
    }
}

/// The two events of a recorded request, in order: `egress.requested`, then the outcome.
pub fn events_for(record: &RequestRecord) -> [Event; 2] {
    let outcome = outcome_type(record.decision);
    [REQUESTED, outcome].map(|detail_type| Event {
        detail_type,
        detail: Detail::Request(EventDetail {
            event_id: format!("{}/{detail_type}", record.request_id),
            request_id: record.request_id.clone(),
            principal: record.principal.clone(),
            identity: record.identity.clone(),
            zone: record.zone.clone(),
            target: record.target.clone(),
            tunnel: record.tunnel,
            decision: record.decision,
            policy_decision: record.policy_decision,
            mode: record.mode,
            reason: record.reason,
            rule: record.rule.clone(),
            approval_id: record.approval_id.clone(),
            policy_version: record.policy_version.clone(),
            requested_at: record.created_at.clone(),
            dlp: record.dlp,
            rate_limit: record.rate_limit.clone(),
            retry_after_seconds: record.retry_after_seconds,
            replaces: record.replaces.clone(),
        }),
    })
}

/// The event of an approval's transition, by its state: granted, denied or expired (`None` for pending).
pub fn approval_event(approval: &ApprovalRecord) -> Option<Event> {
    let detail_type = match approval.state {
        ApprovalState::Granted => APPROVAL_GRANTED,
        ApprovalState::Denied => APPROVAL_DENIED,
        ApprovalState::Expired => APPROVAL_EXPIRED,
        ApprovalState::Pending => return None,
    };
    Some(Event {
        detail_type,
        detail: Detail::Approval(ApprovalEventDetail {
            event_id: format!("{}/{detail_type}", approval.approval_id),
            approval: approval.clone(),
        }),
    })
}
