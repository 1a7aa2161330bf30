//! The policy document (YAML), its validation and compilation, and `authorize_egress`.
//!
//! Compilation turns host patterns into hash maps keyed by host (exact rules) and by domain suffix
//! (wildcard rules), so a decision costs one lookup per label of the target host, whatever the number of
//! rules.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::decision::{Decision, DefaultEffect, Effect, Mode, Verdict};
use crate::normalize::{normalize_host, Host, Scheme, Target};
use crate::special::special_target;

/// The policy document as written. Unknown fields are errors: a typo must never silently drop a rule.
/// It serializes back to the same meaning (see [`to_json_form`]).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyDocument {
    #[serde(default)]
    pub mode: Mode,
    #[serde(default)]
    pub kill_switch: KillSwitch,
    /// Principals (same patterns as zone members) who may read every request on the read path.
    #[serde(default)]
    pub auditors: Vec<String>,
    #[serde(deserialize_with = "unique_keys")]
    pub zones: std::collections::BTreeMap<String, ZoneDocument>,
}

/// A map that refuses duplicate keys: a repeated zone must be an error in JSON too (serde_json keeps the
/// last one silently), never a zone that vanishes.
fn unique_keys<'de, D, V>(d: D) -> Result<std::collections::BTreeMap<String, V>, D::Error>
where
    D: serde::Deserializer<'de>,
    V: Deserialize<'de>,
{
    struct Visit<V>(std::marker::PhantomData<V>);
    impl<'de, V: Deserialize<'de>> serde::de::Visitor<'de> for Visit<V> {
        type Value = std::collections::BTreeMap<String, V>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a map of zones")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
            let mut out = std::collections::BTreeMap::new();
            while let Some((k, v)) = m.next_entry::<String, V>()? {
                if out.contains_key(&k) {
                    return Err(serde::de::Error::custom(format!("zone `{k}` is defined twice")));
                }
                out.insert(k, v);
            }
            Ok(out)
        }
    }
    d.deserialize_map(Visit(std::marker::PhantomData))
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KillSwitch {
    #[serde(default)]
    pub engaged: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneDocument {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Exact principals, `prefix*` patterns, or `*` for everyone.
    pub members: Vec<String>,
    #[serde(default)]
    pub default: DefaultEffect,
    /// Overrides the global mode for this zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    #[serde(default)]
    pub rules: Vec<RuleDocument>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDocument {
    pub id: String,
    pub effect: Effect,
    pub hosts: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schemes: Option<Vec<Scheme>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<Vec<u16>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A policy that failed validation; `problems` name each bad entry by its path in the document.
#[derive(Debug, Clone, thiserror::Error)]
#[error("invalid policy: {}", problems.join("; "))]
pub struct PolicyError {
    pub problems: Vec<String>,
}

/// Who a decision is for: the principal, and the account and organization the authorizer vouched for
/// (`account:` and `org:` patterns match on those, never on text the caller chose).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subject<'a> {
    pub principal: &'a str,
    pub account: Option<&'a str>,
    pub org: Option<&'a str>,
}

impl<'a> From<&'a str> for Subject<'a> {
    fn from(principal: &'a str) -> Self {
        Self {
            principal,
            account: None,
            org: None,
        }
    }
}

impl<'a> From<&'a String> for Subject<'a> {
    fn from(principal: &'a String) -> Self {
        Self::from(principal.as_str())
    }
}

/// A principal pattern: exact, `prefix*`, `account:<id>`, `org:<id>`, or `*`.
#[derive(Debug, Clone)]
enum PrincipalPattern {
    Exact(String),
    Prefix(String),
    Account(String),
    Org(String),
}

#[derive(Debug, Clone, Default)]
struct PrincipalSet {
    everyone: bool,
    exact: HashSet<String>,
    prefixes: Vec<String>,
    accounts: HashSet<String>,
    orgs: HashSet<String>,
}

impl PrincipalSet {
    fn contains(&self, who: Subject<'_>) -> bool {
        self.everyone
            || self.exact.contains(who.principal)
            || self.prefixes.iter().any(|p| who.principal.starts_with(p.as_str()))
            || who.account.is_some_and(|a| self.accounts.contains(a))
            || who.org.is_some_and(|o| self.orgs.contains(o))
    }
}

