//! Validation and compilation of a policy document into the tables a decision probes (`tables.rs`).

use std::collections::HashSet;
use std::sync::Arc;

use super::approvals::{approval_settings, ApprovalSettings};
use super::decision::Mode;
use super::document::{parse_document, policy_version, PolicyDocument, PolicyError, RuleDocument};
use super::hosts::{parse_host_pattern, HostPattern};
use super::limits::{compile_limits, RateLimit};
use super::principals::{compile_principals, Everyone, PrincipalSet, Subject};
use super::tables::{CompiledRule, CompiledZone, Entry, FastMap};
use crate::names::valid_zone_name;
use crate::normalize::{Host, PathPrefix, Scheme, Target};

/// A validated, compiled policy, ready for `authorize_egress`. Cheap to clone (the compiled tables are
/// shared), so the kill-switch parameter can be laid over a policy of a million hosts.
#[derive(Debug, Clone)]
pub struct CompiledPolicy {
    /// Shared with every decision it makes (a reference count, not a copy per decision).
    pub(super) version: Arc<str>,
    pub(super) kill_switch: bool,
    pub(super) kill_switch_reason: Option<String>,
    pub(super) mode: Mode,
    pub(super) auditors: Arc<PrincipalSet>,
    pub(super) enforcers: Arc<PrincipalSet>,
    pub(super) zones: Arc<FastMap<String, CompiledZone>>,
    pub(super) rule_count: usize,
}

impl CompiledPolicy {
    /// Parses, validates and compiles a YAML policy document. The version is a hash of the exact bytes.
    /// A document in JSON form (which is YAML too) is read with a JSON parser, several times faster: large
    /// policies should be deployed in JSON form (`egress-policy json`) for short cold starts.
    pub fn from_yaml(text: &str) -> Result<Self, PolicyError> {
        Self::compile(&parse_document(text)?, policy_version(text.as_bytes()))
    }

