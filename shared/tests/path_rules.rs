//! Path rules: a table of how path-constrained and host-only rules combine under deny > require_approval >
//! allow, and a property: a path-constrained allow never allows a path that any client or server reading
//! puts outside its prefixes (readings computed here independently, with the `url` crate as WHATWG).
#![allow(clippy::unwrap_used, clippy::expect_used)] // a test: a panic is its failure

use egress_core::{authorize_egress, CompiledPolicy, Target};
use proptest::prelude::*;

const POLICY: &str = r#"
zones:
  tenants:
    members: ["*"]
    default: deny
    rules:
      - {id: acme-repos, effect: allow, hosts: [api.github.com], paths: ["/repos/acme/"]}
      - {id: chat, effect: allow, hosts: [api.openai.com], paths: ["/v1/chat"]}
      - {id: acme-secrets, effect: deny, hosts: [api.github.com], paths: ["/repos/acme/secrets"]}
      - {id: review-admin, effect: require_approval, hosts: ["*.github.com"], paths: ["/admin"]}
      - {id: raw-all, effect: allow, hosts: [raw.github.com]}
      - {id: raw-private, effect: deny, hosts: [raw.github.com], paths: ["/private/"]}
"#;

fn decide(url: &str) -> (String, Option<String>) {
    let policy = CompiledPolicy::from_yaml(POLICY).unwrap();
    let (target, tail) = Target::parse_url(url).unwrap_or_else(|e| panic!("{url}: {e}"));
    let d = authorize_egress(&policy, "alice", "tenants", (&target, &tail));
    (d.reason().as_str().to_owned(), d.rule().map(str::to_owned))
}

#[test]
fn path_rules_and_host_rules_combine_by_effect() {
    let cases: &[(&str, &str, Option<&str>)] = &[
        (
            "https://api.github.com/repos/acme/web",
            "rule_allow",
            Some("acme-repos"),
        ),
        ("https://api.github.com/repos/acme/", "rule_allow", Some("acme-repos")),
        ("https://api.github.com/repos/acme", "default_deny", None),
        ("https://api.github.com/repos/acmecorp/web", "default_deny", None),
        ("https://api.github.com/repos/other/web", "default_deny", None),
        (
            "https://api.github.com/repos/acme/secrets/keys",
            "rule_deny",
            Some("acme-secrets"),
        ),
        (
            "https://api.github.com/repos/acme/secretsanta",
            "rule_allow",
            Some("acme-repos"),
        ),
        (
            "https://api.github.com/repos/acme/SECRETS",
            "rule_deny",
            Some("acme-secrets"),
        ),
        (
            "https://api.github.com/repos/acme/%73ecrets",
            "rule_deny",
            Some("acme-secrets"),
        ),
        (
            "https://api.github.com/admin/users",
            "rule_require_approval",
            Some("review-admin"),
        ),
        ("https://api.openai.com/v1/chat", "rule_allow", Some("chat")),
        ("https://api.openai.com/v1/chat/completions", "rule_allow", Some("chat")),
        ("https://api.openai.com/v1/chatter", "default_deny", None),
        ("https://api.openai.com/v1/chat?stream=true", "rule_allow", Some("chat")),
        // Readings that disagree: never an allow.
        ("https://api.github.com/repos/acme/../other/x", "default_deny", None),
        (
            "https://api.github.com/repos/acme/..%2F..%2Fother",
            "default_deny",
            None,
        ),
        ("https://api.github.com/repos/other/../acme/x", "default_deny", None),
        // ... and a restriction applies on any reading.
        (
            "https://raw.github.com/public/../private/x",
            "rule_deny",
            Some("raw-private"),
        ),
        ("https://raw.github.com/private;v=1/x", "rule_deny", Some("raw-private")),
        // Raw, once-decoded and per-segment readings (an adversarial review's finds).
        (
            "https://api.github.com/ADMIN/..%2F",
            "rule_require_approval",
            Some("review-admin"),
        ),
        (
            "https://api.github.com/%61dmin/%252e%252e",
            "rule_require_approval",
            Some("review-admin"),
        ),
        (
            "https://api.github.com/admin.json",
            "rule_require_approval",
            Some("review-admin"),
        ),
        (
            "https://api.github.com/repos/acme/a%252Fb%252Fc/..%2F..%2F..%2Fother",
            "default_deny",
            None,
        ),
        ("https://raw.github.com/private./x", "rule_deny", Some("raw-private")),
        ("https://raw.github.com/public/x", "rule_allow", Some("raw-all")),
    ];
    for (url, reason, rule) in cases {
        assert_eq!(decide(url), (reason.to_string(), rule.map(str::to_owned)), "{url}");
    }
}

