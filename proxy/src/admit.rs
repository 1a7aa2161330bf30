//! `admit`: Squid's `external_acl_type` helper at the door of the tunnel leg (DESIGN §12). The agents'
//! leg decided a CONNECT with the gateway and relayed it to the tunnel leg (loopback, same Squid) with
//! the decision in `X-Egress-*` request headers it set itself (agents' own copies are removed before).
//! This mode turns those headers into the tunnel leg's transaction notes, for its access-log lines, and
//! tags the client connection with the request id (`clt_conn_tag`): Squid carries a connection tag into
//! the requests it makes up later on that connection (the spliced tunnel after the TLS peek, a port-80
//! tunnel of plain bytes), so every line of the tunnel joins to the gateway's row.
//!
//! Input (`external_acl_type egress_admit` in `infra/proxy/squid.conf`): the headers
//! `X-Egress-Tunnel-Key`, `X-Egress-Request-Id`, `-Decision`, `-Reason`, `-Principal`, `-Zone`, `-Client`,
//! then `%DATA`. `OK` only for a relayed `allow` with a well-formed request id **and** the tunnel key:
//! the tunnel port is on loopback, but loopback is shared (other containers of a task, other processes of
//! a host), so the agents' leg proves it is the sender with a random key the entrypoint makes at each
//! start (`EGRESS_PROXY_TUNNEL_KEY`, in Squid's configuration and environment, never logged). The tunnel
//! leg carries nothing the agents' leg did not allow.

use crate::env;
use crate::protocol::{HelperLine, Reply};
use crate::serve::Handler;

/// Why a connection is not admitted to the tunnel leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AdmitRefusal {
    /// The presented tunnel key is absent or wrong (or the configured one is too short).
    #[error("the relayed CONNECT does not carry this Squid's tunnel key")]
    NotFromAgentsLeg,
    /// No well-formed request id was relayed.
    #[error("the tunnel leg got no request id from the agents' leg")]
    NoRequestId,
    /// The relayed decision is not `allow`.
    #[error("the agents' leg relayed a connection it did not allow")]
    NotAllowed,
    /// Not the eight values `egress_admit` is configured with.
    #[error("the helper line does not have the configured fields")]
    Unreadable,
}

/// A request id as the gateway writes them: a canonical ULID (the gateway's own check).
fn is_request_id(v: &str) -> bool {
    egress_core::request::is_canonical_ulid(v)
}