/// The maps a decision probes. foldhash instead of SipHash: a probe is most of a decision's cost. Flooding
/// is not a concern: only the policy inserts keys, requests only look them up, and the seed is per process.
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// One rule's match on a host key, ordered strongest effect first within a key. The scheme constraint is
/// copied here so the common check never touches the (cold, at 100k rules) rule table.
#[derive(Debug, Clone, Copy)]
struct Entry {
    effect: Effect,
    /// Bit 0 = http, bit 1 = https; 0b11 when the rule does not constrain the scheme.
    schemes: u8,
    /// Whether the rule constrains ports (then the rule table is consulted).
    ports: bool,
    rule: u32,
}

impl Entry {
    fn applies(&self, rules: &[CompiledRule], target: &Target) -> bool {
        let bit = match target.scheme() {
            Scheme::Http => 1,
            Scheme::Https => 2,
        };
        self.schemes & bit != 0 && (!self.ports || rules[self.rule as usize].port_allowed(target.port()))
    }
}

/// The entries of one host key. Nearly every key has one rule: keep it inline so a lookup in a large
/// table is one cache miss less than a `Vec` behind a pointer.
#[derive(Debug, Default)]
enum Entries {
    #[default]
    Empty,
    One(Entry),
    Many(Box<[Entry]>),
}

impl Entries {
    fn push(&mut self, e: Entry) {
        *self = match std::mem::take(self) {
            Entries::Empty => Entries::One(e),
            Entries::One(a) => Entries::Many(Box::new([a, e])),
            Entries::Many(v) => Entries::Many(v.iter().copied().chain([e]).collect()),
        };
    }
    /// Strongest effect first; the sort is stable, so document order breaks ties.
    fn finish(&mut self) {
        if let Entries::Many(v) = self {
            v.sort_by_key(|e| std::cmp::Reverse(e.effect));
        }
    }
    fn as_slice(&self) -> &[Entry] {
        match self {
            Entries::Empty => &[],
            Entries::One(e) => std::slice::from_ref(e),
            Entries::Many(v) => v,
        }
    }
}

#[derive(Debug)]
struct CompiledRule {
    id: String,
    ports: Option<Box<[u16]>>,
}

impl CompiledRule {
    fn port_allowed(&self, port: u16) -> bool {
        self.ports.as_ref().is_none_or(|p| p.contains(&port))
    }
}

#[derive(Debug)]
struct CompiledZone {
    members: PrincipalSet,
    default: DefaultEffect,
    mode: Mode,
    exact: FastMap<Box<str>, Entries>,
    ips: FastMap<IpAddr, Entries>,
    /// Keyed by the domain after `*.`: `*.example.com` is stored under `example.com`.
    wildcard: FastMap<Box<str>, Entries>,
    rules: Vec<CompiledRule>,
}

/// A validated, compiled policy, ready for `authorize_egress`.
#[derive(Debug)]
pub struct CompiledPolicy {
    version: String,
    kill_switch: bool,
    kill_switch_reason: Option<String>,
    mode: Mode,
    auditors: PrincipalSet,
    zones: FastMap<String, CompiledZone>,
    rule_count: usize,
}

impl CompiledPolicy {
    /// Parses, validates and compiles a YAML policy document. The version is a hash of the exact bytes.
    /// A document in JSON form (which is YAML too) is read with a JSON parser, several times faster: large
    /// policies should be deployed in JSON form (`egress-policy json`) for short cold starts.
    pub fn from_yaml(text: &str) -> Result<Self, PolicyError> {
        Self::compile(&parse_document(text)?, policy_version(text.as_bytes()))
    }

