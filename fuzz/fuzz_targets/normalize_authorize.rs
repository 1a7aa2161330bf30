//! Fuzzes `Target::from_url`, `Target::from_domain` and `authorize_egress`.
//!
//! The input is split at its first `\n`: the part before is tried as a `url`, the part after as a `domain`
//! (without a `\n`, the whole input is tried as both). Invariants, for every accepted target:
//! - nothing panics;
//! - the target re-normalizes to itself from its display form, its parts, and its host as a `domain`;
//! - it means what it means to a WHATWG parser (same host, port and path), so the host we authorize is the
//!   host a WHATWG client connects to;
//! - a `domain` and `https://<domain>/` normalize to the same target;
//! - a path rebuilt from storage (`Target::from_parts`) is rejected unless it is already normalized;
//! - a special target is never allowed, by the example policy or by a policy written to allow it, in enforce or
//!   shadow mode; shadow mode never changes `policy_decision`, the reason or the rule.

#![no_main]

#[path = "../../shared/tests/oracle/shadow.rs"]
mod oracle;

use std::net::Ipv6Addr;
use std::sync::OnceLock;

use egress_core::{Effect, Mode, Reason};
use egress_core::special_target;
use egress_core::{authorize_egress, CompiledPolicy, Target};
use libfuzzer_sys::fuzz_target;

/// The example policy that `make dev` loads.
const DEFAULT_POLICY: &str = include_str!("../../infra/policy/default.yaml");

/// A policy that tries hard to allow internal targets; `MODE` is replaced by enforce or shadow.
const HOSTILE_POLICY: &str = r#"
mode: MODE
zones:
  default:
    members: ["*"]
    default: require_approval
    rules:
      - id: allow-internal-ips
        effect: allow
        hosts: ["127.0.0.1", "169.254.169.254", "10.0.0.1", "0.0.0.0", "[::1]", "[fd00:ec2::254]", "[::ffff:7f00:1]"]
      - id: allow-internal-names
        effect: allow
        hosts: ["localhost", "foo.localhost", "metadata", "metadata.google.internal", "*.google.internal",
                "*.home.arpa", "*.cluster.local"]
      - id: allow-public
        effect: allow
        hosts: ["example.com", "*.example.com", "93.184.216.34"]
      - id: deny-evil
        effect: deny
        hosts: ["*.evil.com"]
  agents:
    members: ["agent-*"]
    default: deny
    mode: shadow
    rules:
      - id: agents-allow-all-internal
        effect: allow
        hosts: ["127.0.0.1", "localhost", "[::1]"]
"#;

struct Policies {
    default: CompiledPolicy,
    enforce: CompiledPolicy,
    shadow: CompiledPolicy,
}

fn policies() -> &'static Policies {
    static P: OnceLock<Policies> = OnceLock::new();
    P.get_or_init(|| Policies {
        default: CompiledPolicy::from_yaml(DEFAULT_POLICY).expect("infra/policy/default.yaml compiles"),
        enforce: CompiledPolicy::from_yaml(&HOSTILE_POLICY.replace("MODE", "enforce")).expect("hostile policy"),
        shadow: CompiledPolicy::from_yaml(&HOSTILE_POLICY.replace("MODE", "shadow")).expect("hostile policy"),
    })
}

const CALLERS: &[(&str, &str)] = &[
    ("alice", "default"),
    ("agent-7", "agents"),
    ("researcher@example.com", "research"),
    ("alice", "no-such-zone"),
];

fn check_target(input: &str, t: &Target) {
    // Fixed point through every way a target is rebuilt.
    let display = t.to_string();
    assert_eq!(
        Target::from_url(&display).as_ref(),
        Ok(t),
        "{input:?} -> {display} is not a fixed point"
    );
    let host = t.host().to_string();
    let as_domain = Target::from_domain(&host).unwrap_or_else(|e| panic!("host {host} of {input:?} rejected: {e}"));
    assert_eq!(
        as_domain.host(),
        t.host(),
        "host {host} of {input:?} changes as a domain"
    );
    let rebuilt = Target::from_parts(t.scheme().as_str(), &host, t.port(), t.path());
    assert_eq!(rebuilt.as_ref(), Ok(t), "{display} does not rebuild from its parts");
    assert_eq!(
        special_target(&as_domain),
        special_target(t),
        "special verdict changes for {display}"
    );

    let special = special_target(t);
    for (principal, zone) in CALLERS {
        let p = policies();
        for policy in [&p.default, &p.enforce, &p.shadow] {
            let d = authorize_egress(policy, *principal, zone, t);
            if special.is_some() {
                assert_ne!(d.effective(), Effect::Allow, "special target {display} allowed: {d:?}");
                assert_eq!(d.reason(), Reason::InternalTarget, "{display}: {d:?}");
                assert_eq!(d.rule(), None);
            }
            let softened = d.mode() == Mode::Shadow && oracle::softened_in_shadow(d.reason());
            let expected = if softened { Effect::Allow } else { d.policy_decision() };
            assert_eq!(d.effective(), expected, "{display}: {d:?}");
        }
        let e = authorize_egress(&p.enforce, *principal, zone, t);
        let s = authorize_egress(&p.shadow, *principal, zone, t);
        assert_eq!(
            e.policy_decision(),
            s.policy_decision(),
            "shadow changed the policy decision for {display}"
        );
        assert_eq!(e.reason(), s.reason());
        assert_eq!(e.rule(), s.rule());
    }
}

fn check_url(input: &str) {
    let Ok(t) = Target::from_url(input) else { return };
    let url = url::Url::parse(input).unwrap_or_else(|e| panic!("{input:?} accepted as {t} but WHATWG fails: {e}"));
    let host = url.host_str().unwrap_or_default();
    assert_eq!(
        host.strip_suffix('.').unwrap_or(host),
        t.host().to_string(),
        "host of {input:?}"
    );
    assert_eq!(url.port_or_known_default(), Some(t.port()), "port of {input:?}");
    assert_eq!(url.path(), t.path(), "path of {input:?}");
    check_target(input, &t);
}

fn check_domain(input: &str) {
    // Without URL delimiters, `<domain>` and `https://<domain>/` must be accepted or rejected together.
    if !input.is_empty() && !input.contains(['/', '?', '#', '@', '[', ']', ':', '%', '\\']) {
        let as_domain = Target::from_domain(input);
        let as_url = Target::from_url(&format!("https://{input}/"));
        assert_eq!(
            as_domain.is_ok(),
            as_url.is_ok(),
            "{input:?}: domain {as_domain:?}, url {as_url:?}"
        );
    }
    let Ok(t) = Target::from_domain(input) else { return };
    let authority = if input.parse::<Ipv6Addr>().is_ok() {
        format!("[{input}]")
    } else {
        input.to_owned()
    };
    let via_url = Target::from_url(&format!("https://{authority}/"));
    assert_eq!(
        via_url.as_ref(),
        Ok(&t),
        "{input:?} differs as a domain and inside a URL"
    );
    check_target(input, &t);
}

/// A stored path is either rejected or already normalized.
fn check_parts(path: &str) {
    if let Ok(t) = Target::from_parts("https", "example.com", 443, path) {
        assert_eq!(
            Target::from_url(&t.to_string()).as_ref(),
            Ok(&t),
            "stored path {path:?} is not normalized"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match text.split_once('\n') {
        Some((url, domain)) => {
            check_url(url);
            check_domain(domain);
            check_parts(url);
        }
        None => {
            check_url(&text);
            check_domain(&text);
            check_parts(&text);
        }
    }
});
