//! `admit`: Squid's `external_acl_type` helper at the door of the tunnel leg (DESIGN §12). The agents'
//! leg decided a CONNECT with the gateway and relayed it to the tunnel leg (loopback, same Squid) with
//! the decision in `X-Egress-*` request headers it set itself (agents' own copies are removed before).
//! This mode turns those headers into the tunnel leg's transaction notes, for its access-log lines, and
//! tags the client connection with the request id (`clt_conn_tag`): Squid carries a connection tag into
//! the requests it makes up later on that connection (the spliced tunnel after the TLS peek, a port-80
//! tunnel of plain bytes), so every line of the tunnel joins to the gateway's row.
//!
//! Input (`external_acl_type egress_admit` in `infra/proxy/squid.conf`): the headers
//! `X-Egress-Request-Id`, `-Decision`, `-Reason`, `-Principal`, `-Zone`, `-Client`, then `%DATA`. `OK`
//! only for a relayed `allow` with a well-formed request id: the tunnel leg carries nothing the agents'
//! leg did not allow.

use crate::protocol::{HelperLine, Reply};
use crate::serve::Handler;

/// Why a connection is not admitted to the tunnel leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AdmitRefusal {
    #[error("the tunnel leg got no request id from the agents' leg")]
    NoRequestId,
    #[error("the agents' leg relayed a connection it did not allow")]
    NotAllowed,
    #[error("the helper line does not have the configured fields")]
    Unreadable,
}

/// A request id as the gateway writes them: a ULID (26 characters of Crockford's base32).
fn is_request_id(v: &str) -> bool {
    v.len() == 26 && v.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The notes of an admitted connection, or why it is refused.
pub fn admit(values: &[Option<String>]) -> Result<Reply, AdmitRefusal> {
    let [request_id, decision, reason, principal, zone, client, _data] = values else {
        return Err(AdmitRefusal::Unreadable);
    };
    let request_id = request_id
        .as_deref()
        .filter(|v| is_request_id(v))
        .ok_or(AdmitRefusal::NoRequestId)?;
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

pub struct Admit;

impl Handler for Admit {
    async fn handle(&self, line: HelperLine) -> Reply {
        admit(&line.values).unwrap_or_else(|refusal| {
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

    #[tokio::test]
    async fn an_allowed_relay_is_admitted_and_tagged_with_its_request_id() {
        let line = format!("7 {ID} allow rule_allow arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fa proxy-lab 198.18.0.1 -");
        let reply = Admit.handle(parse_line(&line).unwrap()).await.line("7");
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
        let vals = |id: Option<&str>, decision: Option<&str>| {
            let mut v: Vec<Option<String>> = vec![id.map(str::to_owned), decision.map(str::to_owned)];
            v.extend([None, None, None, None, None]);
            v
        };
        assert_eq!(
            admit(&vals(None, Some("allow"))).unwrap_err(),
            AdmitRefusal::NoRequestId
        );
        assert_eq!(
            admit(&vals(Some("not-an-id\" x=\"y"), Some("allow"))).unwrap_err(),
            AdmitRefusal::NoRequestId
        );
        assert_eq!(
            admit(&vals(Some(ID), Some("deny"))).unwrap_err(),
            AdmitRefusal::NotAllowed
        );
        assert_eq!(admit(&vals(Some(ID), None)).unwrap_err(), AdmitRefusal::NotAllowed);
        assert_eq!(
            admit(&vals(Some(ID), Some("allow"))[..3]).unwrap_err(),
            AdmitRefusal::Unreadable
        );
        assert!(admit(&vals(Some(ID), Some("allow"))).is_ok());
    }
}
