//! Differential test of target normalization against real client stacks.
//!
//! A grammar-based corpus (IP forms, separators, code points that map, deviate or are ignored,
//! confusable dots and digits, ports, userinfo) goes through `Target::from_url` and through the real
//! parsers of `tests/differential/oracles.py`: Python's `http.client`, `urllib.request`, `requests` and
//! `urllib3`, libcurl, Node's `URL` and `whatwg-url`, Java's `URI` + `InetAddress` rules and Go's
//! `net/http` (installed by `infra/local/install.sh`). For every input we accept, each oracle that would
//! connect at all must connect to our host (name, or IP) and port. Oracles that refuse an input are fine:
//! that client reaches nothing.
//!
//! Inputs whose target is internal are exempt from the comparison: they are denied in every mode,
//! whatever a client would read (and recorded, which keeps the attempt in the audit trail).

use std::collections::BTreeMap;
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::process::Command;

use egress_core::special_target;
use egress_core::{Host, Target};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRng, TestRunner};
use serde_json::{json, Value};

/// Inputs in the corpus (at least 20,000), and its seed. `EGRESS_DIFFERENTIAL_SIZE` and
/// `EGRESS_DIFFERENTIAL_SEED` explore further (other seeds, larger corpora) without changing the default.
const CORPUS: usize = 24_000;
const SEED: u8 = 7;

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

// ---- the grammar ---------------------------------------------------------------------------------

/// Code points by how IDNA stacks treat them: UTS-46 mapped (fullwidth, compatibility, case), deviation
/// characters, UTS-46 ignored, IDNA2003 mapped-to-nothing, confusable dots and digits, and a few that are
/// disallowed or forbidden in hosts.
const MAPPED: &[char] = &[
    'Ａ', 'ｅ', 'Ｅ', 'ｘ', 'Ⅸ', 'ﬁ', 'ǅ', 'İ', 'K', 'Ω', 'ſ', 'ℌ', 'ª', 'º', 'ｍ', 'Ｍ', '㎒', '①', '⑦', '㉑', 'À',
    'É', 'Ü', 'Σ', 'Ϊ', 'Ⅰ', 'ℓ', 'ᵃ', 'ｓ', '＿', '－', 'ｰ',
];
const DEVIATIONS: &[char] = &['ß', 'ẞ', 'ς', '\u{200C}', '\u{200D}'];
const IGNORED: &[char] = &[
    '\u{00AD}',
    '\u{034F}',
    '\u{180B}',
    '\u{180C}',
    '\u{180D}',
    '\u{180F}',
    '\u{FE00}',
    '\u{FE0F}',
    '\u{200B}',
    '\u{2060}',
    '\u{FEFF}',
    '\u{1806}',
    '\u{17B4}',
    '\u{17B5}',
    '\u{115F}',
    '\u{1160}',
    '\u{3164}',
    '\u{FFA0}',
    '\u{1D173}',
    '\u{E0100}',
    '\u{E0001}',
    '\u{061C}',
    '\u{180E}',
];
const DOTS: &[char] = &[
    '.', '\u{3002}', '\u{FF0E}', '\u{FF61}', '\u{FE52}', '\u{2024}', '\u{0701}', '\u{2E33}',
];
const DIGITS: &[&str] = &[
    "０", "１", "２", "７", "８", "９", "①", "⑦", "𝟏", "𝟕", "٧", "۷", "७", "₇", "⁷", "𝟶",
];
const FORBIDDEN: &[char] = &[
    '@', ':', '/', '\\', '?', '#', '%', '[', ']', ' ', '\t', '\n', '*', '$', '!', '＠', '／', '：', '＃', '％',
    '\u{2215}', '\u{2044}', '\u{FE6B}',
];
const NAMES: &[&str] = &[
    "example.com",
    "api.github.com",
    "pypi.org",
    "metadata.google.internal",
    "localhost",
    "bücher.de",
    "faß.de",
    "xn--fa-hia.de",
    "xn--bcher-kva.de",
    "a.b.c.example.co.uk",
    "evil.com",
    "169.254.169.254.nip.io",
    "x.corp",
];

