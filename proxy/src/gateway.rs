//! The gateway's API as the proxy calls it: `POST /v1/egress/requests` on an agent's behalf (with its
//! proxy token) and `GET /v1/egress/proxy-keys`, each signed with SigV4 as the proxy's own role
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv4-create-signed-request.html>), one
//! attempt, [`GATEWAY_TIMEOUT`]. The gateway's API is IAM-authorized: the signature is who we are.

use std::time::{Duration, SystemTime};

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use egress_core::proxy_token::PublicKeyInfo;
use egress_core::sigv4::signed_headers;
use egress_core::{PRINCIPAL_HEADER, PROXY_TOKEN_HEADER};
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::settings::{Settings, GATEWAY_TIMEOUT};

/// Why a call to the gateway produced no answer; [`crate::acl::failure_reason`] names it for Squid.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The AWS SDK found no credential provider, or the provider failed.
    #[error("no AWS credentials for the proxy's role: {0}")]
    Credentials(String),
    /// The body could not be serialized or the request not signed.
    #[error("the request could not be signed: {0}")]
    Sign(String),
    /// No answer within [`GATEWAY_TIMEOUT`].
    #[error("the gateway did not answer in time")]
    Timeout,
    /// The HTTP client could not be built, or the connection failed.
    #[error("the gateway could not be reached: {0}")]
    Unreachable(String),
    /// The gateway answered, but not with what was asked for.
    #[error("the gateway answered HTTP {status}: {kind}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The problem type's last path segment (`unknown` without one; `proxy_keys` for the keys call).
        kind: String,
    },
    /// An answer's body could not be read, or a decision's could not be parsed.
    #[error("the gateway's answer could not be read: {0}")]
    Unreadable(String),
}

/// The part of a decision the proxy uses (the gateway's `201`/`200` body; DESIGN §4).
#[derive(Debug, Clone, Deserialize)]
pub struct DecisionAnswer {
    /// The recorded request's ULID: joins Squid's log lines to the gateway's row.
    pub request_id: String,
    /// The effective decision: `allow`, `require_approval` or `deny`.
    pub decision: String,
    /// The reason code (which precedence step decided).
    pub reason: String,
    /// The approval a `require_approval` waits for, or the grant an `approval_granted` used.
    #[serde(default)]
    pub approval_id: Option<String>,
    /// The agent's principal the gateway decided for (from the proxy token).
    pub principal: String,
    /// The gateway's reading of the target, compared with Squid's before an `OK`.
    pub target: AnswerTarget,
}

/// The host and port of the gateway's normalized target.
#[derive(Debug, Clone, Deserialize)]
pub struct AnswerTarget {
    /// Lowercase ASCII host name, IPv4 dotted quad or bracketed IPv6 literal.
    pub host: String,
    /// The port, the scheme's default when the URL gave none.
    pub port: u16,
}

/// `GET /v1/egress/proxy-keys`.
#[derive(Debug, Clone, Deserialize)]
pub struct KeysAnswer {
    /// The audience proxy tokens must name (`<stack>-egress-proxy`).
    pub audience: String,
    /// The verifying keys, current first (a previous one during a rotation).
    pub keys: Vec<PublicKeyInfo>,
}

/// A problem+json answer's `type` (its last path segment names the class).
#[derive(Deserialize)]
struct ProblemAnswer {
    #[serde(rename = "type", default)]
    kind: String,
}

/// The SigV4-signing client of the gateway's API, with the proxy role's credentials cached.
pub struct Gateway {
    http: reqwest::Client,
    settings: Settings,
    credentials: SharedCredentialsProvider,
    cached: Mutex<Option<Credentials>>,
}

