//! Host patterns of rules: `example.com` (that host), `*.example.com` (every subdomain, not the apex), IP
//! literals; written in normalized form, never a wildcard over a public suffix, nor (but to deny) over a
//! domain that holds public suffixes or hosting tenants beneath it.

use std::collections::HashSet;
use std::sync::LazyLock;

use crate::normalize::{normalize_host, Host};

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
            if effect != Effect::Deny && holds_tenants(&d) {
                return Err(format!(
                    "`{d}` holds domains of unrelated owners beneath it (a public suffix below it in the Public \
                     Suffix List, or a multi-tenant hosting domain): a wildcard over it covers every tenant; \
                     name your own domain, e.g. `*.example.{d}` only if that is yours (deny rules may cover it)"
                ));
            }
            if effect != Effect::Deny {
                if let Some(cloud) = shared_cloud_domain(&d) {
                    return Err(format!(
                        "`{d}` is under `{cloud}`, a cloud provider's shared domain: names beneath it belong to \
                         unrelated owners (every customer's storage accounts, databases, vaults, registries and \
                         endpoints), and the Public Suffix List does not mark where one owner's names begin; \
                         name the exact host(s) instead, e.g. `myaccount.{d}` (deny rules may cover it)"
                    ));
                }
            }
            Ok(HostPattern::Suffix(d))
        }
        Host::Ipv4(_) | Host::Ipv6(_) if wild => Err("a wildcard cannot apply to an IP address".into()),
        // Keyed by the address the rule names, so `[64:ff9b::808:808]` is `8.8.8.8`; a 6to4 address stands
        // for its IPv4 address only in a restriction (see `Host::rule_key` and `Host::allow_key`).
        h => Ok(HostPattern::Exact(match effect {
            Effect::Allow => h.allow_key().into_owned(),
            Effect::Deny | Effect::RequireApproval => h.rule_key().into_owned(),
        })),
    }
}

/// The section of the Public Suffix List `d` is in, when `d` is itself a public suffix: ICANN (`co.uk`) or
/// private (`s3.amazonaws.com`, `github.io`). Anyone can register names directly under it.
fn public_suffix(d: &str) -> Option<psl::Type> {
    psl::suffix(d.as_bytes())
        .filter(|s| s.as_bytes() == d.as_bytes())
        .and_then(|s| s.typ())
}

