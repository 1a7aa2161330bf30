//! Property tests for normalization and `authorize_egress`:
//! (a) normalization is idempotent and agrees with WHATWG on what it accepts;
//! (b) a host allowed through `*.d` ends with `.d`, and every reported rule really covers the host;
//! (c) no special target is ever allowed, in any mode, by any policy that compiles;
//! (d) shadow mode never changes `policy_decision`, the reason or the rule;
//! (e) the JSON form written by `egress-policy json` decides exactly like the YAML it came from.
//!
//! Generators are built from hostile fragments (IPv4 in every WHATWG encoding, IPv6 in several textual forms,
//! Unicode labels, userinfo, backslashes, odd ports and paths). Case counts keep the file well under 20 s in debug.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: a panic is its failure

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

#[path = "oracle/shadow.rs"]
mod oracle;

use egress_core::{authorize_egress, CompiledPolicy};
use egress_core::{special_target, special_v4};
use egress_core::{Effect, Reason};
use egress_core::{Host, NormalizeError, Target};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{json, Value};

// ------------------------------------------------------------------------------------------------------------
// Textual encodings of addresses
// ------------------------------------------------------------------------------------------------------------

/// One IPv4 number part in WHATWG syntax: 0 decimal, 1 hex, 2 octal; `pad` extra leading zeros for hex/octal.
fn v4_part(v: u32, enc: u8, pad: u8, upper: bool) -> String {
    let zeros = "0".repeat(pad as usize);
    match enc % 3 {
        0 => v.to_string(),
        1 if upper => format!("0X{zeros}{v:X}"),
        1 => format!("0x{zeros}{v:x}"),
        _ => format!("0{zeros}{v:o}"),
    }
}

/// `ip` as 1 to 4 parts (the short forms fill the last part with the remaining bits), each part in its own
/// base, optionally with a trailing dot, optionally in fullwidth characters with ideographic dots.
fn v4_text(ip: u32, parts: usize, enc: [u8; 4], pad: [u8; 4], upper: bool, trailing_dot: bool, wide: bool) -> String {
    let b = ip.to_be_bytes().map(u32::from);
    let values: Vec<u32> = match parts {
        1 => vec![ip],
        2 => vec![b[0], ip & 0x00ff_ffff],
        3 => vec![b[0], b[1], ip & 0xffff],
        _ => b.to_vec(),
    };
    let mut s = values
        .iter()
        .enumerate()
        .map(|(i, v)| v4_part(*v, enc[i], pad[i] % 3, upper))
        .collect::<Vec<_>>()
        .join(".");
    if trailing_dot {
        s.push('.');
    }
    if wide {
        s = s
            .chars()
            .map(|c| match c {
                '0'..='9' | 'a'..='z' | 'A'..='Z' => char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap(),
                '.' => '\u{3002}',
                c => c,
            })
            .collect();
    }
    s
}

fn arb_v4_text(ip: u32) -> impl Strategy<Value = String> {
    (
        1usize..=4,
        any::<[u8; 4]>(),
        any::<[u8; 4]>(),
        any::<bool>(),
        prop::bool::weighted(0.2),
        prop::bool::weighted(0.1),
    )
        .prop_map(move |(parts, enc, pad, upper, dot, wide)| v4_text(ip, parts, enc, pad, upper, dot, wide))
}

/// `ip` in one of several IPv6 textual forms (without brackets).
fn v6_text(ip: Ipv6Addr, style: u8) -> String {
    let seg = ip.segments();
    let o = ip.octets();
    match style % 5 {
        0 => ip.to_string(),
        1 => seg.iter().map(|s| format!("{s:x}")).collect::<Vec<_>>().join(":"),
        2 => seg.iter().map(|s| format!("{s:04X}")).collect::<Vec<_>>().join(":"),
        3 => {
            let head = seg[..6].iter().map(|s| format!("{s:x}")).collect::<Vec<_>>().join(":");
            format!("{head}:{}.{}.{}.{}", o[12], o[13], o[14], o[15])
        }
        _ => url::Host::<&str>::Ipv6(ip)
            .to_string()
            .trim_matches(['[', ']'])
            .to_owned(),
    }
}

fn arb_v6_text(ip: Ipv6Addr) -> impl Strategy<Value = String> {
    (0u8..5).prop_map(move |style| v6_text(ip, style))
}

// ------------------------------------------------------------------------------------------------------------
// Special (internal) targets, from every class in special.rs
// ------------------------------------------------------------------------------------------------------------

/// The special IPv4 networks of special.rs, as (network, prefix length).
const SPECIAL_V4: &[([u8; 4], u32)] = &[
    ([169, 254, 169, 254], 32),
    ([169, 254, 170, 2], 32),
    ([0, 0, 0, 0], 8),
    ([10, 0, 0, 0], 8),
    ([100, 64, 0, 0], 10),
    ([127, 0, 0, 0], 8),
    ([169, 254, 0, 0], 16),
    ([172, 16, 0, 0], 12),
    ([192, 0, 0, 0], 24),
    ([192, 0, 2, 0], 24),
    ([192, 88, 99, 0], 24),
    ([192, 168, 0, 0], 16),
    ([198, 18, 0, 0], 15),
    ([198, 51, 100, 0], 24),
    ([203, 0, 113, 0], 24),
    ([224, 0, 0, 0], 4),
    ([255, 255, 255, 255], 32),
    ([240, 0, 0, 0], 4),
];

