//! Secrets in URLs (policy precedence step 4): well-known credential formats and credential-named
//! parameters in the host of any input and in the path, query or fragment of a URL input, read as written
//! and decoded (see [`texts`]). The record names the detector, never the secret, and every recorded target
//! has its credentials redacted, whichever step decided (see [`redact`]).
//!
//! - `detectors`: the patterns, compiled once per process, and which of their matches count;
//! - `params`: which parameter names name a credential, and which of their values are one;
//! - `texts`: the texts a URL's tail is read as;
//! - `redact`: what the record keeps of a path or host that carries a credential.

mod detectors;
mod params;
mod redact;
mod texts;

pub use detectors::compile_detectors;
pub use redact::{redact_path, redact_target};

use crate::normalize::{Host, Requested, UrlTail};

crate::wire_enum::wire_enum! {
    /// Which credential format was found. Declaration order is priority: the first that matches is reported.
    pub enum Detector in "snake_case" {
        /// A PEM private key (`-----BEGIN … PRIVATE KEY-----`).
        PrivateKey,
        /// An AWS access key id (`AKIA…`, `ASIA…`).
        AwsAccessKeyId,
        /// An AWS session token (STS).
        AwsSessionToken,
        /// A GitHub token (`ghp_…`, `github_pat_…`).
        GithubToken,
        /// A GitLab token (`glpat-…` and the other `gl…-` prefixes).
        GitlabToken,
        /// A Slack token (`xoxb-…`, `xapp-…`).
        SlackToken,
        /// A Slack incoming-webhook path (`/services/T…/B…/…`).
        SlackWebhook,
        /// A Discord webhook path (`/api/webhooks/<id>/<token>`).
        DiscordWebhook,
        /// A Telegram bot token in a Bot API path (`/bot<id>:<token>`).
        TelegramBotToken,
        /// A Stripe secret or restricted key (`sk_live_…`, `rk_test_…`).
        StripeKey,
        /// An Anthropic API key (`sk-ant-…`).
        AnthropicKey,
        /// An OpenRouter API key (`sk-or-v1-…`).
        OpenrouterKey,
        /// An OpenAI API key (`sk-proj-…` and the other `sk-` forms).
        OpenaiKey,
        /// A Hugging Face token (`hf_…`).
        HuggingfaceToken,
        /// A Google API key (`AIza…`).
        GoogleApiKey,
        /// A Google OAuth access token (`ya29.…`) or client secret (`GOCSPX-…`).
        GoogleOauthToken,
        /// The signature (`sig=`) of an Azure shared access signature.
        AzureSasSignature,
        /// A JSON Web Token (`eyJ….eyJ….…`).
        Jwt,
        /// A user name and password in a URL (`https://user:pass@host`).
        UrlCredentials,
        /// A credential-named parameter with a credential-like value (`password=…`, `"api_key":"…"`).
        CredentialParameter,
    }
}

crate::wire_enum::wire_enum! {
    /// Zone setting `dlp.secrets_in_url`: what a secret in the URL does (`deny` unless said otherwise).
    #[derive(Default)]
    pub enum DlpAction in "snake_case" {
        /// Deny the request (the default).
        #[default]
        Deny,
        /// Send it for approval, unless a `deny` rule or default denies it anyway.
        RequireApproval,
        /// Do not look (recorded targets are redacted all the same).
        Off,
    }
}

impl Detector {
    /// The one reported when two are found: the first in declaration order.
    fn min_by_priority(self, other: Detector) -> Detector {
        if (other as usize) < (self as usize) {
            other
        } else {
            self
        }
    }
}

/// The first detector (in priority order) that finds a credential in a URL's tail (path, query,
/// fragment), read as written and decoded.
pub fn scan(tail: &UrlTail) -> Option<Detector> {
    texts::tail_texts(tail)
        .iter()
        .filter_map(|t| detectors::first_match(t))
        .min_by_key(|d| *d as usize)
}

/// The first detector (in priority order) that finds a credential in a host name (never in an IP).
pub fn scan_host(host: &Host) -> Option<Detector> {
    match host {
        Host::Domain(name) if may_hold_a_credential(name) => scan_host_name(name),
        Host::Domain(_) | Host::Ipv4(_) | Host::Ipv6(_) => None,
    }
}