/// Hosting domains outside the Public Suffix List whose subdomains belong to unrelated customers. Each was
/// checked against the list (psl 2.1.247): it is not a rule there. Already covered by the list (a wildcard
/// over them is a wildcard over a public suffix): ngrok (`ngrok.io`, `ngrok-free.app`, `ngrok.app`,
/// `ngrok.dev`, `ngrok-free.dev`, `ngrok.pizza`), `trycloudflare.com`, `web.app`, `appspot.com`,
/// `cloudfront.net`, `googleapis.com`, `azurewebsites.net`. Cloud providers' shared domains are refused as a
/// whole by [`CLOUD_DOMAINS`]; the entries here are what that rule cannot see.
const MULTI_TENANT_PARENTS: &[&str] = &[
    // Google's user-content domain: Apps Script web apps (`script.googleusercontent.com`), per-project
    // `*-apidata.googleusercontent.com`, Colab and Drive previews, all serving anyone's content.
    "googleusercontent.com",
    // Azure public-IP DNS labels, `<label>.<region>.cloudapp.azure.com`: any subscription's VM.
    "cloudapp.azure.com",
    // Azure Container Apps, `<app>.<env>.<region>.azurecontainerapps.io`.
    "azurecontainerapps.io",
    // GitHub Codespaces forwarded ports, `<codespace>-<port>.app.github.dev`: any GitHub user.
    "app.github.dev",
    // Modal web endpoints, `<workspace>--<app>.modal.run`.
    "modal.run",
    // Cloudflare R2's S3 API, `<account>.r2.cloudflarestorage.com`.
    "r2.cloudflarestorage.com",
    // Cloud services whose first label under a PSL suffix is a service, not a customer (the PSL marks
    // `googleapis.com` and `azurewebsites.net` as suffixes, so `*.<label>.<suffix>` would pass as a
    // tenant's own subtree): Cloud Storage buckets `<bucket>.storage.googleapis.com`, App Service's Kudu
    // sites `<app>.scm.azurewebsites.net`.
    "storage.googleapis.com",
    "scm.azurewebsites.net",
    // Tunnels: a public name for anyone's local server. localtunnel (`<sub>.loca.lt`, `localtunnel.me`),
    // Serveo (`serveo.net`, `serveousercontent.com`), localhost.run (`<id>.lhr.life`), Pinggy
    // (`<id>.a.pinggy.io`, `pinggy.link`).
    "loca.lt",
    "localtunnel.me",
    "serveo.net",
    "serveousercontent.com",
    "localhost.run",
    "lhr.life",
    "a.pinggy.io",
    "pinggy.link",
    // Request catchers and out-of-band interaction servers: every subdomain is someone's inbox for
    // exfiltrated data. Pipedream (`<id>.m.pipedream.net`), RequestBin, Hookbin, webhook.site, Request
    // Catcher, Beeceptor, Burp Collaborator (`oastify.com`, `burpcollaborator.net`), ProjectDiscovery's
    // interactsh (`interact.sh` and the `oast.*` servers), Canarytokens.
    "m.pipedream.net",
    "requestbin.net",
    "hookbin.com",
    "webhook.site",
    "requestcatcher.com",
    "beeceptor.com",
    "oastify.com",
    "burpcollaborator.net",
    "interact.sh",
    "oast.pro",
    "oast.live",
    "oast.site",
    "oast.online",
    "oast.fun",
    "oast.me",
    "canarytokens.com",
    // Wildcard DNS: `<anything>.<ip>.nip.io` resolves to that IP, whoever wrote it.
    "nip.io",
    "sslip.io",
    "xip.io",
    "traefik.me",
];

/// Cloud providers' shared top domains: every name beneath them is some customer's resource or one of the
/// provider's services shared by all customers (`<account>.dfs.core.windows.net`, `<vault>.vault.azure.net`,
/// `<api>.appsync-api.<region>.amazonaws.com`). A non-deny wildcard at or under one is refused, but over a
/// subtree the Public Suffix List gives a single owner: at or below a registrable domain whose suffix is
/// itself under the cloud domain (`*.bucket.s3.amazonaws.com`, `*.myapp.azurewebsites.net`), and that is
/// not a shared zone or private-endpoint label ([`shared_service_label`]).
const CLOUD_DOMAINS: &[&str] = &[
    // AWS.
    "amazonaws.com",
    "amazonaws.com.cn",
    "on.aws",
    "cloudfront.net",
    "awsapps.com",
    "amplifyapp.com",
    "elasticbeanstalk.com",
    // Azure, public and sovereign clouds.
    "windows.net",
    "azure.net",
    "azure.com",
    "azure.cn",
    "azure-api.net",
    "azurecr.io",
    "azurewebsites.net",
    "azurestaticapps.net",
    "azureedge.net",
    "azurefd.net",
    "azure-devices.net",
    "chinacloudapi.cn",
    "usgovcloudapi.net",
    // Google Cloud and Firebase.
    "googleapis.com",
    "appspot.com",
    "cloudfunctions.net",
    "run.app",
    "web.app",
    "firebaseapp.com",
    "firebaseio.com",
    "firebasestorage.app",
];

