//! Host comparison shared by the checks that hold two readings of one target against each other (the
//! gateway's against Squid's in [`crate::acl`], the TLS server name against the CONNECT host in
//! [`crate::sni`]).

use std::net::IpAddr;

/// `host` without the brackets of an IPv6 authority.
fn bare(host: &str) -> &str {
    host.trim_start_matches('[').trim_end_matches(']')
}

/// Whether `host` is an IP literal (bracketed or not).
pub fn is_ip_literal(host: &str) -> bool {
    bare(host).parse::<IpAddr>().is_ok()
}

/// Whether two readings name the same host: IP literals compared as addresses, names ASCII
/// case-insensitively with one trailing dot ignored (RFC 4343; a fully qualified name is the same host).
/// A literal and a name are never the same.
pub fn same_host(a: &str, b: &str) -> bool {
    let (a, b) = (bare(a), bare(b));
    match (a.parse::<IpAddr>(), b.parse::<IpAddr>()) {
        (Ok(x), Ok(y)) => x == y,
        (Err(_), Err(_)) => {
            let dotless = |h: &'_ str| h.strip_suffix('.').unwrap_or(h).to_owned();
            let (a, b) = (dotless(a), dotless(b));
            !a.is_empty() && a.eq_ignore_ascii_case(&b)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_literals_compare_as_hosts() {
        assert!(same_host("Origin.Example.", "origin.example"));
        assert!(same_host("[::1]", "::1"));
        assert!(same_host("[0:0::1]", "::1"));
        assert!(!same_host("origin.example", "origin.example.evil"));
        assert!(!same_host("127.0.0.1", "localhost"));
        assert!(!same_host(".", ""));
        assert!(is_ip_literal("[::ffff:127.0.0.1]"));
        assert!(!is_ip_literal("0x7f.1"));
    }
}