/// Security round 3, classes 1 and 2, at the policy level: a restricting folder prefix covers the folder
/// itself; overlong UTF-8, Latin-1, NFD and fullwidth spellings and IIS 8.3 short names are read as the
/// servers that accept them read them.
const ROUND3: &str = r#"
zones:
  z:
    members: ["*"]
    default: deny
    rules:
      - {id: site, effect: allow, hosts: [app.example.com]}
      - {id: no-admin, effect: deny, hosts: [app.example.com], paths: ["/admin/"]}
      - {id: ask-export, effect: require_approval, hosts: [app.example.com], paths: ["/export/"]}
      - {id: no-cafe, effect: deny, hosts: [app.example.com], paths: ["/caf%C3%A9"]}
      - {id: no-backups, effect: deny, hosts: [app.example.com], paths: ["/backups/"]}
      - {id: no-administrator, effect: deny, hosts: [app.example.com], paths: ["/administrator"]}
      - {id: acme-repos, effect: allow, hosts: [api.github.com], paths: ["/repos/acme/"]}
      - {id: acme-secrets, effect: deny, hosts: [api.github.com], paths: ["/repos/acme/secrets/"]}
"#;

#[test]
fn round_3_path_classes() {
    let policy = CompiledPolicy::from_yaml(ROUND3).unwrap_or_else(|e| panic!("{e}"));
    let decide = |url: &str| {
        let (target, tail) = Target::parse_url(url).unwrap_or_else(|e| panic!("{url}: {e}"));
        let d = authorize_egress(&policy, "alice", "z", (&target, &tail));
        (d.reason().as_str().to_owned(), d.rule().map(str::to_owned))
    };
    let cases: &[(&str, &str, Option<&str>)] = &[
        // Class 1: the folder itself, in every reading.
        ("/admin", "rule_deny", Some("no-admin")),
        ("/ADMIN", "rule_deny", Some("no-admin")),
        ("/admin;jsessionid=0A1B2C", "rule_deny", Some("no-admin")),
        ("/admin.json", "rule_deny", Some("no-admin")),
        ("/admin%2e", "rule_deny", Some("no-admin")),
        ("/admin%2E%2E", "rule_deny", Some("no-admin")),
        ("/Admin/", "rule_deny", Some("no-admin")),
        ("/admin?x=1", "rule_deny", Some("no-admin")),
        ("/%61dmin", "rule_deny", Some("no-admin")),
        ("/admin%3B", "rule_deny", Some("no-admin")),
        ("/admin%20", "rule_deny", Some("no-admin")),
        ("/export", "rule_require_approval", Some("ask-export")),
        ("/Export.csv", "rule_require_approval", Some("ask-export")),
        ("/EXPORT;v=2", "rule_require_approval", Some("ask-export")),
        ("/export/all", "rule_require_approval", Some("ask-export")),
        ("/backups", "rule_deny", Some("no-backups")),
        ("/adminx", "rule_allow", Some("site")),
        ("/exports", "rule_allow", Some("site")),
        ("/administrators", "rule_allow", Some("site")),
        ("/public/admin", "rule_allow", Some("site")),
        // Allows keep their meaning: the folder's own name is not below it.
        ("https://api.github.com/repos/acme", "default_deny", None),
        (
            "https://api.github.com/repos/acme/web",
            "rule_allow",
            Some("acme-repos"),
        ),
        (
            "https://api.github.com/repos/acme/secrets",
            "rule_deny",
            Some("acme-secrets"),
        ),
        (
            "https://api.github.com/repos/acme/Secrets.txt",
            "rule_deny",
            Some("acme-secrets"),
        ),
        // Class 2: overlong UTF-8 (Tomcat, GlassFish, IIS), IIS's unchecked continuation, Latin-1.
        (
            "https://api.github.com/repos/acme/%C0%AE%C0%AE/other",
            "default_deny",
            None,
        ),
        (
            "https://api.github.com/repos/acme/%C0%AE%C0%AE%C0%AFother",
            "default_deny",
            None,
        ),
        ("https://api.github.com/repos/acme/..%C1%9Cother", "default_deny", None),
        (
            "https://api.github.com/repos/acme/%E0%80%AE%E0%80%AE/other",
            "default_deny",
            None,
        ),
        ("https://api.github.com/repos/acme/..%C0%2Fother", "default_deny", None),
        (
            "https://api.github.com/repos/acme/x/%C0%AE%C0%AE/secrets",
            "rule_deny",
            Some("acme-secrets"),
        ),
        (
            "https://api.github.com/repos/acme/x%C0%AF%C0%AE%C0%AE%C0%AFsecrets",
            "rule_deny",
            Some("acme-secrets"),
        ),
        (
            "https://api.github.com/repos/acme/web/caf%C3%A9",
            "rule_allow",
            Some("acme-repos"),
        ),
        ("/caf%E9", "rule_deny", Some("no-cafe")),
        ("/public/%C0%AE%C0%AE/admin", "rule_deny", Some("no-admin")),
        // Class 2: Unicode normalization (NFD, fullwidth `．` and `／`, the two-dot leader).
        ("/cafe%CC%81", "rule_deny", Some("no-cafe")),
        ("/CAFE%CC%81/menu", "rule_deny", Some("no-cafe")),
        ("/public/%EF%BC%8E%EF%BC%8E/admin", "rule_deny", Some("no-admin")),
        (
            "/public/%EF%BC%8E%EF%BC%8E%EF%BC%8Fadmin",
            "rule_deny",
            Some("no-admin"),
        ),
        ("/%EF%BD%81dmin", "rule_deny", Some("no-admin")),
        (
            "https://api.github.com/repos/acme/%EF%BC%8E%EF%BC%8E/other",
            "default_deny",
            None,
        ),
        (
            "https://api.github.com/repos/acme/%E2%80%A5/other",
            "default_deny",
            None,
        ),
        // Class 2: IIS 8.3 short names for restrictions; an allow fails on them.
        ("/BACKUP~1/db.sql", "rule_deny", Some("no-backups")),
        ("/backup~1", "rule_deny", Some("no-backups")),
        ("/BA3F1C~1/db.sql", "rule_deny", Some("no-backups")),
        ("/ADMINI~1", "rule_deny", Some("no-administrator")),
        ("/ADMINI~1.ASP", "rule_deny", Some("no-administrator")),
        ("/PUBLIC~1/x", "rule_allow", Some("site")),
        (
            "https://api.github.com/repos/acme/SECRET~1/x",
            "rule_deny",
            Some("acme-secrets"),
        ),
        ("https://api.github.com/REPOS~1/acme/x", "default_deny", None),
        ("https://api.github.com/repos/ACME~1/x", "default_deny", None),
    ];
    for (url, reason, rule) in cases {
        let url = match url.starts_with('/') {
            true => format!("https://app.example.com{url}"),
            false => url.to_string(),
        };
        assert_eq!(decide(&url), (reason.to_string(), rule.map(str::to_owned)), "{url}");
    }
}

