//! Hosts: a bare host name or IP literal (`domain` inputs, policy host patterns) and the host of a parsed
//! URL, both through the WHATWG host parser, then the refusals that keep every client stack on that host.
//!
//! Specs: the WHATWG URL Standard's host parsing (<https://url.spec.whatwg.org/#host-parsing>, IPv4
//! numbers in any base, IPv6 with embedded IPv4), RFC 3986 §3.2.2 (what RFC clients accept as a host) and
//! RFC 1035 §2.3 (letters, digits and hyphens; label lengths).

use std::borrow::Cow;
use std::net::{Ipv4Addr, Ipv6Addr};

use url::Url;

use super::url::{check_raw, map_parse_error};
use super::{idn, special, Host, NormalizeError, MAX_HOST_LEN, MAX_LABEL_LEN};

/// Normalizes a host on its own (used for `domain` inputs and for policy host patterns), with the same
/// WHATWG host parser as URLs so `domain` and `url` inputs can never disagree.
pub fn normalize_host(input: &str) -> Result<Host, NormalizeError> {
    check_raw(input)?;
    // No length check on the raw input: UTS-46 maps and drops characters, so only the ASCII result can be
    // measured (`check_domain`), exactly as for a URL host; `check_raw` bounds the work.
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

/// The host WHATWG parsed into `url`. `raw_host` is the host as the caller wrote it, used to refuse
/// spellings other client stacks read as another host.
pub(super) fn host_from_url(url: &Url, raw_host: &str) -> Result<Host, NormalizeError> {
    match url.host() {
        None => Err(NormalizeError::EmptyHost),
        Some(url::Host::Ipv4(ip)) => check_ipv4(ip, raw_host).map(Host::Ipv4),
        Some(url::Host::Ipv6(ip)) => Ok(Host::Ipv6(ip)),
        Some(url::Host::Domain(d)) => {
            // DNS limits first, so a malformed name keeps its precise code.
            let d = check_domain(d)?;
            if !idn::stacks_agree(raw_host, &d) {
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
    if canonical || special::special_v4(ip).is_some() {
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
