//! URL and domain inputs: the raw-text refusals (controls, backslashes, userinfo, missing `//`, percent-encoded
//! hosts) that keep every client stack on the same host, then WHATWG parsing (the `url` crate).
//!
//! Specs: the WHATWG URL Standard (<https://url.spec.whatwg.org/#url-parsing>) and RFC 3986 (URI generic
//! syntax), whose readings of one input must agree for it to be accepted.

use url::Url;

use super::host::{host_from_url, normalize_host};
use super::{NormalizeError, Scheme, Target, UrlTail, MAX_URL_LEN};

impl Target {
    /// Normalizes an absolute http(s) URL. Query and fragment are dropped (they may carry secrets).
    pub fn from_url(input: &str) -> Result<Self, NormalizeError> {
        Self::parse_url(input).map(|(target, _)| target)
    }

    /// Normalizes an absolute http(s) URL and keeps, apart from the target, what follows the authority as
    /// the caller wrote it (for path rules and secrets-in-URL detection; never stored).
    pub fn parse_url(input: &str) -> Result<(Self, UrlTail), NormalizeError> {
        check_raw(input)?;
        let (raw_scheme, rest) = input
            .split_once(':')
            .ok_or_else(|| NormalizeError::InvalidUrl("no scheme".into()))?;
        let scheme_lc = raw_scheme.to_ascii_lowercase();
        let scheme = match Scheme::parse(&scheme_lc) {
            Some(s) => s,
            None if is_scheme_syntax(raw_scheme) => {
                return Err(NormalizeError::UnsupportedScheme(truncate(&scheme_lc, 32)))
            }
            None => return Err(NormalizeError::InvalidUrl("no scheme".into())),
        };
        // Exactly `//` then the authority: `http:host`, `http:/host` and `http:///host` are all read as
        // `http://host` by WHATWG but not by RFC 3986 parsers.
        let after = rest
            .strip_prefix("//")
            .filter(|a| !a.starts_with('/'))
            .ok_or(NormalizeError::MissingAuthority)?;
        let authority_end = after.find(['/', '?', '#']).unwrap_or(after.len());
        let authority = &after[..authority_end];
        if authority.contains('@') {
            return Err(NormalizeError::Userinfo);
        }
        if authority.contains('%') {
            return Err(NormalizeError::PercentEncodedHost);
        }
        let url = Url::parse(input).map_err(map_parse_error)?;
        // Defence in depth: the raw checks above should make these unreachable.
        if !url.username().is_empty() || url.password().is_some() {
            return Err(NormalizeError::Userinfo);
        }
        let raw_host = match authority.rfind(':') {
            Some(i) if !authority.starts_with('[') => &authority[..i],
            _ => authority,
        };
        let host = host_from_url(&url, raw_host)?;
        // Port 0 is no destination, and `requests` reads an explicit `:0` as "no port" (the default).
        let port = url
            .port_or_known_default()
            .filter(|p| *p != 0)
            .ok_or(NormalizeError::InvalidPort)?;
        let target = Self {
            scheme,
            host,
            port,
            path: url.path().to_owned(),
        };
        Ok((target, UrlTail::parse(&after[authority_end..])))
    }

    /// Normalizes a bare host name or IP literal. It stands for `https://<domain>/` (port 443, path `/`).
    pub fn from_domain(input: &str) -> Result<Self, NormalizeError> {
        Ok(Self {
            scheme: Scheme::Https,
            host: normalize_host(input)?,
            port: 443,
            path: "/".to_owned(),
        })
    }
}

pub(super) fn check_raw(input: &str) -> Result<(), NormalizeError> {
    if input.is_empty() {
        return Err(NormalizeError::Empty);
    }
    if input.len() > MAX_URL_LEN {
        return Err(NormalizeError::TooLong);
    }
    // WHATWG silently strips tab/CR/LF and leading/trailing C0+space; other parsers do not. Reject them all,
    // plus every Unicode control, whitespace and format character (zero-width joiners, bidi overrides).
    if input
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || is_format_char(c))
    {
        return Err(NormalizeError::ControlOrWhitespace);
    }
    if input.contains('\\') {
        return Err(NormalizeError::Backslash);
    }
    Ok(())
}

/// Unicode general category Cf characters that matter for spoofing (zero-width, bidi controls, BOM).
fn is_format_char(c: char) -> bool {
    matches!(c, '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
}

fn is_scheme_syntax(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

pub(super) fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

pub(super) fn map_parse_error(e: url::ParseError) -> NormalizeError {
    use url::ParseError as P;
    match e {
        P::EmptyHost => NormalizeError::EmptyHost,
        P::IdnaError => NormalizeError::InvalidIdn,
        P::InvalidPort => NormalizeError::InvalidPort,
        P::InvalidIpv4Address | P::InvalidIpv6Address => NormalizeError::InvalidIp,
        P::InvalidDomainCharacter => NormalizeError::InvalidHost,
        other => NormalizeError::InvalidUrl(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(input: &str) -> String {
        Target::from_url(input)
            .map(|t| t.to_string())
            .unwrap_or_else(|e| panic!("{input}: {e}"))
    }
    fn err(input: &str) -> &'static str {
        match Target::from_url(input) {
            Ok(t) => panic!("{input} accepted as {t}"),
            Err(e) => e.code(),
        }
    }

    #[test]
    fn basics() {
        assert_eq!(
            ok("https://Example.COM./a/../b?q=secret#frag"),
            "https://example.com:443/b"
        );
        assert_eq!(ok("http://example.com"), "http://example.com:80/");
        assert_eq!(ok("http://0x7f.1/"), "http://127.0.0.1:80/");
        assert_eq!(ok("http://[0:0::1]:8080/"), "http://[::1]:8080/");
        assert_eq!(ok("https://bücher.de/"), "https://xn--bcher-kva.de:443/");
        assert_eq!(err("http://user:pw@example.com/"), "userinfo");
        assert_eq!(err("http://@example.com/"), "userinfo");
        assert_eq!(err("ftp://example.com/"), "unsupported_scheme");
        assert_eq!(err("http:\\\\example.com"), "backslash");
        assert_eq!(err("http://exa mple.com"), "control_or_whitespace");
        assert_eq!(err("http://example.com:65536/"), "invalid_port");
        assert_eq!(err("http://%65xample.com/"), "percent_encoded_host");
        assert_eq!(err("http:example.com"), "missing_authority");
        assert_eq!(err("http:///example.com"), "missing_authority");
    }
}