/// Security round 4, classes 1-3, at the policy level: NTFS stream names, segments trimmed of controls
/// and spaces (old Spring), and 8.3 short names with Windows' `_` for characters they cannot hold.
const ROUND4: &str = r#"
zones:
  z:
    members: ["*"]
    default: deny
    rules:
      - {id: site, effect: allow, hosts: [h.example.com]}
      - {id: no-admin, effect: deny, hosts: [h.example.com], paths: ["/admin/"]}
      - {id: no-config, effect: deny, hosts: [h.example.com], paths: ["/web.config"]}
      - {id: no-my-files, effect: deny, hosts: [h.example.com], paths: ["/my+files/"]}
      - {id: ask-export, effect: require_approval, hosts: [h.example.com], paths: ["/export/"]}
      - {id: public, effect: allow, hosts: [p.example.com], paths: ["/public/"]}
      - {id: generate, effect: allow, hosts: [g.example.com], paths: ["/v1/models/gemini:generateContent"]}
"#;

#[test]
fn round_4_path_classes() {
    let policy = CompiledPolicy::from_yaml(ROUND4).unwrap_or_else(|e| panic!("{e}"));
    let decide = |url: &str| {
        let (target, tail) = Target::parse_url(url).unwrap_or_else(|e| panic!("{url}: {e}"));
        let d = authorize_egress(&policy, "alice", "z", (&target, &tail));
        (d.reason().as_str().to_owned(), d.rule().map(str::to_owned))
    };
    let deny = |rule: &'static str| ("rule_deny", Some(rule));
    let mut cases: Vec<(String, (&str, Option<&str>))> = vec![];
    let mut add = |url: &str, want: (&'static str, Option<&'static str>)| cases.push((url.to_owned(), want));
    // Class 1: NTFS alternate data streams (the reviewer's examples, then variants).
    for path in [
        "/admin::$INDEX_ALLOCATION",
        "/admin:$i30:$INDEX_ALLOCATION/x",
        "/ADMIN::$INDEX_ALLOCATION/users",
        "/admin%3A%3A$INDEX_ALLOCATION/x",
        "/admin%253a%253a$INDEX_ALLOCATION/x",
        "/admin%EF%BC%9A%EF%BC%9A$INDEX_ALLOCATION/x",
        "/admin:anything",
        "/x/..::$INDEX_ALLOCATION/admin/",
        "/x/%2e%2e:$DATA/admin",
    ] {
        add(&format!("https://h.example.com{path}"), deny("no-admin"));
    }
    for path in [
        "/web.config::$DATA",
        "/WEB.CONFIG::$DATA",
        "/Web.Config:$DATA",
        "/web.config%3A%3A$DATA",
        "/web.config::%24DATA",
        "/x/..:y/web.config::$DATA",
    ] {
        add(&format!("https://h.example.com{path}"), deny("no-config"));
    }
    add(
        "https://h.example.com/export::$INDEX_ALLOCATION/all",
        ("rule_require_approval", Some("ask-export")),
    );
    add(
        "https://h.example.com/administrator::$DATA",
        ("rule_allow", Some("site")),
    );
    add("https://h.example.com/web.configs::$DATA", ("rule_allow", Some("site")));
    // Class 2: controls and spaces trimmed from segments (old Spring), before dot segments are removed.
    for path in [
        "/admin%09/x",
        "/admin%0a",
        "/%20admin/x",
        "/%09admin",
        "/admin%0d%0a/x",
        "/%0badmin%0c",
        "/admin%1f/x",
        "/%20/admin/x",
        "/x/..%20/admin",
        "/x/%09..%0a/admin",
        "/admin%2509/x",
    ] {
        add(&format!("https://h.example.com{path}"), deny("no-admin"));
    }
    add("https://h.example.com/web.config%20", deny("no-config"));
    add(
        "https://h.example.com/%09export%0d/all",
        ("rule_require_approval", Some("ask-export")),
    );
    add("https://h.example.com/ad%09min/x", ("rule_allow", Some("site")));
    for path in [
        "/public/..%09/admin",
        "/public/..%0d%0a/admin",
        "/public/%20../admin",
        "/public/%0b..%0c/admin",
        "/public/..%2509/admin",
        "/public/x/..%20/..%1f/admin",
        // Class 1 against an allow: a `..` cut from its stream climbs out.
        "/public/..::$DATA/admin",
        "/public/..:x/admin",
        "/public/..%3A%3A$DATA/admin",
    ] {
        add(&format!("https://p.example.com{path}"), ("default_deny", None));
    }
    add(
        "https://p.example.com/public/report::$DATA",
        ("rule_allow", Some("public")),
    );
    add("https://p.example.com/public/a%09b", ("rule_allow", Some("public")));
    // An allow on a `:verb` method still allows it, and only it.
    add(
        "https://g.example.com/v1/models/gemini:generateContent",
        ("rule_allow", Some("generate")),
    );
    add(
        "https://g.example.com/v1/models/gemini:streamGenerateContent",
        ("default_deny", None),
    );
    add("https://g.example.com/v1/models/gemini", ("default_deny", None));
    // Class 3: 8.3 short names with `_` for `+ , ; = [ ]` and non-OEM characters.
    for path in [
        "/MY_FIL~1/x",
        "/my_fil~1",
        "/MY_FIL~2/secret.txt",
        "/MY_FIL~1::$INDEX_ALLOCATION/x",
    ] {
        add(&format!("https://h.example.com{path}"), deny("no-my-files"));
    }
    add("https://h.example.com/MYFILE~1/x", ("rule_allow", Some("site")));
    for (url, (reason, rule)) in &cases {
        assert_eq!(decide(url), (reason.to_string(), rule.map(str::to_owned)), "{url}");
    }
    for (paths, why) in [
        ("['/%20admin/']", "starting with a"),
        ("['/a/..:x/']", "cut at its first `:`"),
        ("['/:x/']", "cut at its first `:`"),
    ] {
        let doc = format!("zones:\n  z:\n    members: ['*']\n    rules:\n      - {{id: r, effect: deny, hosts: [a.example.com], paths: {paths}}}\n");
        let err = CompiledPolicy::from_yaml(&doc).unwrap_err().to_string();
        assert!(err.contains(why), "{paths}: {err}");
    }
}

