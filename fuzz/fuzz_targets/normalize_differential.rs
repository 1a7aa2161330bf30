//! Differential fuzzing of `Target::from_url` against in-process oracles: the parsers real clients use.
//!
//! For every UTF-8 input `s` (other inputs are skipped) that we accept as a target `t` which is not special
//! (internal targets are denied whatever a client reads, so they are exempt):
//! 1. WHATWG (`url::Url`, what browsers, `fetch` and the `url` crate do) parses `s` to the same host and port;
//! 2. RFC 3986 as hyper/reqwest read it (`http::Uri`, version 1), when it parses `s` at all, gives the same
//!    host (lowercased, one trailing dot removed, IPv6 brackets stripped and the address parsed) and port
//!    (explicit, or the scheme default 80/443);
//! 3. an IPv4 target is written as the strict dotted quad that Rust's `Ipv4Addr::from_str` (like Go's
//!    `net.ParseIP`) reads, to the same address;
//! 4. a domain target written in ASCII is that text (modulo case and one trailing dot): no stack maps ASCII
//!    to another name.
//!
//! Any violation panics with the input and the check that failed.

#![no_main]

use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use egress_core::{Host, Scheme, Target};
use egress_core::special_target;
use libfuzzer_sys::fuzz_target;

fn strip_one_dot(s: &str) -> &str {
    s.strip_suffix('.').unwrap_or(s)
}

/// The host as written in `s`: between `//` and the first of `/?#`, without the port. A bracketed IPv6
/// literal keeps its brackets and its port colon is the one after `]`; otherwise the port colon is the
/// first `:` (an accepted target has no userinfo, so there is no other colon before the port).
fn raw_host(s: &str) -> Option<&str> {
    let (_, rest) = s.split_once("//")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    if authority.starts_with('[') {
        let close = authority.find(']')?;
        return Some(&authority[..=close]);
    }
    Some(authority.split_once(':').map_or(authority, |(h, _)| h))
}

/// Check 1: WHATWG.
fn check_whatwg(s: &str, t: &Target) {
    let url = url::Url::parse(s)
        .unwrap_or_else(|e| panic!("check 1 (WHATWG): {s:?} accepted as {t} but url::Url fails: {e}"));
    let host = url
        .host_str()
        .unwrap_or_else(|| panic!("check 1 (WHATWG): {s:?} accepted as {t} but url::Url has no host"));
    let same = match t.host() {
        Host::Ipv6(want) => {
            host.strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .and_then(|h| h.parse::<Ipv6Addr>().ok())
                == Some(*want)
        }
        other => strip_one_dot(host) == other.to_string(),
    };
    assert!(
        same,
        "check 1 (WHATWG host): {s:?}: url::Url host {host:?}, target host {}",
        t.host()
    );
    assert_eq!(
        url.port_or_known_default(),
        Some(t.port()),
        "check 1 (WHATWG port): {s:?}: url::Url port, target {t}"
    );
}

/// Check 2: `http::Uri` (hyper, reqwest).
fn check_http_uri(s: &str, t: &Target) {
    let Ok(uri) = s.parse::<http::Uri>() else { return };
    let host = uri
        .host()
        .unwrap_or_else(|| panic!("check 2 (http::Uri): {s:?} accepted as {t} but http::Uri has no host: {uri:?}"));
    let host_lc = host.to_ascii_lowercase();
    let host_lc = strip_one_dot(&host_lc);
    let same = match t.host() {
        Host::Ipv6(want) => {
            host_lc
                .strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .and_then(|h| h.parse::<Ipv6Addr>().ok())
                == Some(*want)
        }
        // hyper-util's connector reads the host as an IP with `IpAddr::from_str` (strict) first; check 3
        // covers the text exactly as written, trailing dot included.
        Host::Ipv4(want) => Ipv4Addr::from_str(host_lc).ok() == Some(*want),
        Host::Domain(want) => host_lc == want,
    };
    assert!(
        same,
        "check 2 (http::Uri host): {s:?}: http::Uri host {host:?}, target host {}",
        t.host()
    );
    let default = match uri.scheme_str().map(str::to_ascii_lowercase).as_deref() {
        Some("http") => 80,
        Some("https") => 443,
        other => panic!("check 2 (http::Uri scheme): {s:?}: http::Uri scheme {other:?}, target {t}"),
    };
    let want_scheme = match t.scheme() {
        Scheme::Http => 80,
        Scheme::Https => 443,
    };
    assert_eq!(default, want_scheme, "check 2 (http::Uri scheme): {s:?}: target {t}");
    let port = uri.port_u16().unwrap_or(default);
    assert_eq!(
        port,
        t.port(),
        "check 2 (http::Uri port): {s:?}: http::Uri {uri:?}, target {t}"
    );
}

/// Checks 3 and 4: the host text as written.
fn check_raw_host(s: &str, t: &Target) {
    let raw = raw_host(s).unwrap_or_else(|| panic!("{s:?} accepted as {t} but has no `//` authority"));
    match t.host() {
        Host::Ipv4(want) => {
            let got = Ipv4Addr::from_str(raw);
            assert_eq!(
                got.as_ref().ok(),
                Some(want),
                "check 3 (strict dotted quad): {s:?}: host as written {raw:?} reads as {got:?} to Ipv4Addr::from_str, target host {want}"
            );
        }
        Host::Domain(want) if raw.is_ascii() => {
            assert!(
                strip_one_dot(raw).eq_ignore_ascii_case(want),
                "check 4 (ASCII host is the name): {s:?}: host as written {raw:?}, target host {want}"
            );
        }
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let Ok(t) = Target::from_url(s) else { return };
    if special_target(&t).is_some() {
        return;
    }
    check_whatwg(s, &t);
    check_http_uri(s, &t);
    check_raw_host(s, &t);
});