fn pick<T: Clone + std::fmt::Debug + 'static>(items: &'static [T]) -> impl Strategy<Value = T> {
    proptest::sample::select(items)
}

/// An IPv4 address, often special, often public.
fn arb_ipv4() -> impl Strategy<Value = Ipv4Addr> {
    prop_oneof![
        any::<u32>().prop_map(Ipv4Addr::from),
        pick(&[
            [127, 0, 0, 1],
            [169, 254, 169, 254],
            [10, 0, 0, 1],
            [8, 8, 8, 8],
            [1, 1, 1, 1],
            [0, 0, 0, 0],
            [192, 168, 1, 1],
            [93, 184, 216, 34],
            [100, 64, 0, 1],
            [172, 16, 0, 1],
        ])
        .prop_map(Ipv4Addr::from),
    ]
}

/// One IPv4 part in a client-dependent spelling.
fn part_text(value: u32, style: u8) -> String {
    match style % 6 {
        0 | 1 => value.to_string(),
        2 => format!("0{value:o}"),
        3 => format!("0x{value:x}"),
        4 => format!("0X{value:X}"),
        _ => format!("00{value}"),
    }
}

/// IPv4 in WHATWG's 1-4 part forms, with mixed bases, padding, dots and mapped digits.
fn arb_ipv4_text() -> impl Strategy<Value = String> {
    (
        arb_ipv4(),
        1usize..=4,
        prop::collection::vec(any::<u8>(), 4),
        prop::bool::weighted(0.15),
        prop::bool::weighted(0.15),
        prop::bool::weighted(0.15),
        pick(DOTS),
        pick(IGNORED),
        any::<prop::sample::Index>(),
    )
        .prop_map(|(ip, parts, styles, trailing, wide, ignorable, dot, ign, at)| {
            let o = ip.octets();
            let n = u32::from(ip);
            let values: Vec<u32> = match parts {
                1 => vec![n],
                2 => vec![u32::from(o[0]), n & 0xff_ffff],
                3 => vec![u32::from(o[0]), u32::from(o[1]), n & 0xffff],
                _ => o.iter().map(|b| u32::from(*b)).collect(),
            };
            // Mostly plain decimal, so accepted public forms are well represented too.
            let plain = styles[0] < 128;
            let texts: Vec<String> = values
                .iter()
                .zip(&styles)
                .map(|(v, s)| if plain { v.to_string() } else { part_text(*v, *s) })
                .collect();
            let sep = if styles[1] < 200 { '.' } else { dot };
            let mut text = texts.join(&sep.to_string());
            if trailing {
                text.push('.');
            }
            if wide {
                text = text
                    .chars()
                    .map(|c| match c.to_digit(10) {
                        Some(d) => char::from_u32(0xFF10 + d).unwrap_or(c),
                        None => c,
                    })
                    .collect();
            }
            if ignorable {
                let chars: Vec<char> = text.chars().collect();
                let i = at.index(chars.len() + 1);
                text = chars[..i].iter().chain([ign].iter()).chain(&chars[i..]).collect();
            }
            text
        })
}

/// IPv6 literals: random, embedding IPv4, special ranges, odd spellings.
fn arb_ipv6_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<u128>().prop_map(|n| format!("[{}]", std::net::Ipv6Addr::from(n))),
        arb_ipv4().prop_map(|ip| format!("[::ffff:{ip}]")),
        arb_ipv4().prop_map(|ip| format!("[::{ip}]")),
        arb_ipv4().prop_map(|ip| format!("[64:ff9b::{ip}]")),
        (any::<u16>(), any::<u64>()).prop_map(|(a, b)| format!("[5f00:{a:x}::{:x}]", b & 0xffff)),
        any::<u64>().prop_map(|b| format!("[100:0:0:1::{:x}]", b & 0xffff)),
        pick(&[
            "[::1]",
            "[0:0:0:0:0:0:0:1]",
            "[::]",
            "[fe80::1]",
            "[fe80::1%25eth0]",
            "[fd00:ec2::254]",
            "[2606:4700:4700::1111]",
            "[2001:db8::1]",
            "[::FFFF:7F00:1]",
            "[::ffff:0177.0.0.1]",
            "[2002:a9fe:a9fe::]",
            "[2001:4860:4860::8888]",
        ])
        .prop_map(str::to_owned),
    ]
}