    /// Validates and compiles a parsed document, reporting every problem at once; `version` is what
    /// decisions record (`from_yaml` passes the hash of the document's bytes).
    pub fn compile(doc: &PolicyDocument, version: String) -> Result<Self, PolicyError> {
        let mut problems = Vec::new();
        let mut seen_ids = HashSet::new();
        let mut zones = FastMap::default();
        let mut rule_count = 0;
        let auditors = compile_principals("auditors", &doc.auditors, Everyone::Refused, &mut problems);
        let enforcers = compile_principals("enforcers", &doc.enforcers, Everyone::Refused, &mut problems);
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
                dlp: zone.dlp.as_ref().map(|d| d.secrets_in_url).unwrap_or_default(),
                approvers: compile_principals(
                    &format!("{at}.approvers"),
                    &zone.approvers,
                    Everyone::Refused,
                    &mut problems,
                ),
                approval: approval_settings(&at, zone.approval.as_ref(), &mut problems),
                limits: compile_limits(&at, &zone.rate_limits, &mut problems),
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
            version: version.into(),
            kill_switch: doc.kill_switch.engaged,
            kill_switch_reason: doc.kill_switch.reason.clone(),
            mode: doc.mode,
            auditors: Arc::new(auditors),
            enforcers: Arc::new(enforcers),
            zones: Arc::new(zones),
            rule_count,
        })
    }

    /// This policy with the kill switch engaged (the kill-switch parameter), whatever the document says.
    pub fn with_kill_switch(&self, reason: &str) -> Self {
        Self {
            kill_switch: true,
            kill_switch_reason: Some(reason.to_owned()),
            ..self.clone()
        }
    }

    /// The version its decisions record (from [`from_yaml`](Self::from_yaml): `sha256:` and 32 hex digits
    /// of the hash of the document's bytes).
    pub fn version(&self) -> &str {
        &self.version
    }
    /// How many rules the zones hold, all together.
    pub fn rule_count(&self) -> usize {
        self.rule_count
    }
    /// How many zones the policy defines.
    pub fn zone_count(&self) -> usize {
        self.zones.len()
    }
    /// Whether the kill switch is engaged (by the document or the parameter): every request is denied.
    pub fn kill_switch_engaged(&self) -> bool {
        self.kill_switch
    }
    /// Why the kill switch is engaged, when it is and a reason was given.
    pub fn kill_switch_reason(&self) -> Option<&str> {
        self.kill_switch.then_some(self.kill_switch_reason.as_deref()).flatten()
    }
    /// Whether `who` may read every request on the read path (the document's `auditors`).
    pub fn is_auditor<'a>(&self, who: impl Into<Subject<'a>>) -> bool {
        self.auditors.contains(who.into())
    }
    /// Whether `who` may ask on an agent's behalf with a proxy token (the enforcing proxy's role).
    pub fn is_enforcer<'a>(&self, who: impl Into<Subject<'a>>) -> bool {
        self.enforcers.contains(who.into())
    }
    /// Whether the policy defines `zone`.
    pub fn has_zone(&self, zone: &str) -> bool {
        self.zones.contains_key(zone)
    }
    /// Every zone's name, sorted.
    pub fn zone_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.zones.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }
    /// Whether `who` may decide `zone`'s approvals (the zone's `approvers`).
    pub fn is_approver<'a>(&self, zone: &str, who: impl Into<Subject<'a>>) -> bool {
        let who = who.into();
        self.zones.get(zone).is_some_and(|z| z.approvers.contains(who))
    }
    /// The zones whose approvals `who` may decide, sorted.
    pub fn approver_zones<'a>(&self, who: impl Into<Subject<'a>>) -> Vec<&str> {
        let who = who.into();
        let mut names: Vec<&str> = self
            .zones
            .iter()
            .filter(|(_, z)| z.approvers.contains(who))
            .map(|(n, _)| n.as_str())
            .collect();
        names.sort_unstable();
        names
    }
    /// The zone's approval settings (defaults for an unknown zone).
    pub fn approval_settings(&self, zone: &str) -> ApprovalSettings {
        self.zones.get(zone).map(|z| z.approval).unwrap_or_default()
    }
    /// The zone's rate limits that cover `target`.
    pub fn limits_for<'p>(&'p self, zone: &str, target: &Target) -> Vec<&'p RateLimit> {
        self.zones
            .get(zone)
            .map(|z| z.limits.iter().filter(|l| l.covers(target)).collect())
            .unwrap_or_default()
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
    let paths = rule.paths.as_ref().map(|list| {
        if list.is_empty() {
            problems.push(format!("{}.paths: omit it, or list at least one path prefix", at()));
        }
        for (j, p) in list.iter().enumerate() {
            if let Err(msg) = check_path_prefix(p) {
                problems.push(format!("{}.paths[{j}]: `{p}`: {msg}", at()));
            }
        }
        list.iter().map(|p| PathPrefix::new(p)).collect::<Box<[_]>>()
    });
    let index = zone.rules.len() as u32;
    let entry = Entry {
        effect: rule.effect,
        schemes,
        ports: rule.ports.is_some(),
        paths: paths.is_some(),
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
        paths,
    });
}

/// A path prefix as the normalized path of a request would spell it: starting with `/`, no query or
/// fragment, no dot segments, percent-encoded as WHATWG encodes (so it can match byte for byte).
fn check_path_prefix(p: &str) -> Result<(), String> {
    if !p.starts_with('/') || p.len() > 1024 {
        return Err("a path prefix starts with `/` (at most 1024 characters)".into());
    }
    if p.contains(['?', '#']) {
        return Err("a path prefix has no query or fragment".into());
    }
    let normalized = url::Url::parse(&format!("http://h{p}"))
        .map(|u| u.path().to_owned())
        .map_err(|e| format!("not a valid path: {e}"))?;
    if normalized != p {
        return Err(format!("not in normalized form; write `{normalized}`"));
    }
    PathPrefix::check(p)
}
