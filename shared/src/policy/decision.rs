//! The outcome of `authorize_egress`. A [`Decision`] is built from a [`Verdict`] (which step of the
//! precedence answered) and the mode, so the effective decision, the reason code and the rule id can never
//! contradict each other: e.g. a `rule_allow` without a rule id, or shadow mode softening a kill switch.

use std::sync::Arc;

use super::dlp::Detector;
use crate::normalize::SpecialKind;

crate::wire_enum::wire_enum! {
    #[derive(PartialOrd, Ord)]
    pub enum Effect in "snake_case" {
        // Order matters: deny beats require_approval beats allow (`max` picks the winner).
        Allow,
        RequireApproval,
        Deny,
    }
}

crate::wire_enum::wire_enum! {
    #[derive(Default)]
    pub enum Mode in "snake_case" {
        #[default]
        Enforce,
        Shadow,
    }
}

crate::wire_enum::wire_enum! {
    /// What a zone answers when no rule matches: `deny` (the default, an allowlist zone), `require_approval`,
    /// or `allow` (a denylist zone: open research zones, large threat-feed deny lists). Internal targets, the
    /// kill switch, membership and deny rules come first whatever the default.
    #[derive(Default)]
    pub enum DefaultEffect in "snake_case" {
        #[default]
        Deny,
        RequireApproval,
        Allow,
    }
}

impl From<DefaultEffect> for Effect {
    fn from(d: DefaultEffect) -> Self {
        match d {
            DefaultEffect::Deny => Effect::Deny,
            DefaultEffect::RequireApproval => Effect::RequireApproval,
            DefaultEffect::Allow => Effect::Allow,
        }
    }
}

crate::wire_enum::wire_enum! {
    pub enum Reason in "snake_case" {
        KillSwitch,
        InternalTarget,
        ZoneNotPermitted,
        RuleDeny,
        RuleRequireApproval,
        RuleAllow,
        DefaultDeny,
        DefaultRequireApproval,
        DefaultAllow,
        PolicyUnavailable,
        DlpSecretInUrl,
        ApprovalGranted,
        RateLimited,
    }
}

/// What a restricting step answers: never `allow`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restriction {
    RequireApproval,
    Deny,
}

impl From<Restriction> for Effect {
    fn from(r: Restriction) -> Self {
        match r {
            Restriction::RequireApproval => Effect::RequireApproval,
            Restriction::Deny => Effect::Deny,
        }
    }
}

/// Which precedence step answered, with what it needs and nothing more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    PolicyUnavailable,
    KillSwitch,
    InternalTarget(SpecialKind),
    ZoneNotPermitted,
    /// A credential in the URL (zone `dlp.secrets_in_url`); the detector is on the [`Decision`].
    SecretInUrl(Restriction),
    Rule {
        effect: Effect,
        rule_id: String,
    },
    Default(DefaultEffect),
    /// Step 7: a `require_approval` verdict for which an active grant exists (its id is on the Decision).
    ApprovalGranted,
    /// Step 8: an allow over a rate limit.
    RateLimited {
        limit_id: String,
        retry_after_seconds: u32,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    verdict: Verdict,
    mode: Mode,
    policy_version: Option<Arc<str>>,
    /// The secrets-in-URL detector that found a credential, whichever step decided.
    dlp: Option<Detector>,
    /// The approval a `require_approval` answer waits for, or the grant an `approval_granted` used.
    approval_id: Option<String>,
}

impl Decision {
    pub(crate) fn new(verdict: Verdict, mode: Mode, policy_version: Option<Arc<str>>) -> Self {
        Self {
            verdict,
            mode,
            policy_version,
            dlp: None,
            approval_id: None,
        }
    }

    /// Whether this decision sends the request for approval (enforce mode only: shadow opens none).
    pub fn needs_approval(&self) -> bool {
        self.effective() == Effect::RequireApproval
    }

    /// Step 7: the approval this request waits for (opened or joined). Only for a [`needs_approval`]
    /// decision; anything else is left as it is.
    ///
    /// [`needs_approval`]: Decision::needs_approval
    pub fn awaiting(mut self, approval_id: String) -> Self {
        if self.needs_approval() {
            self.approval_id = Some(approval_id);
        }
        self
    }

