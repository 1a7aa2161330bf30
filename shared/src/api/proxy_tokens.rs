//! `POST /v1/egress/proxy-tokens` (mint a proxy token for the caller) and `GET /v1/egress/proxy-keys`
//! (the public keys the proxy's helper verifies tokens with). Both are authenticated like every route.
//! Tokens are never stored or logged: minting is a metric and a log line with the token's id.

use std::sync::Arc;

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::caller::{caller, check_organization, owner_account};
use crate::identity::OrganizationId;
use crate::metrics::{self, Metric};
use crate::proxy_token::{ProxyKeys, PublicKeyInfo, MAX_TTL_SECONDS};
use crate::{
    api::{body_bytes, is_json_content_type, json_response, respond},
    field::FieldError,
    problem::Problem,
    request::MAX_BODY_BYTES,
};

/// The route that mints a proxy token for the caller (`POST`).
pub const PROXY_TOKENS_PATH: &str = "/v1/egress/proxy-tokens";
/// The route that lists the public keys proxy tokens are verified with (`GET`).
pub const PROXY_KEYS_PATH: &str = "/v1/egress/proxy-keys";

/// The proxy-token API: one handler for both routes.
pub struct ProxyTokensService {
    /// The signing key, the public keys and the audience of the gateway's tokens.
    pub keys: Arc<ProxyKeys>,
    /// Development mode: the `X-Egress-Principal` header names the caller when there is no authorizer.
    pub dev_mode: bool,
    /// The organization whose IAM callers are served (`EGRESS_ORGANIZATION_ID`); `None`: any the front
    /// door admits (the HTTP API admits this account's only).
    pub organization: Option<OrganizationId>,
}

/// The mint body: everything optional; an empty body is `{}`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MintBody {
    #[serde(default, deserialize_with = "crate::json::present")]
    ttl_seconds: Option<u32>,
}

/// `GET /v1/egress/proxy-keys`: the audience tokens are for, and the keys that verify them (current first).
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ProxyKeysPage {
    /// The audience every token must name
    pub audience: String,
    /// The public keys that verify tokens, the current (signing) one first
    pub keys: Vec<PublicKeyInfo>,
}

impl ProxyTokensService {
    /// Answers one API Gateway request for either route: a token (201), the keys (200) or a problem.
    pub async fn handle(&self, req: Request) -> Response<Body> {
        respond(self.try_handle(&req))
    }

    fn try_handle(&self, req: &Request) -> Result<Response<Body>, Problem> {
        let path = req.uri().path().trim_end_matches('/');
        let caller = caller(req, self.dev_mode).ok_or_else(Problem::unauthenticated)?;
        check_organization(&caller, self.organization.as_ref(), owner_account(req))?;
        match (path, req.method()) {
            (PROXY_KEYS_PATH, &Method::GET) => Ok(json_response(
                StatusCode::OK,
                &ProxyKeysPage {
                    audience: self.keys.audience().to_owned(),
                    keys: self.keys.public_keys(),
                },
            )),
            (PROXY_KEYS_PATH, _) => Err(Problem::method_not_allowed("GET")),
            (PROXY_TOKENS_PATH, &Method::POST) => {
                let ttl = mint_ttl(req)?;
                let minted = self
                    .keys
                    .mint(&caller.principal, &caller.identity, ttl, OffsetDateTime::now_utc())
                    .map_err(|e| {
                        tracing::error!(error = %e, "proxy token not minted");
                        Problem::internal()
                    })?;
                tracing::info!(
                    principal = %caller.principal,
                    token_id = %minted.token_id,
                    expires_at = %minted.expires_at,
                    "proxy token minted"
                );
                metrics::emit(Metric::ProxyTokensMinted, 1, &[&[]], &[("token_id", &minted.token_id)]);
                Ok(json_response(StatusCode::CREATED, &minted))
            }
            (PROXY_TOKENS_PATH, _) => Err(Problem::method_not_allowed("POST")),
            _ => Err(Problem::not_found("no such route")),
        }
    }
}

/// The token's lifetime from the body: `ttl_seconds`, 1 to 3600, default 3600.
fn mint_ttl(req: &Request) -> Result<u32, Problem> {
    let bytes = body_bytes(req);
    if bytes.len() > MAX_BODY_BYTES {
        return Err(Problem::too_large());
    }
    let body = match bytes.is_empty() {
        true => MintBody::default(),
        false if !is_json_content_type(req) => return Err(Problem::unsupported_media_type()),
        false => {
            let invalid = |e: &dyn std::fmt::Display| {
                Problem::invalid(format!("the body is not a valid token request: {e}"), Vec::new())
            };
            // An object only: serde would also read a struct from a JSON array (`[]` as `{}`).
            let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| invalid(&e))?;
            if !value.is_object() {
                return Err(invalid(&"a JSON object is expected"));
            }
            MintBody::deserialize(value).map_err(|e| invalid(&e))?
        }
    };
    match body.ttl_seconds.unwrap_or(MAX_TTL_SECONDS) {
        ttl @ 1..=MAX_TTL_SECONDS => Ok(ttl),
        _ => Err(Problem::invalid(
            "the token request has invalid fields",
            vec![FieldError::new(
                "ttl_seconds",
                "out_of_range",
                format!("1 to {MAX_TTL_SECONDS} seconds"),
            )],
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_body(body: &str) -> Request {
        let mut b = lambda_http::http::Request::builder()
            .method("POST")
            .uri(PROXY_TOKENS_PATH);
        if !body.is_empty() {
            b = b.header("content-type", "application/json");
        }
        b.body(Body::from(body.to_owned())).unwrap_or_default()
    }

    #[test]
    fn the_lifetime_is_one_second_to_an_hour_and_the_body_an_object() {
        assert_eq!(mint_ttl(&with_body("")).ok(), Some(MAX_TTL_SECONDS));
        assert_eq!(mint_ttl(&with_body("{}")).ok(), Some(MAX_TTL_SECONDS));
        assert_eq!(mint_ttl(&with_body(r#"{"ttl_seconds": 1}"#)).ok(), Some(1));
        for bad in [
            "[]",
            "[600]",
            "null",
            "600",
            r#"{"ttl_seconds": 0}"#,
            r#"{"ttl_seconds": 3601}"#,
            r#"{"ttl_seconds": null}"#,
            r#"{"ttl_seconds": -1}"#,
            r#"{"ttl": 60}"#,
            "{",
        ] {
            assert_eq!(mint_ttl(&with_body(bad)).map_err(|p| p.status), Err(400), "{bad}");
        }
        let text = lambda_http::http::Request::builder()
            .method("POST")
            .uri(PROXY_TOKENS_PATH)
            .header("content-type", "text/plain")
            .body(Body::from("{}"))
            .unwrap_or_default();
        assert_eq!(mint_ttl(&text).map_err(|p| p.status), Err(415));
    }
}
