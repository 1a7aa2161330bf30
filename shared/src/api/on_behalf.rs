//! Asking on an agent's behalf (DESIGN §12): the enforcing proxy's role calls `POST /v1/egress/requests`
//! with the agent's proxy token in `X-Egress-Proxy-Token`, and the request is decided and recorded for the
//! agent. Only an enforcer of the policy may do so, and an enforcer may do nothing else: every mix of the
//! two is refused before anything is written.

use lambda_http::Request;
use time::OffsetDateTime;

use super::caller::Caller;
use crate::proxy_token::ProxyKeys;
use crate::{identity::Identity, policy::CompiledPolicy, problem::Problem};

/// The header an enforcer sends the agent's proxy token in.
pub const PROXY_TOKEN_HEADER: &str = "x-egress-proxy-token";

/// Whom the request is decided for: the caller itself, or the agent the enforcer's token names (its
/// identity then records the enforcer as `via` and the token's id).
///
/// - no token, not an enforcer: the caller;
/// - a token from a caller that is not an enforcer (or with no policy in force to say so): 403;
/// - an enforcer without a token, or with a token that does not verify: 401.
pub fn decided_for(
    caller: Caller,
    req: &Request,
    policy: Option<&CompiledPolicy>,
    keys: Option<&ProxyKeys>,
) -> Result<Caller, Problem> {
    let mut values = req.headers().get_all(PROXY_TOKEN_HEADER).iter();
    let token = values.next();
    if values.next().is_some() {
        return Err(Problem::invalid_proxy_token("give X-Egress-Proxy-Token once"));
    }
    let enforcer = policy.is_some_and(|p| p.is_enforcer(caller.subject()));
    let token = match (token, enforcer) {
        (None, false) => return Ok(caller),
        (None, true) => {
            return Err(Problem::invalid_proxy_token(
                "an enforcer asks on an agent's behalf only: send the agent's proxy token in X-Egress-Proxy-Token",
            ))
        }
        (Some(_), false) => {
            return Err(Problem::forbidden(
                "only an enforcer (the policy's `enforcers`) may ask with a proxy token",
            ))
        }
        (Some(token), true) => token,
    };
    let keys = keys.ok_or_else(|| Problem::invalid_proxy_token("proxy tokens are not configured on this gateway"))?;
    let token = token
        .to_str()
        .map_err(|_| Problem::invalid_proxy_token("the proxy token is not a PASETO v4.public token of this gateway"))?;
    let verified = keys.verify(token, OffsetDateTime::now_utc()).map_err(|e| {
        // The reason (never the token) for the operator; the caller gets the same class in the problem.
        tracing::warn!(enforcer = %caller.principal, error = %e, "proxy token refused");
        Problem::invalid_proxy_token(e.to_string())
    })?;
    Ok(Caller {
        principal: verified.principal,
        identity: Identity {
            via: Some(caller.principal),
            token_id: Some(verified.token_id),
            ..verified.identity
        },
        scopes: Vec::new(),
    })
}
