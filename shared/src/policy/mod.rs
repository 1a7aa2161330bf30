//! The policy: the document as written, its validation and compilation, `authorize_egress` (the precedence
//! of DESIGN.md), and the [`Decision`] it returns.

mod approvals;
mod authorize;
mod compile;
mod decision;
mod dlp;
mod document;
mod hosts;
mod limits;
mod principals;
mod tables;

pub use approvals::{ApprovalSettings, DEFAULT_APPROVAL_SECONDS, MAX_APPROVAL_SECONDS};
pub use authorize::authorize_egress;
pub use compile::CompiledPolicy;
pub use decision::{Decision, DefaultEffect, Effect, Mode, Reason, Restriction, Verdict};
pub use dlp::{
    compile_detectors, redact_path, redact_target, scan as scan_for_secrets, scan_host as scan_host_for_secrets,
    Detector, DlpAction,
};
pub use document::{
    policy_version, requests_kill_switch, to_json_form, ApprovalDocument, DlpDocument, KillSwitch, PolicyDocument,
    PolicyError, RateLimitDocument, RuleDocument, ZoneDocument,
};
pub use limits::{LimitScope, RateLimit, MAX_WINDOW_SECONDS};
pub use principals::Subject;

#[cfg(test)]
mod tests;