fn arb_special_v4() -> impl Strategy<Value = u32> + Clone {
    (select(SPECIAL_V4), any::<u32>()).prop_map(|((net, bits), r)| {
        let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
        (u32::from_be_bytes(net) & mask) | (r & !mask)
    })
}

/// `prefix/bits` with random host bits.
fn in_v6(prefix: u128, bits: u32, r: u128) -> Ipv6Addr {
    let mask = if bits == 0 { 0 } else { u128::MAX << (128 - bits) };
    Ipv6Addr::from((prefix & mask) | (r & !mask))
}

fn arb_special_v6() -> impl Strategy<Value = Ipv6Addr> {
    let v4 = arb_special_v4().prop_map(u128::from);
    prop_oneof![
        Just(Ipv6Addr::LOCALHOST),
        Just(Ipv6Addr::UNSPECIFIED),
        Just(Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254)),
        // IPv4-mapped and IPv4-compatible embed any IPv4 address and are all denied.
        any::<u32>().prop_map(|a| Ipv6Addr::from(0xffff_0000_0000 | u128::from(a))),
        any::<u32>().prop_map(|a| Ipv6Addr::from(u128::from(a))),
        // IPv4-translated, NAT64 well-known prefix and 6to4 embedding a special IPv4 address.
        v4.clone().prop_map(|a| Ipv6Addr::from(0xffff_0000_0000_0000 | a)),
        v4.clone().prop_map(|a| Ipv6Addr::from((0x0064_ff9b_u128 << 96) | a)),
        (v4, any::<u128>()).prop_map(|(a, r)| Ipv6Addr::from((0x2002_u128 << 112) | (a << 80) | (r & ((1 << 80) - 1)))),
        any::<u128>().prop_map(|r| in_v6(0x0064_ff9b_0001_u128 << 80, 48, r)), // local-use NAT64
        any::<u128>().prop_map(|r| in_v6(0x2001_u128 << 112, 32, r)),          // Teredo
        any::<u128>().prop_map(|r| in_v6(0xfc00_u128 << 112, 7, r)),           // ULA
        any::<u128>().prop_map(|r| in_v6(0xfe80_u128 << 112, 10, r)),          // link-local
        any::<u128>().prop_map(|r| in_v6(0xfec0_u128 << 112, 10, r)),          // site-local
        any::<u128>().prop_map(|r| in_v6(0xff00_u128 << 112, 8, r)),           // multicast
        any::<u128>().prop_map(|r| in_v6(0x0100_u128 << 112, 64, r)),          // discard
        any::<u128>().prop_map(|r| in_v6(0x2001_0db8_u128 << 96, 32, r)),      // documentation
        any::<u128>().prop_map(|r| in_v6(0x3fff_u128 << 112, 20, r)),          // documentation (RFC 9637)
        any::<u128>().prop_map(|r| in_v6(0x2001_0002_u128 << 96, 48, r)),      // benchmarking
        any::<u128>().prop_map(|r| in_v6(0x2001_0010_u128 << 96, 28, r)),      // ORCHID
    ]
}

fn arb_ascii_label() -> impl Strategy<Value = String> {
    "[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?"
}

/// Internal names in random case, optionally absolute, sometimes in fullwidth letters.
fn arb_special_name() -> impl Strategy<Value = String> {
    let suffix = select(vec![
        "localhost",
        "local",
        "internal",
        "localdomain",
        "home.arpa",
        "intranet",
        "lan",
    ]);
    let name = prop_oneof![
        Just("localhost".to_owned()),
        (prop::collection::vec(arb_ascii_label(), 1..3), suffix).prop_map(|(l, s)| format!("{}.{s}", l.join("."))),
        "[a-z]([a-z0-9-]{0,6}[a-z0-9])?", // single label (an all-digit one would be an IPv4 number)
        Just("metadata.google.internal".to_owned()),
    ]
    // A label starting `xn--` is an IDNA A-label (RFC 5890 §2.3.2.1), not a name: most such strings are
    // invalid Punycode (`xn--0`), which the normalizer rightly refuses. Never a generated special name.
    .prop_filter("no A-label prefix", |n| !n.split('.').any(|l| l.starts_with("xn--")));
    (name, any::<u64>(), prop::bool::weighted(0.3), prop::bool::weighted(0.1)).prop_map(|(n, case_bits, dot, wide)| {
        let mut s: String = n
            .chars()
            .enumerate()
            .map(|(i, c)| {
                if case_bits >> (i % 64) & 1 == 1 {
                    c.to_ascii_uppercase()
                } else {
                    c
                }
            })
            .collect();
        if wide {
            s = s
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap()
                    } else {
                        c
                    }
                })
                .collect();
        }
        if dot {
            s.push('.');
        }
        s
    })
}

/// A URL host (brackets included for IPv6) that special.rs must flag, in a random encoding.
fn arb_special_host() -> impl Strategy<Value = String> {
    prop_oneof![
        arb_special_v4().prop_flat_map(arb_v4_text),
        arb_special_v6()
            .prop_flat_map(arb_v6_text)
            .prop_map(|s| format!("[{s}]")),
        arb_special_name(),
    ]
}