    /// Step 7: an active grant turns a [`needs_approval`](Decision::needs_approval) decision into an allow.
    pub fn granted(mut self, approval_id: String) -> Self {
        if self.needs_approval() {
            self.verdict = Verdict::ApprovalGranted;
            self.approval_id = Some(approval_id);
        }
        self
    }

    /// Step 8: an allow over a rate limit is a deny (shadow mode records it and still allows). Only for a
    /// decision whose answer is allow.
    pub fn rate_limited(mut self, limit_id: String, retry_after_seconds: u32) -> Self {
        if self.effective() == Effect::Allow {
            self.verdict = Verdict::RateLimited {
                limit_id,
                retry_after_seconds,
            };
        }
        self
    }

    pub fn approval_id(&self) -> Option<&str> {
        self.approval_id.as_deref()
    }

    /// The rate limit that denied, and how long until its window ends.
    pub fn rate_limit(&self) -> Option<(&str, u32)> {
        match &self.verdict {
            Verdict::RateLimited {
                limit_id,
                retry_after_seconds,
            } => Some((limit_id, *retry_after_seconds)),
            _ => None,
        }
    }

    pub(crate) fn with_dlp(mut self, detector: Detector) -> Self {
        self.dlp = Some(detector);
        self
    }

    pub fn dlp(&self) -> Option<Detector> {
        self.dlp
    }

    /// The fail-closed answer when no policy can be read.
    pub fn policy_unavailable() -> Self {
        Self::new(Verdict::PolicyUnavailable, Mode::Enforce, None)
    }

    pub fn verdict(&self) -> &Verdict {
        &self.verdict
    }

    /// What the policy says, before shadow mode.
    pub fn policy_decision(&self) -> Effect {
        match &self.verdict {
            Verdict::PolicyUnavailable
            | Verdict::KillSwitch
            | Verdict::InternalTarget(_)
            | Verdict::ZoneNotPermitted => Effect::Deny,
            Verdict::SecretInUrl(r) => (*r).into(),
            Verdict::Rule { effect, .. } => *effect,
            Verdict::Default(d) => (*d).into(),
            Verdict::ApprovalGranted => Effect::Allow,
            Verdict::RateLimited { .. } => Effect::Deny,
        }
    }

    /// The answer given to the caller. Shadow mode turns steps 4-6 and 8 into `allow`; steps 1-3 hold.
    pub fn effective(&self) -> Effect {
        match (&self.verdict, self.mode) {
            (
                Verdict::SecretInUrl(_) | Verdict::Rule { .. } | Verdict::Default(_) | Verdict::RateLimited { .. },
                Mode::Shadow,
            ) => Effect::Allow,
            _ => self.policy_decision(),
        }
    }

    pub fn reason(&self) -> Reason {
        match &self.verdict {
            Verdict::PolicyUnavailable => Reason::PolicyUnavailable,
            Verdict::KillSwitch => Reason::KillSwitch,
            Verdict::InternalTarget(_) => Reason::InternalTarget,
            Verdict::ZoneNotPermitted => Reason::ZoneNotPermitted,
            Verdict::SecretInUrl(_) => Reason::DlpSecretInUrl,
            Verdict::Rule {
                effect: Effect::Allow, ..
            } => Reason::RuleAllow,
            Verdict::Rule {
                effect: Effect::RequireApproval,
                ..
            } => Reason::RuleRequireApproval,
            Verdict::Rule {
                effect: Effect::Deny, ..
            } => Reason::RuleDeny,
            Verdict::Default(DefaultEffect::Deny) => Reason::DefaultDeny,
            Verdict::Default(DefaultEffect::RequireApproval) => Reason::DefaultRequireApproval,
            Verdict::Default(DefaultEffect::Allow) => Reason::DefaultAllow,
            Verdict::ApprovalGranted => Reason::ApprovalGranted,
            Verdict::RateLimited { .. } => Reason::RateLimited,
        }
    }

    pub fn rule(&self) -> Option<&str> {
        match &self.verdict {
            Verdict::Rule { rule_id, .. } => Some(rule_id),
            _ => None,
        }
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    pub fn policy_version(&self) -> Option<&str> {
        self.policy_version.as_deref()
    }
}