    pub fn compile(doc: &PolicyDocument, version: String) -> Result<Self, PolicyError> {
        let mut problems = Vec::new();
        let mut seen_ids = HashSet::new();
        let mut zones = FastMap::default();
        let mut rule_count = 0;
        let auditors = compile_principals("auditors", &doc.auditors, Everyone::Refused, &mut problems);
        if doc.zones.is_empty() {
            problems.push("zones: at least one zone is required".into());
        }
        for (name, zone) in &doc.zones {
            let at = format!("zones.{name}");
            if !valid_zone_name(name) {
                problems.push(format!("{at}: zone names are 1-64 characters of a-z, 0-9 and `-`"));
            }
            if zone.members.is_empty() {
                problems.push(format!("{at}.members: at least one member pattern is required"));
            }
            let members = compile_principals(
                &format!("{at}.members"),
                &zone.members,
                Everyone::Allowed,
                &mut problems,
            );
            let patterns = || zone.rules.iter().flat_map(|r| &r.hosts);
            let (hosts, wildcards) = (patterns().count(), patterns().filter(|h| h.starts_with("*.")).count());
            let mut cz = CompiledZone {
                members,
                default: zone.default,
                mode: zone.mode.unwrap_or(doc.mode),
                // Sized up front: growing a 10k-entry table rehashes it a dozen times at cold start.
                exact: FastMap::with_capacity_and_hasher(hosts - wildcards, Default::default()),
                ips: FastMap::default(),
                wildcard: FastMap::with_capacity_and_hasher(wildcards, Default::default()),
                rules: Vec::new(),
            };
            cz.rules.reserve(zone.rules.len());
            for (i, rule) in zone.rules.iter().enumerate() {
                // The location is only formatted for a problem: a 10k-rule policy compiles at cold start.
                let at = || format!("{at}.rules[{i}]");
                compile_rule(&at, rule, &mut cz, &mut seen_ids, &mut problems);
            }
            for entries in cz
                .exact
                .values_mut()
                .chain(cz.wildcard.values_mut())
                .chain(cz.ips.values_mut())
            {
                entries.finish();
            }
            rule_count += cz.rules.len();
            zones.insert(name.clone(), cz);
        }
        if let Some(r) = &doc.kill_switch.reason {
            if r.len() > 512 {
                problems.push("kill_switch.reason: at most 512 characters".into());
            }
        }
        if !problems.is_empty() {
            return Err(PolicyError { problems });
        }
        Ok(Self {
            version,
            kill_switch: doc.kill_switch.engaged,
            kill_switch_reason: doc.kill_switch.reason.clone(),
            mode: doc.mode,
            auditors,
            zones,
            rule_count,
        })
    }

    pub fn version(&self) -> &str {
        &self.version
    }
    pub fn rule_count(&self) -> usize {
        self.rule_count
    }
    pub fn zone_count(&self) -> usize {
        self.zones.len()
    }
    pub fn kill_switch_engaged(&self) -> bool {
        self.kill_switch
    }
    pub fn kill_switch_reason(&self) -> Option<&str> {
        self.kill_switch.then_some(self.kill_switch_reason.as_deref()).flatten()
    }
    pub fn is_auditor<'a>(&self, who: impl Into<Subject<'a>>) -> bool {
        self.auditors.contains(who.into())
    }
    pub fn has_zone(&self, zone: &str) -> bool {
        self.zones.contains_key(zone)
    }
}

fn parse_document(text: &str) -> Result<PolicyDocument, PolicyError> {
    let not_valid = |e: &dyn std::fmt::Display| PolicyError {
        problems: vec![format!("not a valid policy document: {e}")],
    };
    if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|e| not_valid(&e))
    } else {
        serde_norway::from_str(text).map_err(|e| not_valid(&e))
    }
}

/// Validates a policy document (YAML or JSON form) and returns it in JSON form, which means the same and
/// loads several times faster (a 10k-rule policy: ~8 ms instead of ~30 ms, docs/BENCHMARKS.md). Converting
/// with our own parser, not a generic YAML tool, guarantees the same reading of every scalar.
pub fn to_json_form(text: &str) -> Result<String, PolicyError> {
    let doc = parse_document(text)?;
    CompiledPolicy::compile(&doc, String::new())?;
    serde_json::to_string(&doc).map_err(|e| PolicyError {
        problems: vec![format!("cannot write the JSON form: {e}")],
    })
}

/// `sha256:` and the first 128 bits of the SHA-256 of the document bytes, in hex.
pub fn policy_version(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(7 + 32);
    out.push_str("sha256:");
    for b in &digest[..16] {
        let _ = write!(out, "{b:02x}");
    }
    out
}

pub fn valid_zone_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Whether a principal list may say `*`: zone members may (an open zone), auditors may not (everyone
/// reading everyone's audit trail is never what a policy means).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Everyone {
    Allowed,
    Refused,
}

