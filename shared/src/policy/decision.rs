//! The outcome of `authorize_egress`. A [`Decision`] is built from a [`Verdict`] (which step of the
//! precedence answered) and the mode, so the effective decision, the reason code and the rule id can never
//! contradict each other: e.g. a `rule_allow` without a rule id, or shadow mode softening a kill switch.

use std::sync::Arc;

use super::dlp::Detector;
use crate::normalize::SpecialKind;

crate::wire_enum::wire_enum! {
    /// An answer to a request: what a rule says, what the policy decided, and what the caller is told.
    #[derive(PartialOrd, Ord)]
    pub enum Effect in "snake_case" {
        // Order matters: deny beats require_approval beats allow (`max` picks the winner).
        /// The request may go out.
        Allow,
        /// The request waits for an approver's grant.
        RequireApproval,
        /// The request is refused.
        Deny,
    }
}

crate::wire_enum::wire_enum! {
    /// Whether the policy's answers are enforced or only recorded (the document's or the zone's `mode`).
    #[derive(Default)]
    pub enum Mode in "snake_case" {
        /// The caller gets the policy's answer (the default).
        #[default]
        Enforce,
        /// Steps 4-6 and 8 answer `allow`; the record keeps what enforce mode would have answered.
        Shadow,
    }
}

crate::wire_enum::wire_enum! {
    /// What a zone answers when no rule matches: `deny` (the default, an allowlist zone), `require_approval`,
    /// or `allow` (a denylist zone: open research zones, large threat-feed deny lists). Internal targets, the
    /// kill switch, membership and deny rules come first whatever the default.
    #[derive(Default)]
    pub enum DefaultEffect in "snake_case" {
        /// Deny what no rule matches: an allowlist zone (the default).
        #[default]
        Deny,
        /// Send what no rule matches for approval.
        RequireApproval,
        /// Allow what no rule matches: a denylist zone.
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
    /// The machine code of the precedence step that decided a request (`reason` wherever one is recorded).
    pub enum Reason in "snake_case" {
        /// Step 1: the kill switch is engaged.
        KillSwitch,
        /// Step 2: an internal or special-use target.
        InternalTarget,
        /// Step 3: an unknown zone, or a principal that is not one of its members.
        ZoneNotPermitted,
        /// Step 5: a `deny` rule matched.
        RuleDeny,
        /// Step 5: a `require_approval` rule matched, and no `deny` rule.
        RuleRequireApproval,
        /// Step 5: only `allow` rules matched.
        RuleAllow,
        /// Step 6: no rule matched, and the zone's default is `deny`.
        DefaultDeny,
        /// Step 6: no rule matched, and the zone's default is `require_approval`.
        DefaultRequireApproval,
        /// Step 6: no rule matched, and the zone's default is `allow`.
        DefaultAllow,
        /// No policy could be read: denied (fail closed).
        PolicyUnavailable,
        /// Step 4: a credential in the URL; `dlp` names the detector.
        DlpSecretInUrl,
        /// Step 7: an active grant turned a `require_approval` into an allow.
        ApprovalGranted,
        /// Step 8: an allow over a zone rate limit, denied.
        RateLimited,
    }
}

/// What a restricting step answers: never `allow`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restriction {
    /// Send the request for approval.
    RequireApproval,
    /// Refuse the request.
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
    /// No policy could be read (fail closed).
    PolicyUnavailable,
    /// Step 1: the kill switch is engaged.
    KillSwitch,
    /// Step 2: an internal or special-use target, and which kind.
    InternalTarget(SpecialKind),
    /// Step 3: an unknown zone, or a principal that is not one of its members.
    ZoneNotPermitted,
    /// A credential in the URL (zone `dlp.secrets_in_url`); the detector is on the [`Decision`].
    SecretInUrl(Restriction),
    /// Step 5: the rule that won (deny beats require_approval beats allow).
    Rule {
        /// What the rule says.
        effect: Effect,
        /// The rule's `id` in the document.
        rule_id: String,
    },
    /// Step 6: no rule matched; the zone's `default`.
    Default(DefaultEffect),
    /// Step 7: a `require_approval` verdict for which an active grant exists (its id is on the Decision).
    ApprovalGranted,
    /// Step 8: an allow over a rate limit.
    RateLimited {
        /// The `id` of the limit the request would exceed.
        limit_id: String,
        /// Seconds until that limit's window ends.
        retry_after_seconds: u32,
    },
}

/// The decision on one request: the verdict, the mode and the policy version, plus what steps 4 and 7
/// add; the answer, the reason and the rule id are derived from these, never stored beside them.
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

    /// The approval a `require_approval` answer waits for, or the grant an `approval_granted` used.
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

    /// The secrets-in-URL detector that found a credential, whichever step decided.
    pub fn dlp(&self) -> Option<Detector> {
        self.dlp
    }

    /// The fail-closed answer when no policy can be read.
    pub fn policy_unavailable() -> Self {
        Self::new(Verdict::PolicyUnavailable, Mode::Enforce, None)
    }

    /// Which precedence step answered, and with what.
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

    /// The reason code of the step that answered (the policy's, so shadow mode keeps it).
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

    /// The id of the rule that decided (step 5), if a rule did.
    pub fn rule(&self) -> Option<&str> {
        match &self.verdict {
            Verdict::Rule { rule_id, .. } => Some(rule_id),
            _ => None,
        }
    }

    /// The mode it was decided in: the zone's, else the document's (`enforce` without a policy).
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The version of the policy that decided; `None` only for `policy_unavailable`.
    pub fn policy_version(&self) -> Option<&str> {
        self.policy_version.as_deref()
    }
}
