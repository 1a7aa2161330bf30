//! `authorize_egress`: the precedence of DESIGN.md applied to a compiled policy.

use std::net::IpAddr;

use super::compile::{CompiledZone, Entries, Entry};
use super::decision::{Decision, Effect, Verdict};
use super::{CompiledPolicy, Subject};
use crate::{special_target, Host, Target};

/// May `principal`, running in `zone`, reach `target`? Precedence exactly as DESIGN.md:
/// kill switch, internal targets, zone membership, zone rules (deny > require_approval > allow), zone default.
/// Shadow mode only softens the last two steps.
pub fn authorize_egress<'a>(
    policy: &CompiledPolicy,
    who: impl Into<Subject<'a>>,
    zone: &str,
    target: &Target,
) -> Decision {
    let version = Some(policy.version.clone());
    let zone_doc = policy.zones.get(zone);
    let mode = zone_doc.map_or(policy.mode, |z| z.mode);
    if policy.kill_switch {
        return Decision::new(Verdict::KillSwitch, mode, version);
    }
    if let Some(kind) = special_target(target) {
        return Decision::new(Verdict::InternalTarget(kind), mode, version);
    }
    let who = who.into();
    let Some(z) = zone_doc.filter(|z| z.members.contains(who)) else {
        return Decision::new(Verdict::ZoneNotPermitted, mode, version);
    };
    let verdict = match z.best_match(target) {
        Some(e) => Verdict::Rule {
            effect: e.effect,
            rule_id: z.rules[e.rule as usize].id.clone(),
        },
        None => Verdict::Default(z.default),
    };
    Decision::new(verdict, mode, version)
}

impl CompiledZone {
    /// The strongest applicable entry; among equals, exact beats wildcard and longer suffixes beat shorter.
    fn best_match(&self, target: &Target) -> Option<Entry> {
        let mut best: Option<Entry> = None;
        let mut consider = |entries: Option<&Entries>| -> bool {
            for e in entries.map(Entries::as_slice).unwrap_or_default() {
                if best.is_some_and(|b| b.effect >= e.effect) {
                    break; // entries are sorted strongest first: nothing later can win
                }
                if e.applies(&self.rules, target) {
                    best = Some(*e);
                    break;
                }
            }
            best.is_some_and(|b| b.effect == Effect::Deny)
        };
        match target.host() {
            Host::Ipv4(ip) => {
                consider(self.ips.get(&IpAddr::V4(*ip)));
            }
            Host::Ipv6(ip) => {
                consider(self.ips.get(&IpAddr::V6(*ip)));
            }
            Host::Domain(d) => {
                if consider(self.exact.get(d.as_str())) {
                    return best;
                }
                // Proper suffixes only: `*.example.com` never matches `example.com` itself.
                let mut rest = d.as_str();
                while let Some(dot) = rest.find('.') {
                    rest = &rest[dot + 1..];
                    if consider(self.wildcard.get(rest)) {
                        break;
                    }
                }
            }
        }
        best
    }
}
