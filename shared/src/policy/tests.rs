//! Policy logic tables: precedence, matching, validation messages and the JSON form, on compiled documents.

use super::*;
use crate::normalize::{Host, NormalizeError, Target};

const DOC: &str = r#"
mode: enforce
auditors: ["arn:aws:iam::111111111111:role/secops"]
zones:
  default:
    members: ["*"]
    default: deny
    rules:
      - id: allow-github
        effect: allow
        hosts: ["github.com", "*.github.com"]
      - id: approve-pastebin
        effect: require_approval
        hosts: ["pastebin.com"]
      - id: deny-gist
        effect: deny
        hosts: ["gist.github.com"]
      - id: approve-raw
        effect: require_approval
        hosts: ["*.raw.github.com"]
      - id: https-only-api
        effect: allow
        hosts: ["api.example.com"]
        schemes: [https]
        ports: [443, 8443]
      - id: allow-ip
        effect: allow
        hosts: ["93.184.216.34", "[2606:2800:220:1::1]"]
  agents:
    members: ["arn:aws:iam::123456789012:role/agent-*", "alice"]
    default: require_approval
    mode: shadow
    rules:
      - id: agents-deny-evil
        effect: deny
        hosts: ["*.evil.com"]
"#;

fn policy() -> CompiledPolicy {
    CompiledPolicy::from_yaml(DOC).unwrap()
}

fn decide(p: &CompiledPolicy, principal: &str, zone: &str, url: &str) -> Decision {
    authorize_egress(p, principal, zone, &Target::from_url(url).unwrap())
}

/// The decimal spelling of an allowed address (93.184.216.34) used to match its rule. It is refused now:
/// Go and Java resolve `1572395042` as a DNS name, so the address we would authorize is not the host
/// every client reaches (normalize `check_ipv4`).
#[test]
fn another_spelling_of_an_allowed_ip_is_refused_before_policy() {
    assert_eq!(
        Target::from_url("http://1572395042/").unwrap_err(),
        NormalizeError::AmbiguousIpv4
    );
}

#[test]
fn precedence_table() {
    let p = policy();
    // (principal, zone, url, effective, policy_decision, reason, rule)
    type Case<'a> = (&'a str, &'a str, &'a str, Effect, Effect, Reason, Option<&'a str>);
    let cases: &[Case] = &[
        (
            "bob",
            "default",
            "https://github.com/x",
            Effect::Allow,
            Effect::Allow,
            Reason::RuleAllow,
            Some("allow-github"),
        ),
        (
            "bob",
            "default",
            "https://a.b.github.com/",
            Effect::Allow,
            Effect::Allow,
            Reason::RuleAllow,
            Some("allow-github"),
        ),
        (
            "bob",
            "default",
            "https://gist.github.com/",
            Effect::Deny,
            Effect::Deny,
            Reason::RuleDeny,
            Some("deny-gist"),
        ),
        (
            "bob",
            "default",
            "https://x.raw.github.com/",
            Effect::RequireApproval,
            Effect::RequireApproval,
            Reason::RuleRequireApproval,
            Some("approve-raw"),
        ),
        (
            "bob",
            "default",
            "https://raw.github.com/",
            Effect::Allow,
            Effect::Allow,
            Reason::RuleAllow,
            Some("allow-github"),
        ),
        (
            "bob",
            "default",
            "https://pastebin.com/",
            Effect::RequireApproval,
            Effect::RequireApproval,
            Reason::RuleRequireApproval,
            Some("approve-pastebin"),
        ),
        (
            "bob",
            "default",
            "https://example.org/",
            Effect::Deny,
            Effect::Deny,
            Reason::DefaultDeny,
            None,
        ),
        (
            "bob",
            "default",
            "https://github.com.evil.com/",
            Effect::Deny,
            Effect::Deny,
            Reason::DefaultDeny,
            None,
        ),
        (
            "bob",
            "default",
            "https://evilgithub.com/",
            Effect::Deny,
            Effect::Deny,
            Reason::DefaultDeny,
            None,
        ),
        (
            "bob",
            "default",
            "https://api.example.com/",
            Effect::Allow,
            Effect::Allow,
            Reason::RuleAllow,
            Some("https-only-api"),
        ),
        (
            "bob",
            "default",
            "https://api.example.com:8443/",
            Effect::Allow,
            Effect::Allow,
            Reason::RuleAllow,
            Some("https-only-api"),
        ),
        (
            "bob",
            "default",
            "http://api.example.com/",
            Effect::Deny,
            Effect::Deny,
            Reason::DefaultDeny,
            None,
        ),
        (
            "bob",
            "default",
            "https://api.example.com:444/",
            Effect::Deny,
            Effect::Deny,
            Reason::DefaultDeny,
            None,
        ),
        (
            "bob",
            "default",
            "http://93.184.216.34/",
            Effect::Allow,
            Effect::Allow,
            Reason::RuleAllow,
            Some("allow-ip"),
        ),
        (
            "bob",
            "default",
            "http://[2606:2800:220:1:0::1]/",
            Effect::Allow,
            Effect::Allow,
            Reason::RuleAllow,
            Some("allow-ip"),
        ),
        (
            "bob",
            "default",
            "http://127.0.0.1/",
            Effect::Deny,
            Effect::Deny,
            Reason::InternalTarget,
            None,
        ),
        (
            "bob",
            "nope",
            "https://github.com/",
            Effect::Deny,
            Effect::Deny,
            Reason::ZoneNotPermitted,
            None,
        ),
        (
            "bob",
            "agents",
            "https://github.com/",
            Effect::Deny,
            Effect::Deny,
            Reason::ZoneNotPermitted,
            None,
        ),
        (
            "arn:aws:iam::123456789012:role/agent-7",
            "agents",
            "https://x.evil.com/",
            Effect::Allow,
            Effect::Deny,
            Reason::RuleDeny,
            Some("agents-deny-evil"),
        ),
        (
            "alice",
            "agents",
            "https://github.com/",
            Effect::Allow,
            Effect::RequireApproval,
            Reason::DefaultRequireApproval,
            None,
        ),
        (
            "alice",
            "agents",
            "http://[::1]/",
            Effect::Deny,
            Effect::Deny,
            Reason::InternalTarget,
            None,
        ),
        (
            "arn:aws:iam::123456789012:role/agentX",
            "agents",
            "https://github.com/",
            Effect::Deny,
            Effect::Deny,
            Reason::ZoneNotPermitted,
            None,
        ),
    ];
    for (principal, zone, url, eff, pol, reason, rule) in cases {
        let d = decide(&p, principal, zone, url);
        assert_eq!(
            (d.effective(), d.policy_decision(), d.reason(), d.rule()),
            (*eff, *pol, *reason, *rule),
            "{principal} {zone} {url}"
        );
        assert_eq!(d.policy_version(), Some(p.version()));
    }
}

