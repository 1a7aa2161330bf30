//! The policy: the document as written, its validation and compilation, `authorize_egress` (the precedence
//! of DESIGN.md), and the [`Decision`] it returns.

mod authorize;
mod compile;
mod decision;
mod document;
mod hosts;
mod principals;

pub use authorize::authorize_egress;
pub use compile::CompiledPolicy;
pub use decision::{Decision, DefaultEffect, Effect, Mode, Reason, Verdict};
pub use document::{
    policy_version, requests_kill_switch, to_json_form, KillSwitch, PolicyDocument, PolicyError, RuleDocument,
    ZoneDocument,
};
pub use principals::Subject;

#[cfg(test)]
mod tests;