// ------------------------------------------------------------------------------------------------------------
// Hostile URLs for idempotence
// ------------------------------------------------------------------------------------------------------------

fn arb_label() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => arb_ascii_label(),
        2 => "[a-zA-Z0-9_-]{1,12}",
        3 => select(vec![
            "xn--bcher-kva", "XN--PPLE-43D", "xn--", "xn--a", "xn--ls8h", "localhost", "internal", "ü", "bücher",
            "аpple",
            "faß", "ｅｘａｍｐｌｅ", "☃", "💩", "İstanbul", "Ⅸ", "①②", "ex\u{034F}ample", "a\u{05D0}", "مثال", "0x7f",
            "127", "1", "08", "0", "ab--cd", "-a", "a-", "_", "*", "ex\u{2215}ample", "ﬁ", "ǅ", "\u{2800}",
            "ex\u{3164}",
        ])
        .prop_map(str::to_owned),
        1 => any::<char>().prop_map(|c| c.to_string()),
        1 => "\\PC{1,4}",
    ]
}

fn arb_domain_text() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(
            (
                arb_label(),
                select(vec![".", ".", ".", ".", ".", "\u{3002}", "\u{FF0E}", ".."]),
            ),
            1..5,
        ),
        prop::bool::weighted(0.15),
    )
        .prop_map(|(labels, trailing_dot)| {
            let mut s = String::new();
            for (i, (label, sep)) in labels.iter().enumerate() {
                if i > 0 {
                    s.push_str(sep);
                }
                s.push_str(label);
            }
            if trailing_dot {
                s.push('.');
            }
            s
        })
}

fn arb_url_host() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => arb_domain_text(),
        2 => any::<u32>().prop_flat_map(arb_v4_text),
        2 => any::<u128>().prop_map(Ipv6Addr::from).prop_flat_map(arb_v6_text).prop_map(|s| format!("[{s}]")),
        2 => arb_special_host(),
    ]
}

fn arb_port() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => Just(String::new()),
        3 => any::<u16>().prop_map(|p| format!(":{p}")),
        1 => select(vec![":", ":0", ":0080", ":080", ":65535", ":65536", ":99999", ":-1", ":0x50", ":443", ":80"])
            .prop_map(str::to_owned),
    ]
}

fn arb_path() -> impl Strategy<Value = String> {
    let seg = select(vec![
        "a",
        "b",
        "..",
        ".",
        "%2e%2e",
        "%2E.",
        ".%2e",
        "%2e",
        "%2F",
        "%2f",
        "ü",
        "",
        "@",
        "%",
        "%ZZ",
        "~",
        ";x=1",
        "A",
        "\"<>`{}",
        "%00",
        "a%20b",
        "index.html",
        "..%2f",
        "%5C",
    ]);
    prop::collection::vec(seg, 0..5).prop_map(|segs| segs.iter().map(|s| format!("/{s}")).collect())
}

prop_compose! {
    fn arb_url()(
        scheme in select(vec!["http", "https", "http", "https", "http", "https", "HTTP", "HtTpS", "ftp"]),
        sep in prop_oneof![12 => Just("://"), 1 => Just(":/"), 1 => Just(":"), 1 => Just(":///")],
        userinfo in prop_oneof![12 => Just(""), 1 => Just("user@"), 1 => Just(":@"), 1 => Just("a:b@"), 1 => Just("@")],
        host in arb_url_host(),
        port in arb_port(),
        path in arb_path(),
        tail in select(vec!["", "", "", "?q=1", "#frag", "?@evil.com", "#@evil.com", "?a=b#c"]),
        backslash in prop::option::weighted(0.05, any::<prop::sample::Index>()),
    ) -> String {
        let mut s = format!("{scheme}{sep}{userinfo}{host}{port}{path}{tail}");
        if let Some(i) = backslash {
            let boundaries: Vec<usize> = s.char_indices().map(|(i, _)| i).chain([s.len()]).collect();
            s.insert(boundaries[i.index(boundaries.len())], '\\');
        }
        s
    }
}

/// Asserts everything that must hold for an accepted URL.
fn assert_fixed_point(input: &str, t: &Target) -> Result<(), TestCaseError> {
    let display = t.to_string();
    let again = Target::from_url(&display);
    prop_assert_eq!(
        again.as_ref(),
        Ok(t),
        "{:?} -> {} does not re-normalize to itself",
        input,
        display
    );
    let host = t.host().to_string();
    let as_domain = Target::from_domain(&host);
    prop_assert!(
        as_domain.is_ok(),
        "host {} of {:?} is rejected as a domain: {:?}",
        host,
        input,
        as_domain
    );
    let as_domain = as_domain.unwrap();
    prop_assert_eq!(
        as_domain.host(),
        t.host(),
        "host {} of {:?} changes as a domain",
        host,
        input
    );
    let rebuilt = Target::from_parts(t.scheme().as_str(), &host, t.port(), t.path());
    prop_assert_eq!(rebuilt.as_ref(), Ok(t), "{} does not rebuild from its parts", display);
    Ok(())
}

