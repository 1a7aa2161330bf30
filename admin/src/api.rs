//! The API client: one request, authenticated the chosen way, and its answer as JSON or as the API's
//! problem (RFC 9457), which becomes the error the command reports.

use std::time::SystemTime;

use anyhow::{anyhow, bail, Context};
use aws_credential_types::provider::ProvideCredentials;
use egress_core::sigv4::execute_api_headers;
use egress_core::PRINCIPAL_HEADER;
use serde_json::Value;

use crate::cli::{ApiOptions, AuthMode};

pub struct Api {
    base: String,
    auth: Auth,
    http: reqwest::Client,
}

enum Auth {
    Sigv4 {
        credentials: aws_credential_types::Credentials,
        region: String,
    },
    Bearer(String),
    Dev(String),
}

impl Api {
    pub async fn connect(o: &ApiOptions) -> anyhow::Result<Self> {
        let mode = o.auth.unwrap_or(match (&o.token, &o.principal) {
            (Some(_), _) => AuthMode::Bearer,
            (None, Some(_)) => AuthMode::Dev,
            (None, None) => AuthMode::Sigv4,
        });
        let auth = match mode {
            AuthMode::Bearer => Auth::Bearer(o.token.clone().context("--auth bearer needs --token or EGRESS_TOKEN")?),
            AuthMode::Dev => Auth::Dev(
                o.principal
                    .clone()
                    .context("--auth dev needs --principal or EGRESS_PRINCIPAL")?,
            ),
            AuthMode::Sigv4 => {
                let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
                let region = o
                    .region
                    .clone()
                    .or_else(|| config.region().map(|r| r.to_string()))
                    .context("no region to sign for: give --region or configure one")?;
                let provider = config
                    .credentials_provider()
                    .context("no AWS credentials provider configured")?;
                let credentials = provider
                    .provide_credentials()
                    .await
                    .context("loading AWS credentials")?;
                Auth::Sigv4 { credentials, region }
            }
        };
        Ok(Self {
            base: o.api_url.trim_end_matches('/').to_owned(),
            auth,
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .build()?,
        })
    }

    /// GET `path` (with its query) and the JSON answer.
    pub async fn get(&self, path_and_query: &str) -> anyhow::Result<Value> {
        self.send("GET", path_and_query, None).await
    }

    /// POST a JSON body to `path` and the JSON answer.
    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        self.send("POST", path, Some(body.to_string())).await
    }

    async fn send(&self, method: &str, path_and_query: &str, body: Option<String>) -> anyhow::Result<Value> {
        let url = format!("{}{path_and_query}", self.base);
        let mut headers: Vec<(String, String)> = Vec::new();
        if body.is_some() {
            headers.push(("content-type".into(), "application/json".into()));
        }
        match &self.auth {
            Auth::Bearer(t) => headers.push(("authorization".into(), format!("Bearer {t}"))),
            Auth::Dev(p) => headers.push((PRINCIPAL_HEADER.into(), p.clone())),
            Auth::Sigv4 { credentials, region } => headers.extend(execute_api_headers(
                method,
                &url,
                &headers,
                body.as_deref().unwrap_or("").as_bytes(),
                credentials,
                region,
                SystemTime::now(),
            )?),
        }
        let mut req = self.http.request(method.parse()?, &url);
        for (k, v) in &headers {
            req = req.header(k, v);
        }
        if let Some(b) = body {
            req = req.body(b);
        }
        let resp = req.send().await.with_context(|| format!("{method} {url}"))?;
        let status = resp.status();
        let text = resp.text().await?;
        let json: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if status.is_success() {
            return Ok(json);
        }
        match (json.get("title"), json.get("detail")) {
            (Some(t), Some(d)) => bail!(
                "{} {}: {}",
                status.as_u16(),
                t.as_str().unwrap_or(""),
                d.as_str().unwrap_or("")
            ),
            _ => Err(anyhow!("{}: {json}", status.as_u16())),
        }
    }
}
