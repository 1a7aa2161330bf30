//! `sni`: Squid's `external_acl_type` helper for the tunnel leg's TLS check (DESIGN §12). Squid peeks at
//! the agent's ClientHello without decrypting and asks whether its server name (SNI, RFC 6066 §3) is the
//! host the gateway allowed in the CONNECT. A different name is domain fronting: the TLS session would be
//! with another host than the one decided (an allowed CDN front carrying a denied back). `OK` splices the
//! tunnel; `ERR` ends it before Squid connects anywhere.
//!
//! Input (`external_acl_type egress_sni` in `infra/proxy/squid.conf`): `%>rd %ssl::>sni %DATA` (Squid
//! appends the ACL's arguments, `%DATA`, anyway; it is written out so the shape is fixed). A hello without
//! a server name is accepted only for an IP-literal CONNECT (clients send no SNI for an address,
//! RFC 6066 §3: "Literal IPv4 and IPv6 addresses are not permitted"); for a name it is refused, since the
//! server would pick the certificate, and so the site, itself.

use crate::host::{is_ip_literal, same_host};
use crate::protocol::{HelperLine, Reply};
use crate::serve::Handler;

/// Why a tunnel's ClientHello is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SniRefusal {
    /// The ClientHello names another host than the CONNECT (domain fronting).
    #[error("the TLS server name is not the CONNECT host")]
    Mismatch,
    /// No server name, for a CONNECT to a host name.
    #[error("no TLS server name for a CONNECT to a name")]
    Missing,
    /// Not the three values `egress_sni` is configured with, or no CONNECT host.
    #[error("the helper line does not have the configured fields")]
    Unreadable,
}

impl SniRefusal {
    /// The `refusal` code in the access log (DESIGN §12).
    pub fn reason(self) -> &'static str {
        match self {
            Self::Mismatch => "sni_mismatch",
            Self::Missing => "sni_missing",
            Self::Unreadable => "proxy_request_unreadable",
        }
    }
}

/// The check itself: `connect_host` as Squid parsed the CONNECT, `sni` as the ClientHello named it.
pub fn check(connect_host: &str, sni: Option<&str>) -> Result<(), SniRefusal> {
    match sni {
        Some(name) if same_host(connect_host, name) => Ok(()),
        Some(_) => Err(SniRefusal::Mismatch),
        None if is_ip_literal(connect_host) => Ok(()),
        None => Err(SniRefusal::Missing),
    }
}

/// The `sni` mode: stateless, it reads only what Squid hands it.
pub struct Sni;

impl Handler for Sni {
    async fn handle(&self, line: HelperLine) -> Reply {
        let verdict = match line.values.as_slice() {
            [Some(host), sni, _data] => check(host, sni.as_deref()),
            _ => Err(SniRefusal::Unreadable),
        };
        match verdict {
            Ok(()) => Reply::ok(),
            Err(refusal) => {
                tracing::warn!(reason = refusal.reason(), "tunnel refused at the TLS hello");
                Reply::err().note("refusal", refusal.reason())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::parse_line;

    #[test]
    fn the_server_name_must_be_the_connect_host() {
        assert_eq!(check("origin.example", Some("ORIGIN.example.")), Ok(()));
        assert_eq!(
            check("origin.example", Some("front.example")),
            Err(SniRefusal::Mismatch)
        );
        assert_eq!(
            check("origin.example", Some("origin.example.front")),
            Err(SniRefusal::Mismatch)
        );
        assert_eq!(check("origin.example", None), Err(SniRefusal::Missing));
        // An address may come without a name, never with another host's name.
        assert_eq!(check("192.0.2.7", None), Ok(()));
        assert_eq!(check("[2001:db8::7]", None), Ok(()));
        assert_eq!(check("192.0.2.7", Some("origin.example")), Err(SniRefusal::Mismatch));
    }

    #[tokio::test]
    async fn squid_lines_get_ok_or_an_annotated_err() {
        let ask = |l: &str| Sni.handle(parse_line(l).unwrap());
        assert_eq!(ask("0 origin.example origin.example -").await.line("0"), "0 OK\n");
        assert_eq!(
            ask("1 origin.example front.example -").await.line("1"),
            "1 ERR refusal=\"sni_mismatch\"\n"
        );
        assert_eq!(
            ask("2 origin.example - -").await.line("2"),
            "2 ERR refusal=\"sni_missing\"\n"
        );
        assert_eq!(ask("3 192.0.2.7 - -").await.line("3"), "3 OK\n");
        assert_eq!(
            ask("4 - origin.example -").await.line("4"),
            "4 ERR refusal=\"proxy_request_unreadable\"\n"
        );
        assert_eq!(
            ask("5 a b").await.line("5"),
            "5 ERR refusal=\"proxy_request_unreadable\"\n"
        );
    }
}