#[test]
fn path_prefixes_are_validated() {
    for (paths, why) in [
        ("[]", "at least one path prefix"),
        ("[repos/acme]", "starts with `/`"),
        ("['/a/../b']", "normalized form; write `/b`"),
        ("['/a?b']", "no query"),
        ("['/caf\u{e9}']", "write `/caf%C3%A9`"),
        ("['/a;v=1/']", "plain segments"),
        ("['/a//b']", "plain segments"),
        ("['/a/..%2Fb']", "plain segments"),
        ("['/%61dmin']", "write `/admin`"),
        ("['/cafe%CC%81']", "NFKC form: `/caf%C3%A9`"),
        ("['/%EF%BD%81dmin/']", "NFKC form: `/admin/`"),
    ] {
        let doc = format!("zones:\n  z:\n    members: ['*']\n    rules:\n      - {{id: r, effect: allow, hosts: [a.example.com], paths: {paths}}}\n");
        let err = CompiledPolicy::from_yaml(&doc).unwrap_err().to_string();
        assert!(err.contains(why), "{paths}: {err}");
    }
}

// --- the property ---------------------------------------------------------------------------------

fn segment() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "acme",
        "other",
        "ACME",
        "Acme",
        "..",
        ".",
        "%2e%2e",
        "%2E",
        ".%2e",
        "..%2F",
        "%2F..",
        "acme%2F..",
        "x;y=1",
        ";",
        "%61cme",
        "repos",
        "%72epos",
        "",
        "%",
        "%25",
        "a%2Fb",
        "caf\u{e9}",
        "%5C..",
        "~",
        "..;",
        "..;x",
        "%252e%252e",
        "%252F",
        "%2561cme",
        "ACME%2F..",
        "%252F..",
        "a%252Fb",
        "acme.",
        "acme.json",
        "%u0061cme",
        // Overlong UTF-8 and fullwidth dots: `..` to legacy and normalizing servers.
        "%C0%AE%C0%AE",
        "..%C0%AF",
        "%EF%BC%8E%EF%BC%8E",
        "ACME~1",
        // NTFS stream names and segments trimmed of controls (round 4).
        "..::$DATA",
        "acme::$INDEX_ALLOCATION",
        "..:x",
        "..%09",
        "%20..",
        "%0d%0a..",
        "acme%20",
        "%09acme",
    ])
}

