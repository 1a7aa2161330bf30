//! The detectors: one pattern per [`Detector`], compiled once per process twice over (as written for URL
//! tails; case-insensitively for host names, which DNS and normalization do not keep the case of), and
//! which of their matches are credentials.

use std::ops::Range;
use std::sync::LazyLock;

use regex::{Captures, Regex, RegexBuilder, RegexSet, RegexSetBuilder};

use super::{params, Detector};

/// A boundary before a short prefix (`sk-`, `eyJ`): not a letter or digit, so `key_AKIA...` is found but
/// `task-...` is not. It is kept when redacting.
macro_rules! bounded {
    ($secret:literal) => {
        concat!(r"(?P<pre>^|[^A-Za-z0-9])(?P<secret>", $secret, ")")
    };
}
/// A prefix distinctive enough to need no boundary.
macro_rules! anywhere {
    ($secret:literal) => {
        concat!(r"(?P<pre>)(?P<secret>", $secret, ")")
    };
}

/// The pattern of each detector, in [`Detector`] order. Each has a `pre` group (kept) and a `secret`
/// group (redacted).
pub(super) const PATTERNS: [(Detector, &str); 20] = [
    (Detector::PrivateKey, anywhere!(r"-----BEGIN[A-Z ]*PRIVATE KEY-----")),
    (
        Detector::AwsAccessKeyId,
        bounded!(r"(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}"),
    ),
    (
        Detector::AwsSessionToken,
        anywhere!(r"(?:FwoGZXIvYXdzE|IQoJb3JpZ2luX2Vj)[A-Za-z0-9%/+=]{50,}"),
    ),
    (
        Detector::GithubToken,
        anywhere!(r"(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82})"),
    ),
    (
        Detector::GitlabToken,
        anywhere!(r"gl(?:pat|dt|ptt|rt|soat|ft|imt|cbt|oas|agent)-[A-Za-z0-9_\-]{20,}"),
    ),
    (
        Detector::SlackToken,
        bounded!(r"(?:xox[abposrecd]-[0-9]+-[A-Za-z0-9\-]{8,}|xapp-[0-9]-[A-Z0-9]+-[0-9]+-[a-f0-9]{32,})"),
    ),
    (
        Detector::SlackWebhook,
        anywhere!(r"/services/T[A-Z0-9]{8,}/B[A-Z0-9]{8,}/[A-Za-z0-9]{20,}"),
    ),
    (
        Detector::DiscordWebhook,
        anywhere!(r"/api/webhooks/[0-9]{17,20}/[A-Za-z0-9_\-]{60,}"),
    ),
    (
        Detector::TelegramBotToken,
        anywhere!(r"/bot[0-9]{6,12}:[A-Za-z0-9_\-]{35}"),
    ),
    (
        Detector::StripeKey,
        bounded!(r"(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}"),
    ),
    (
        Detector::AnthropicKey,
        bounded!(r"sk-ant-(?:api|admin|oat)[0-9]{2}-[A-Za-z0-9_\-]{40,}"),
    ),
    (Detector::OpenrouterKey, bounded!(r"sk-or-v1-[0-9a-f]{64}")),
    (
        Detector::OpenaiKey,
        bounded!(
            r"sk-(?:(?:proj|svcacct|admin|None)-[A-Za-z0-9_\-]{40,}|[A-Za-z0-9_\-]*T3BlbkFJ[A-Za-z0-9_\-]+|[A-Za-z0-9]{48})"
        ),
    ),
    (Detector::HuggingfaceToken, bounded!(r"hf_[A-Za-z0-9]{34}")),
    (Detector::GoogleApiKey, anywhere!(r"AIza[0-9A-Za-z_\-]{35}")),
    (
        Detector::GoogleOauthToken,
        bounded!(r"(?:ya29\.[0-9A-Za-z_\-]{20,}|GOCSPX-[0-9A-Za-z_\-]{28})"),
    ),
    (
        Detector::AzureSasSignature,
        r"(?i)(?P<pre>^|[?&;])(?P<secret>sig=[A-Za-z0-9%+/=]{30,})",
    ),
    (
        Detector::Jwt,
        bounded!(r"eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"),
    ),
    // With a scheme (`https://u:p@h`) or protocol-relative at the start of a part or a value (`?u=//u:p@h`).
    (
        Detector::UrlCredentials,
        r"(?P<pre>[A-Za-z][A-Za-z0-9+.\-]*://|(?:^|[=?&#;])//)(?P<secret>[^/?#@\s:]+:[^/?#@\s]+@)",
    ),
    // A parameter whose name ends in a credential word; `params` decides which names and values count.
    // Forms: `name=value`, `;name=value`, `name[]=value`, `user[name][0]=value` (any bracket groups),
    // dotted names (`api.key`), names nested in a value (`q=password=…`, `q=x:password=…`), and object
    // literals (`"name":"value"`, `'name':'value'`, `name:'value'`). The match ends at `=`, so a value
    // is scanned for nested parameters too (`pwd=/a/b/password=…`); the value itself runs on to the next
    // `&`, `#` or space (`password=ab;cd`), see [`ValueEnds`]. A quoted value ends at its quote.
    (
        Detector::CredentialParameter,
        r#"(?i)(?P<pre>^|[?&;#/\[.{,"'\s=:])(?P<secret>(?P<name>[a-z0-9_.\-]*?(?:pass(?:word|wd|phrase|code)?|pwd?|secrets?|key|token|auth|authorization|bearer|credentials?|signature|sig|session[_\-]?id|sessid|sid|aspsessionid[a-z]*))(?:\]?(?:\[[^\]&#\s]*\])*=(?P<value>)|["']?\s*:\s*(?:"(?P<json>[^"]*)"?|'(?P<sq>[^']*)'?)))"#,
    ),
];

