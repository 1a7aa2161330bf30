//! Target normalization: the only way to build a [`Target`].
//!
//! Parsing follows WHATWG URL semantics (the `url` crate), because that is what browsers, `fetch` and most
//! modern HTTP clients do. On top of it we reject every input where two reasonable parsers could disagree on
//! the host (userinfo, backslashes, percent-encoded hosts, missing `//`), so that the host we authorize is the
//! host the caller connects to.

use std::borrow::Cow;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};
use url::Url;

/// Longest `url` input we parse; anything longer is not a plausible egress target and only costs CPU.
pub const MAX_URL_LEN: usize = 8192;
/// DNS limits (RFC 1035): 253 octets for the presentation form of a name, 63 per label.
pub const MAX_HOST_LEN: usize = 253;
pub const MAX_LABEL_LEN: usize = 63;

/// Why an input could not become a [`Target`]. `code()` is the stable machine-readable form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NormalizeError {
    #[error("input is empty")]
    Empty,
    #[error("input is longer than {MAX_URL_LEN} bytes")]
    TooLong,
    #[error("control characters and whitespace are not allowed anywhere in the input")]
    ControlOrWhitespace,
    #[error("backslashes are not allowed: parsers disagree on what they separate")]
    Backslash,
    #[error("not an absolute URL: {0}")]
    InvalidUrl(String),
    #[error("scheme `{0}` is not allowed; only http and https")]
    UnsupportedScheme(String),
    #[error("the scheme must be followed by `//` and a host")]
    MissingAuthority,
    #[error("userinfo (`user:pass@`) is not allowed in a target")]
    Userinfo,
    #[error("the host is empty")]
    EmptyHost,
    #[error("percent-encoded characters are not allowed in the host")]
    PercentEncodedHost,
    #[error("the host is longer than {MAX_HOST_LEN} octets")]
    HostTooLong,
    #[error("a host label is longer than {MAX_LABEL_LEN} octets")]
    LabelTooLong,
    #[error("the host has an empty label")]
    EmptyLabel,
    #[error("the host contains characters that are not valid in a DNS name")]
    InvalidHost,
    #[error("the host is not a valid internationalized domain name (IDNA/punycode)")]
    InvalidIdn,
    #[error("the host is not a valid IPv4 or IPv6 address")]
    InvalidIp,
    #[error(
        "the IPv4 address is not in dotted-decimal form (a.b.c.d, no leading zeros): clients read other forms differently"
    )]
    AmbiguousIpv4,
    #[error("client IDNA implementations (UTS-46 non-transitional and transitional, IDNA2003) disagree on this host")]
    AmbiguousIdn,
    #[error("the port is not a number between 1 and 65535")]
    InvalidPort,
    #[error("`domain` must be a host name or IP literal only, without scheme, port, path or userinfo")]
    InvalidDomain,
}

impl NormalizeError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::TooLong => "too_long",
            Self::ControlOrWhitespace => "control_or_whitespace",
            Self::Backslash => "backslash",
            Self::InvalidUrl(_) => "invalid_url",
            Self::UnsupportedScheme(_) => "unsupported_scheme",
            Self::MissingAuthority => "missing_authority",
            Self::Userinfo => "userinfo",
            Self::EmptyHost => "empty_host",
            Self::PercentEncodedHost => "percent_encoded_host",
            Self::HostTooLong => "host_too_long",
            Self::LabelTooLong => "label_too_long",
            Self::EmptyLabel => "empty_label",
            Self::InvalidHost => "invalid_host",
            Self::InvalidIdn => "invalid_idn",
            Self::InvalidIp => "invalid_ip",
            Self::AmbiguousIpv4 => "ambiguous_ipv4",
            Self::AmbiguousIdn => "ambiguous_idn",
            Self::InvalidPort => "invalid_port",
            Self::InvalidDomain => "invalid_domain",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    Http,
    Https,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "http",
            Self::Https => "https",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "http" => Some(Self::Http),
            "https" => Some(Self::Https),
            _ => None,
        }
    }
}

/// A normalized host: lowercase ASCII DNS name (punycode, no trailing dot) or an IP address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    Domain(String),
    Ipv4(Ipv4Addr),
    Ipv6(Ipv6Addr),
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Domain(d) => f.write_str(d),
            Self::Ipv4(ip) => write!(f, "{ip}"),
            // The WHATWG serialization (bracketed, compressed, no dotted-quad tail), so `host` is never
            // ambiguous with a port and always equals what a WHATWG parser reports.
            Self::Ipv6(ip) => write!(f, "{}", url::Host::<&str>::Ipv6(*ip)),
        }
    }
}

