//! Who may do what beyond their own requests: auditors read everything; approvers see and decide their
//! zones' approvals. From the policy (`auditors`, zone `approvers`) or the JWT scopes; without a policy
//! nobody has a role (fail closed) and callers still see their own.

use super::Caller;
use crate::policy::CompiledPolicy;

/// JWT scope of auditors: read every request and approval.
pub const AUDIT_SCOPE: &str = "egress:audit";
/// JWT scope of approvers of every zone.
pub const APPROVE_SCOPE: &str = "egress:approve";

fn has_scope(c: &Caller, scope: &str) -> bool {
    c.scopes.iter().any(|s| s == scope)
}

/// Whether `c` may read every request and approval: it holds the audit scope, or the policy names it.
pub fn is_auditor(c: &Caller, policy: Option<&CompiledPolicy>) -> bool {
    has_scope(c, AUDIT_SCOPE) || policy.is_some_and(|p| p.is_auditor(c.subject()))
}

/// Whether `c` may decide `zone`'s approvals.
pub fn approves(c: &Caller, zone: &str, policy: Option<&CompiledPolicy>) -> bool {
    has_scope(c, APPROVE_SCOPE) || policy.is_some_and(|p| p.is_approver(zone, c.subject()))
}

/// The zones whose approvals `c` may decide (every zone of the policy with the approve scope).
pub fn approver_zones(c: &Caller, policy: Option<&CompiledPolicy>) -> Vec<String> {
    let Some(p) = policy else { return Vec::new() };
    let zones = match has_scope(c, APPROVE_SCOPE) {
        true => p.zone_names(),
        false => p.approver_zones(c.subject()),
    };
    zones.into_iter().map(str::to_owned).collect()
}