#[test]
fn kill_switch_beats_everything_in_every_mode() {
    for mode in ["enforce", "shadow"] {
        let doc = DOC.replace(
            "mode: enforce",
            &format!("mode: {mode}\nkill_switch: {{engaged: true, reason: incident-42}}"),
        );
        let p = CompiledPolicy::from_yaml(&doc).unwrap();
        for (principal, zone, url) in [
            ("bob", "default", "https://github.com/"),
            ("alice", "agents", "https://x/"),
            ("x", "nope", "http://10.0.0.1/"),
        ] {
            let d = decide(&p, principal, zone, url);
            assert_eq!(
                (d.effective(), d.reason()),
                (Effect::Deny, Reason::KillSwitch),
                "{mode} {url}"
            );
        }
        assert_eq!(p.kill_switch_reason(), Some("incident-42"));
    }
}

#[test]
fn global_shadow_applies_to_rules_and_defaults_only() {
    let p = CompiledPolicy::from_yaml(&DOC.replace("mode: enforce", "mode: shadow")).unwrap();
    let d = decide(&p, "bob", "default", "https://gist.github.com/");
    assert_eq!(
        (d.effective(), d.policy_decision(), d.mode()),
        (Effect::Allow, Effect::Deny, Mode::Shadow)
    );
    let d = decide(&p, "bob", "default", "https://example.org/");
    assert_eq!((d.effective(), d.reason()), (Effect::Allow, Reason::DefaultDeny));
    let d = decide(&p, "bob", "default", "http://169.254.169.254/");
    assert_eq!((d.effective(), d.reason()), (Effect::Deny, Reason::InternalTarget));
    let d = decide(&p, "bob", "nope", "https://github.com/");
    assert_eq!((d.effective(), d.reason()), (Effect::Deny, Reason::ZoneNotPermitted));
}

#[test]
fn policy_unavailable_fails_closed() {
    let d = Decision::policy_unavailable();
    assert_eq!(
        (
            d.effective(),
            d.policy_decision(),
            d.reason(),
            d.rule(),
            d.policy_version()
        ),
        (Effect::Deny, Effect::Deny, Reason::PolicyUnavailable, None, None)
    );
}

#[test]
fn version_is_content_hash() {
    let a = CompiledPolicy::from_yaml(DOC).unwrap();
    let b = CompiledPolicy::from_yaml(&format!("{DOC}\n# comment\n")).unwrap();
    assert_ne!(a.version(), b.version());
    assert_eq!(a.version(), CompiledPolicy::from_yaml(DOC).unwrap().version());
    assert!(a.version().starts_with("sha256:") && a.version().len() == 39);
    assert!(a.is_auditor("arn:aws:iam::111111111111:role/secops"));
    assert!(!a.is_auditor("bob"));
}

fn problems(doc: &str) -> String {
    match CompiledPolicy::from_yaml(doc) {
        Ok(_) => panic!("accepted:\n{doc}"),
        Err(e) => e.to_string(),
    }
}

fn rule_doc(hosts: &str) -> String {
    format!("zones:\n  z:\n    members: ['*']\n    rules:\n      - {{id: r1, effect: allow, hosts: {hosts}}}\n")
}

/// A denylist zone (`default: allow`): everything not denied is allowed, but internal targets, the kill
/// switch, membership, deny rules and require_approval rules still come first.
#[test]
fn denylist_zones_allow_by_default_and_nothing_else_changes() {
    let doc = "zones:\n  open:\n    members: ['agent-*']\n    default: allow\n    rules:\n      - {id: feed-1, effect: deny, hosts: ['evil.com', '*.evil.net']}\n      - {id: ask-paste, effect: require_approval, hosts: [pastebin.com]}\n";
    let p = CompiledPolicy::from_yaml(doc).unwrap_or_else(|e| panic!("{e}"));
    let killed = CompiledPolicy::from_yaml(&format!("kill_switch: {{engaged: true}}\n{doc}")).unwrap();
    let cases = [
        (
            &p,
            "agent-1",
            "https://example.org/",
            Effect::Allow,
            Reason::DefaultAllow,
            None,
        ),
        (
            &p,
            "agent-1",
            "https://evil.com/",
            Effect::Deny,
            Reason::RuleDeny,
            Some("feed-1"),
        ),
        (
            &p,
            "agent-1",
            "https://a.b.evil.net/",
            Effect::Deny,
            Reason::RuleDeny,
            Some("feed-1"),
        ),
        (
            &p,
            "agent-1",
            "https://pastebin.com/",
            Effect::RequireApproval,
            Reason::RuleRequireApproval,
            Some("ask-paste"),
        ),
        (
            &p,
            "agent-1",
            "http://169.254.169.254/",
            Effect::Deny,
            Reason::InternalTarget,
            None,
        ),
        (
            &p,
            "agent-1",
            "http://printer.corp/",
            Effect::Deny,
            Reason::InternalTarget,
            None,
        ),
        (
            &p,
            "bob",
            "https://example.org/",
            Effect::Deny,
            Reason::ZoneNotPermitted,
            None,
        ),
        (
            &killed,
            "agent-1",
            "https://example.org/",
            Effect::Deny,
            Reason::KillSwitch,
            None,
        ),
    ];
    for (policy, principal, url, effect, reason, rule) in cases {
        let d = decide(policy, principal, "open", url);
        assert_eq!(
            (d.effective(), d.reason(), d.rule()),
            (effect, reason, rule),
            "{principal} {url}"
        );
    }
}