/// The cloud domain `d` is at or under, unless the Public Suffix List puts `d` inside one owner's subtree.
fn shared_cloud_domain(d: &str) -> Option<&'static str> {
    let under = |d: &str, parent: &str| {
        d == parent
            || (d.len() > parent.len() && d.ends_with(parent) && d.as_bytes()[d.len() - parent.len() - 1] == b'.')
    };
    let cloud = CLOUD_DOMAINS.iter().copied().find(|c| under(d, c))?;
    let suffix = psl::suffix(d.as_bytes())
        .filter(|s| s.is_known())
        .and_then(|s| std::str::from_utf8(s.as_bytes()).ok())
        .filter(|s| under(s, cloud) && d.len() > s.len());
    let Some(suffix) = suffix else {
        return Some(cloud);
    };
    // A region's suffix (`us-east-1.amazonaws.com`, for EC2 names) has services above it, not owners:
    // `<api>.appsync-api.us-east-1.amazonaws.com`.
    let region = suffix
        .strip_suffix(cloud)
        .and_then(|r| r.strip_suffix('.'))
        .is_some_and(region_like);
    // The label just above the suffix: the owner's, unless it names a shared zone.
    let owner = d[..d.len() - suffix.len() - 1].rsplit('.').next().unwrap_or_default();
    (region || shared_service_label(owner)).then_some(cloud)
}

/// A cloud region's name: words joined by `-`, the last a number (`us-east-1`, `us-gov-west-1`,
/// `cn-north-1`).
fn region_like(label: &str) -> bool {
    let mut words = label.rsplit('-');
    let number = words
        .next()
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    let rest: Vec<&str> = words.collect();
    number
        && rest.len() >= 2
        && rest
            .iter()
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
}

/// Labels that stand where an owner's would but name a zone every customer shares: Azure Storage's static
/// website zones (`<account>.z13.web.core.windows.net`) and Azure Private Link zones
/// (`<account>.privatelink.blob.core.windows.net`).
fn shared_service_label(label: &str) -> bool {
    let zone = label
        .strip_prefix('z')
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    zone || label == "privatelink"
}

/// Every proper ancestor (with a dot) of a Public Suffix List rule that is not itself a rule (`on.aws`,
/// `core.windows.net`, `amazonaws.com`), generated from the `psl` crate's own list; a test regenerates it
/// and fails on drift.
const SUFFIX_PARENTS: &str = include_str!("suffix_parents.txt");

/// The generated parents, the curated hosting domains and their ancestors with a dot (`*.azure.com` covers
/// `cloudapp.azure.com`'s tenants too). Built on first use: only policy compilation asks.
static TENANT_PARENTS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    let generated = SUFFIX_PARENTS.lines().filter(|l| !l.is_empty() && !l.starts_with('#'));
    let curated = MULTI_TENANT_PARENTS
        .iter()
        .flat_map(|p| p.match_indices('.').map(move |(i, _)| &p[i + 1..]).chain([*p]))
        .filter(|a| a.contains('.'));
    generated.chain(curated).collect()
});