/// Names with one or two code points of a chosen class inserted or substituted.
fn arb_name_text() -> impl Strategy<Value = String> {
    let class = prop_oneof![
        pick(MAPPED).prop_map(|c| c.to_string()),
        pick(DEVIATIONS).prop_map(|c| c.to_string()),
        pick(IGNORED).prop_map(|c| c.to_string()),
        pick(DOTS).prop_map(|c| c.to_string()),
        pick(DIGITS).prop_map(str::to_owned),
        pick(FORBIDDEN).prop_map(|c| c.to_string()),
        // Any code point: the BMP above ASCII, and the supplementary planes in use.
        (0x00A0u32..0x10000).prop_filter_map("not a char", |n| char::from_u32(n).map(String::from)),
        (0x10000u32..0x32000).prop_filter_map("not a char", |n| char::from_u32(n).map(String::from)),
        (0xE0000u32..0xE01F0).prop_filter_map("not a char", |n| char::from_u32(n).map(String::from)),
    ];
    (
        pick(NAMES),
        prop::collection::vec((class, any::<prop::sample::Index>(), any::<bool>()), 0..=2),
        prop::bool::weighted(0.1),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(base, edits, upper, trailing)| {
            let mut chars: Vec<String> = base.chars().map(String::from).collect();
            for (insert, at, replace) in edits {
                let i = at.index(chars.len());
                if replace {
                    chars[i] = insert;
                } else {
                    chars.insert(i, insert);
                }
            }
            let mut s: String = chars.concat();
            if upper {
                s = s.to_uppercase();
            }
            if trailing {
                s.push('.');
            }
            s
        })
}

