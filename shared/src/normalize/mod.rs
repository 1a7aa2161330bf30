//! Target normalization: the only way to build a [`Target`].
//!
//! Parsing follows WHATWG URL semantics (the `url` crate), because that is what browsers, `fetch` and most
//! modern HTTP clients do. On top of it we refuse every input on which two client stacks could disagree on
//! the host (userinfo, backslashes, percent-encoded hosts, missing `//`, IDNA and IPv4 spellings read
//! differently), so that the host we authorize is the host the caller connects to.
//!
//! - `url`: raw-text refusals and URL parsing; `host`: host names and IP literals; `idn`: do the IDNA
//!   stacks agree; `special`: internal and special-purpose targets;
//! - `requested`: what a caller asked for beyond the target (the URL's tail), read by the decision;
//! - `path`: the readings of a path that clients and servers may make, for path rules and DLP.

mod host;
mod idn;
mod path;
mod requested;
mod special;
mod url;

use std::borrow::Cow;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

pub use host::normalize_host;
pub use path::{any_reading_under, every_reading_under, fully_decoded, fully_decoded_iis, PathPrefix, PathReadings};
pub use requested::{Requested, UrlTail};
pub use special::{internal_ranges, special_host, special_target, special_v4, special_v6, InternalRange, SpecialKind};

/// Longest `url` input we parse; anything longer is not a plausible egress target and only costs CPU.
pub const MAX_URL_LEN: usize = 8192;
/// DNS limits (RFC 1035): 253 octets for the presentation form of a name, 63 per label.
pub const MAX_HOST_LEN: usize = 253;
/// The longest DNS label, in octets (RFC 1035 §2.3.4).
pub const MAX_LABEL_LEN: usize = 63;

/// Why an input could not become a [`Target`]. `code()` is the stable machine-readable form (the API's
/// `errors[].code`), derived from the variant name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum NormalizeError {
    /// The input is the empty string.
    #[error("input is empty")]
    Empty,
    /// Longer than [`MAX_URL_LEN`] bytes.
    #[error("input is longer than {MAX_URL_LEN} bytes")]
    TooLong,
    /// A control, whitespace or invisible format character (zero-width, bidi override) anywhere.
    #[error("control characters and whitespace are not allowed anywhere in the input")]
    ControlOrWhitespace,
    /// A `\` anywhere: WHATWG reads it as `/` in http(s) URLs, other parsers do not.
    #[error("backslashes are not allowed: parsers disagree on what they separate")]
    Backslash,
    /// Not an absolute URL (or a stored path not in normalized form); carries the parser's detail.
    #[error("not an absolute URL: {0}")]
    InvalidUrl(String),
    /// A scheme other than `http` or `https`; carries it, lowercased and cut to 32 characters.
    #[error("scheme `{0}` is not allowed; only http and https")]
    UnsupportedScheme(String),
    /// The scheme is not followed by exactly `//` and a host (`http:host`, `http:///host`).
    #[error("the scheme must be followed by `//` and a host")]
    MissingAuthority,
    /// An `@` in the authority (`user:pass@host`, even an empty `@host`).
    #[error("userinfo (`user:pass@`) is not allowed in a target")]
    Userinfo,
    /// No host, or one that is only a trailing dot.
    #[error("the host is empty")]
    EmptyHost,
    /// A `%` in the host: clients decode it differently, or not at all.
    #[error("percent-encoded characters are not allowed in the host")]
    PercentEncodedHost,
    /// The ASCII (punycode) name is longer than [`MAX_HOST_LEN`] octets.
    #[error("the host is longer than {MAX_HOST_LEN} octets")]
    HostTooLong,
    /// A label of the ASCII name is longer than [`MAX_LABEL_LEN`] octets.
    #[error("a host label is longer than {MAX_LABEL_LEN} octets")]
    LabelTooLong,
    /// An empty label: two dots in a row, or a leading dot (one trailing dot is dropped first).
    #[error("the host has an empty label")]
    EmptyLabel,
    /// A label with a character other than `a-z`, `0-9`, `-`, `_`, or starting or ending with `-`.
    #[error("the host contains characters that are not valid in a DNS name")]
    InvalidHost,
    /// UTS-46 processing of the host failed (bad punycode, disallowed code points).
    #[error("the host is not a valid internationalized domain name (IDNA/punycode)")]
    InvalidIdn,
    /// A bracketed IPv6 literal, or a host WHATWG reads as IPv4, that is no valid address.
    #[error("the host is not a valid IPv4 or IPv6 address")]
    InvalidIp,
    /// An IPv4 address with a leading zero, or a public one not written as plain dotted decimal.
    #[error(
        "the IPv4 address is not in dotted-decimal form (a.b.c.d, no leading zeros): clients read other forms differently"
    )]
    AmbiguousIpv4,
    /// A name the IDNA variants clients use (UTS-46 either way, IDNA2003) map to different hosts.
    #[error("client IDNA implementations (UTS-46 non-transitional and transitional, IDNA2003) disagree on this host")]
    AmbiguousIdn,
    /// The port is 0, above 65535 or not a number.
    #[error("the port is not a number between 1 and 65535")]
    InvalidPort,
    /// A `domain` input holding more than a host (a scheme, port, path, query or userinfo).
    #[error("`domain` must be a host name or IP literal only, without scheme, port, path or userinfo")]
    InvalidDomain,
}

