//! The policy document as written (YAML, or its JSON form): its types, parsing, version and JSON form.
//! Unknown fields and duplicate zones are errors: a typo must never silently drop a rule.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::decision::{DefaultEffect, Effect, Mode};
use super::dlp::DlpAction;
use super::limits::LimitScope;
use super::CompiledPolicy;
use crate::normalize::Scheme;

/// The policy document as written. Unknown fields are errors: a typo must never silently drop a rule.
/// It serializes back to the same meaning (see [`to_json_form`]).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyDocument {
    /// The mode of every zone that does not set its own (default `enforce`).
    #[serde(default)]
    pub mode: Mode,
    /// Engaged, every request is denied (precedence step 1); the kill-switch parameter can engage it too.
    #[serde(default)]
    pub kill_switch: KillSwitch,
    /// Principals (same patterns as zone members) who may read every request on the read path.
    #[serde(default)]
    pub auditors: Vec<String>,
    /// Principals (the enforcing proxy's role) that may ask on an agent's behalf with its proxy token
    /// (`X-Egress-Proxy-Token`); never `*`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub enforcers: Vec<String>,
    /// The zones by name (1-64 characters of a-z, 0-9 and `-`); at least one, none twice.
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

/// The document's `kill_switch` (off when absent).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KillSwitch {
    /// Whether every request is denied (reason `kill_switch`).
    #[serde(default)]
    pub engaged: bool,
    /// Why it is engaged, for the people who read the policy (at most 512 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A zone as written: who may use it, its rules and default, and its DLP, approval and rate-limit settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneDocument {
    /// Free text for the people who read the policy; the gateway never reads it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Exact principals, `prefix*` patterns, or `*` for everyone.
    pub members: Vec<String>,
    /// What the zone answers when no rule matches (precedence step 6; default `deny`).
    #[serde(default)]
    pub default: DefaultEffect,
    /// Overrides the global mode for this zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    /// Secrets-in-URL detection (precedence step 4); on (`deny`) unless said otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dlp: Option<DlpDocument>,
    /// Who may decide this zone's approvals (principal patterns; never `*`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approvers: Vec<String>,
    /// How long approvals wait and grants may last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalDocument>,
    /// The zone's rules (precedence step 5).
    #[serde(default)]
    pub rules: Vec<RuleDocument>,
    /// Limits on allowed requests per window (precedence step 8); all that match a request apply.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rate_limits: Vec<RateLimitDocument>,
}

/// A zone's `approval` as written; compiled into [`ApprovalSettings`](crate::policy::ApprovalSettings).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalDocument {
    /// How long an approval waits for a decision (default 86400).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_ttl_seconds: Option<u32>,
    /// The longest grant an approver may give (default 86400).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_grant_seconds: Option<u32>,
}

/// One of a zone's `rate_limits` as written (precedence step 8).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitDocument {
    /// Unique in the zone: 1-128 characters of A-Z a-z 0-9 - _ .
    pub id: String,
    /// Host patterns as in rules, or `["*"]` for every host.
    pub hosts: Vec<String>,
    /// Whose budget a request spends.
    pub per: LimitScope,
    /// Allowed requests per window (at least 1).
    pub limit: u32,
    /// The window's length in seconds, 1 to 86400.
    pub window_seconds: u32,
}

/// A zone's `dlp` as written.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DlpDocument {
    /// What a credential in the URL does (precedence step 4; default `deny`).
    #[serde(default)]
    pub secrets_in_url: DlpAction,
}

/// One rule of a zone as written: its effect applies to targets that match its hosts and, when given, its
/// schemes, ports and paths.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDocument {
    /// Unique in the policy (1-128 characters of A-Z a-z 0-9 - _ . : /); recorded as `rule`.
    pub id: String,
    /// What the rule answers for a target it matches.
    pub effect: Effect,
    /// Host patterns, at least one: `example.com`, `*.example.com` (subdomains only), or an IP literal.
    pub hosts: Vec<String>,
    /// The schemes it matches (not empty); every scheme when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schemes: Option<Vec<Scheme>>,
    /// The ports it matches (1-65535, not empty); every port when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ports: Option<Vec<u16>>,
    /// Path prefixes, matched at segment boundaries on every reading of the request path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paths: Option<Vec<String>>,
    /// Free text for the people who read the policy; the gateway never reads it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A policy that failed validation; `problems` name each bad entry by its path in the document.
#[derive(Debug, Clone, thiserror::Error)]
#[error("invalid policy: {}", problems.join("; "))]
pub struct PolicyError {
    /// One entry per problem, led by its path in the document when it has one (`zones.a.rules[0].id: …`).
    pub problems: Vec<String>,
}

pub(super) fn parse_document(text: &str) -> Result<PolicyDocument, PolicyError> {
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
/// loads several times faster (docs/BENCHMARKS.md has the figures). Converting
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
