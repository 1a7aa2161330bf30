//! `acl`: Squid's `external_acl_type` helper. One gateway decision per CONNECT tunnel and per plain-HTTP
//! request, asked on the agent's behalf with its proxy token. `OK` only when the gateway allowed **and**
//! its reading of the target (host, port) is Squid's: a difference is a parser differential, and the
//! connection Squid would make is not the one the gateway judged. Everything else is `ERR`, annotated
//! with the gateway's `request_id`, `decision`, `reason`, `approval_id` for the 403 headers and the log.
//!
//! Input, in the order of `external_acl_type egress_decide` in `infra/proxy/squid.conf`:
//! `%un %>rm %>rs %>rd %>rP %>rp %>h{Proxy-Authorization} %master_xaction %DATA` (the transaction id
//! makes every lookup unique, so Squid never merges two connections into one decision; `%DATA`, the
//! ACL's arguments, is written out because Squid appends it anyway).

use std::time::SystemTime;

use base64::Engine;
use serde_json::json;

use crate::gateway::{DecisionAnswer, Gateway, GatewayError};
use crate::host::same_host;
use crate::kill_switch::gate;
use crate::protocol::{HelperLine, Reply};
use crate::serve::Handler;
use crate::settings::Settings;

/// What Squid asks about, read from its helper line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ask {
    /// The zone: the Basic credential's user name, which Squid authenticated.
    pub zone: String,
    /// The agent's proxy token: the Basic credential's password.
    pub token: String,
    /// The host as Squid reads it (an IPv6 literal may come with or without brackets).
    pub host: String,
    /// The port Squid will connect to, never 0.
    pub port: u16,
    /// `None` for a CONNECT tunnel (path unknown), else the full URL Squid will fetch.
    pub url: Option<String>,
}

/// Why a helper line is not a question the gateway can be asked (answered `proxy_request_unreadable`).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AskError {
    /// Not the nine values `egress_decide` is configured with.
    #[error("the helper line does not have the configured fields")]
    Shape,
    /// No `Proxy-Authorization` header.
    #[error("no proxy credential on the request")]
    NoCredential,
    /// The header is not Basic `zone:token`, or names another user than Squid authenticated.
    #[error("the proxy credential is not Basic zone:token")]
    BadCredential,
    /// No host, no usable port (absent, unparsable or 0), or no scheme for a request other than CONNECT.
    #[error("the target has no host or port")]
    NoTarget,
}

/// `host` as a URL authority writes it: an IPv6 literal in brackets.
fn authority_host(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

/// The Basic credential's user and password (RFC 7617 §2).
fn basic(header: &str) -> Result<(String, String), AskError> {
    let (scheme, b64) = header.trim().split_once(' ').ok_or(AskError::BadCredential)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(AskError::BadCredential);
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|_| AskError::BadCredential)?;
    let text = String::from_utf8(raw).map_err(|_| AskError::BadCredential)?;
    let (user, pass) = text.split_once(':').ok_or(AskError::BadCredential)?;
    Ok((user.to_owned(), pass.to_owned()))
}

impl Ask {
    /// Reads the values of an `egress_decide` line; the credential's user must be Squid's `%un`.
    pub fn from_values(values: &[Option<String>]) -> Result<Self, AskError> {
        let [user, method, scheme, host, port, path, credential, _xaction, _data] = values else {
            return Err(AskError::Shape);
        };
        let (zone, token) = basic(credential.as_deref().ok_or(AskError::NoCredential)?)?;
        // Squid authenticated this user name; a header naming another is not the request Squid checked.
        if user.as_deref() != Some(zone.as_str()) {
            return Err(AskError::BadCredential);
        }
        let host = host.clone().filter(|h| !h.is_empty()).ok_or(AskError::NoTarget)?;
        let port: u16 = port
            .as_deref()
            .and_then(|p| p.parse().ok())
            .filter(|p| *p != 0)
            .ok_or(AskError::NoTarget)?;
        let url = if method.as_deref() == Some("CONNECT") {
            None
        } else {
            let scheme = scheme.as_deref().ok_or(AskError::NoTarget)?;
            let path = path.as_deref().unwrap_or("/");
            Some(format!("{scheme}://{}:{port}{path}", authority_host(&host)))
        };
        Ok(Self {
            zone,
            token,
            host,
            port,
            url,
        })
    }