/// Equal in time independent of where the first difference is (the key is a secret).
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The reason the agents' leg gives its one exception, a CONNECT to the gateway's own API on 443 (no
/// token, no gateway decision: the API authenticates every call itself; squid.conf `mark_gateway_api`).
/// Admitted without a request id; any other allow needs one.
pub const GATEWAY_API: &str = "gateway_api";

/// The shortest tunnel key accepted (the entrypoint makes 64 hex characters).
pub const MIN_KEY_LEN: usize = 32;

/// The notes of an admitted connection, or why it is refused. `key` is this Squid's tunnel key.
pub fn admit(values: &[Option<String>], key: &str) -> Result<Reply, AdmitRefusal> {
    let [presented, request_id, decision, reason, principal, zone, client, _data] = values else {
        return Err(AdmitRefusal::Unreadable);
    };
    let presented = presented.as_deref().unwrap_or_default();
    if key.len() < MIN_KEY_LEN || !same_secret(presented.as_bytes(), key.as_bytes()) {
        return Err(AdmitRefusal::NotFromAgentsLeg);
    }
    // The one exception has no gateway decision, so no request id: the connection's tag is "-".
    let request_id = match request_id.as_deref() {
        Some(id) if is_request_id(id) => id,
        None if reason.as_deref() == Some(GATEWAY_API) => "-",
        _ => return Err(AdmitRefusal::NoRequestId),
    };
    if decision.as_deref() != Some("allow") {
        return Err(AdmitRefusal::NotAllowed);
    }
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    Ok(Reply::ok()
        .note("clt_conn_tag", request_id)
        .note("decision", "allow")
        .note("reason", text(reason))
        .note("principal", text(principal))
        .note("zone", text(zone))
        .note("client", text(client)))
}

/// The `admit` mode, holding this Squid's tunnel key.
pub struct Admit {
    key: String,
}

impl Admit {
    /// `EGRESS_PROXY_TUNNEL_KEY`, which the entrypoint sets for Squid and so for its helpers.
    pub fn from_env() -> Result<Self, String> {
        let key = std::env::var(env::TUNNEL_KEY).unwrap_or_default();
        if key.len() < MIN_KEY_LEN {
            return Err(format!("{} must be at least {MIN_KEY_LEN} characters", env::TUNNEL_KEY));
        }
        Ok(Self { key })
    }
}

impl Handler for Admit {
    async fn handle(&self, line: HelperLine) -> Reply {
        admit(&line.values, &self.key).unwrap_or_else(|refusal| {
            tracing::error!(error = %refusal, "tunnel leg: connection not admitted");
            Reply::err().note("refusal", "not_admitted")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::parse_line;

    const ID: &str = "01M97D72SNNJS5PPN92MMTHGYJ";
    const KEY: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    #[tokio::test]
    async fn an_allowed_relay_is_admitted_and_tagged_with_its_request_id() {
        let admit = Admit { key: KEY.into() };
        let line = format!("7 {KEY} {ID} allow rule_allow arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fa proxy-lab 198.18.0.1 -");
        let reply = admit.handle(parse_line(&line).unwrap()).await.line("7");
        assert_eq!(
            reply,
            format!(
                "7 OK clt_conn_tag=\"{ID}\" decision=\"allow\" reason=\"rule_allow\" \
                 principal=\"arn:aws:iam::1:role/a\" zone=\"proxy-lab\" client=\"198.18.0.1\"\n"
            )
        );
    }

    #[test]
    fn anything_else_is_refused() {
        let vals = |key: Option<&str>, id: Option<&str>, decision: Option<&str>| {
            let mut v: Vec<Option<String>> = [key, id, decision].iter().map(|x| x.map(str::to_owned)).collect();
            v.extend([None, None, None, None, None]);
            v
        };
        let ok = |id, decision| vals(Some(KEY), id, decision);
        assert_eq!(
            admit(&ok(None, Some("allow")), KEY).unwrap_err(),
            AdmitRefusal::NoRequestId
        );
        assert_eq!(
            admit(&ok(Some("not-an-id\" x=\"y"), Some("allow")), KEY).unwrap_err(),
            AdmitRefusal::NoRequestId
        );
        // 26 letters and digits that are no ULID the gateway writes: lowercase, I/L/O/U, past 128 bits.
        for id in [
            "01m97d72snnjs5ppn92mmthgyj",
            "01M97D72SNNJS5PPN92MMTHGYI",
            "8ZZZZZZZZZZZZZZZZZZZZZZZZZ",
        ] {
            assert_eq!(
                admit(&ok(Some(id), Some("allow")), KEY).unwrap_err(),
                AdmitRefusal::NoRequestId,
                "{id}"
            );
        }
        assert_eq!(
            admit(&ok(Some(ID), Some("deny")), KEY).unwrap_err(),
            AdmitRefusal::NotAllowed
        );
        assert_eq!(admit(&ok(Some(ID), None), KEY).unwrap_err(), AdmitRefusal::NotAllowed);
        assert_eq!(
            admit(&ok(Some(ID), Some("allow"))[..3], KEY).unwrap_err(),
            AdmitRefusal::Unreadable
        );
        assert!(admit(&ok(Some(ID), Some("allow")), KEY).is_ok());
        // The one exception: allowed by the agents' leg without a decision, so without a request id.
        let mut exception = ok(None, Some("allow"));
        exception[3] = Some(GATEWAY_API.into());
        let reply = admit(&exception, KEY).expect("the exception is admitted");
        assert_eq!(
            reply.line("1"),
            "1 OK clt_conn_tag=\"-\" decision=\"allow\" reason=\"gateway_api\"\n"
        );
        // ... only as an allow, and only without a request id of another shape.
        let mut denied = exception.clone();
        denied[2] = Some("deny".into());
        assert_eq!(admit(&denied, KEY).unwrap_err(), AdmitRefusal::NotAllowed);
        let mut odd = exception.clone();
        odd[1] = Some("not-an-id".into());
        assert_eq!(admit(&odd, KEY).unwrap_err(), AdmitRefusal::NoRequestId);
        let mut other_reason = exception.clone();
        other_reason[3] = Some("rule_allow".into());
        assert_eq!(admit(&other_reason, KEY).unwrap_err(), AdmitRefusal::NoRequestId);
        // Still from the agents' leg only.
        let mut keyless = exception;
        keyless[0] = None;
        assert_eq!(admit(&keyless, KEY).unwrap_err(), AdmitRefusal::NotFromAgentsLeg);
        // Whoever else reaches the tunnel port on loopback: no key, a wrong key, a prefix of the key.
        for presented in [None, Some("0000"), Some(&KEY[..40]), Some(&KEY[1..])] {
            assert_eq!(
                admit(&vals(presented, Some(ID), Some("allow")), KEY).unwrap_err(),
                AdmitRefusal::NotFromAgentsLeg,
                "{presented:?}"
            );
        }
        // A short configured key admits nothing, not even itself.
        assert_eq!(
            admit(&vals(Some("short"), Some(ID), Some("allow")), "short").unwrap_err(),
            AdmitRefusal::NotFromAgentsLeg
        );
    }
}