pub(super) struct Detectors {
    set: RegexSet,
    each: Vec<Regex>,
}

fn compile(case_insensitive: bool) -> Option<Detectors> {
    let patterns = PATTERNS.map(|(_, p)| p);
    let set = RegexSetBuilder::new(patterns)
        .case_insensitive(case_insensitive)
        .build()
        .ok()?;
    let each = patterns
        .iter()
        .map(|p| RegexBuilder::new(p).case_insensitive(case_insensitive).build())
        .collect::<Result<_, _>>()
        .ok()?;
    Some(Detectors { set, each })
}

// The patterns are constants, checked by a test; should compiling ever fail, every URL tail and host name
// is reported as a credential parameter (fail closed) rather than nothing being detected.
static TAIL: LazyLock<Option<Detectors>> = LazyLock::new(|| compile(false));
static HOST: LazyLock<Option<Detectors>> = LazyLock::new(|| compile(true));

/// Compiles the detectors now (at init), so the first request does not pay for it.
pub fn compile_detectors() {
    LazyLock::force(&TAIL);
    LazyLock::force(&HOST);
}

/// Where a text is read from: a URL's tail, or a host name (lowercase, labels and `.` only).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    Tail,
    Host,
}

/// Where the `=` values of credential parameters end: at the next `&`, `#` or space. Matches come in
/// order and every start inside one run ends where it does, so each run is scanned once (a hostile
/// `;pwd=;pwd=…` costs one pass, not one per match).
#[derive(Default)]
struct ValueEnds {
    last: Range<usize>,
}

impl ValueEnds {
    fn end(&mut self, text: &str, start: usize) -> usize {
        if !self.last.contains(&start) {
            let end = text[start..]
                .find(|c: char| c == '&' || c == '#' || c.is_whitespace())
                .map_or(text.len(), |n| start + n);
            self.last = start..end;
        }
        self.last.end
    }
}

