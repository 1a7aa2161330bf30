//! Host patterns of rules: `example.com` (that host), `*.example.com` (every subdomain, not the apex), IP
//! literals; written in normalized form, never a wildcard over a public suffix.

use crate::{normalize_host, Host};

use super::decision::Effect;

pub(super) enum HostPattern {
    Exact(Host),
    Suffix(String),
}

pub(super) fn parse_host_pattern(p: &str, effect: Effect) -> Result<HostPattern, String> {
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
        // Keyed by the address a rule names, so `[64:ff9b::808:808]` is `8.8.8.8` (see `Host::rule_key`).
        h => Ok(HostPattern::Exact(h.rule_key().into_owned())),
    }
}

/// The section of the Public Suffix List `d` is in, when `d` is itself a public suffix: ICANN (`co.uk`) or
/// private (`s3.amazonaws.com`, `github.io`). Anyone can register names directly under it.
fn public_suffix(d: &str) -> Option<psl::Type> {
    psl::suffix(d.as_bytes())
        .filter(|s| s.as_bytes() == d.as_bytes())
        .and_then(|s| s.typ())
}