/// `account:` and `org:` match what the authorizer vouched for, never the principal's text.
#[test]
fn account_and_org_patterns_match_the_attested_identity() {
    use crate::policy::Subject;
    let doc = "auditors: ['org:o-a1b2c3d4e5']\nzones:\n  z:\n    members: ['account:123456789012']\n";
    let p = CompiledPolicy::from_yaml(doc).unwrap_or_else(|e| panic!("{e}"));
    let target = Target::from_url("https://example.com/").unwrap();
    let member = |who: Subject<'_>| authorize_egress(&p, who, "z", &target).reason() != Reason::ZoneNotPermitted;
    let role = "arn:aws:iam::123456789012:role/any";
    assert!(member(Subject {
        principal: role,
        account: Some("123456789012"),
        org: None
    }));
    assert!(!member(Subject {
        principal: role,
        account: Some("210987654321"),
        org: None
    }));
    assert!(
        !member(role.into()),
        "the account in the ARN text alone is not attested"
    );
    assert!(p.is_auditor(Subject {
        principal: "x",
        account: None,
        org: Some("o-a1b2c3d4e5")
    }));
    assert!(!p.is_auditor(Subject {
        principal: "org:o-a1b2c3d4e5",
        account: None,
        org: None
    }));
}

/// Wildcards under a public suffix and prefixes that end at a separator are fine; a prefix matches
/// only below its separator.
#[test]
fn registrable_wildcards_and_bounded_prefixes_are_accepted() {
    let doc = "auditors: ['arn:aws:iam::111111111111:role/secops-*']\nzones:\n  z:\n    members: ['arn:aws:iam::123456789012:role/agent-*', 'team/', 'bot@']\n    rules:\n      - {id: uk, effect: allow, hosts: ['*.example.co.uk', '*.bucket.s3.amazonaws.com']}\n      - {id: tunnels, effect: deny, hosts: ['*.ngrok.io']}\n";
    let p = CompiledPolicy::from_yaml(doc).unwrap_or_else(|e| panic!("{e}"));
    let target = Target::from_url("https://www.example.co.uk/").unwrap();
    for (principal, member) in [
        ("arn:aws:iam::123456789012:role/agent-7", true),
        ("arn:aws:iam::123456789012:role/agent-", true),
        ("arn:aws:iam::123456789012:role/agent", false),
        ("arn:aws:iam::123456789012:role/agentsmith", false),
        ("arn:aws:iam::123456789012:role/agent-7/x", true),
    ] {
        let d = authorize_egress(&p, principal, "z", &target);
        assert_eq!(d.reason() != Reason::ZoneNotPermitted, member, "{principal}");
    }
    assert!(p.is_auditor("arn:aws:iam::111111111111:role/secops-lead"));
    assert!(!p.is_auditor("arn:aws:iam::111111111111:role/secopsx"));
}

#[test]
fn validation_names_the_bad_entry() {
    let cases = [
        (rule_doc("['*example.com']"), "zones.z.rules[0].hosts[0]: `*example.com`"),
        (rule_doc("['ex*.com']"), "`ex*.com`: `*` is only allowed"),
        (rule_doc("['ok.com', 'Example.com']"), "hosts[1]: `Example.com`: not in normalized form; write `example.com`"),
        (rule_doc("['bücher.de']"), "write `xn--bcher-kva.de`"),
        (rule_doc("['example.com.']"), "write `example.com`"),
        (rule_doc("['*.com']"), "top-level domain"),
        (rule_doc("['*.1.2.3.4']"), "hosts[0]"),
        (rule_doc("['0x7f.0.0.1']"), "write `127.0.0.1`"),
        (rule_doc("['a.*.com']"), "`a.*.com`"),
        (rule_doc("['http://x.com/']"), "not a valid host"),
        (rule_doc("[]"), "at least one host"),
        (rule_doc("['*.co.uk']"), "`co.uk` is a public suffix"),
        (rule_doc("['*.s3.amazonaws.com']"), "`s3.amazonaws.com` is a public suffix"),
        (rule_doc("['*.github.io']"), "`github.io` is a public suffix"),
        ("zones:\n  z:\n    members: ['*']\n    rules:\n      - {id: r1, effect: deny, hosts: ['*.co.uk']}\n".into(), "`co.uk` is a public suffix"),
        ("auditors: ['*']\nzones:\n  z:\n    members: ['*']\n".into(), "auditors[0]: `*` (everyone) is not allowed"),
        ("zones:\n  z:\n    members: ['arn:aws:iam::123456789012:role/agent*']\n".into(), "must end at a separator"),
        ("zones:\n  z:\n    members: ['arn:aws:iam::1234*']\n".into(), "members[0]: `arn:aws:iam::1234*`: a prefix pattern"),
        ("zones:\n  z:\n    members: ['arn:aws:iam::123456789012:role/team/agent-*']\n".into(), "without a role path"),
        ("zones:\n  z:\n    members: ['arn:aws:iam::123456789012:role/team/agent']\n".into(), "without a role path"),
        ("zones:\n  z:\n    members: ['arn:aws:sts::123456789012:assumed-role/agent/s']\n".into(), "write the role"),
        ("zones:\n  z:\n    members: ['account:12345']\n".into(), "12-digit AWS account id"),
        ("zones:\n  z:\n    members: ['org:AwsOrgId']\n".into(), "AWS Organizations id"),
        ("zones:\n  Bad_Zone:\n    members: ['*']\n".into(), "zones.Bad_Zone: zone names"),
        ("zones:\n  z:\n    members: ['a*b*']\n".into(), "zones.z.members[0]: `a*b*`"),
        ("zones:\n  z:\n    members: []\n".into(), "at least one member"),
        ("zones:\n  z:\n    members: ['*']\n    default: open\n".into(), "not a valid policy document"),
        ("zones:\n  z:\n    members: ['*']\n    rulez: []\n".into(), "unknown field `rulez`"),
        ("zones: {}\n".into(), "at least one zone"),
        ("zones:\n  z:\n    members: ['*']\n    rules:\n      - {id: r1, effect: allow, hosts: [a.com]}\n      - {id: r1, effect: deny, hosts: [b.com]}\n".into(), "zones.z.rules[1].id: `r1` is used by another rule"),
        ("zones:\n  z:\n    members: ['*']\n    rules:\n      - {id: r1, effect: allow, hosts: [a.com], ports: [0]}\n".into(), "zones.z.rules[0].ports"),
        ("zones:\n  z:\n    members: ['*']\n    rules:\n      - {id: r1, effect: allow, hosts: [a.com], schemes: [ftp]}\n".into(), "not a valid policy document"),
    ];
    for (doc, want) in cases {
        let got = problems(&doc);
        assert!(got.contains(want), "expected `{want}` in `{got}`");
    }
}

