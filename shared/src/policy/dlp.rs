//! Secrets in URLs (policy precedence step 4): well-known credential formats in the path, query or fragment
//! of a URL input, as written and percent-decoded. One `RegexSet`, compiled once per process; the record
//! names the detector, never the secret, and a secret in the path is redacted from the stored target.

use std::sync::LazyLock;

use regex::{Regex, RegexSet};

use crate::{decoded_path, Target, UrlTail};

crate::wire_enum::wire_enum! {
    /// Which credential format was found. Declaration order is priority: the first that matches is reported.
    pub enum Detector in "snake_case" {
        PrivateKey,
        AwsAccessKeyId,
        GithubToken,
        GitlabToken,
        SlackToken,
        SlackWebhook,
        StripeKey,
        AnthropicKey,
        OpenaiKey,
        GoogleApiKey,
        Jwt,
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

/// The pattern of each detector, in [`Detector`] order. Credential parameters (`password=`, `api_key=`,
/// `access_token=` ...) count only with values of 8 characters or more, and only as whole parameter names:
/// `page_token=` or `next_token=` are pagination, not credentials.
const PATTERNS: [(Detector, &str); 12] = [
    (Detector::PrivateKey, r"-----BEGIN[A-Z ]*PRIVATE KEY-----"),
    (Detector::AwsAccessKeyId, r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}\b"),
    (
        Detector::GithubToken,
        r"\b(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82})\b",
    ),
    (
        Detector::GitlabToken,
        r"\bgl(?:pat|dt|ptt|rt|soat|ft|imt|cbt|oas|agent)-[A-Za-z0-9_\-]{20,}",
    ),
    (Detector::SlackToken, r"\bxox[abposr]-[A-Za-z0-9\-]{10,}"),
    (
        Detector::SlackWebhook,
        r"/services/T[A-Z0-9]{8,}/B[A-Z0-9]{8,}/[A-Za-z0-9]{20,}",
    ),
    (Detector::StripeKey, r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}"),
    (
        Detector::AnthropicKey,
        r"\bsk-ant-(?:api|admin|oat)[0-9]{2}-[A-Za-z0-9_\-]{40,}",
    ),
    (
        Detector::OpenaiKey,
        r"\bsk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{40,}|[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}\b|[A-Za-z0-9]{48}\b)",
    ),
    (Detector::GoogleApiKey, r"\bAIza[0-9A-Za-z_\-]{35}"),
    (
        Detector::Jwt,
        r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
    ),
    (
        Detector::CredentialParameter,
        r"(?i)(?:^|[?&;#/])(?:password|passwd|pwd|pass|secret|client_secret|api[_\-]?key|apikey|access[_\-]?token|auth[_\-]?token|token|private[_\-]?key|session[_\-]?token|credentials?)=[^&#;\s]{8,}",
    ),
];

struct Detectors {
    set: RegexSet,
    each: Vec<Regex>,
}

static DETECTORS: LazyLock<Option<Detectors>> = LazyLock::new(|| {
    let patterns = PATTERNS.map(|(_, p)| p);
    // The patterns are constants, checked by a test; a failure here would disable nothing silently: see
    // `scan`, which then reports every URL with a tail as a credential parameter (fail closed).
    let set = RegexSet::new(patterns).ok()?;
    let each = patterns.iter().map(|p| Regex::new(p)).collect::<Result<_, _>>().ok()?;
    Some(Detectors { set, each })
});

/// Compiles the detectors now (at init), so the first request does not pay for it.
pub fn compile_detectors() {
    LazyLock::force(&DETECTORS);
}

/// The texts a tail is scanned as: each part as written and percent-decoded (`+` as space in the query and
/// fragment, as form decoding reads them).
fn texts(tail: &UrlTail) -> Vec<String> {
    let mut out = vec![tail.path().to_owned(), decoded_path(tail.path())];
    for part in [tail.query(), tail.fragment()].into_iter().flatten() {
        out.push(part.to_owned());
        let plus = part.replace('+', " ");
        out.push(
            percent_encoding::percent_decode_str(&plus)
                .decode_utf8_lossy()
                .into_owned(),
        );
    }
    out
}

fn first_match(text: &str) -> Option<Detector> {
    let Some(d) = DETECTORS.as_ref() else {
        return Some(Detector::CredentialParameter);
    };
    d.set.matches(text).iter().next().map(|i| PATTERNS[i].0)
}

/// The first detector (in priority order) that finds a credential anywhere in the tail.
pub fn scan(tail: &UrlTail) -> Option<Detector> {
    texts(tail)
        .iter()
        .filter_map(|t| first_match(t))
        .min_by_key(|d| *d as usize)
}

/// The path to record for a target whose URL carried a secret: each match replaced by `[REDACTED]`; the
/// whole path when a secret would still be readable (for example percent-encoded).
pub fn redact_path(target: &Target) -> Option<String> {
    let path = target.path();
    if first_match(path).is_none() && first_match(&decoded_path(path)).is_none() {
        return None;
    }
    let mut redacted = path.to_owned();
    if let Some(d) = DETECTORS.as_ref() {
        for re in &d.each {
            redacted = re.replace_all(&redacted, "[REDACTED]").into_owned();
        }
    }
    let still = first_match(&redacted).is_some() || first_match(&decoded_path(&redacted)).is_some();
    Some(if still { "/[REDACTED]".to_owned() } else { redacted })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_compiles() {
        assert!(DETECTORS.is_some());
        for (d, p) in PATTERNS {
            assert!(Regex::new(p).is_ok(), "{d}");
        }
        let order: Vec<Detector> = PATTERNS.iter().map(|(d, _)| *d).collect();
        assert_eq!(order, <Detector as strum::VariantArray>::VARIANTS);
    }
}
