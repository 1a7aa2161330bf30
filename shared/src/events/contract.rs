//! The `egress.*` events of a recorded request: names and detail (the contract of infra/events/*.schema.json).
//! `event_id` is deterministic (`<request_id>/<detail-type>`), so consumers dedupe retried deliveries.

use serde::Serialize;

use crate::{Effect, Identity, Mode, Reason, RequestRecord, Target};

pub const SOURCE: &str = "egress.gateway";
pub const REQUESTED: &str = "egress.requested";
pub const ALLOWED: &str = "egress.allowed";
pub const BLOCKED: &str = "egress.blocked";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventDetail {
    pub event_id: String,
    pub request_id: String,
    pub principal: String,
    pub identity: Identity,
    pub zone: String,
    pub target: Target,
    pub decision: Effect,
    pub policy_decision: Effect,
    pub mode: Mode,
    pub reason: Reason,
    pub rule: Option<String>,
    pub approval_id: Option<String>,
    pub policy_version: Option<String>,
    pub requested_at: String,
    /// The request this one re-decided (an idempotent replay under a changed decision).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
}

/// One event ready to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub detail_type: &'static str,
    pub detail: EventDetail,
}

/// The two events of a recorded request, in order: `egress.requested`, then the outcome.
pub fn events_for(record: &RequestRecord) -> [Event; 2] {
    let outcome = match record.decision {
        Effect::Allow => ALLOWED,
        Effect::Deny | Effect::RequireApproval => BLOCKED,
    };
    [REQUESTED, outcome].map(|detail_type| Event {
        detail_type,
        detail: EventDetail {
            event_id: format!("{}/{detail_type}", record.request_id),
            request_id: record.request_id.clone(),
            principal: record.principal.clone(),
            identity: record.identity.clone(),
            zone: record.zone.clone(),
            target: record.target.clone(),
            decision: record.decision,
            policy_decision: record.policy_decision,
            mode: record.mode,
            reason: record.reason,
            rule: record.rule.clone(),
            approval_id: record.approval_id.clone(),
            policy_version: record.policy_version.clone(),
            requested_at: record.created_at.clone(),
            replaces: record.replaces.clone(),
        },
    })
}