/// Asserts that an accepted URL means to us what it means to a WHATWG parser.
fn assert_whatwg_agrees(input: &str, t: &Target) -> Result<(), TestCaseError> {
    let url = url::Url::parse(input);
    prop_assert!(
        url.is_ok(),
        "{:?} accepted as {} but WHATWG rejects it: {:?}",
        input,
        t,
        url
    );
    let url = url.unwrap();
    let host = url.host_str().unwrap_or_default();
    prop_assert_eq!(
        host.strip_suffix('.').unwrap_or(host),
        t.host().to_string(),
        "host of {:?}",
        input
    );
    prop_assert_eq!(url.port_or_known_default(), Some(t.port()), "port of {:?}", input);
    prop_assert_eq!(url.path(), t.path(), "path of {:?}", input);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// (a) `from_url` is idempotent through the display form, and its host is a fixed point of `from_domain`.
    #[test]
    fn url_normalization_is_idempotent(input in arb_url()) {
        if let Ok(t) = Target::from_url(&input) {
            assert_fixed_point(&input, &t)?;
            assert_whatwg_agrees(&input, &t)?;
        }
    }

    /// (a) `from_domain` is idempotent, and agrees with `from_url` on `https://<domain>/`.
    #[test]
    fn domain_normalization_is_idempotent(input in prop_oneof![arb_url_host(), arb_domain_text()]) {
        // Without URL delimiters, `<domain>` and `https://<domain>/` are accepted or rejected together.
        if !input.contains(['/', '?', '#', '@', '[', ']', ':', '%', '\\']) {
            let (as_domain, as_url) = (Target::from_domain(&input), Target::from_url(&format!("https://{input}/")));
            prop_assert_eq!(as_domain.is_ok(), as_url.is_ok(), "{:?}: domain {:?}, url {:?}", input, as_domain, as_url);
        }
        if let Ok(t) = Target::from_domain(&input) {
            let host = t.host().to_string();
            let again = Target::from_domain(&host);
            prop_assert_eq!(again.as_ref(), Ok(&t), "{:?} -> {} is not a fixed point", input, host);
            let bracketed = if input.parse::<Ipv6Addr>().is_ok() { format!("[{input}]") } else { input.clone() };
            let via_url = Target::from_url(&format!("https://{bracketed}/"));
            prop_assert_eq!(via_url.as_ref(), Ok(&t), "{:?} differs as a domain and inside a URL", input);
            assert_fixed_point(&input, &t)?;
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// IPv4 in random WHATWG encodings normalizes to the address it encodes.
    #[test]
    fn random_ipv4_encodings_decode_exactly(
        ip in any::<u32>(),
        parts in 1usize..=4,
        enc in any::<[u8; 4]>(),
        pad in any::<[u8; 4]>(),
        upper in any::<bool>(),
        dot in any::<bool>(),
        wide in prop::bool::weighted(0.2),
    ) {
        let text = v4_text(ip, parts, enc, pad, upper, dot, wide);
        if has_octal_part(&text) {
            // Octal parts are read as decimal by some parsers: refused rather than normalized.
            prop_assert_eq!(Target::from_url(&format!("http://{text}/")).err(), Some(NormalizeError::AmbiguousIpv4), "{}", text);
            prop_assert_eq!(Target::from_domain(&text).err(), Some(NormalizeError::AmbiguousIpv4), "{} as a domain", text);
            return Ok(());
        }
        // Only the plain dotted quad is one address to every client; another spelling is accepted only for
        // an internal address (denied whatever a client reads), and refused otherwise.
        let ip = Ipv4Addr::from(ip);
        let expected = if text == ip.to_string() || special_v4(ip).is_some() {
            Ok(Host::Ipv4(ip))
        } else {
            Err(NormalizeError::AmbiguousIpv4)
        };
        let t = Target::from_url(&format!("http://{text}/"));
        prop_assert_eq!(t.map(|t| t.host().clone()), expected.clone(), "{}", text);
        let d = Target::from_domain(&text);
        prop_assert_eq!(d.map(|t| t.host().clone()), expected, "{} as a domain", text);
    }

    /// A target rebuilt from stored parts is a fixed point of normalization, whatever the stored path.
    #[test]
    fn stored_paths_are_fixed_points(path in prop_oneof![arb_path(), "/\\PC{0,12}", "\\PC{0,12}"]) {
        if let Ok(t) = Target::from_parts("https", "example.com", 443, &path) {
            let again = Target::from_url(&t.to_string());
            prop_assert_eq!(again.as_ref(), Ok(&t), "stored path {:?}", path);
        }
    }

    /// IPv6 in several textual forms normalizes to the address it encodes.
    #[test]
    fn random_ipv6_forms_decode_exactly(ip in any::<u128>().prop_map(Ipv6Addr::from), style in 0u8..5) {
        let text = v6_text(ip, style);
        let t = Target::from_url(&format!("http://[{text}]/"));
        prop_assert_eq!(t.map(|t| t.host().clone()), Ok(Host::Ipv6(ip)), "{}", text);
        let d = Target::from_domain(&text);
        prop_assert_eq!(d.map(|t| t.host().clone()), Ok(Host::Ipv6(ip)), "{} as a bare domain", text);
    }
}

// ------------------------------------------------------------------------------------------------------------
// Policies
// ------------------------------------------------------------------------------------------------------------

const PRINCIPALS: &[&str] = &["p-1", "p-2", "q", "arn:aws:iam::1:role/agent-7"];
const ZONES: &[&str] = &["z1", "z1", "z1", "z2", "nope"];

fn arb_mode() -> impl Strategy<Value = &'static str> {
    select(vec!["enforce", "shadow"])
}

fn arb_zone_mode() -> impl Strategy<Value = Option<&'static str>> {
    prop::option::of(arb_mode())
}

