//! The gateway's API as the proxy calls it: `POST /v1/egress/requests` on an agent's behalf (with its
//! proxy token) and `GET /v1/egress/proxy-keys`, each signed with SigV4 as the proxy's own role
//! (<https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv4-create-signed-request.html>), one
//! attempt, [`GATEWAY_TIMEOUT`]. The gateway's API is IAM-authorized: the signature is who we are.

use std::time::{Duration, SystemTime};

use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use egress_core::proxy_token::PublicKeyInfo;
use egress_core::sigv4::execute_api_headers;
use egress_core::{PRINCIPAL_HEADER, PROXY_TOKEN_HEADER};
use serde::Deserialize;
use tokio::sync::Mutex;

use crate::settings::{Settings, GATEWAY_TIMEOUT};

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("no AWS credentials for the proxy's role: {0}")]
    Credentials(String),
    #[error("the request could not be signed: {0}")]
    Sign(String),
    #[error("the gateway did not answer in time")]
    Timeout,
    #[error("the gateway could not be reached: {0}")]
    Unreachable(String),
    #[error("the gateway answered HTTP {status}: {kind}")]
    Refused { status: u16, kind: String },
    #[error("the gateway's answer could not be read: {0}")]
    Unreadable(String),
}

/// The part of a decision the proxy uses (the gateway's `201`/`200` body; DESIGN §4).
#[derive(Debug, Clone, Deserialize)]
pub struct DecisionAnswer {
    pub request_id: String,
    pub decision: String,
    pub reason: String,
    #[serde(default)]
    pub approval_id: Option<String>,
    pub principal: String,
    pub target: AnswerTarget,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AnswerTarget {
    pub host: String,
    pub port: u16,
}

/// `GET /v1/egress/proxy-keys`.
#[derive(Debug, Clone, Deserialize)]
pub struct KeysAnswer {
    pub audience: String,
    pub keys: Vec<PublicKeyInfo>,
}

/// A problem+json answer's `type` (its last path segment names the class).
#[derive(Deserialize)]
struct ProblemAnswer {
    #[serde(rename = "type", default)]
    kind: String,
}

pub struct Gateway {
    http: reqwest::Client,
    settings: Settings,
    credentials: SharedCredentialsProvider,
    cached: Mutex<Option<Credentials>>,
}

impl Gateway {
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
        let signature = execute_api_headers(
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