impl Gateway {
    /// A client for `settings.gateway_url`, with the default AWS credential chain for `settings.region`.
    pub async fn new(settings: Settings) -> Result<Self, GatewayError> {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(settings.region.clone()))
            .load()
            .await;
        let credentials = config
            .credentials_provider()
            .ok_or_else(|| GatewayError::Credentials("no provider configured".into()))?;
        let http = reqwest::Client::builder()
            .timeout(GATEWAY_TIMEOUT)
            .connect_timeout(GATEWAY_TIMEOUT)
            // Never through a proxy (ours would ask itself): the gateway is reached directly.
            .no_proxy()
            .build()
            .map_err(|e| GatewayError::Unreachable(e.to_string()))?;
        Ok(Self {
            http,
            settings,
            credentials,
            cached: Mutex::new(None),
        })
    }

    /// The role's credentials, reused until five minutes before they expire (the provider itself does
    /// not cache, and a task-role fetch per decision would double its cost).
    async fn credentials(&self) -> Result<Credentials, GatewayError> {
        let mut cached = self.cached.lock().await;
        let fresh = |c: &Credentials| {
            c.expiry()
                .is_none_or(|e| e > SystemTime::now() + Duration::from_secs(300))
        };
        if let Some(c) = cached.as_ref().filter(|c| fresh(c)) {
            return Ok(c.clone());
        }
        let c = self
            .credentials
            .provide_credentials()
            .await
            .map_err(|e| GatewayError::Credentials(e.to_string()))?;
        *cached = Some(c.clone());
        Ok(c)
    }

    /// A request to `path`, signed for `execute-api`; `extra` headers are signed too.
    async fn signed(
        &self,
        method: reqwest::Method,
        path: &str,
        extra: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<reqwest::RequestBuilder, GatewayError> {
        let url = format!("{}{path}", self.settings.gateway_url);
        let mut headers: Vec<(String, String)> =
            extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        if !body.is_empty() {
            headers.push(("content-type".into(), "application/json".into()));
        }
        if let Some(p) = &self.settings.dev_principal {
            headers.push((PRINCIPAL_HEADER.into(), p.clone()));
        }
        let credentials = self.credentials().await?;
        let signature = signed_headers(
            method.as_str(),
            &url,
            &headers,
            &body,
            &credentials,
            &self.settings.region,
            SystemTime::now(),
        )
        .map_err(|e| GatewayError::Sign(e.to_string()))?;
        let mut req = self.http.request(method, &url);
        for (k, v) in headers.iter().chain(&signature) {
            req = req.header(k, v);
        }
        Ok(req.body(body))
    }

    async fn send(req: reqwest::RequestBuilder) -> Result<reqwest::Response, GatewayError> {
        req.send().await.map_err(|e| {
            if e.is_timeout() {
                GatewayError::Timeout
            } else {
                GatewayError::Unreachable(e.to_string())
            }
        })
    }

    /// Asks for a decision on the agent's behalf. Only a decision (`201` new, `200` replayed) is an
    /// answer; every other status is an error, named by the problem's type when it has one.
    pub async fn decide(&self, body: &serde_json::Value, token: &str) -> Result<DecisionAnswer, GatewayError> {
        let bytes = serde_json::to_vec(body).map_err(|e| GatewayError::Sign(e.to_string()))?;
        let req = self
            .signed(
                reqwest::Method::POST,
                "/v1/egress/requests",
                &[(PROXY_TOKEN_HEADER, token)],
                bytes,
            )
            .await?;
        let resp = Self::send(req).await?;
        let status = resp.status().as_u16();
        let text = resp
            .bytes()
            .await
            .map_err(|e| GatewayError::Unreadable(e.to_string()))?;
        if status != 200 && status != 201 {
            let kind = serde_json::from_slice::<ProblemAnswer>(&text)
                .ok()
                .and_then(|p| p.kind.rsplit('/').next().map(str::to_owned))
                .filter(|k| !k.is_empty())
                .unwrap_or_else(|| "unknown".into());
            return Err(GatewayError::Refused { status, kind });
        }
        serde_json::from_slice(&text).map_err(|e| GatewayError::Unreadable(e.to_string()))
    }

    /// The keys proxy tokens verify against.
    pub async fn keys(&self) -> Result<KeysAnswer, GatewayError> {
        let req = self
            .signed(reqwest::Method::GET, "/v1/egress/proxy-keys", &[], Vec::new())
            .await?;
        let resp = Self::send(req).await?;
        let status = resp.status().as_u16();
        if status != 200 {
            return Err(GatewayError::Refused {
                status,
                kind: "proxy_keys".into(),
            });
        }
        resp.json().await.map_err(|e| GatewayError::Unreadable(e.to_string()))
    }
}