/// A normalized egress target. Fields are private: the only constructors are [`Target::from_url`],
/// [`Target::from_domain`] and deserialization, which re-runs normalization.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    scheme: Scheme,
    host: Host,
    port: u16,
    path: String,
}

impl Target {
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }
    pub fn host(&self) -> &Host {
        &self.host
    }
    pub fn port(&self) -> u16 {
        self.port
    }
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Normalizes an absolute http(s) URL. Query and fragment are dropped (they may carry secrets).
    pub fn from_url(input: &str) -> Result<Self, NormalizeError> {
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
        Ok(Self {
            scheme,
            host,
            port,
            path: url.path().to_owned(),
        })
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

    /// Rebuilds a target from stored parts, re-validating each so a tampered row cannot smuggle a bad host.
    pub fn from_parts(scheme: &str, host: &str, port: u16, path: &str) -> Result<Self, NormalizeError> {
        let scheme = Scheme::parse(scheme).ok_or_else(|| NormalizeError::UnsupportedScheme(truncate(scheme, 32)))?;
        let host = normalize_host(host)?;
        if !path.starts_with('/') || path.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(NormalizeError::InvalidUrl("bad path".into()));
        }
        // The path must be one `from_url` produces (no query, fragment, dot segments or raw non-ASCII), so a
        // rebuilt target is a fixed point of normalization like every other target.
        let reparsed = Url::parse(&format!("http://h{path}")).map_err(map_parse_error)?;
        if reparsed.path() != path {
            return Err(NormalizeError::InvalidUrl("path is not in normalized form".into()));
        }
        Ok(Self {
            scheme,
            host,
            port,
            path: path.to_owned(),
        })
    }
}

/// Normalizes a host on its own (used for `domain` inputs and for policy host patterns), with the same
/// WHATWG host parser as URLs so `domain` and `url` inputs can never disagree.
pub fn normalize_host(input: &str) -> Result<Host, NormalizeError> {
    check_raw(input)?;
    // No length check on the raw input: UTS-46 maps and drops characters, so only the ASCII result can be
    // measured (`check_domain`), exactly as for a URL host; `check_raw` bounds the work.
    // Bracketed or bare IPv6 literal.
    let inner = input.strip_prefix('[').and_then(|s| s.strip_suffix(']'));
    if let Some(v6) = inner {
        return v6
            .parse::<Ipv6Addr>()
            .map(Host::Ipv6)
            .map_err(|_| NormalizeError::InvalidIp);
    }
    if input.contains(':') {
        return input
            .parse::<Ipv6Addr>()
            .map(Host::Ipv6)
            .map_err(|_| NormalizeError::InvalidDomain);
    }
    if input.contains(['/', '?', '#', '@', '[', ']']) {
        return Err(NormalizeError::InvalidDomain);
    }
    if input.contains('%') {
        return Err(NormalizeError::PercentEncodedHost);
    }
    if is_plain_ascii_name(input) {
        // WHATWG host parsing is the identity on these (checked against `Url` by the hostile-URL suite and
        // the properties): skipping it makes compiling a 100k-rule policy several times faster.
        return check_domain(input).map(Host::Domain);
    }
    let url = Url::parse(&format!("http://{input}/")).map_err(map_parse_error)?;
    host_from_url(&url, input)
}