fn arb_path() -> impl Strategy<Value = String> {
    prop::collection::vec(segment(), 0..7).prop_map(|s| format!("/{}", s.join("/")))
}

/// What a server routes on: percent-decoded `depth` times (0: the raw path, as Express matches it; 1: once,
/// as nginx and most servers; more: as servers that decode again), `\\` as `/`, `;params` dropped, segments
/// cut at their first `:` when `streams` (NTFS), trimmed of characters up to U+0020 when `trim` (Java's
/// `String.trim`), `//` merged when `merge` (nginx), dot segments resolved when `resolve` (here by WHATWG's
/// own resolver), and optionally case-folded.
#[derive(Clone, Copy)]
struct View {
    depth: usize,
    streams: bool,
    trim: bool,
    merge: bool,
    fold: bool,
    resolve: bool,
}

fn server_view(path: &str, v: View) -> String {
    let mut decoded = path.to_owned();
    for _ in 0..v.depth {
        decoded = percent_encoding::percent_decode_str(&decoded)
            .decode_utf8_lossy()
            .into_owned();
    }
    let decoded = decoded.replace('\\', "/");
    let segments: Vec<&str> = decoded
        .split('/')
        .map(|s| s.split(';').next().unwrap_or_default())
        .map(|s| match v.streams {
            true => s.split(':').next().unwrap_or_default(),
            false => s,
        })
        .map(|s| match v.trim {
            true => s.trim_matches(|c: char| c <= ' '),
            false => s,
        })
        .collect();
    let mut joined = segments.join("/");
    while v.merge && joined.contains("//") {
        joined = joined.replace("//", "/");
    }
    // WHATWG resolves dot segments; its output re-encodes, so decode once more for comparison.
    let resolved = match v.resolve {
        true => {
            let resolved = url::Url::parse(&format!("http://h{joined}")).map(|u| u.path().to_owned());
            percent_encoding::percent_decode_str(&resolved.unwrap_or(joined))
                .decode_utf8_lossy()
                .into_owned()
        }
        false => joined,
    };
    if v.fold {
        resolved.to_lowercase()
    } else {
        resolved
    }
}