#[test]
fn most_specific_rule_reported_among_equal_effects() {
    let doc = "zones:\n  z:\n    members: ['*']\n    rules:\n      - {id: wide, effect: allow, hosts: ['*.example.com']}\n      - {id: narrow, effect: allow, hosts: ['*.api.example.com']}\n      - {id: exact, effect: allow, hosts: ['v1.api.example.com']}\n";
    let p = CompiledPolicy::from_yaml(doc).unwrap();
    assert_eq!(
        decide(&p, "a", "z", "https://v1.api.example.com/").rule(),
        Some("exact")
    );
    assert_eq!(
        decide(&p, "a", "z", "https://v2.api.example.com/").rule(),
        Some("narrow")
    );
    assert_eq!(decide(&p, "a", "z", "https://api.example.com/").rule(), Some("wide"));
    assert_eq!(
        decide(&p, "a", "z", "https://example.com/").reason(),
        Reason::DefaultDeny
    );
}

#[test]
fn deny_on_a_wider_wildcard_beats_exact_allow() {
    let doc = "zones:\n  z:\n    members: ['*']\n    rules:\n      - {id: exact, effect: allow, hosts: ['a.b.example.com']}\n      - {id: deny-all, effect: deny, hosts: ['*.example.com']}\n";
    let p = CompiledPolicy::from_yaml(doc).unwrap();
    let d = decide(&p, "a", "z", "https://a.b.example.com/");
    assert_eq!((d.effective(), d.rule()), (Effect::Deny, Some("deny-all")));
}