/// Lowercase LDH (+ `_`) names with no punycode label and a last label that cannot be read as a number
/// (WHATWG's "ends in a number" rule, which would send the host to the IPv4 parser).
fn is_plain_ascii_name(input: &str) -> bool {
    let plain = input
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.'));
    if !plain || input.split('.').any(|l| l.starts_with("xn--")) {
        return false;
    }
    let trimmed = input.strip_suffix('.').unwrap_or(input);
    let last = trimmed.rsplit('.').next().unwrap_or_default();
    let numeric = last.bytes().all(|b| b.is_ascii_digit())
        || last
            .strip_prefix("0x")
            .is_some_and(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
    !last.is_empty() && !numeric
}

fn check_raw(input: &str) -> Result<(), NormalizeError> {
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

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

fn map_parse_error(e: url::ParseError) -> NormalizeError {
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

/// `raw_host` is the host as the caller wrote it, used to refuse spellings other client stacks read as
/// another host.
fn host_from_url(url: &Url, raw_host: &str) -> Result<Host, NormalizeError> {
    match url.host() {
        None => Err(NormalizeError::EmptyHost),
        Some(url::Host::Ipv4(ip)) => check_ipv4(ip, raw_host).map(Host::Ipv4),
        Some(url::Host::Ipv6(ip)) => Ok(Host::Ipv6(ip)),
        Some(url::Host::Domain(d)) => {
            // DNS limits first, so a malformed name keeps its precise code.
            let d = check_domain(d)?;
            if !crate::idn::stacks_agree(raw_host, &d) {
                return Err(NormalizeError::AmbiguousIdn);
            }
            Ok(Host::Domain(d))
        }
    }
}

/// WHATWG reads `ip` from `raw_host`. Only the plain dotted-decimal form means the same address to every
/// client: `010.0.0.1` is 8.0.0.1 to WHATWG and inet_aton but 10.0.0.1 to decimal readers (Java, regex
/// clients); `134744072`, `0x8.8.8.8`, `1.2.65535` and `8.8.8.8.` are DNS names to Go and Java; mapped
/// digits (`８.８.８.８`) are names or errors outside UTS-46. The checks run on the UTS-46-mapped text, the
/// text WHATWG's IPv4 parser saw, so fullwidth or ignorable characters cannot hide a leading zero.
///
/// Other forms of an internal address stay accepted: whatever a client reads, the gateway denies it as
/// internal (recorded, an attack signal for the audit trail); a public reading would be refused above.
fn check_ipv4(ip: Ipv4Addr, raw_host: &str) -> Result<Ipv4Addr, NormalizeError> {
    let mapped = match raw_host.is_ascii() {
        true => Cow::Borrowed(raw_host),
        false => idna::domain_to_ascii_cow(raw_host.as_bytes(), idna::AsciiDenyList::URL)
            .map_err(|_| NormalizeError::InvalidIdn)?,
    };
    let octal = mapped
        .split('.')
        .any(|part| part.len() > 1 && part.starts_with('0') && part.bytes().all(|b| b.is_ascii_digit()));
    if octal {
        return Err(NormalizeError::AmbiguousIpv4);
    }
    let canonical = raw_host.is_ascii() && raw_host == ip.to_string();
    if canonical || crate::special::special_v4(ip).is_some() {
        Ok(ip)
    } else {
        Err(NormalizeError::AmbiguousIpv4)
    }
}

/// `d` is the WHATWG-processed (UTS-46, lowercase, punycode) domain. We add DNS limits on top.
fn check_domain(d: &str) -> Result<String, NormalizeError> {
    let d = d.strip_suffix('.').unwrap_or(d);
    if d.is_empty() {
        return Err(NormalizeError::EmptyHost);
    }
    if d.len() > MAX_HOST_LEN {
        return Err(NormalizeError::HostTooLong);
    }
    for label in d.split('.') {
        if label.is_empty() {
            return Err(NormalizeError::EmptyLabel);
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(NormalizeError::LabelTooLong);
        }
        // Letters, digits, hyphen and underscore (used by SRV-style and some real service names) only:
        // WHATWG lets `*`, `$`, `!`... through, and a `*` in a host must never look like a wildcard.
        let valid_chars = label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !valid_chars || label.starts_with('-') || label.ends_with('-') {
            return Err(NormalizeError::InvalidHost);
        }
    }
    Ok(d.to_owned())
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}:{}{}", self.scheme.as_str(), self.host, self.port, self.path)
    }
}

#[derive(Serialize, Deserialize)]
struct TargetWire {
    scheme: String,
    host: String,
    port: u16,
    path: String,
}

impl Serialize for Target {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        TargetWire {
            scheme: self.scheme.as_str().to_owned(),
            host: self.host.to_string(),
            port: self.port,
            path: self.path.clone(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Target {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = TargetWire::deserialize(d)?;
        Target::from_parts(&w.scheme, &w.host, w.port, &w.path).map_err(serde::de::Error::custom)
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

    #[test]
    fn target_roundtrips_through_serde() {
        let t = Target::from_url("https://[::ffff:1.2.3.4]:8443/x").unwrap();
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(
            json,
            r#"{"scheme":"https","host":"[::ffff:102:304]","port":8443,"path":"/x"}"#
        );
        let back: Target = serde_json::from_str(&json).unwrap();
        assert_eq!(back, t);
    }
}