fn compile_principals(at: &str, patterns: &[String], everyone: Everyone, problems: &mut Vec<String>) -> PrincipalSet {
    let mut set = PrincipalSet::default();
    for (i, p) in patterns.iter().enumerate() {
        match parse_principal_pattern(p) {
            Ok(None) if everyone == Everyone::Refused => problems.push(format!(
                "{at}[{i}]: `*` (everyone) is not allowed here; name the principals or a prefix"
            )),
            Ok(None) => set.everyone = true,
            Ok(Some(PrincipalPattern::Exact(e))) => {
                set.exact.insert(e);
            }
            Ok(Some(PrincipalPattern::Prefix(pre))) => set.prefixes.push(pre),
            Ok(Some(PrincipalPattern::Account(a))) => {
                set.accounts.insert(a);
            }
            Ok(Some(PrincipalPattern::Org(o))) => {
                set.orgs.insert(o);
            }
            Err(msg) => problems.push(format!("{at}[{i}]: `{p}`: {msg}")),
        }
    }
    set
}

/// Characters a prefix pattern may end with: the separators of ARNs, IAM names and e-mail-like subjects.
/// A prefix that ends inside a word (`role/agent*`) silently grants every name that merely starts alike.
const PREFIX_BOUNDARIES: [char; 9] = ['-', '_', '/', ':', '.', '@', '+', '=', ','];

/// `Ok(None)` is the `*` pattern (everyone).
fn parse_principal_pattern(p: &str) -> Result<Option<PrincipalPattern>, &'static str> {
    if p == "*" {
        return Ok(None);
    }
    if p.is_empty() || p.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("empty, or contains whitespace or control characters");
    }
    if let Some(account) = p.strip_prefix("account:") {
        return match crate::identity::is_account_id(account) {
            true => Ok(Some(PrincipalPattern::Account(account.to_owned()))),
            false => Err("`account:` takes a 12-digit AWS account id"),
        };
    }
    if let Some(org) = p.strip_prefix("org:") {
        return match crate::identity::is_org_id(org) {
            true => Ok(Some(PrincipalPattern::Org(org.to_owned()))),
            false => Err("`org:` takes an AWS Organizations id (`o-` and 10-32 lowercase letters or digits)"),
        };
    }
    if p.contains(":assumed-role/") {
        return Err(
            "write the role, `arn:aws:iam::<account>:role/<name>`: a caller's assumed-role session is \
                    recorded but never authorizes (any holder of the role chooses its name)",
        );
    }
    if let Some((_, role)) = p.split_once(":role/") {
        if role.trim_end_matches('*').contains('/') {
            return Err(
                "role patterns are written without a role path: an assumed-role ARN (what IAM callers \
                        present) carries none, so `role/path/name` would never match; write `role/name`",
            );
        }
    }
    let star_count = p.matches('*').count();
    match (star_count, p.strip_suffix('*')) {
        (0, _) => Ok(Some(PrincipalPattern::Exact(p.to_owned()))),
        (1, Some(prefix)) if prefix.ends_with(PREFIX_BOUNDARIES) => {
            Ok(Some(PrincipalPattern::Prefix(prefix.to_owned())))
        }
        (1, Some(_)) => Err(
            "a prefix pattern must end at a separator (one of - _ / : . @ + = ,) before the `*`, so that \
             `role/agent*` cannot also match `role/agentsmith`: write `role/agent-*`",
        ),
        _ => Err("`*` is only allowed once, as the last character (a prefix pattern)"),
    }
}