/// Usually `clean`, sometimes one of `hostile`: each hostile part stays common across the corpus while
/// enough inputs stay clean for their host to be compared.
fn mostly(clean: &'static str, hostile: &'static [&'static str]) -> impl Strategy<Value = &'static str> {
    prop_oneof![5 => Just(clean), 1 => pick(hostile)]
}

fn arb_url() -> impl Strategy<Value = String> {
    let scheme = pick(&["http", "https", "https", "HTTP", "hTtPs"]);
    let prefix = mostly("//", &["/", "///", "\\\\", "/\\", "//\\", ""]);
    let userinfo = mostly(
        "",
        &["user@", "u:p@", "@", ":@", "a%40b@", "evil.com@", "x@y@", "a:b:c@"],
    );
    let host = prop_oneof![3 => arb_name_text(), 3 => arb_ipv4_text(), 1 => arb_ipv6_text()];
    let port = mostly(
        "",
        &[
            ":", ":80", ":443", ":8080", ":080", ":65535", ":65536", ":+80", ":0x50", ":８０", ":0", ": 80",
        ],
    );
    let path = mostly(
        "/",
        &[
            "",
            "/a/b",
            "/x?q=1#f",
            "?q",
            "#f",
            "\\x",
            "/..%2f",
            "/%2e%2e/",
            "\\@evil.com/",
            "#@evil.com/",
            "?@evil.com/",
        ],
    );
    (scheme, prefix, userinfo, host, port, path)
        .prop_map(|(s, pre, ui, h, p, path)| format!("{s}:{pre}{ui}{h}{p}{path}"))
}

fn corpus() -> Vec<String> {
    let config = Config::default();
    let seed = setting("EGRESS_DIFFERENTIAL_SEED", SEED.into()) as u8;
    let size = setting("EGRESS_DIFFERENTIAL_SIZE", CORPUS);
    let rng = TestRng::from_seed(proptest::test_runner::RngAlgorithm::ChaCha, &[seed; 32]);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let strategy = arb_url();
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(size);
    while out.len() < size {
        let Ok(tree) = strategy.new_tree(&mut runner) else {
            continue;
        };
        let url = tree.current();
        if seen.insert(url.clone()) {
            out.push(url);
        }
    }
    out
}

// ---- the comparison ------------------------------------------------------------------------------

/// A destination as the oracles report it: IPv4-mapped IPv6 is the IPv4 address (Java and Go dial it as
/// IPv4); names compare lowercase.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Dest {
    Name(String),
    Ip(IpAddr),
}

fn ours(host: &Host) -> Dest {
    match host {
        Host::Domain(d) => Dest::Name(d.clone()),
        Host::Ipv4(ip) => Dest::Ip(IpAddr::V4(*ip)),
        Host::Ipv6(ip) => Dest::Ip(ip.to_ipv4_mapped().map_or(IpAddr::V6(*ip), IpAddr::V4)),
    }
}

fn theirs(view: &Value) -> Option<(Dest, u16)> {
    if view["ok"] != true {
        return None;
    }
    let host = view["host"].as_str()?;
    let port = u16::try_from(view["port"].as_u64()?).ok()?;
    let dest = match view["kind"].as_str()? {
        "name" => Dest::Name(host.to_ascii_lowercase()),
        _ => {
            let ip: IpAddr = host.parse().ok()?;
            match ip {
                IpAddr::V6(v6) => Dest::Ip(v6.to_ipv4_mapped().map_or(ip, IpAddr::V4)),
                v4 => Dest::Ip(v4),
            }
        }
    };
    Some((dest, port))
}

fn run_oracles(inputs: &[String]) -> Vec<Value> {
    let dir = std::env::temp_dir().join(format!("egress-differential-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).unwrap();
    let (input_path, output_path) = (dir.join("inputs.jsonl"), dir.join("views.jsonl"));
    let mut f = std::fs::File::create(&input_path).unwrap();
    for (id, url) in inputs.iter().enumerate() {
        writeln!(f, "{}", json!({"id": id, "url": url})).unwrap();
    }
    drop(f);
    let venv_python = repo().join(".local/venv/bin/python");
    let python = if venv_python.exists() {
        venv_python
    } else {
        PathBuf::from("python3")
    };
    let status = Command::new(python)
        .arg(repo().join("tests/differential/oracles.py"))
        .arg("--in")
        .arg(&input_path)
        .arg("--out")
        .arg(&output_path)
        .status()
        .expect("run tests/differential/oracles.py (installed by `make install`)");
    assert!(
        status.success(),
        "the oracles failed ({status}); `bash infra/local/install.sh` installs them"
    );
    let text = std::fs::read_to_string(&output_path).unwrap();
    let views: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(views.len(), inputs.len(), "one answer per input");
    views
}

#[test]
fn accepted_targets_are_the_hosts_every_client_stack_reaches() {
    let inputs = corpus();
    let views = run_oracles(&inputs);
    let mut accepted = 0;
    let mut internal = 0;
    let mut compared: BTreeMap<String, usize> = BTreeMap::new();
    let mut findings = Vec::new();
    for (id, (url, answer)) in inputs.iter().zip(&views).enumerate() {
        assert_eq!(answer["id"], id, "answers in input order");
        let Ok(target) = Target::from_url(url) else {
            continue;
        };
        accepted += 1;
        if special_target(&target).is_some() {
            internal += 1;
            continue;
        }
        let want = (ours(target.host()), target.port());
        let Some(by_oracle) = answer["views"].as_object() else {
            panic!("no views for {url:?}: {answer}");
        };
        for (oracle, view) in by_oracle {
            let Some(got) = theirs(view) else {
                continue;
            };
            *compared.entry(oracle.clone()).or_default() += 1;
            if got != want {
                findings.push(format!("{url:?}: we record {want:?}, {oracle} connects to {got:?}"));
            }
        }
    }
    println!(
        "differential: {} inputs, {accepted} accepted ({internal} internal, denied), comparisons per oracle: {compared:?}",
        inputs.len()
    );
    // The corpus must exercise acceptance and every oracle, or the test proves nothing.
    assert!(accepted > inputs.len() / 10, "only {accepted} accepted");
    assert_eq!(compared.len(), 9, "every oracle compared: {compared:?}");
    assert!(compared.values().all(|n| *n > 500), "{compared:?}");
    assert!(
        findings.is_empty(),
        "{} disagreements (first 40):\n{}",
        findings.len(),
        findings.iter().take(40).cloned().collect::<Vec<_>>().join("\n")
    );
}