#[test]
fn json_documents_are_read_and_checked_like_yaml() {
    let json = r#"{"zones": {"default": {"members": ["*"], "rules": [{"id": "gh", "effect": "allow", "hosts": ["github.com"]}]}}}"#;
    let p = CompiledPolicy::from_yaml(json).unwrap();
    assert_eq!(
        decide(&p, "a", "default", "https://github.com/").reason(),
        Reason::RuleAllow
    );
    let dup = r#"{"zones": {"z": {"members": ["*"]}, "z": {"members": ["x"]}}}"#;
    assert!(problems(dup).contains("zone `z` is defined twice"));
    assert!(problems(r#"{"zones": {"z": {"members": ["*"], "rulez": []}}}"#).contains("unknown field `rulez`"));
    assert!(problems("zones:\n  z:\n    members: ['*']\n  z:\n    members: ['x']\n")
        .contains("not a valid policy document"));
}

#[test]
fn the_json_form_decides_exactly_like_the_source_document() {
    let shipped =
        |name: &str| std::fs::read_to_string(format!("{}/../infra/policy/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let docs = [
        DOC.to_owned(),
        shipped("default.yaml"),
        shipped("examples/kill-switch.yaml"),
        shipped("examples/shadow-rollout.yaml"),
    ];
    let urls = [
        "https://github.com/",
        "https://api.github.com/x",
        "https://gist.github.com/",
        "http://a.raw.github.com/",
        "https://pastebin.com/",
        "https://api.example.com:8443/",
        "http://api.example.com/",
        "https://example.org/",
        "http://169.254.169.254/",
        "https://[2001:db8::1]/",
        "https://93.184.216.34/",
    ];
    for doc in docs {
        let json = to_json_form(&doc).unwrap();
        assert!(json.starts_with('{'), "read back by the JSON parser");
        let (a, b) = (
            CompiledPolicy::from_yaml(&doc).unwrap(),
            CompiledPolicy::from_yaml(&json).unwrap(),
        );
        assert_eq!(to_json_form(&json).unwrap(), json, "the JSON form is a fixed point");
        assert_eq!((a.rule_count(), a.zone_count()), (b.rule_count(), b.zone_count()));
        for zone in ["default", "research", "payments", "nope"] {
            for principal in ["a", "agent-1", "arn:aws:iam::111111111111:role/secops"] {
                for url in urls {
                    let (da, db) = (decide(&a, principal, zone, url), decide(&b, principal, zone, url));
                    // Same outcome; only the version (a hash of the bytes) differs between the two forms.
                    assert_eq!(
                        (da.effective(), da.policy_decision(), da.reason(), da.rule(), da.mode()),
                        (db.effective(), db.policy_decision(), db.reason(), db.rule(), db.mode()),
                        "{zone} {principal} {url}"
                    );
                }
            }
            assert_eq!(
                a.is_auditor("arn:aws:iam::111111111111:role/secops"),
                b.is_auditor("arn:aws:iam::111111111111:role/secops")
            );
        }
        assert_eq!(a.kill_switch_reason(), b.kill_switch_reason());
    }
    assert!(to_json_form("zones: {}").unwrap_err().problems[0].contains("at least one zone"));
}

/// Security round 3, class 8: an IPv6 address that stands for an IPv4 one (NAT64 `64:ff9b::/96`, reached
/// on IPv6-only subnets through DNS64; 6to4 `2002::/16`) meets the rules and limits naming that IPv4
/// address, whichever form the pattern or the target is written in; the target keeps its own spelling.
#[test]
fn rules_and_limits_on_an_address_see_its_nat64_and_6to4_spellings() {
    let doc = r#"
zones:
  z:
    members: ['*']
    default: allow
    rules:
      - {id: no-dns, effect: deny, hosts: ['8.8.8.8']}
      - {id: no-nat64-quad9, effect: deny, hosts: ['[64:ff9b::909:909]']}
      - {id: no-6to4-one, effect: deny, hosts: ['[2002:101:101::]']}
      - {id: ask-cf, effect: require_approval, hosts: ['1.0.0.1']}
    rate_limits:
      - {id: dns, hosts: ['8.8.4.4'], per: zone, limit: 1, window_seconds: 60}
      - {id: nat64-written, hosts: ['[64:ff9b::d0c:d0c]'], per: zone, limit: 1, window_seconds: 60}
"#;
    let p = CompiledPolicy::from_yaml(doc).unwrap_or_else(|e| panic!("{e}"));
    let cases: &[(&str, Reason, Option<&str>)] = &[
        ("http://8.8.8.8/", Reason::RuleDeny, Some("no-dns")),
        ("http://[64:ff9b::808:808]/", Reason::RuleDeny, Some("no-dns")),
        ("http://[64:ff9b::8.8.8.8]/", Reason::RuleDeny, Some("no-dns")),
        ("http://[2002:808:808::]/", Reason::RuleDeny, Some("no-dns")),
        ("http://[2002:808:808:1::1]/", Reason::RuleDeny, Some("no-dns")),
        // A pattern written in an embedding form keys on the IPv4 address: every spelling meets it.
        ("http://9.9.9.9/", Reason::RuleDeny, Some("no-nat64-quad9")),
        ("http://[2002:909:909::]/", Reason::RuleDeny, Some("no-nat64-quad9")),
        ("http://1.1.1.1/", Reason::RuleDeny, Some("no-6to4-one")),
        ("http://[64:ff9b::101:101]/", Reason::RuleDeny, Some("no-6to4-one")),
        ("http://[64:ff9b::100:1]/", Reason::RuleRequireApproval, Some("ask-cf")),
        ("http://[2002:100:1::]/", Reason::RuleRequireApproval, Some("ask-cf")),
        // Not an embedding: another address, untouched.
        ("http://[2001:4860:4860::8888]/", Reason::DefaultAllow, None),
        ("http://[64:ff9b:0:1::808:808]/", Reason::DefaultAllow, None),
        ("http://8.8.8.9/", Reason::DefaultAllow, None),
    ];
    for (url, reason, rule) in cases {
        let d = decide(&p, "bob", "z", url);
        assert_eq!((d.reason(), d.rule()), (*reason, *rule), "{url}");
    }
    // Local-use NAT64 and the mapped/Teredo forms stay internal (special.rs), whatever the rules say.
    for url in [
        "http://[64:ff9b:1::808:808]/",
        "http://[::ffff:8.8.8.8]/",
        "http://[2001:0:808:808::1]/",
    ] {
        assert_eq!(decide(&p, "bob", "z", url).reason(), Reason::InternalTarget, "{url}");
    }
    let limited = |url: &str| -> Vec<String> {
        let t = Target::from_url(url).unwrap();
        p.limits_for("z", &t).iter().map(|l| l.id.clone()).collect()
    };
    for (url, want) in [
        ("http://8.8.4.4/", "dns"),
        ("http://[64:ff9b::808:404]/", "dns"),
        ("http://[64:ff9b::8.8.4.4]/", "dns"),
        ("http://[2002:808:404::1]/", "dns"),
        ("http://13.12.13.12/", "nat64-written"),
        ("http://[64:ff9b::d0c:d0c]/", "nat64-written"),
        ("http://[2002:d0c:d0c::]/", "nat64-written"),
    ] {
        assert_eq!(limited(url), [want], "{url}");
    }
    assert!(limited("http://[2001:4860:4860::8844]/").is_empty());
    // The recorded target is what the caller sent.
    let t = Target::from_url("http://[64:ff9b::808:808]/").unwrap();
    assert_eq!(t.host().to_string(), "[64:ff9b::808:808]");
    assert_eq!(t.host().rule_key().to_string(), "8.8.8.8");
}

/// Security round 4, class 5: in 6to4 the IPv4 address is only the site's router (the low 80 bits name
/// any host of its /48), so an allow never widens through it: an allow on `8.8.8.8` covers no address of
/// `2002:808:808::/48`, and an allow written as a 6to4 address covers that address only. Restrictions and
/// limits on the IPv4 address still cover the whole /48 (the round 3 test above); NAT64 is one-to-one.
#[test]
fn an_allow_never_widens_through_6to4() {
    let doc = r#"
zones:
  z:
    members: ['*']
    default: deny
    rules:
      - {id: one-6to4-host, effect: allow, hosts: ['[2002:808:808::10]']}
      - {id: quad9, effect: allow, hosts: ['9.9.9.9']}
      - {id: nat64-one, effect: allow, hosts: ['[64:ff9b::101:101]']}
      - {id: cf, effect: allow, hosts: ['1.0.0.1', '[2002:100:1::1]']}
      - {id: no-cf, effect: deny, hosts: ['[2002:100:1::5]']}
      - {id: ask-router, effect: require_approval, hosts: ['13.12.13.12']}
      - {id: router-host, effect: allow, hosts: ['[2002:d0c:d0c::1]', '13.12.13.12']}
"#;
    let p = CompiledPolicy::from_yaml(doc).unwrap_or_else(|e| panic!("{e}"));
    let cases: &[(&str, Reason, Option<&str>)] = &[
        // The reviewer's examples: an allow written as a 6to4 address is that address only.
        ("https://[2002:808:808::10]/", Reason::RuleAllow, Some("one-6to4-host")),
        ("https://8.8.8.8/", Reason::DefaultDeny, None),
        ("https://[2002:808:808:ffff::1]/", Reason::DefaultDeny, None),
        ("https://[2002:808:808::11]/", Reason::DefaultDeny, None),
        ("https://[2002:808:808::]/", Reason::DefaultDeny, None),
        ("https://[64:ff9b::808:808]/", Reason::DefaultDeny, None),
        // An allow on an IPv4 address covers it and its NAT64 spelling, no 6to4 address.
        ("https://9.9.9.9/", Reason::RuleAllow, Some("quad9")),
        ("https://[64:ff9b::909:909]/", Reason::RuleAllow, Some("quad9")),
        ("https://[64:ff9b::9.9.9.9]/", Reason::RuleAllow, Some("quad9")),
        ("https://[2002:909:909::]/", Reason::DefaultDeny, None),
        ("https://[2002:909:909::1]/", Reason::DefaultDeny, None),
        ("https://[2002:909:909:1::1]/", Reason::DefaultDeny, None),
        (
            "https://[2002:909:909:ffff:ffff:ffff:ffff:ffff]/",
            Reason::DefaultDeny,
            None,
        ),
        // An allow written in NAT64 form is its IPv4 address, both ways.
        ("https://1.1.1.1/", Reason::RuleAllow, Some("nat64-one")),
        ("https://[64:ff9b::101:101]/", Reason::RuleAllow, Some("nat64-one")),
        ("https://[2002:101:101::]/", Reason::DefaultDeny, None),
        // Both forms in one rule: each its own address; a deny written in 6to4 form restricts the router's
        // IPv4 address and its whole /48, over the allows.
        ("https://[2002:100:1::1]/", Reason::RuleDeny, Some("no-cf")),
        ("https://1.0.0.1/", Reason::RuleDeny, Some("no-cf")),
        ("https://[64:ff9b::100:1]/", Reason::RuleDeny, Some("no-cf")),
        ("https://[2002:100:1:2::3]/", Reason::RuleDeny, Some("no-cf")),
        // A require_approval on the IPv4 address covers the /48 and beats an allow of one of its addresses.
        ("https://13.12.13.12/", Reason::RuleRequireApproval, Some("ask-router")),
        (
            "https://[2002:d0c:d0c::1]/",
            Reason::RuleRequireApproval,
            Some("ask-router"),
        ),
        (
            "https://[2002:d0c:d0c:9::9]/",
            Reason::RuleRequireApproval,
            Some("ask-router"),
        ),
        (
            "https://[64:ff9b::d0c:d0c]/",
            Reason::RuleRequireApproval,
            Some("ask-router"),
        ),
    ];
    for (url, reason, rule) in cases {
        let d = decide(&p, "bob", "z", url);
        assert_eq!((d.reason(), d.rule()), (*reason, *rule), "{url}");
    }

    // Generated: for public addresses and hosts of their /48, in both directions and both forms.
    let routers: [[u8; 4]; 5] = [
        [8, 8, 4, 4],
        [93, 184, 216, 34],
        [1, 2, 3, 4],
        [151, 101, 1, 69],
        [203, 1, 2, 3],
    ];
    let hosts: [u128; 5] = [0, 1, 0x10, 0xffff_0000_0000_0000_0001, (1 << 80) - 1];
    for r in routers {
        let v4 = std::net::Ipv4Addr::from(r);
        let six = |low: u128| {
            let a = std::net::Ipv6Addr::from((0x2002_u128 << 112) | (u128::from(u32::from(v4)) << 80) | low);
            format!("https://{}/", Host::Ipv6(a))
        };
        let nat64 = format!(
            "https://{}/",
            Host::Ipv6(std::net::Ipv6Addr::from(
                (0x64_ff9b_u128 << 96) | u128::from(u32::from(v4))
            ))
        );
        let written = six(0x10);
        let written_host = written.trim_start_matches("https://").trim_end_matches('/');
        for (effect, want_v4, want_six) in [
            ("allow", Reason::RuleAllow, Reason::DefaultDeny),
            ("deny", Reason::RuleDeny, Reason::RuleDeny),
            (
                "require_approval",
                Reason::RuleRequireApproval,
                Reason::RuleRequireApproval,
            ),
        ] {
            // Written as the IPv4 address.
            let doc = format!("zones:\n  z:\n    members: ['*']\n    default: deny\n    rules:\n      - {{id: r, effect: {effect}, hosts: ['{v4}']}}\n");
            let p = CompiledPolicy::from_yaml(&doc).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                decide(&p, "bob", "z", &format!("https://{v4}/")).reason(),
                want_v4,
                "{effect} {v4}"
            );
            assert_eq!(
                decide(&p, "bob", "z", &nat64).reason(),
                want_v4,
                "{effect} {v4}: {nat64}"
            );
            for low in hosts {
                let url = six(low);
                assert_eq!(decide(&p, "bob", "z", &url).reason(), want_six, "{effect} {v4}: {url}");
            }
            // Written as one 6to4 address: an allow is that address only, a restriction the router's.
            let doc = format!("zones:\n  z:\n    members: ['*']\n    default: deny\n    rules:\n      - {{id: r, effect: {effect}, hosts: ['{written_host}']}}\n");
            let p = CompiledPolicy::from_yaml(&doc).unwrap_or_else(|e| panic!("{e}"));
            let restricting = effect != "allow";
            for (url, covered) in [
                (written.clone(), true),
                (format!("https://{v4}/"), restricting),
                (nat64.clone(), restricting),
                (six(0), restricting),
                (six(0x11), restricting),
                (six((1 << 80) - 1), restricting),
            ] {
                let want = if covered { want_v4 } else { Reason::DefaultDeny };
                assert_eq!(
                    decide(&p, "bob", "z", &url).reason(),
                    want,
                    "{effect} {written_host}: {url}"
                );
            }
        }
        // Limits restrict: one on the IPv4 address, or written in 6to4 form, spends with the whole /48.
        for pattern in [v4.to_string(), written_host.to_owned()] {
            let doc = format!("zones:\n  z:\n    members: ['*']\n    default: allow\n    rate_limits:\n      - {{id: l, hosts: ['{pattern}'], per: zone, limit: 1, window_seconds: 60}}\n");
            let p = CompiledPolicy::from_yaml(&doc).unwrap_or_else(|e| panic!("{e}"));
            for url in [
                format!("https://{v4}/"),
                nat64.clone(),
                six(0),
                six(0x10),
                six((1 << 80) - 1),
            ] {
                let t = Target::from_url(&url).unwrap();
                assert_eq!(p.limits_for("z", &t).len(), 1, "limit {pattern}: {url}");
            }
        }
    }
    let t = Target::from_url("http://[2002:808:808::10]/").unwrap();
    assert_eq!(t.host().allow_key().to_string(), "[2002:808:808::10]");
    assert_eq!(t.host().rule_key().to_string(), "8.8.8.8");
    let t = Target::from_url("http://[64:ff9b::808:808]/").unwrap();
    assert_eq!(t.host().allow_key().to_string(), "8.8.8.8");
}

/// Security round 3, class 9: a wildcard whose base holds public suffixes beneath it (`on.aws`: every
/// Lambda function URL of every account) or is a multi-tenant hosting domain outside the PSL is refused
/// for allow and require_approval rules and for rate limits; a deny may cover every tenant.
#[test]
fn wildcards_over_tenant_parents_are_refused_but_to_deny() {
    let refused = [
        "on.aws",
        "us-east-1.on.aws",
        "core.windows.net",
        "windows.net",
        "googleusercontent.com",
        "amazonaws.com",
        "compute.amazonaws.com",
        "elb.amazonaws.com",
        "run.app",
        "cloudapp.azure.com",
        "azure.com",
        "app.github.dev",
        "futurecms.at",
    ];
    for base in refused {
        for effect in ["allow", "require_approval"] {
            let doc = format!(
                "zones:\n  z:\n    members: ['*']\n    rules:\n      - {{id: r1, effect: {effect}, hosts: ['*.{base}']}}\n"
            );
            let got = problems(&doc);
            assert!(
                got.contains(&format!("zones.z.rules[0].hosts[0]: `*.{base}`"))
                    && got.contains("unrelated owners")
                    && got.contains("deny rules may cover it"),
                "{effect} *.{base}: {got}"
            );
        }
        let limit = format!(
            "zones:\n  z:\n    members: ['*']\n    rate_limits:\n      - {{id: l, hosts: ['*.{base}'], per: zone, limit: 1, window_seconds: 60}}\n"
        );
        let got = problems(&limit);
        assert!(
            got.contains("rate_limits[0].hosts[0]") && got.contains("unrelated owners"),
            "limit *.{base}: {got}"
        );
        let deny = format!(
            "zones:\n  z:\n    members: ['*']\n    rules:\n      - {{id: r1, effect: deny, hosts: ['*.{base}']}}\n"
        );
        let p = CompiledPolicy::from_yaml(&deny).unwrap_or_else(|e| panic!("deny *.{base}: {e}"));
        let d = decide(&p, "bob", "z", &format!("https://tenant.x.{base}/"));
        assert_eq!(d.reason(), Reason::RuleDeny, "deny *.{base}");
    }
    // A domain of one owner, or a tenant's own subtree, is still fine; exact hosts under the parents too.
    let ok = "zones:\n  z:\n    members: ['*']\n    rules:\n      - {id: r1, effect: allow, hosts: ['*.example.com', '*.bucket.s3.amazonaws.com', '*.myapp.azurewebsites.net', 'abc.lambda-url.us-east-1.on.aws', 'storage.googleapis.com', 'lh3.googleusercontent.com']}\n    rate_limits:\n      - {id: l, hosts: ['*.example.com', 'abc.lambda-url.us-east-1.on.aws'], per: zone, limit: 1, window_seconds: 60}\n";
    CompiledPolicy::from_yaml(ok).unwrap_or_else(|e| panic!("{e}"));
}

/// Security round 4, class 6: wildcards over cloud providers' shared domains (storage accounts, databases,
/// vaults, registries, AI endpoints of every customer), tunnels, request catchers and wildcard-DNS services
/// are refused for allow and require_approval rules and for rate limits, and accepted (and applied) as
/// denies; wildcards over one owner's domain still load.
#[test]
fn wildcards_over_shared_clouds_and_tunnels_are_refused_but_to_deny() {
    let refused = [
        // Storage.
        "storage.googleapis.com",
        "dfs.core.windows.net",
        "queue.core.windows.net",
        "table.core.windows.net",
        "z13.web.core.windows.net",
        "z1.web.core.windows.net",
        "privatelink.blob.core.windows.net",
        "privatelink.dfs.core.windows.net",
        "blob.core.chinacloudapi.cn",
        "dfs.core.usgovcloudapi.net",
        "firebaseio.com",
        "firebasestorage.app",
        // Per-customer cloud services.
        "database.windows.net",
        "vault.azure.net",
        "scm.azurewebsites.net",
        "azurecr.io",
        "openai.azure.com",
        "cognitiveservices.azure.com",
        "documents.azure.com",
        "redis.cache.windows.net",
        "servicebus.windows.net",
        "appsync-api.us-east-1.amazonaws.com",
        "appsync-api.eu-west-2.amazonaws.com",
        "sqs.us-gov-west-1.amazonaws.com",
        "es.cn-north-1.amazonaws.com.cn",
        "execute-api.us-east-1.amazonaws.com",
        "lambda-url.us-east-1.on.aws",
        "cloudfunctions.net",
        "azure-api.net",
        "azurestaticapps.net",
        "azurefd.net",
        "database.chinacloudapi.cn",
        "vault.usgovcloudapi.net",
        // Tunnels, request catchers, wildcard DNS.
        "loca.lt",
        "localtunnel.me",
        "serveo.net",
        "serveousercontent.com",
        "localhost.run",
        "lhr.life",
        "a.pinggy.io",
        "pinggy.link",
        "pipedream.net",
        "m.pipedream.net",
        "requestbin.net",
        "hookbin.com",
        "oastify.com",
        "burpcollaborator.net",
        "interact.sh",
        "oast.pro",
        "oast.fun",
        "webhook.site",
        "requestcatcher.com",
        "beeceptor.com",
        "canarytokens.com",
        "nip.io",
        "sslip.io",
        "xip.io",
        "traefik.me",
        // Already public suffixes in the PSL's private section.
        "ngrok.io",
        "ngrok-free.app",
        "ngrok.app",
        "ngrok-free.dev",
        "trycloudflare.com",
    ];
    let rule = |effect: &str, base: &str| {
        format!(
            "zones:\n  z:\n    members: ['*']\n    rules:\n      - {{id: r1, effect: {effect}, hosts: ['*.{base}']}}\n"
        )
    };
    for base in refused {
        for effect in ["allow", "require_approval"] {
            let got = problems(&rule(effect, base));
            assert!(
                got.contains(&format!("zones.z.rules[0].hosts[0]: `*.{base}`")) && got.contains("unrelated owners"),
                "{effect} *.{base}: {got}"
            );
        }
        let limit = format!(
            "zones:\n  z:\n    members: ['*']\n    rate_limits:\n      - {{id: l, hosts: ['*.{base}'], per: zone, limit: 1, window_seconds: 60}}\n"
        );
        let got = problems(&limit);
        assert!(
            got.contains("rate_limits[0].hosts[0]") && got.contains("unrelated owners"),
            "limit *.{base}: {got}"
        );
        let p = CompiledPolicy::from_yaml(&rule("deny", base)).unwrap_or_else(|e| panic!("deny *.{base}: {e}"));
        let d = decide(&p, "bob", "z", &format!("https://tenant.{base}/"));
        assert_eq!(d.reason(), Reason::RuleDeny, "deny *.{base}");
    }
    // Cloud domains say to name the exact host.
    let got = problems(&rule("allow", "dfs.core.windows.net"));
    assert!(
        got.contains("`windows.net`") && got.contains("name the exact host") && got.contains("deny rules may cover it"),
        "{got}"
    );
    // One owner's domain, or a tenant's own subtree under a PSL suffix, still loads; exact hosts under the
    // shared domains too.
    for base in [
        "github.com",
        "example.com",
        "pythonhosted.org",
        "openai.com",
        "anthropic.com",
        "pypi.org",
        "huggingface.co",
        "npmjs.org",
        "docker.io",
        "microsoft.com",
        "google.com",
        "aws.amazon.com",
        "bucket.s3.amazonaws.com",
        "mybucket.s3.us-east-1.amazonaws.com",
        "myapp.azurewebsites.net",
        "d111111abcdef8.cloudfront.net",
        "myapp.web.app",
        "myproject.appspot.com",
    ] {
        for effect in ["allow", "require_approval"] {
            CompiledPolicy::from_yaml(&rule(effect, base)).unwrap_or_else(|e| panic!("{effect} *.{base}: {e}"));
        }
        let limit = format!(
            "zones:\n  z:\n    members: ['*']\n    rate_limits:\n      - {{id: l, hosts: ['*.{base}'], per: zone, limit: 1, window_seconds: 60}}\n"
        );
        CompiledPolicy::from_yaml(&limit).unwrap_or_else(|e| panic!("limit *.{base}: {e}"));
    }
    let exact = "zones:\n  z:\n    members: ['*']\n    rules:\n      - {id: r1, effect: allow, hosts: ['myaccount.dfs.core.windows.net', 'myvault.vault.azure.net', 'myregistry.azurecr.io', 'mydb.firebaseio.com', 'abc.loca.lt']}\n";
    CompiledPolicy::from_yaml(exact).unwrap_or_else(|e| panic!("{e}"));
}