/// Whether domains of unrelated owners sit beneath `d`: a public suffix below it, or hosting tenants.
fn holds_tenants(d: &str) -> bool {
    TENANT_PARENTS.contains(d)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// The parents of `rules` (the PSL's `data/rules.txt` as the `psl` crate ships it): for each rule (a
    /// wildcard rule `*.x.y` makes every `?.x.y` a suffix, so `x.y` itself counts), every proper ancestor
    /// with a dot, in ASCII, that is not itself a rule. Exception rules (`!x.y.z`) sit under a wildcard
    /// rule whose parents are already counted.
    fn suffix_parents_of(rules: &str) -> BTreeSet<String> {
        let ascii = |name: &str| idna::domain_to_ascii(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        let lines: Vec<&str> = rules
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("//") && !l.starts_with('!'))
            .collect();
        let exact: HashSet<String> = lines
            .iter()
            .filter(|l| !l.starts_with("*."))
            .map(|l| ascii(l))
            .collect();
        let mut out = BTreeSet::new();
        for line in lines {
            let (wild, name) = match line.strip_prefix("*.") {
                Some(base) => (true, ascii(base)),
                None => (false, ascii(line)),
            };
            let mut candidates: Vec<&str> = name.match_indices('.').map(|(i, _)| &name[i + 1..]).collect();
            if wild {
                candidates.push(&name);
            }
            for c in candidates {
                if c.contains('.') && !exact.contains(c) {
                    out.insert(c.to_owned());
                }
            }
        }
        out
    }

    /// `data/rules.txt` of the `psl` package this crate builds with, located by `cargo metadata` (so the
    /// exact version in Cargo.lock, wherever the registry lives), and that version. Offline, and for the
    /// host only: an unfiltered resolve wants every platform's crates (android_system_properties, ...),
    /// which a registry warmed by building here does not hold.
    fn psl_rules() -> (String, String) {
        let cargo = env!("CARGO");
        let version = std::process::Command::new(cargo)
            .arg("-vV")
            .output()
            .expect("cargo -vV runs");
        let version = String::from_utf8_lossy(&version.stdout).into_owned();
        let host = version
            .lines()
            .find_map(|l| l.strip_prefix("host: "))
            .expect("cargo -vV names its host");
        let out = std::process::Command::new(cargo)
            .args([
                "metadata",
                "--format-version",
                "1",
                "--offline",
                "--filter-platform",
                host,
            ])
            .arg("--manifest-path")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
            .output()
            .expect("cargo metadata runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("cargo metadata is JSON");
        let psl = meta["packages"]
            .as_array()
            .and_then(|p| p.iter().find(|p| p["name"] == "psl"))
            .expect("psl is a dependency");
        let manifest = psl["manifest_path"].as_str().expect("manifest_path");
        let rules = std::path::Path::new(manifest).with_file_name("data/rules.txt");
        let text = std::fs::read_to_string(&rules).unwrap_or_else(|e| panic!("{}: {e}", rules.display()));
        (text, psl["version"].as_str().unwrap_or_default().to_owned())
    }

    /// The checked-in list is what the psl crate's list gives. After a `psl` upgrade, regenerate it:
    /// `REGENERATE_SUFFIX_PARENTS=1 cargo test -p egress-core --no-default-features --lib suffix_parents`.
    #[test]
    fn suffix_parents_match_the_psl_crate() {
        let (rules, version) = psl_rules();
        let mut want = format!(
            "# Generated from data/rules.txt of the psl crate {version} by hosts.rs's \
             suffix_parents_match_the_psl_crate; do not edit.\n\
             # Every proper ancestor (with a dot) of a Public Suffix List rule that is not itself a rule.\n"
        );
        for name in suffix_parents_of(&rules) {
            want.push_str(&name);
            want.push('\n');
        }
        if std::env::var_os("REGENERATE_SUFFIX_PARENTS").is_some() {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/policy/suffix_parents.txt");
            std::fs::write(path, &want).expect("write suffix_parents.txt");
            return;
        }
        assert!(
            SUFFIX_PARENTS == want,
            "suffix_parents.txt is out of date with psl {version}: run REGENERATE_SUFFIX_PARENTS=1 cargo test \
             -p egress-core --no-default-features --lib suffix_parents"
        );
    }

    /// No curated hosting domain is in the PSL (then it belongs to the generated list), and the parents
    /// the issue names are refused.
    #[test]
    fn tenant_parents_cover_the_known_cases() {
        for p in MULTI_TENANT_PARENTS {
            assert_eq!(public_suffix(p), None, "{p} is in the PSL");
            assert!(holds_tenants(p), "{p}");
        }
        for d in [
            "on.aws",
            "us-east-1.on.aws",
            "core.windows.net",
            "windows.net",
            "googleusercontent.com",
            "amazonaws.com",
            "run.app",
            "azure.com",
            "github.dev",
        ] {
            assert!(holds_tenants(d), "{d}");
        }
        for d in [
            "example.com",
            "github.com",
            "bucket.s3.amazonaws.com",
            "example.co.uk",
            "co.uk",
            "com",
        ] {
            assert!(!holds_tenants(d), "{d}");
        }
    }
}
