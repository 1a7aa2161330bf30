//! The request resource: what the API answers, what the table stores and what events describe.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use ulid::Ulid;

use crate::identity::Identity;
use crate::normalize::Target;
use crate::policy::{redact_target, Decision, Detector, Effect, Mode, Reason};

/// One recorded egress request. Built only from a [`Decision`] (see [`RequestRecord::new`]), so the stored
/// decision, reason and rule always agree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRecord {
    pub request_id: String,
    pub decision: Effect,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_id: Option<String>,
    pub reason: Reason,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    pub mode: Mode,
    pub policy_decision: Effect,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_version: Option<String>,
    pub principal: String,
    /// What the authorizer said about the caller (kind, session, account, org).
    pub identity: Identity,
    pub zone: String,
    pub target: Target,
    /// A CONNECT tunnel (the path is unknown: `target.path` is `/` and stands for any path).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tunnel: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// The secrets-in-URL detector that found a credential (never the credential).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dlp: Option<Detector>,
    /// The rate limit that denied this request (reason `rate_limited`), and when its window ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u32>,
    pub created_at: String,
    /// The request this one re-decided: an idempotent replay whose original decision no longer held
    /// under the current policy is recorded anew, naming the original.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
    /// Audit trail of idempotent replays answered with this resource (the stored item only; the replayed
    /// answer itself is the resource as first answered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replays: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_replayed_at: Option<String>,
}

impl RequestRecord {
    pub fn new(
        id: Ulid,
        principal: String,
        identity: Identity,
        zone: String,
        target: Target,
        purpose: Option<String>,
        decision: &Decision,
    ) -> Self {
        let effective = decision.effective();
        // A credential in the path or a host label never reaches the table, the answer, the events or the
        // logs, whichever step decided and whatever the zone's DLP setting.
        let target = redact_target(target);
        Self {
            request_id: id.to_string(),
            decision: effective,
            approval_id: decision.approval_id().map(str::to_owned),
            reason: decision.reason(),
            rule: decision.rule().map(str::to_owned),
            mode: decision.mode(),
            policy_decision: decision.policy_decision(),
            policy_version: decision.policy_version().map(str::to_owned),
            principal,
            identity,
            zone,
            target,
            tunnel: false,
            purpose,
            dlp: decision.dlp(),
            rate_limit: decision.rate_limit().map(|(id, _)| id.to_owned()),
            retry_after_seconds: decision.rate_limit().map(|(_, s)| s),
            created_at: rfc3339_millis(ulid_time(id)),
            replaces: None,
            replays: None,
            last_replayed_at: None,
        }
    }
}

/// A ULID as the API writes it (request and approval ids), for the schemas.
pub const ULID_PATTERN: &str = "^[0-9A-HJKMNP-TV-Z]{26}$";

/// The lowest (or highest) ULID of a millisecond: inclusive bounds of a time range on an index of ids.
/// `None` is the whole range.
pub fn ulid_bound(t: Option<OffsetDateTime>, high: bool) -> String {
    let ms = t.map(|t| (t.unix_timestamp_nanos() / 1_000_000).clamp(0, (1 << 48) - 1) as u64);
    match (ms, high) {
        (None, false) => Ulid::nil().to_string(),
        (None, true) => Ulid::from_parts((1 << 48) - 1, u128::MAX).to_string(),
        (Some(ms), false) => Ulid::from_parts(ms, 0).to_string(),
        (Some(ms), true) => Ulid::from_parts(ms, u128::MAX).to_string(),
    }
}

pub fn ulid_time(id: Ulid) -> OffsetDateTime {
    let ms = i128::from(id.timestamp_ms());
    OffsetDateTime::from_unix_timestamp_nanos(ms * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// RFC 3339 in UTC with millisecond precision, e.g. `2026-11-27T20:14:35.123Z`: a [`Timestamp`]'s text.
///
/// [`Timestamp`]: crate::timestamp::Timestamp
pub fn rfc3339_millis(t: OffsetDateTime) -> String {
    crate::timestamp::Timestamp::new(t).to_string()
}
