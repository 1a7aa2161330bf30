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

use crate::{Host, Requested, UrlTail};

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

/// The first detector (in priority order) that finds a credential anywhere in the tail.
pub fn scan(tail: &UrlTail) -> Option<Detector> {
    texts::tail_texts(tail)
        .iter()
        .filter_map(|t| detectors::first_match(t))
        .min_by_key(|d| *d as usize)
}

/// The first detector (in priority order) that finds a credential in a host name (never in an IP).
pub fn scan_host(host: &Host) -> Option<Detector> {
    match host {
        Host::Domain(name) => detectors::first_host_match(name),
        Host::Ipv4(_) | Host::Ipv6(_) => None,
    }
}

/// What step 4 reads: the host of every input (a `domain` input has nothing else) and the tail of a URL.
pub(crate) fn scan_requested(requested: Requested<'_>) -> Option<Detector> {
    let in_host = scan_host(requested.target.host());
    let in_tail = requested.tail.and_then(scan);
    in_host.into_iter().chain(in_tail).min_by_key(|d| *d as usize)
}
