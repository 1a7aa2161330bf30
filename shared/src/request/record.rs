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
    /// ULID of the request (26 characters, Crockford base 32): the table key and the API's id.
    pub request_id: String,
    /// The answer given to the caller, after shadow mode (see [`Decision::effective`]).
    pub decision: Effect,
    /// The approval a `require_approval` answer waits for, or the grant an `approval_granted` used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_id: Option<String>,
    /// Which precedence step decided, as a reason code.
    pub reason: Reason,
    /// Id of the policy rule that matched; only for the `rule_*` reasons.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The zone's mode: `shadow` records what the policy said but allows (steps 1-3 still hold).
    pub mode: Mode,
    /// What the policy said, before shadow mode; differs from `decision` only in shadow mode.
    pub policy_decision: Effect,
    /// Version (`sha256:` digest prefix) of the policy document that decided; absent when none was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_version: Option<String>,
    /// The authenticated caller the request is recorded for (never taken from the body).
    pub principal: String,
    /// What the authorizer said about the caller (kind, session, account, org).
    pub identity: Identity,
    /// The zone the request was decided in.
    pub zone: String,
    /// The normalized target, with any credential in a host label or the path redacted.
    pub target: Target,
    /// A CONNECT tunnel (the path is unknown: `target.path` is `/` and stands for any path).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tunnel: bool,
    /// The caller's stated purpose, as given in the body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// The secrets-in-URL detector that found a credential (never the credential).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dlp: Option<Detector>,
    /// The rate limit that denied this request (reason `rate_limited`), and when its window ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<String>,
    /// Seconds from the decision until the `rate_limit` window ends (set together with it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u32>,
    /// When the request was decided: the request id's ULID time, as [`rfc3339_millis`] writes it.
    pub created_at: String,
    /// The request this one re-decided: an idempotent replay whose original decision no longer held
    /// under the current policy is recorded anew, naming the original.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
    /// Audit trail of idempotent replays answered with this resource (the stored item only; the replayed
    /// answer itself is the resource as first answered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replays: Option<u64>,
    /// When the latest idempotent replay was answered (RFC 3339, milliseconds); set with `replays`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_replayed_at: Option<String>,
}

impl RequestRecord {
    /// Records a decision for a new request `id`: the target is redacted, `created_at` comes from the
    /// ULID, and `tunnel`, `replaces` and the replay trail start unset for the caller to fill in.
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

/// A ULID in canonical form (26 characters, uppercase Crockford base32, at most 128 bits), as
/// [`ULID_PATTERN`] and more. Checked by round trip: the ulid crate decodes a first character above `7`
/// by wrapping, so `8ZZZ...` would otherwise be taken for some other id instead of being refused.
pub fn is_canonical_ulid(id: &str) -> bool {
    Ulid::from_string(id).is_ok_and(|u| u.to_string() == id)
}

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

/// When a ULID was minted (its 48-bit millisecond timestamp); the Unix epoch if out of range.
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

#[cfg(test)]
mod tests {
    use super::is_canonical_ulid;
    use ulid::Ulid;

    #[test]
    fn request_ids_must_be_canonical_ulids() {
        let id = Ulid::new().to_string();
        assert!(is_canonical_ulid(&id));
        assert!(is_canonical_ulid("7ZZZZZZZZZZZZZZZZZZZZZZZZZ"));
        for bad in [
            "8ZZZZZZZZZZZZZZZZZZZZZZZZZ", // more than 128 bits
            "01jdq1m8zc4q8w5v8t9x2y3z4a", // lowercase
            "01JDQ1M8ZC4Q8W5V8T9X2Y3Z4",  // 25 characters
            "01JDQ1M8ZC4Q8W5V8T9X2Y3Z4AA",
            "0000000000000000000000000I", // not Crockford base32
            "",
        ] {
            assert!(!is_canonical_ulid(bad), "{bad}");
        }
    }
}