fn arb_members() -> impl Strategy<Value = Vec<&'static str>> {
    prop::collection::vec(
        select(vec!["*", "*", "*", "p-1", "p-*", "q", "arn:aws:iam::1:role/agent-*"]),
        1..3,
    )
}

/// Host labels from a tiny alphabet so that exact, wildcard and suffix-trick matches are all frequent.
fn arb_small_label() -> impl Strategy<Value = String> {
    select(vec!["a", "b", "ab", "ba", "c", "xa"]).prop_map(str::to_owned)
}

fn arb_small_domain(min: usize, max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(arb_small_label(), min..=max).prop_map(|l| l.join("."))
}

#[derive(Debug, Clone)]
struct RuleSpec {
    effect: &'static str,
    hosts: Vec<String>,
    schemes: Option<Vec<&'static str>>,
    ports: Option<Vec<u16>>,
}

fn arb_host_pattern() -> impl Strategy<Value = String> {
    prop_oneof![
        arb_small_domain(1, 3),
        arb_small_domain(2, 3).prop_map(|d| format!("*.{d}")),
        Just("93.184.216.34".to_owned()),
        Just("[2606:2800:220:1::1]".to_owned()),
    ]
}

fn arb_rule(effects: Vec<&'static str>) -> impl Strategy<Value = RuleSpec> {
    (
        select(effects),
        prop::collection::vec(arb_host_pattern(), 1..3),
        prop::option::weighted(0.2, select(vec![vec!["https"], vec!["http"], vec!["http", "https"]])),
        prop::option::weighted(0.2, prop::collection::vec(select(vec![80u16, 443, 8080, 8443]), 1..3)),
    )
        .prop_map(|(effect, hosts, schemes, ports)| RuleSpec {
            effect,
            hosts,
            schemes,
            ports,
        })
}

#[derive(Debug, Clone)]
struct ZoneSpec {
    members: Vec<&'static str>,
    default: &'static str,
    mode: Option<&'static str>,
    rules: Vec<RuleSpec>,
}

fn arb_zone(effects: Vec<&'static str>) -> impl Strategy<Value = ZoneSpec> {
    (
        arb_members(),
        select(vec!["deny", "require_approval", "allow"]),
        arb_zone_mode(),
        prop::collection::vec(arb_rule(effects), 0..6),
    )
        .prop_map(|(members, default, mode, rules)| ZoneSpec {
            members,
            default,
            mode,
            rules,
        })
}

#[derive(Debug, Clone)]
struct PolicySpec {
    mode: &'static str,
    kill_switch: bool,
    zones: BTreeMap<&'static str, ZoneSpec>,
}

impl PolicySpec {
    /// Rule ids are `<zone>-r<index>`, so a reported rule id leads back to its spec.
    fn to_json(&self) -> Value {
        let zones: serde_json::Map<String, Value> = self
            .zones
            .iter()
            .map(|(name, z)| {
                let rules: Vec<Value> = z
                    .rules
                    .iter()
                    .enumerate()
                    .map(|(i, r)| {
                        let mut rule = json!({ "id": format!("{name}-r{i}"), "effect": r.effect, "hosts": r.hosts });
                        if let Some(s) = &r.schemes {
                            rule["schemes"] = json!(s);
                        }
                        if let Some(p) = &r.ports {
                            rule["ports"] = json!(p);
                        }
                        rule
                    })
                    .collect();
                let mut zone = json!({ "members": z.members, "default": z.default, "rules": rules });
                if let Some(m) = z.mode {
                    zone["mode"] = json!(m);
                }
                (name.to_string(), zone)
            })
            .collect();
        json!({ "mode": self.mode, "kill_switch": { "engaged": self.kill_switch }, "zones": zones })
    }

    /// YAML is a superset of JSON: the JSON text is a valid policy document.
    fn compile(&self) -> CompiledPolicy {
        let text = self.to_json().to_string();
        CompiledPolicy::from_yaml(&text).unwrap_or_else(|e| panic!("generated policy does not compile: {e}\n{text}"))
    }

    fn rule(&self, id: &str) -> &RuleSpec {
        let (zone, index) = id.rsplit_once("-r").expect("generated rule id");
        &self.zones[zone].rules[index.parse::<usize>().unwrap()]
    }

    fn with_modes(&self, global: &'static str, zone: Option<&'static str>) -> Self {
        let mut p = self.clone();
        p.mode = global;
        for z in p.zones.values_mut() {
            z.mode = zone;
        }
        p
    }
}

