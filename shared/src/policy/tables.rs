//! The compiled tables a decision probes: per zone, exact hosts, IP literals and wildcard suffixes, each
//! with its entries strongest first, so a decision costs one lookup per label of the target host whatever
//! the number of rules; and the match over them (`best_match`).

use std::collections::HashMap;
use std::net::IpAddr;

use super::approvals::ApprovalSettings;
use super::decision::{DefaultEffect, Effect, Mode};
use super::dlp::DlpAction;
use super::limits::RateLimit;
use super::principals::PrincipalSet;
use crate::normalize::{
    any_reading_under, every_reading_under, Host, PathPrefix, PathReadings, Requested, Scheme, Target,
};

/// The maps a decision probes. foldhash instead of SipHash: a probe is most of a decision's cost. Flooding
/// is not a concern: only the policy inserts keys, requests only look them up, and the seed is per process.
pub(super) type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// One rule's match on a host key, ordered strongest effect first within a key. The scheme constraint is
/// copied here so the common check never touches the (cold, at 100k rules) rule table.
#[derive(Debug, Clone, Copy)]
pub(super) struct Entry {
    pub(super) effect: Effect,
    /// Bit 0 = http, bit 1 = https; 0b11 when the rule does not constrain the scheme.
    pub(super) schemes: u8,
    /// Whether the rule constrains ports (then the rule table is consulted).
    pub(super) ports: bool,
    /// Whether the rule constrains paths (then the rule table and the path readings are consulted).
    pub(super) paths: bool,
    pub(super) rule: u32,
}

impl Entry {
    /// Whether the rule applies to the request. Path constraints read the path every way a client or
    /// server may: a restricting rule applies when any reading is under its prefixes, an allow when all are.
    pub(super) fn applies(&self, rules: &[CompiledRule], target: &Target, paths: &LazyReadings<'_>) -> bool {
        let bit = match target.scheme() {
            Scheme::Http => 1,
            Scheme::Https => 2,
        };
        if self.schemes & bit == 0 {
            return false;
        }
        if !self.ports && !self.paths {
            return true;
        }
        let rule = &rules[self.rule as usize];
        if !rule.port_allowed(target.port()) {
            return false;
        }
        match (&rule.paths, self.effect) {
            (None, _) => true,
            (Some(prefixes), Effect::Allow) => every_reading_under(prefixes, paths.get()),
            (Some(prefixes), _) => any_reading_under(prefixes, paths.get()),
        }
    }
}

/// The path readings of a request, computed only when a path-constrained rule is consulted.
pub(super) struct LazyReadings<'r> {
    requested: Requested<'r>,
    readings: std::cell::OnceCell<PathReadings>,
}

impl<'r> LazyReadings<'r> {
    pub(super) fn new(requested: Requested<'r>) -> Self {
        Self {
            requested,
            readings: std::cell::OnceCell::new(),
        }
    }
    fn get(&self) -> &PathReadings {
        self.readings.get_or_init(|| self.requested.path_readings())
    }
}

/// The entries of one host key. Nearly every key has one rule: keep it inline so a lookup in a large
/// table is one cache miss less than a `Vec` behind a pointer.
#[derive(Debug, Default)]
pub(super) enum Entries {
    #[default]
    Empty,
    One(Entry),
    Many(Box<[Entry]>),
}

impl Entries {
    pub(super) fn push(&mut self, e: Entry) {
        *self = match std::mem::take(self) {
            Entries::Empty => Entries::One(e),
            Entries::One(a) => Entries::Many(Box::new([a, e])),
            Entries::Many(v) => Entries::Many(v.iter().copied().chain([e]).collect()),
        };
    }
    /// Strongest effect first; the sort is stable, so document order breaks ties.
    pub(super) fn finish(&mut self) {
        if let Entries::Many(v) = self {
            v.sort_by_key(|e| std::cmp::Reverse(e.effect));
        }
    }
    pub(super) fn as_slice(&self) -> &[Entry] {
        match self {
            Entries::Empty => &[],
            Entries::One(e) => std::slice::from_ref(e),
            Entries::Many(v) => v,
        }
    }
}

#[derive(Debug)]
pub(super) struct CompiledRule {
    pub(super) id: String,
    pub(super) ports: Option<Box<[u16]>>,
    pub(super) paths: Option<Box<[PathPrefix]>>,
}

impl CompiledRule {
    pub(super) fn port_allowed(&self, port: u16) -> bool {
        self.ports.as_ref().is_none_or(|p| p.contains(&port))
    }
}

#[derive(Debug)]
pub(super) struct CompiledZone {
    pub(super) members: PrincipalSet,
    pub(super) default: DefaultEffect,
    pub(super) mode: Mode,
    pub(super) dlp: DlpAction,
    pub(super) approvers: PrincipalSet,
    pub(super) approval: ApprovalSettings,
    pub(super) limits: Vec<RateLimit>,
    pub(super) exact: FastMap<Box<str>, Entries>,
    pub(super) ips: FastMap<IpAddr, Entries>,
    /// Keyed by the domain after `*.`: `*.example.com` is stored under `example.com`.
    pub(super) wildcard: FastMap<Box<str>, Entries>,
    pub(super) rules: Vec<CompiledRule>,
}

impl CompiledZone {
    /// The strongest applicable entry; among equals, exact beats wildcard and longer suffixes beat shorter.
    // Called once per decision from authorize_egress: inline across codegen units as it was when both
    // lived in one module (the bench profile builds 16 units without LTO).
    #[inline]
    pub(super) fn best_match(&self, requested: Requested<'_>, readings: &LazyReadings<'_>) -> Option<Entry> {
        let target = requested.target;
        let mut best: Option<Entry> = None;
        // `restricting`: only deny and require_approval entries may apply (see the 6to4 case below).
        let mut consider = |entries: Option<&Entries>, restricting: bool| -> bool {
            for e in entries.map(Entries::as_slice).unwrap_or_default() {
                if best.is_some_and(|b| b.effect >= e.effect) || (restricting && e.effect == Effect::Allow) {
                    break; // entries are sorted strongest first: nothing later can win
                }
                if e.applies(&self.rules, target, readings) {
                    best = Some(*e);
                    break;
                }
            }
            best.is_some_and(|b| b.effect == Effect::Deny)
        };
        let ip_key = |h: &Host| match h {
            Host::Ipv4(ip) => Some(IpAddr::V4(*ip)),
            Host::Ipv6(ip) => Some(IpAddr::V6(*ip)),
            Host::Domain(_) => None,
        };
        let host = target.host();
        if let Host::Domain(d) = host {
            if consider(self.exact.get(d.as_str()), false) {
                return best;
            }
            // Proper suffixes only: `*.example.com` never matches `example.com` itself.
            let mut rest = d.as_str();
            while let Some(dot) = rest.find('.') {
                rest = &rest[dot + 1..];
                if consider(self.wildcard.get(rest), false) {
                    break;
                }
            }
            return best;
        }
        // IP rules are keyed by the address they name. Every rule sees the address itself, or for a NAT64
        // address its IPv4 one (one-to-one). A 6to4 address also meets the restrictions on the IPv4 address
        // of its site's router, never its allows: that address stands for the whole /48.
        let (exact, restricting) = (host.allow_key(), host.rule_key());
        let exact = ip_key(&exact);
        if consider(exact.and_then(|ip| self.ips.get(&ip)), false) {
            return best;
        }
        let restricting = ip_key(&restricting);
        if restricting != exact {
            consider(restricting.and_then(|ip| self.ips.get(&ip)), true);
        }
        best
    }
}