fn compile_rule<'d>(
    at: &dyn Fn() -> String,
    rule: &'d RuleDocument,
    zone: &mut CompiledZone,
    seen_ids: &mut HashSet<&'d str>,
    problems: &mut Vec<String>,
) {
    let id_ok = (1..=128).contains(&rule.id.len())
        && rule
            .id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'/'));
    if !id_ok {
        problems.push(format!(
            "{}.id: `{}`: 1-128 characters of A-Z a-z 0-9 - _ . : /",
            at(),
            rule.id
        ));
    } else if !seen_ids.insert(&rule.id) {
        problems.push(format!(
            "{}.id: `{}` is used by another rule; rule ids must be unique",
            at(),
            rule.id
        ));
    }
    if rule.hosts.is_empty() {
        problems.push(format!("{}.hosts: at least one host pattern is required", at()));
    }
    let mut schemes = 0b11;
    if let Some(list) = &rule.schemes {
        if list.is_empty() {
            problems.push(format!("{}.schemes: omit it, or list at least one scheme", at()));
        }
        schemes = list.iter().fold(0, |acc, s| {
            acc | match s {
                Scheme::Http => 1,
                Scheme::Https => 2,
            }
        });
    }
    if let Some(ports) = &rule.ports {
        if ports.is_empty() || ports.contains(&0) {
            problems.push(format!("{}.ports: omit it, or list ports from 1 to 65535", at()));
        }
    }
    let index = zone.rules.len() as u32;
    let entry = Entry {
        effect: rule.effect,
        schemes,
        ports: rule.ports.is_some(),
        rule: index,
    };
    for (j, pattern) in rule.hosts.iter().enumerate() {
        match parse_host_pattern(pattern, rule.effect) {
            Ok(HostPattern::Exact(Host::Domain(d))) => zone.exact.entry(d.into()).or_default().push(entry),
            Ok(HostPattern::Exact(Host::Ipv4(ip))) => zone.ips.entry(ip.into()).or_default().push(entry),
            Ok(HostPattern::Exact(Host::Ipv6(ip))) => zone.ips.entry(ip.into()).or_default().push(entry),
            Ok(HostPattern::Suffix(d)) => zone.wildcard.entry(d.into()).or_default().push(entry),
            Err(msg) => problems.push(format!("{}.hosts[{j}]: `{pattern}`: {msg}", at())),
        }
    }
    zone.rules.push(CompiledRule {
        id: rule.id.clone(),
        ports: rule.ports.clone().map(Vec::into_boxed_slice),
    });
}

enum HostPattern {
    Exact(Host),
    Suffix(String),
}

fn parse_host_pattern(p: &str, effect: Effect) -> Result<HostPattern, String> {
    let (wild, host) = match p.strip_prefix("*.") {
        Some(rest) => (true, rest),
        None => (false, p),
    };
    if host.contains('*') {
        return Err("`*` is only allowed as a whole leading label: `*.example.com`".into());
    }
    let normalized = normalize_host(host).map_err(|e| format!("not a valid host: {e}"))?;
    let in_normal_form = match &normalized {
        Host::Domain(d) => d == host, // no allocation for the common case
        ip => ip.to_string() == host,
    };
    if !in_normal_form {
        let canonical = normalized.to_string();
        return Err(format!(
            "not in normalized form; write `{}{canonical}`",
            if wild { "*." } else { "" }
        ));
    }
    match normalized {
        Host::Domain(d) if wild => {
            if !d.contains('.') {
                return Err("a wildcard must cover a registrable domain, not a whole top-level domain".into());
            }
            match public_suffix(&d) {
                // Denying every tenant of a hosting or tunnel service (`*.ngrok.io`) is a common, safe rule.
                Some(psl::Type::Private) if effect == Effect::Deny => {}
                Some(_) => {
                    return Err(format!(
                        "`{d}` is a public suffix (Public Suffix List): a wildcard over it covers domains of \
                         unrelated owners; name the registrable domain, e.g. `*.example.{d}`{}",
                        if effect == Effect::Deny {
                            ""
                        } else {
                            " (deny rules may cover private-section suffixes)"
                        }
                    ));
                }
                None => {}
            }
            Ok(HostPattern::Suffix(d))
        }
        Host::Ipv4(_) | Host::Ipv6(_) if wild => Err("a wildcard cannot apply to an IP address".into()),
        h => Ok(HostPattern::Exact(h)),
    }
}

/// The section of the Public Suffix List `d` is in, when `d` is itself a public suffix: ICANN (`co.uk`) or
/// private (`s3.amazonaws.com`, `github.io`). Anyone can register names directly under it.
fn public_suffix(d: &str) -> Option<psl::Type> {
    psl::suffix(d.as_bytes())
        .filter(|s| s.as_bytes() == d.as_bytes())
        .and_then(|s| s.typ())
}

/// Whether a document (that may have failed validation) asks for the kill switch. A rejected edit keeps the
/// last good policy, so an engagement inside it is not in force: the source says so loudly.
pub fn requests_kill_switch(text: &str) -> bool {
    let value: Option<serde_json::Value> = if text.trim_start().starts_with('{') {
        serde_json::from_str(text).ok()
    } else {
        serde_norway::from_str(text).ok()
    };
    value.is_some_and(|v| v.pointer("/kill_switch/engaged") == Some(&serde_json::Value::Bool(true)))
}

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

#[cfg(test)]
mod tests;