fn arb_policy(effects: Vec<&'static str>) -> impl Strategy<Value = PolicySpec> {
    (
        arb_mode(),
        prop::bool::weighted(0.05),
        arb_zone(effects.clone()),
        prop::option::of(arb_zone(effects)),
    )
        .prop_map(|(mode, kill_switch, z1, z2)| {
            let mut zones = BTreeMap::new();
            zones.insert("z1", z1);
            if let Some(z2) = z2 {
                zones.insert("z2", z2);
            }
            PolicySpec {
                mode,
                kill_switch,
                zones,
            }
        })
}

fn arb_small_target() -> impl Strategy<Value = Target> {
    let host = prop_oneof![
        8 => arb_small_domain(1, 5),
        1 => Just("93.184.216.34".to_owned()),
        1 => Just("[2606:2800:220:1::1]".to_owned()),
        1 => arb_special_host(),
    ];
    (
        select(vec!["http", "https"]),
        host,
        select(vec![80u16, 443, 8080, 8443]),
        arb_path(),
    )
        .prop_filter_map("not a valid target", |(scheme, host, port, path)| {
            Target::from_url(&format!("{scheme}://{host}:{port}{path}")).ok()
        })
}

/// A policy and a target that is often derived from one of its host patterns: the apex, a subdomain, a deeper
/// subdomain, or a suffix trick (`xa.b` against `*.a.b`); otherwise an unrelated small target.
fn arb_case(effects: Vec<&'static str>) -> impl Strategy<Value = (PolicySpec, Target)> {
    arb_policy(effects).prop_flat_map(|policy| {
        let patterns: Vec<String> = policy
            .zones
            .values()
            .flat_map(|z| z.rules.iter().flat_map(|r| r.hosts.clone()))
            .collect();
        let derived = if patterns.is_empty() {
            arb_small_target().boxed()
        } else {
            (
                select(patterns),
                arb_small_label(),
                0u8..4,
                select(vec!["http", "https"]),
                select(vec![80u16, 443, 8080, 8443]),
                arb_path(),
            )
                .prop_filter_map("not a valid target", |(pattern, label, how, scheme, port, path)| {
                    let base = pattern.strip_prefix("*.").unwrap_or(&pattern);
                    let host = match how {
                        0 => base.to_owned(),
                        1 => format!("{label}.{base}"),
                        2 => format!("{label}{base}"),
                        _ => format!("{label}.{label}.{base}"),
                    };
                    Target::from_url(&format!("{scheme}://{host}:{port}{path}")).ok()
                })
                .boxed()
        };
        (Just(policy), prop_oneof![1 => arb_small_target(), 3 => derived])
    })
}

/// Does host pattern `p` (as written in a rule) cover `target`?
fn pattern_covers(p: &str, target: &Target) -> bool {
    let host = target.host().to_string();
    match p.strip_prefix("*.") {
        Some(suffix) => host.len() > suffix.len() + 1 && host.ends_with(&format!(".{suffix}")),
        None => host == p,
    }
}