impl NormalizeError {
    /// The variant name in snake_case (`ambiguous_ipv4`): the stable code the API reports.
    pub fn code(&self) -> &'static str {
        self.into()
    }
}

crate::wire_enum::wire_enum! {
    /// The scheme of a target: egress is plain HTTP or HTTPS only.
    pub enum Scheme in "lowercase" {
        /// `http`, default port 80.
        Http,
        /// `https`, default port 443.
        Https,
    }
}

impl Scheme {
    /// Exact, lowercase names only (callers lowercase a URL's scheme first).
    pub fn parse(s: &str) -> Option<Self> {
        s.parse().ok()
    }
}

/// A normalized host: lowercase ASCII DNS name (punycode, no trailing dot) or an IP address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    /// A DNS name: lowercase ASCII, punycode labels, no trailing dot.
    Domain(String),
    /// An IPv4 address (written dotted-decimal).
    Ipv4(Ipv4Addr),
    /// An IPv6 address (written bracketed and compressed, as WHATWG serializes it).
    Ipv6(Ipv6Addr),
}

impl Host {
    /// The host a restriction (deny, require_approval) or rate limit names this one by: an IPv6 address that
    /// stands for an IPv4 one (NAT64, 6to4; see `special::translated_v4`) is that IPv4 address, so
    /// `[64:ff9b::808:808]` and every address of `2002:808:808::/48` meet a deny or limit on `8.8.8.8`, and
    /// a restriction written in either form keys on `8.8.8.8`. Any other host is itself. The target keeps
    /// the host as the caller sent it; only comparisons use this.
    pub fn rule_key(&self) -> Cow<'_, Host> {
        match self {
            Host::Ipv6(ip) => match special::translated_v4(*ip) {
                Some(v4) => Cow::Owned(Host::Ipv4(v4)),
                None => Cow::Borrowed(self),
            },
            _ => Cow::Borrowed(self),
        }
    }

    /// The host an allow names this one by, which must never widen it: a NAT64 address is its IPv4 address
    /// (one-to-one, so `[64:ff9b::808:808]` and `8.8.8.8` are one destination both ways), but a 6to4
    /// address is itself. Its IPv4 address is only the site's router; the low 80 bits name any host of the
    /// /48 (`special::six_to_four_v4`), so an allow on `8.8.8.8` covers no 6to4 address and an allow on
    /// `[2002:808:808::10]` covers that address only.
    pub fn allow_key(&self) -> Cow<'_, Host> {
        match self {
            Host::Ipv6(ip) => match special::nat64_v4(*ip) {
                Some(v4) => Cow::Owned(Host::Ipv4(v4)),
                None => Cow::Borrowed(self),
            },
            _ => Cow::Borrowed(self),
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Domain(d) => f.write_str(d),
            Self::Ipv4(ip) => write!(f, "{ip}"),
            // The WHATWG serialization (bracketed, compressed, no dotted-quad tail), so `host` is never
            // ambiguous with a port and always equals what a WHATWG parser reports.
            Self::Ipv6(ip) => write!(f, "{}", ::url::Host::<&str>::Ipv6(*ip)),
        }
    }
}