/// The detectors on a host name that may hold a credential: rare, and kept out of line so the common
/// decision stays small.
#[cold]
#[inline(never)]
fn scan_host_name(name: &str) -> Option<Detector> {
    detectors::first_host_match(name)
}

/// The shortest label a credential found in a host name needs. Each detector that can match a host at all
/// (the others need `/`, `=`, `:` or a space) has a run of at least this many label characters: an AWS key
/// id 20, a Slack token 15, `ghp_…` 40, a JWT's three parts 11 each, `ya29.` followed by 20, and so on
/// (`detectors.rs`; `a_host_of_short_labels_holds_no_credential` checks every detector).
pub(super) const MIN_CREDENTIAL_LABEL: usize = 11;

/// Whether a host name has a label long enough to hold a credential: most names have none, and then the
/// detectors need not run on the decision path (they cost more than the rest of the decision).
fn may_hold_a_credential(name: &str) -> bool {
    // One pass over the bytes, no iterator adaptors: this runs on every decision.
    let mut run = 0;
    for &b in name.as_bytes() {
        run = if b == b'.' { 0 } else { run + 1 };
        if run >= MIN_CREDENTIAL_LABEL {
            return true;
        }
    }
    false
}

/// What step 4 reads: the host of every input (a `domain` input has nothing else) and the tail of a URL.
pub(crate) fn scan_requested(requested: Requested<'_>) -> Option<Detector> {
    let in_host = scan_host(requested.target.host());
    let Some(tail) = requested.tail else {
        return in_host;
    };
    match (in_host, scan(tail)) {
        (Some(h), Some(t)) => Some(h.min_by_priority(t)),
        (h, t) => h.or(t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shortest credential of each format that can stand in a host name, as a host: each is found, and
    /// each has a label of at least [`MIN_CREDENTIAL_LABEL`] characters, so the label-length test in front
    /// of the detectors never hides one. (Formats needing `/`, `=`, `:` or a space never match a host.)
    #[test]
    fn a_host_of_short_labels_holds_no_credential() {
        let shortest = [
            ("akiaiosfodnn7example.x.com", Detector::AwsAccessKeyId),
            (
                "fwogzxivyxdze01234567890123456789012345678901234567890123456789.x.com",
                Detector::AwsSessionToken,
            ),
            ("ghp_0123456789abcdefghij0123456789abcdef.x.com", Detector::GithubToken),
            ("glpat-0123456789abcdefghij.x.com", Detector::GitlabToken),
            ("xoxb-1-abcdefgh.x.com", Detector::SlackToken),
            ("sk_live_0123456789abcdef.x.com", Detector::StripeKey),
            (
                "hf_0123456789abcdefghijklmnopqrstuvwx.x.com",
                Detector::HuggingfaceToken,
            ),
            ("aiza0123456789abcdefghijklmnopqrstuvwxy.x.com", Detector::GoogleApiKey),
            ("ya29.0123456789abcdefghij.x.com", Detector::GoogleOauthToken),
            ("eyjabcdefgh.eyjabcdefgh.abcdefgh.x.com", Detector::Jwt),
        ];
        for (host, detector) in shortest {
            let longest = host.split('.').map(str::len).max().unwrap_or(0);
            assert!(longest >= MIN_CREDENTIAL_LABEL, "{host}");
            assert_eq!(detectors::first_host_match(host), Some(detector), "{host}");
            assert_eq!(scan_host(&Host::Domain(host.to_owned())), Some(detector), "{host}");
            // One character shorter in its longest label, and it is no longer that credential.
            let cut: String = {
                let labels: Vec<&str> = host.split('.').collect();
                let i = labels.iter().position(|l| l.len() == longest).unwrap_or(0);
                let mut owned: Vec<String> = labels.iter().map(|l| (*l).to_owned()).collect();
                owned[i].pop();
                owned.join(".")
            };
            assert_ne!(detectors::first_host_match(&cut), Some(detector), "{cut}");
        }
        for plain in [
            "api.github.com",
            "a.b.c.example.co.uk",
            "xn--bcher-kva.de",
            "my-service-01.internal.example",
        ] {
            assert!(
                !may_hold_a_credential(plain) || plain.split('.').any(|l| l.len() >= 11),
                "{plain}"
            );
            assert_eq!(scan_host(&Host::Domain(plain.to_owned())), None, "{plain}");
        }
    }
}
