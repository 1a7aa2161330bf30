//! The test oracle for shadow mode, written from DESIGN.md rather than read from the crate: shadow mode
//! answers `allow` where a rule or the zone default decided; internal targets, the kill switch and zone
//! membership keep their answer.
//! Shared by `properties.rs` and the fuzz target `normalize_authorize` (included by path there).

use egress_core::Reason;

/// Whether shadow mode turns a decision with `reason` into `allow`, for the reasons `authorize_egress`
/// gives without a URL tail or counters.
pub fn softened_in_shadow(reason: Reason) -> bool {
    matches!(
        reason,
        Reason::RuleAllow
            | Reason::RuleDeny
            | Reason::RuleRequireApproval
            | Reason::DefaultDeny
            | Reason::DefaultRequireApproval
            | Reason::DefaultAllow
    )
}