/// A normalized egress target. Fields are private: the only constructors are [`Target::from_url`],
/// [`Target::parse_url`], [`Target::from_domain`], [`Target::from_parts`] and deserialization, which
/// re-runs normalization.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    scheme: Scheme,
    host: Host,
    port: u16,
    path: String,
}

impl Target {
    /// The scheme, `http` or `https`.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }
    /// The host as the caller sent it, normalized; rules compare [`Host::rule_key`] or [`Host::allow_key`].
    pub fn host(&self) -> &Host {
        &self.host
    }
    /// The port: the explicit one or the scheme's default, never 0.
    pub fn port(&self) -> u16 {
        self.port
    }
    /// The normalized path: starts with `/`, percent-encoded as WHATWG writes it, no dot segments, no
    /// query or fragment.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The same target with another path: a redacted one (a credential in the path never reaches the
    /// table or the events). `[REDACTED]` is in the form WHATWG writes, so the stored target still reads
    /// back through [`Target::from_parts`].
    pub(crate) fn with_path(self, path: &str) -> Self {
        Self {
            path: path.to_owned(),
            ..self
        }
    }

    /// The same target with another host: a redacted one (a credential in a host label never reaches the
    /// table or the events). The caller passes a normalized host.
    pub(crate) fn with_host(self, host: Host) -> Self {
        Self { host, ..self }
    }

    /// Rebuilds a target from stored parts, re-validating each so a tampered row cannot smuggle a bad host.
    pub fn from_parts(scheme: &str, host: &str, port: u16, path: &str) -> Result<Self, NormalizeError> {
        let scheme =
            Scheme::parse(scheme).ok_or_else(|| NormalizeError::UnsupportedScheme(url::truncate(scheme, 32)))?;
        let host = normalize_host(host)?;
        if port == 0 {
            return Err(NormalizeError::InvalidPort);
        }
        if !path.starts_with('/') || path.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(NormalizeError::InvalidUrl("bad path".into()));
        }
        // The path must be one `from_url` produces (no query, fragment, dot segments or raw non-ASCII), so a
        // rebuilt target is a fixed point of normalization like every other target.
        let reparsed = ::url::Url::parse(&format!("http://h{path}")).map_err(url::map_parse_error)?;
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

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}:{}{}", self.scheme.as_str(), self.host, self.port, self.path)
    }
}

/// The target as the API, the table and events write it.
#[derive(Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(deny_unknown_fields)]
struct TargetWire {
    scheme: Scheme,
    /// lowercase ASCII (punycode) host, IPv4 dotted quad, or bracketed IPv6
    #[schemars(length(min = 1, max = 255))]
    host: String,
    #[schemars(range(min = 1))]
    port: u16,
    /// normalized path; query and fragment are never recorded
    #[schemars(regex(pattern = "^/"))]
    path: String,
}

impl Serialize for Target {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        TargetWire {
            scheme: self.scheme,
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
        Target::from_parts(w.scheme.as_str(), &w.host, w.port, &w.path).map_err(serde::de::Error::custom)
    }
}

impl schemars::JsonSchema for Target {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Target".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        TargetWire::json_schema(generator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn stored_parts_are_normalized_again() {
        for (scheme, host, port, path) in [
            ("ftp", "example.com", 21, "/"),
            ("https", "example.com", 0, "/"),
            ("https", "example.com", 443, "x"),
            ("https", "example.com", 443, "/a/../b"),
            ("https", "example.com", 443, "/a?b"),
            ("https", "010.0.0.1", 443, "/"),
            ("https", "user@example.com", 443, "/"),
        ] {
            let t = Target::from_parts(scheme, host, port, path);
            assert!(t.is_err(), "{scheme} {host} {port} {path}: {t:?}");
        }
        assert!(Target::from_parts("https", "example.com", 443, "/caf%C3%A9").is_ok());
    }
}
