//! `authorize_egress`: the precedence of docs/DESIGN.md (steps 1-6) applied to a compiled policy. Steps 7
//! (approval grants) and 8 (rate limits) need the store and are applied where the request is recorded.

use super::decision::{Decision, DefaultEffect, Effect, Restriction, Verdict};
use super::dlp::{scan_requested, DlpAction};
use super::tables::LazyReadings;
use super::{CompiledPolicy, Subject};
use crate::normalize::{special_target, Requested};

/// May `principal`, running in `zone`, reach what it asked for? In order: kill switch, internal targets,
/// zone membership, secrets in the URL (its host included, for `domain` inputs too), zone rules (deny > require_approval > allow), zone default. Shadow
/// mode only softens the last three. `requested` is a [`Target`](crate::normalize::Target), or a target with the tail
/// of its URL (`(&target, &tail)`), which path rules and secrets-in-URL detection read.
pub fn authorize_egress<'a, 'r>(
    policy: &CompiledPolicy,
    who: impl Into<Subject<'a>>,
    zone: &str,
    requested: impl Into<Requested<'r>>,
) -> Decision {
    let requested = requested.into();
    let version = Some(policy.version.clone());
    let zone_doc = policy.zones.get(zone);
    let mode = zone_doc.map_or(policy.mode, |z| z.mode);
    if policy.kill_switch {
        return Decision::new(Verdict::KillSwitch, mode, version);
    }
    if let Some(kind) = special_target(requested.target) {
        return Decision::new(Verdict::InternalTarget(kind), mode, version);
    }
    let who = who.into();
    let Some(z) = zone_doc.filter(|z| z.members.contains(who)) else {
        return Decision::new(Verdict::ZoneNotPermitted, mode, version);
    };
    let secret = match z.dlp {
        DlpAction::Off => None,
        DlpAction::Deny | DlpAction::RequireApproval => scan_requested(requested),
    };
    if let (Some(detector), DlpAction::Deny) = (secret, z.dlp) {
        return Decision::new(Verdict::SecretInUrl(Restriction::Deny), mode, version).with_dlp(detector);
    }
    let readings = LazyReadings::new(requested);
    let verdict = match z.best_match(requested, &readings) {
        Some(e) => Verdict::Rule {
            effect: e.effect,
            rule_id: z.rules[e.rule as usize].id.clone(),
        },
        None => Verdict::Default(z.default),
    };
    let Some(detector) = secret else {
        return Decision::new(verdict, mode, version);
    };
    // A secret sent for approval: a deny of the rules or the default still wins, so no grant can ever
    // override it; otherwise the request waits for an approver.
    let denied = matches!(
        verdict,
        Verdict::Rule {
            effect: Effect::Deny,
            ..
        } | Verdict::Default(DefaultEffect::Deny)
    );
    let verdict = if denied {
        verdict
    } else {
        Verdict::SecretInUrl(Restriction::RequireApproval)
    };
    Decision::new(verdict, mode, version).with_dlp(detector)
}