    /// The gateway's request body (DESIGN §4; a tunnel names `https://host:port` and `tunnel: true`).
    pub fn body(&self) -> serde_json::Value {
        match &self.url {
            Some(url) => json!({"url": url, "zone": self.zone}),
            None => json!({
                "url": format!("https://{}:{}", authority_host(&self.host), self.port),
                "zone": self.zone,
                "tunnel": true,
            }),
        }
    }

    /// Whether the gateway's reading of the target is Squid's: the same port, and the same host (IP
    /// literals compared as addresses; names case-insensitively, a trailing dot aside).
    pub fn same_target(&self, host: &str, port: u16) -> bool {
        same_host(&self.host, host) && port == self.port
    }
}

/// The reply for a decision.
pub fn verdict(ask: &Ask, answer: &DecisionAnswer) -> Reply {
    let annotated = |r: Reply, decision: &str| {
        r.note("request_id", answer.request_id.clone())
            .note("decision", decision.to_owned())
            .note("principal", answer.principal.clone())
            .note("approval_id", answer.approval_id.clone().unwrap_or_default())
    };
    if answer.decision != "allow" {
        return annotated(Reply::err(), &answer.decision)
            .note("reason", answer.reason.clone())
            .note("message", format!("{}: {}", answer.decision, answer.reason));
    }
    if !ask.same_target(&answer.target.host, answer.target.port) {
        tracing::warn!(
            request_id = %answer.request_id,
            squid_host = %ask.host, squid_port = ask.port,
            gateway_host = %answer.target.host, gateway_port = answer.target.port,
            "the gateway read another target than Squid: refused"
        );
        // `deny`, not the gateway's `allow`: squid.conf's internal-address line matches `decision=allow`
        // and would resolve a name the gateway never judged.
        return annotated(Reply::err(), "deny")
            .note("reason", "target_mismatch")
            .note("message", "the proxy and the gateway read the target differently");
    }
    annotated(Reply::ok(), &answer.decision).note("reason", answer.reason.clone())
}

/// The reason code for a call that produced no decision.
pub fn failure_reason(e: &GatewayError) -> String {
    match e {
        GatewayError::Refused { status, kind } if *status < 500 && *status != 429 => kind.clone(),
        _ => "gateway_unavailable".into(),
    }
}

/// The `acl` mode: asks the gateway for each tunnel or request, unless the kill switch is closed.
pub struct Acl {
    gateway: Gateway,
    settings: Settings,
}

impl Acl {
    /// An `acl` helper asking through `gateway`, reading the kill-switch state under `settings.state_dir`.
    pub fn new(gateway: Gateway, settings: Settings) -> Self {
        Self { gateway, settings }
    }
}