/// The span of a credential found by `caps`, `None` when it is not one. Credential-named parameters count
/// only with a credential value (judged on its first 512 characters), and span to their value's end. In
/// a host, a match must start a label or follow `-`/`_` (so `faizal…` never holds `AIza…`), and an AWS
/// key id must fill its part of the label and hold a digit: case is lost, and `asiapacificnewsnetwork` is
/// a name, not a key.
fn found(
    detector: Detector,
    caps: &Captures<'_>,
    text: &str,
    source: Source,
    ends: &mut ValueEnds,
) -> Option<Range<usize>> {
    let secret = caps.name("secret")?;
    if detector == Detector::CredentialParameter {
        let name = caps.name("name").map_or("", |m| m.as_str());
        let quoted = caps.name("json").or_else(|| caps.name("sq"));
        let value = match (quoted, caps.name("value")) {
            (Some(quoted), _) => quoted.range(),
            (None, Some(v)) => v.start()..ends.end(text, v.start()),
            (None, None) => return None,
        };
        let judged = &text[value.clone()];
        let judged = judged.char_indices().nth(512).map_or(judged, |(cut, _)| &judged[..cut]);
        return params::is_credential(name, judged).then(|| secret.start()..secret.end().max(value.end));
    }
    if source == Source::Tail {
        return Some(secret.range());
    }
    let before = text[..secret.start()].chars().next_back();
    let after = text[secret.end()..].chars().next();
    let boundary = |c: Option<char>| c.is_none_or(|c| !c.is_ascii_alphanumeric());
    let aws_ok = || boundary(after) && secret.as_str().bytes().skip(4).any(|b| b.is_ascii_digit());
    (boundary(before) && (detector != Detector::AwsAccessKeyId || aws_ok())).then(|| secret.range())
}

/// Every credential `detector` finds in `text`, in order.
fn found_all<'t>(d: &'t Detectors, i: usize, text: &'t str, source: Source) -> impl Iterator<Item = Range<usize>> + 't {
    let detector = PATTERNS[i].0;
    let mut ends = ValueEnds::default();
    d.each[i]
        .captures_iter(text)
        .filter_map(move |caps| found(detector, &caps, text, source, &mut ends))
}

fn first(detectors: &Option<Detectors>, text: &str, source: Source) -> Option<Detector> {
    let Some(d) = detectors.as_ref() else {
        return Some(Detector::CredentialParameter);
    };
    d.set
        .matches(text)
        .iter()
        .find(|&i| found_all(d, i, text, source).next().is_some())
        .map(|i| PATTERNS[i].0)
}

/// The first detector, in priority order, that finds a credential in `text` (part of a URL's tail).
pub(super) fn first_match(text: &str) -> Option<Detector> {
    first(&TAIL, text, Source::Tail)
}

/// The first detector, in priority order, that finds a credential in a host name.
pub(super) fn first_host_match(host: &str) -> Option<Detector> {
    first(&HOST, host, Source::Host)
}

/// The byte ranges of every credential found in `text`, `None` when the detectors are not available.
fn spans(detectors: &Option<Detectors>, text: &str, source: Source) -> Option<Vec<Range<usize>>> {
    let d = detectors.as_ref()?;
    Some(
        d.set
            .matches(text)
            .iter()
            .flat_map(|i| found_all(d, i, text, source))
            .collect(),
    )
}

/// Where the credentials of a tail text are.
pub(super) fn tail_spans(text: &str) -> Option<Vec<Range<usize>>> {
    spans(&TAIL, text, Source::Tail)
}

/// Where the credentials of a host name are.
pub(super) fn host_spans(host: &str) -> Option<Vec<Range<usize>>> {
    spans(&HOST, host, Source::Host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_compiles_with_its_groups() {
        assert!(TAIL.is_some() && HOST.is_some());
        for (d, p) in PATTERNS {
            let re = Regex::new(p).unwrap_or_else(|e| panic!("{d}: {e}"));
            let names: Vec<_> = re.capture_names().flatten().collect();
            assert!(names.contains(&"pre") && names.contains(&"secret"), "{d}");
        }
        let order: Vec<Detector> = PATTERNS.iter().map(|(d, _)| *d).collect();
        assert_eq!(order, <Detector as strum::VariantArray>::VARIANTS);
    }
}
