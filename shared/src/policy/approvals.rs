//! A zone's approval settings: how long an approval waits for a decision and how long a grant may last,
//! validated.

use super::document::ApprovalDocument;

/// How a zone's approvals wait and how long its grants may last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApprovalSettings {
    /// How long an approval stays pending before it expires, in seconds.
    pub pending_ttl_seconds: u32,
    /// The longest grant an approver may give, in seconds.
    pub max_grant_seconds: u32,
}

/// A day, for both: an approval waits a day, a grant lasts at most a day, unless the zone says otherwise.
pub const DEFAULT_APPROVAL_SECONDS: u32 = 86_400;
/// The longest either may be set to: a week. A grant that outlives that is a rule, and belongs in the policy.
pub const MAX_APPROVAL_SECONDS: u32 = 7 * 86_400;

impl Default for ApprovalSettings {
    fn default() -> Self {
        Self {
            pending_ttl_seconds: DEFAULT_APPROVAL_SECONDS,
            max_grant_seconds: DEFAULT_APPROVAL_SECONDS,
        }
    }
}

pub(super) fn approval_settings(
    at: &str,
    doc: Option<&ApprovalDocument>,
    problems: &mut Vec<String>,
) -> ApprovalSettings {
    let d = ApprovalSettings::default();
    let Some(doc) = doc else { return d };
    let mut pick = |name: &str, v: Option<u32>, default: u32| {
        let v = v.unwrap_or(default);
        if !(1..=MAX_APPROVAL_SECONDS).contains(&v) {
            problems.push(format!("{at}.approval.{name}: 1 to {MAX_APPROVAL_SECONDS} seconds"));
        }
        v
    };
    ApprovalSettings {
        pending_ttl_seconds: pick("pending_ttl_seconds", doc.pending_ttl_seconds, d.pending_ttl_seconds),
        max_grant_seconds: pick("max_grant_seconds", doc.max_grant_seconds, d.max_grant_seconds),
    }
}