fn inside(prefix: &str, path: &str) -> bool {
    match path.strip_prefix(prefix) {
        None => false,
        Some(rest) => prefix.ends_with('/') || rest.is_empty() || rest.starts_with('/'),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn a_path_constrained_allow_never_allows_outside_its_prefixes(path in arb_path(), prefix in prop::sample::select(vec!["/repos/acme/", "/repos/acme", "/acme"])) {
        let policy = CompiledPolicy::from_yaml(&format!(
            "zones:\n  z:\n    members: ['*']\n    rules:\n      - {{id: p, effect: allow, hosts: [api.example.com], paths: ['{prefix}']}}\n"
        )).unwrap();
        let url = format!("https://api.example.com{path}");
        let Ok((target, tail)) = Target::parse_url(&url) else { return Ok(()) };
        let d = authorize_egress(&policy, "alice", "z", (&target, &tail));
        if d.reason().as_str() == "rule_allow" {
            let whatwg = url::Url::parse(&url).unwrap().path().to_owned();
            let raw = percent_encoding::utf8_percent_encode(&path, percent_encoding::CONTROLS).to_string();
            prop_assert!(inside(prefix, &whatwg), "WHATWG reading {whatwg} of {path}");
            prop_assert!(inside(prefix, &raw), "raw reading {raw} of {path}");
            for spelling in [&whatwg, &raw] {
                for bits in 0..(4 * 32) {
                    let flag = |i: usize| bits & (1 << i) != 0;
                    let v = View { depth: bits >> 5, streams: flag(0), trim: flag(1), merge: flag(2), fold: flag(3), resolve: flag(4) };
                    let view = |p: &str| server_view(p, v);
                    prop_assert!(
                        inside(&view(prefix), &view(spelling)),
                        "server reading (depth {}, streams {}, trim {}, merge {}, fold {}, resolve {}) of {spelling}",
                        v.depth, v.streams, v.trim, v.merge, v.fold, v.resolve
                    );
                }
            }
        }
    }
}
