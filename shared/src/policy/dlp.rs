//! Secrets in URLs (policy precedence step 4): well-known credential formats in the path, query or fragment
//! of a URL input, as written and fully percent-decoded. One `RegexSet`, compiled once per process; the
//! record names the detector, never the secret, and every recorded path has its credentials redacted,
//! whichever step decided.

use std::sync::LazyLock;

use regex::{Captures, Regex, RegexSet};

use crate::{fully_decoded, UrlTail};

crate::wire_enum::wire_enum! {
    /// Which credential format was found. Declaration order is priority: the first that matches is reported.
    pub enum Detector in "snake_case" {
        PrivateKey,
        AwsAccessKeyId,
        AwsSessionToken,
        GithubToken,
        GitlabToken,
        SlackToken,
        SlackWebhook,
        DiscordWebhook,
        TelegramBotToken,
        StripeKey,
        AnthropicKey,
        OpenrouterKey,
        OpenaiKey,
        HuggingfaceToken,
        GoogleApiKey,
        GoogleOauthToken,
        AzureSasSignature,
        Jwt,
        UrlCredentials,
        CredentialParameter,
    }
}

crate::wire_enum::wire_enum! {
    /// Zone setting `dlp.secrets_in_url`: what a secret in the URL does (`deny` unless said otherwise).
    #[derive(Default)]
    pub enum DlpAction in "snake_case" {
        #[default]
        Deny,
        RequireApproval,
        Off,
    }
}

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
const PATTERNS: [(Detector, &str); 20] = [
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
    (
        Detector::UrlCredentials,
        r"(?P<pre>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<secret>[^/?#@\s:]+:[^/?#@\s]+@)",
    ),
    (
        Detector::CredentialParameter,
        r"(?i)(?P<pre>^|[?&;#/\[.]|x-)(?P<secret>(?:password|passwd|pwd|pass|secret|client_secret|secret_key|aws_secret_access_key|api[_\-]?key|apikey|api[_\-]?token|access[_\-]?key|access[_\-]?token|refresh[_\-]?token|id[_\-]?token|auth[_\-]?token|private[_\-]?token|session[_\-]?token|token|private[_\-]?key|accountkey|credentials?)\]?=(?P<value>[^&#\s]{8,}))",
    ),
];

/// Values of credential-named parameters that are not credentials: settings, paths, short plain words.
fn credential_value(value: &str) -> bool {
    const SETTINGS: [&str; 8] = [
        "true",
        "false",
        "include",
        "omit",
        "same-origin",
        "null",
        "undefined",
        "none",
    ];
    if SETTINGS.iter().any(|s| value.eq_ignore_ascii_case(s)) || value.starts_with('/') {
        return false;
    }
    let varied = value
        .bytes()
        .any(|b| b.is_ascii_digit() || b.is_ascii_uppercase() || !b.is_ascii_alphanumeric());
    varied || value.len() >= 12
}

struct Detectors {
    set: RegexSet,
    each: Vec<Regex>,
}

static DETECTORS: LazyLock<Option<Detectors>> = LazyLock::new(|| {
    let patterns = PATTERNS.map(|(_, p)| p);
    // The patterns are constants, checked by a test; should compiling ever fail, `scan` reports every
    // URL with a tail as a credential parameter (fail closed) rather than detecting nothing.
    let set = RegexSet::new(patterns).ok()?;
    let each = patterns.iter().map(|p| Regex::new(p)).collect::<Result<_, _>>().ok()?;
    Some(Detectors { set, each })
});

/// Compiles the detectors now (at init), so the first request does not pay for it.
pub fn compile_detectors() {
    LazyLock::force(&DETECTORS);
}

/// Whether a match is a credential: always, except credential-named parameters with non-credential values.
fn real(detector: Detector, caps: &Captures<'_>) -> bool {
    detector != Detector::CredentialParameter || caps.name("value").is_some_and(|v| credential_value(v.as_str()))
}

/// The first detector, in priority order, that finds a credential in `text`.
fn first_match(text: &str) -> Option<Detector> {
    let Some(d) = DETECTORS.as_ref() else {
        return Some(Detector::CredentialParameter);
    };
    d.set
        .matches(text)
        .iter()
        .find(|&i| d.each[i].captures_iter(text).any(|c| real(PATTERNS[i].0, &c)))
        .map(|i| PATTERNS[i].0)
}

/// The texts a tail is scanned as: each part as written and fully percent-decoded (`+` as space in the
/// query and fragment, as form decoding reads them). No dot or `;` handling: nothing is thrown away.
fn texts(tail: &UrlTail) -> Vec<String> {
    let mut out = vec![tail.path().to_owned(), fully_decoded(tail.path())];
    for part in [tail.query(), tail.fragment()].into_iter().flatten() {
        out.push(part.to_owned());
        out.push(fully_decoded(&part.replace('+', " ")));
    }
    out
}

/// The first detector (in priority order) that finds a credential anywhere in the tail.
pub fn scan(tail: &UrlTail) -> Option<Detector> {
    texts(tail)
        .iter()
        .filter_map(|t| first_match(t))
        .min_by_key(|d| *d as usize)
}

/// The path to record when it carries a credential: each match replaced by `[REDACTED]`, or the whole path
/// when a credential would still be readable (for example percent-encoded). `None`: nothing to redact.
pub fn redact_path(path: &str) -> Option<String> {
    let found = |p: &str| first_match(p).is_some() || first_match(&fully_decoded(p)).is_some();
    if !found(path) {
        return None;
    }
    let mut redacted = path.to_owned();
    if let Some(d) = DETECTORS.as_ref() {
        for (i, re) in d.each.iter().enumerate() {
            redacted = re
                .replace_all(&redacted, |c: &Captures<'_>| match real(PATTERNS[i].0, c) {
                    true => format!("{}[REDACTED]", &c["pre"]),
                    false => c[0].to_owned(),
                })
                .into_owned();
        }
    }
    Some(if found(&redacted) {
        "/[REDACTED]".to_owned()
    } else {
        redacted
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_compiles_with_its_groups() {
        assert!(DETECTORS.is_some());
        for (d, p) in PATTERNS {
            let re = Regex::new(p).unwrap_or_else(|e| panic!("{d}: {e}"));
            let names: Vec<_> = re.capture_names().flatten().collect();
            assert!(names.contains(&"pre") && names.contains(&"secret"), "{d}");
        }
        let order: Vec<Detector> = PATTERNS.iter().map(|(d, _)| *d).collect();
        assert_eq!(order, <Detector as strum::VariantArray>::VARIANTS);
    }
}