impl Handler for Acl {
    async fn handle(&self, line: HelperLine) -> Reply {
        let ask = match Ask::from_values(&line.values) {
            Ok(a) => a,
            Err(e) => {
                return Reply::err()
                    .note("reason", "proxy_request_unreadable")
                    .note("message", e.to_string())
            }
        };
        if let Some(refused) = gate(&self.settings.state_dir, SystemTime::now()).refusal() {
            return refused;
        }
        match self.gateway.decide(&ask.body(), &ask.token).await {
            Ok(answer) => verdict(&ask, &answer),
            Err(e) => {
                tracing::error!(error = %e, host = %ask.host, port = ask.port, "no decision: refused");
                Reply::err()
                    .note("decision", "deny")
                    .note("reason", failure_reason(&e))
                    .note("message", e.to_string())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::AnswerTarget;

    fn cred(user: &str, pass: &str) -> Option<String> {
        Some(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
        ))
    }

    fn vals(items: &[Option<&str>], credential: Option<String>) -> Vec<Option<String>> {
        let mut v: Vec<Option<String>> = items.iter().map(|s| s.map(str::to_owned)).collect();
        v.insert(6, credential);
        v.push(Some("55".into()));
        v.push(None);
        v
    }

    #[test]
    fn a_connect_is_a_tunnel_and_a_get_its_full_url() {
        let c = vals(
            &[
                Some("default"),
                Some("CONNECT"),
                None,
                Some("origin.example"),
                Some("443"),
                None,
            ],
            cred("default", "v4.public.x"),
        );
        let a = Ask::from_values(&c).unwrap();
        assert_eq!(a.url, None);
        assert_eq!(
            a.body(),
            json!({"url": "https://origin.example:443", "zone": "default", "tunnel": true})
        );
        let g = vals(
            &[
                Some("default"),
                Some("GET"),
                Some("http"),
                Some("::1"),
                Some("8080"),
                Some("/a?b=c"),
            ],
            cred("default", "t"),
        );
        let a = Ask::from_values(&g).unwrap();
        assert_eq!(a.url.as_deref(), Some("http://[::1]:8080/a?b=c"));
    }

    #[test]
    fn a_missing_or_inconsistent_credential_is_refused() {
        let base = [Some("default"), Some("CONNECT"), None, Some("h"), Some("443"), None];
        assert_eq!(Ask::from_values(&vals(&base, None)), Err(AskError::NoCredential));
        assert_eq!(
            Ask::from_values(&vals(&base, cred("other", "t"))),
            Err(AskError::BadCredential),
            "the header names another user than Squid authenticated"
        );
        assert_eq!(
            Ask::from_values(&vals(&base, Some("Bearer x".into()))),
            Err(AskError::BadCredential)
        );
        assert_eq!(Ask::from_values(&[None]), Err(AskError::Shape));
        let no_port = [Some("default"), Some("CONNECT"), None, Some("h"), Some("0"), None];
        assert_eq!(
            Ask::from_values(&vals(&no_port, cred("default", "t"))),
            Err(AskError::NoTarget)
        );
    }

    fn answer(decision: &str, host: &str, port: u16) -> DecisionAnswer {
        DecisionAnswer {
            request_id: "01R".into(),
            decision: decision.into(),
            reason: "rule_allow".into(),
            approval_id: None,
            principal: "p".into(),
            target: AnswerTarget {
                host: host.into(),
                port,
            },
        }
    }

    #[test]
    fn only_an_allow_for_the_same_target_is_ok() {
        let ask = Ask {
            zone: "z".into(),
            token: "t".into(),
            host: "Origin.Example".into(),
            port: 443,
            url: None,
        };
        assert_eq!(
            verdict(&ask, &answer("allow", "origin.example", 443)).verdict,
            crate::protocol::Verdict::Ok
        );
        assert_eq!(
            verdict(&ask, &answer("allow", "origin.example.", 443)).verdict,
            crate::protocol::Verdict::Ok
        );
        for (d, h, p) in [
            ("deny", "origin.example", 443),
            ("require_approval", "origin.example", 443),
            ("allow", "origin.example", 8443),
            ("allow", "other.example", 443),
            ("allow", "127.0.0.1", 443),
        ] {
            let r = verdict(&ask, &answer(d, h, p));
            assert_eq!(r.verdict, crate::protocol::Verdict::Err, "{d} {h} {p}");
            assert!(
                !r.notes.iter().any(|(k, v)| *k == "decision" && v == "allow"),
                "a refusal never says allow: {r:?}"
            );
            assert!(r.notes.iter().any(|(k, v)| *k == "request_id" && v == "01R"));
        }
        let v6 = Ask {
            host: "[0:0::1]".into(),
            ..ask.clone()
        };
        assert_eq!(
            verdict(&v6, &answer("allow", "[::1]", 443)).verdict,
            crate::protocol::Verdict::Ok
        );
        let hex = Ask {
            host: "0x7f.1".into(),
            ..ask
        };
        assert_eq!(
            verdict(&hex, &answer("allow", "127.0.0.1", 443)).verdict,
            crate::protocol::Verdict::Err,
            "a name Squid reads as a name, the gateway as an address: a differential"
        );
    }

    #[test]
    fn failures_without_a_decision_are_named() {
        assert_eq!(failure_reason(&GatewayError::Timeout), "gateway_unavailable");
        assert_eq!(
            failure_reason(&GatewayError::Refused {
                status: 503,
                kind: "x".into()
            }),
            "gateway_unavailable"
        );
        assert_eq!(
            failure_reason(&GatewayError::Refused {
                status: 429,
                kind: "x".into()
            }),
            "gateway_unavailable"
        );
        assert_eq!(
            failure_reason(&GatewayError::Refused {
                status: 401,
                kind: "invalid_proxy_token".into()
            }),
            "invalid_proxy_token"
        );
    }
}