fn rule_applies(rule: &RuleSpec, target: &Target) -> bool {
    rule.hosts.iter().any(|p| pattern_covers(p, target))
        && rule
            .schemes
            .as_ref()
            .is_none_or(|s| s.contains(&target.scheme().as_str()))
        && rule.ports.as_ref().is_none_or(|p| p.contains(&target.port()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// (b) A host allowed through `*.d` ends with `.d` (and is not `d`); more generally the reported rule
    /// always covers the target, has the reported effect, and no applicable rule has a stronger effect.
    #[test]
    fn wildcard_allow_only_covers_proper_subdomains(
        (policy, target) in arb_case(vec!["allow", "allow", "allow", "require_approval", "deny"]),
        principal in select(PRINCIPALS),
        zone in select(ZONES),
    ) {
        let compiled = policy.compile();
        let d = authorize_egress(&compiled, principal, zone, &target);
        if let Some(id) = d.rule() {
            let rule = policy.rule(id);
            prop_assert!(rule_applies(rule, &target), "rule {} {:?} reported for {}", id, rule, target);
            prop_assert_eq!(d.policy_decision().as_str(), rule.effect);
            if d.policy_decision() == Effect::Allow {
                let host = target.host().to_string();
                let wildcard_hit =
                    rule.hosts.iter().filter_map(|p| p.strip_prefix("*.")).any(|s| host.ends_with(&format!(".{s}")));
                let exact_hit = rule.hosts.contains(&host);
                prop_assert!(exact_hit || wildcard_hit, "{} allowed by {} {:?}", host, id, rule.hosts);
            }
            // Deny beats require_approval beats allow: nothing applicable in the zone is stronger.
            let strongest = policy.zones[zone].rules.iter().filter(|r| rule_applies(r, &target)).map(|r| r.effect);
            for e in strongest {
                let rank = |e: &str| ["allow", "require_approval", "deny"].iter().position(|x| *x == e).unwrap();
                prop_assert!(rank(e) <= rank(rule.effect), "{} applies too but {} won", e, rule.effect);
            }
        }
        if d.policy_decision() == Effect::Allow {
            // An allow comes from an allow rule, or from the default of a denylist zone and nothing else.
            let denylist_zone = policy.zones.get(zone).is_some_and(|z| z.default == "allow");
            prop_assert!(
                d.rule().is_some() || (d.reason() == Reason::DefaultAllow && denylist_zone),
                "allow without a rule: {:?}", d
            );
        }
        if matches!(d.reason(), Reason::DefaultDeny | Reason::DefaultRequireApproval | Reason::DefaultAllow) {
            let applicable: Vec<_> = policy.zones[zone].rules.iter().filter(|r| rule_applies(r, &target)).collect();
            prop_assert!(applicable.is_empty(), "zone default used for {} but {:?} apply", target, applicable);
        }
    }

    /// (d) Shadow mode, global or per zone, never changes what the policy says: `policy_decision`, reason and
    /// rule are the same as in enforce mode, and the effective answer is `allow` only for steps 4-5.
    #[test]
    fn shadow_never_changes_policy_decision(
        (policy, target) in arb_case(vec!["allow", "require_approval", "deny"]),
        principal in select(PRINCIPALS),
        zone in select(ZONES),
    ) {
        let enforce = policy.with_modes("enforce", None);
        let variants = [
            policy.clone(),
            policy.with_modes("shadow", None),
            policy.with_modes("enforce", Some("shadow")),
            policy.with_modes("shadow", Some("enforce")),
        ];
        let base = authorize_egress(&enforce.compile(), principal, zone, &target);
        prop_assert_eq!(base.effective(), base.policy_decision());
        for v in &variants {
            let d = authorize_egress(&v.compile(), principal, zone, &target);
            prop_assert_eq!(d.policy_decision(), base.policy_decision(), "{:?}", v);
            prop_assert_eq!(d.reason(), base.reason());
            prop_assert_eq!(d.rule(), base.rule());
            let softened = oracle::softened_in_shadow(d.reason());
            let shadow = d.mode() == egress_core::Mode::Shadow;
            let expected = if shadow && softened { Effect::Allow } else { d.policy_decision() };
            prop_assert_eq!(d.effective(), expected, "{:?} in {:?}", d.reason(), d.mode());
        }
    }
}

/// Host patterns that try to allow `target` itself: its canonical host, wildcards over its parents, and the
/// raw encoded form. Only the ones policy validation accepts are kept.
fn hostile_patterns(raw_host: &str, target: &Target) -> Vec<String> {
    let host = target.host().to_string();
    let mut candidates = vec![host.clone(), raw_host.to_owned(), format!("*.{host}")];
    let mut rest = host.as_str();
    while let Some((_, parent)) = rest.split_once('.') {
        candidates.push(format!("*.{parent}"));
        rest = parent;
    }
    candidates
        .into_iter()
        .filter(|p| {
            let doc = json!({ "zones": { "z1": { "members": ["*"], "rules": [
                { "id": "probe", "effect": "allow", "hosts": [p] }
            ] } } });
            CompiledPolicy::from_yaml(&doc.to_string()).is_ok()
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// (c) Special targets in random encodings are flagged, and never allowed: not by rules naming them, not
    /// by a require_approval default, not in shadow mode (global or per zone), not in any zone.
    #[test]
    fn special_targets_are_never_allowed(
        host in arb_special_host(),
        scheme in select(vec!["http", "https"]),
        // Port 0 is refused (nothing listens there), which would hide the special target: 1-65535.
        port in prop::option::of(1..=u16::MAX),
        path in arb_path(),
        global in arb_mode(),
        zone_mode in arb_zone_mode(),
        default in select(vec!["deny", "require_approval", "allow"]),
        kill_switch in prop::bool::weighted(0.1),
        principal in select(PRINCIPALS),
        zone in select(ZONES),
    ) {
        let port = port.map(|p| format!(":{p}")).unwrap_or_default();
        let input = format!("{scheme}://{host}{port}{path}");
        let target = Target::from_url(&input);
        if target.as_ref().err() == Some(&NormalizeError::AmbiguousIpv4) {
            // Refused outright (never reaches the policy), which is at least as safe as a deny.
            prop_assert!(has_octal_part(&host), "{:?} refused as ambiguous without an octal part", input);
            return Ok(());
        }
        // Generated encodings are all valid WHATWG hosts; a rejection would hide the special target.
        prop_assert!(target.is_ok(), "{:?} rejected: {:?}", input, target);
        let target = target.unwrap();
        prop_assert!(special_target(&target).is_some(), "{:?} -> {} is not flagged", input, target);

        let patterns = hostile_patterns(&host, &target);
        let allow_it = if patterns.is_empty() { vec!["example.com".to_owned()] } else { patterns.clone() };
        let zone_doc = |name: &str| {
            let mut z = json!({
                "members": ["*"],
                "default": default,
                "rules": [
                    { "id": format!("{name}-allow-it"), "effect": "allow", "hosts": allow_it },
                    {
                        "id": format!("{name}-allow-public"),
                        "effect": "allow",
                        "hosts": ["example.com", "*.example.com"],
                    },
                ],
            });
            if let Some(m) = zone_mode {
                z["mode"] = json!(m);
            }
            z
        };
        let doc = json!({
            "mode": global,
            "kill_switch": { "engaged": kill_switch },
            "zones": { "z1": zone_doc("z1"), "z2": zone_doc("z2") },
        });
        let policy = CompiledPolicy::from_yaml(&doc.to_string()).expect("probe-filtered policy compiles");
        let d = authorize_egress(&policy, principal, zone, &target);
        prop_assert_ne!(d.effective(), Effect::Allow, "{} allowed via {:?}: {:?}", target, patterns, d);
        prop_assert_eq!(d.policy_decision(), Effect::Deny);
        let expected = if kill_switch { Reason::KillSwitch } else { Reason::InternalTarget };
        prop_assert_eq!(d.reason(), expected);
        prop_assert_eq!(d.rule(), None);
    }
}

/// An IPv4 part written with a leading zero (ASCII digits only): WHATWG octal, decimal elsewhere.
/// A part with a leading zero, in the text the IPv4 parser sees: after UTS-46 mapping, so fullwidth digits
/// and ideographic dots count like their ASCII forms.
fn has_octal_part(host: &str) -> bool {
    let mapped = idna::domain_to_ascii(host).unwrap_or_else(|_| host.to_owned());
    !host.starts_with('[')
        && mapped
            .split('.')
            .any(|p| p.len() > 1 && p.starts_with('0') && p.bytes().all(|b| b.is_ascii_digit()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// (e) `egress-policy json` never changes what a policy means: a random policy written as block YAML and
    /// its JSON form (produced by `to_json_form`) give the same decision, reason, rule and mode everywhere.
    #[test]
    fn the_json_form_of_a_yaml_policy_decides_the_same(
        (policy, target) in arb_case(vec!["allow", "allow", "require_approval", "deny"]),
        principal in select(PRINCIPALS),
        zone in select(ZONES),
    ) {
        let yaml = serde_norway::to_string(&policy.to_json()).expect("YAML rendering");
        prop_assert!(!yaml.trim_start().starts_with('{'), "rendered as block YAML, read by the YAML parser");
        let json = egress_core::to_json_form(&yaml).expect("valid policy");
        let (a, b) = (CompiledPolicy::from_yaml(&yaml).expect("compiles"), CompiledPolicy::from_yaml(&json).expect("compiles"));
        let (da, db) = (authorize_egress(&a, principal, zone, &target), authorize_egress(&b, principal, zone, &target));
        prop_assert_eq!(
            (da.effective(), da.policy_decision(), da.reason(), da.rule(), da.mode()),
            (db.effective(), db.policy_decision(), db.reason(), db.rule(), db.mode()),
            "{}\n{}", yaml, json
        );
    }
}

// --- restricting folder prefixes (security round 3, class 1) ----------------------------------------

/// A folder prefix `P/` of 1-3 generated segments.
fn arb_folder() -> impl Strategy<Value = String> {
    prop::collection::vec("[a-z][a-z0-9_-]{0,7}", 1..4).prop_map(|s| format!("/{}", s.join("/")))
}

/// The folder `p` (no trailing `/`) as clients and servers may spell it: itself, case changed, with
/// `;params`, a format suffix, a trailing encoded or Windows-dropped dot or space, escaped letters, a
/// query, the `/` itself and below.
fn folder_spellings(p: &str) -> Vec<String> {
    let escaped_first: String = {
        let (head, tail) = p.split_at(1);
        let mut chars = tail.chars();
        let first = chars.next().map(|c| format!("%{:02X}", c as u32)).unwrap_or_default();
        format!("{head}{first}{}", chars.as_str())
    };
    vec![
        p.to_owned(),
        p.to_uppercase(),
        format!("{p};jsessionid=0A1B"),
        format!("{p}.json"),
        format!("{p}%2e"),
        format!("{p}%2E%2E"),
        format!("{p}."),
        format!("{p}%20"),
        format!("{p}?q=1"),
        format!("{p}%3Fq"),
        format!("{p}/"),
        format!("{p}/x"),
        escaped_first,
        format!("/x/..{p}"),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// A restricting prefix `P/` restricts `P` in every reading, at `P`'s boundaries; a sibling that only
    /// starts with `P` is not restricted.
    #[test]
    fn a_restricting_folder_prefix_restricts_the_folder_in_every_reading(
        p in arb_folder(),
        effect in select(vec!["deny", "require_approval"]),
    ) {
        let policy = CompiledPolicy::from_yaml(&format!(
            "zones:\n  z:\n    members: ['*']\n    default: deny\n    rules:\n      - {{id: site, effect: allow, hosts: [app.example.com]}}\n      - {{id: r, effect: {effect}, hosts: [app.example.com], paths: ['{p}/']}}\n"
        )).unwrap();
        let want = if effect == "deny" { Reason::RuleDeny } else { Reason::RuleRequireApproval };
        for spelling in folder_spellings(&p) {
            let url = format!("https://app.example.com{spelling}");
            let (target, tail) = Target::parse_url(&url).unwrap();
            let d = authorize_egress(&policy, "alice", "z", (&target, &tail));
            prop_assert_eq!(d.reason(), want, "{}", url);
        }
        let sibling = format!("https://app.example.com{p}x");
        let (target, tail) = Target::parse_url(&sibling).unwrap();
        prop_assert_eq!(authorize_egress(&policy, "alice", "z", (&target, &tail)).reason(), Reason::RuleAllow);
    }
}
