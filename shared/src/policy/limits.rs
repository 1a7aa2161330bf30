//! Zone rate limits (precedence step 8): validated and compiled limits, and which of them a request falls
//! under. Counting happens in the store, in the same write as the request.

use std::collections::HashSet;

use super::document::RateLimitDocument;
use super::hosts::{parse_host_pattern, HostPattern};
use super::Effect;
use crate::normalize::{Host, Target};

crate::wire_enum::wire_enum! {
    /// Whose budget a request spends: its principal's own, or the zone's, shared by every principal.
    pub enum LimitScope in "snake_case" {
        /// Each principal has a budget of its own.
        Principal,
        /// One budget for the zone, shared by all its principals.
        Zone,
    }
}

/// The longest window a limit may have: one day.
pub const MAX_WINDOW_SECONDS: u32 = 86_400;

/// Which hosts a limit covers.
#[derive(Debug)]
enum Hosts {
    All,
    Some {
        exact: HashSet<Host>,
        suffixes: HashSet<String>,
    },
}

/// A validated limit.
#[derive(Debug)]
pub struct RateLimit {
    /// The limit's id, unique in its zone; recorded as `rate_limit` when it denies.
    pub id: String,
    /// Whose budget a request spends.
    pub per: LimitScope,
    /// Allowed requests per window (at least 1).
    pub limit: u32,
    /// The window's length in seconds, 1 to [`MAX_WINDOW_SECONDS`].
    pub window_seconds: u32,
    hosts: Hosts,
}

impl RateLimit {
    /// Whether the limit covers `target`'s host (a wildcard covers subdomains, never the apex).
    pub fn covers(&self, target: &Target) -> bool {
        let Hosts::Some { exact, suffixes } = &self.hosts else {
            return true;
        };
        // By the address a limit names: `[64:ff9b::808:808]` spends the budget of `8.8.8.8`.
        if exact.contains(target.host().rule_key().as_ref()) {
            return true;
        }
        let Host::Domain(d) = target.host() else {
            return false;
        };
        let mut rest = d.as_str();
        while let Some(dot) = rest.find('.') {
            rest = &rest[dot + 1..];
            if suffixes.contains(rest) {
                return true;
            }
        }
        false
    }
}

/// Validates and compiles a zone's limits; problems name the entry (`at` is the zone's path).
pub(super) fn compile_limits(at: &str, docs: &[RateLimitDocument], problems: &mut Vec<String>) -> Vec<RateLimit> {
    let mut ids = HashSet::new();
    let mut out = Vec::with_capacity(docs.len());
    for (i, d) in docs.iter().enumerate() {
        let at = format!("{at}.rate_limits[{i}]");
        let id_ok = (1..=128).contains(&d.id.len())
            && d.id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !id_ok {
            problems.push(format!("{at}.id: `{}`: 1-128 characters of A-Z a-z 0-9 - _ .", d.id));
        } else if !ids.insert(d.id.as_str()) {
            problems.push(format!("{at}.id: `{}` is used by another limit of this zone", d.id));
        }
        if d.limit == 0 {
            problems.push(format!("{at}.limit: at least 1"));
        }
        if !(1..=MAX_WINDOW_SECONDS).contains(&d.window_seconds) {
            problems.push(format!("{at}.window_seconds: 1 to {MAX_WINDOW_SECONDS}"));
        }
        let hosts = match d.hosts.as_slice() {
            [] => {
                problems.push(format!("{at}.hosts: list host patterns, or [\"*\"] for every host"));
                Hosts::All
            }
            [all] if all == "*" => Hosts::All,
            patterns => {
                let (mut exact, mut suffixes) = (HashSet::new(), HashSet::new());
                for (j, p) in patterns.iter().enumerate() {
                    // Validated like a rule's patterns; a limit narrows traffic, like an allow would widen it.
                    match parse_host_pattern(p, Effect::Allow) {
                        // A limit restricts: keyed as a deny is, so one written as a 6to4 address is
                        // its IPv4 address and spends with every spelling of it.
                        Ok(HostPattern::Exact(h)) => {
                            exact.insert(h.rule_key().into_owned());
                        }
                        Ok(HostPattern::Suffix(s)) => {
                            suffixes.insert(s);
                        }
                        Err(msg) => problems.push(format!("{at}.hosts[{j}]: `{p}`: {msg}")),
                    }
                }
                Hosts::Some { exact, suffixes }
            }
        };
        out.push(RateLimit {
            id: d.id.clone(),
            per: d.per,
            limit: d.limit,
            window_seconds: d.window_seconds,
            hosts,
        });
    }
    out
}
