//! The API client: one request, authenticated the chosen way, and its answer as JSON or as the API's
//! problem (RFC 9457), which becomes the error the command reports, classed by its status (error.rs).

use std::time::SystemTime;

use aws_credential_types::provider::ProvideCredentials;
use egress_core::sigv4::signed_headers;
use egress_core::PRINCIPAL_HEADER;
use serde_json::Value;

use crate::cli::{ApiOptions, AuthMode};
use crate::error::{usage, Class, Error};
use crate::stack;

/// The local stack's API, the default without --api-url or --stack.
const LOCAL_API_URL: &str = "http://127.0.0.1:9000";

/// What to check when API Gateway itself refused a request (before any function ran).
pub const API_GATEWAY_HINT: &str = "the request was refused by API Gateway before the gateway ran: check your credentials and --region (SigV4), the stack's auth mode (AuthMode=IAM needs SigV4, JWT needs --token), and that you call from the stack's account: an HTTP API has no resource policy, so a caller from another account cannot reach it (from another account of the organization, give the function URL, stack output ProxyTokensFunctionUrl or CreateRequestFunctionUrl, as --api-url)";

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
            AuthMode::Bearer => Auth::Bearer(
                o.token
                    .clone()
                    .ok_or_else(|| usage("--auth bearer needs --token or EGRESS_TOKEN"))?,
            ),
            AuthMode::Dev => Auth::Dev(
                o.principal
                    .clone()
                    .ok_or_else(|| usage("--auth dev needs --principal or EGRESS_PRINCIPAL"))?,
            ),
            AuthMode::Sigv4 => {
                let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
                let region = o
                    .region
                    .clone()
                    .or_else(|| config.region().map(|r| r.to_string()))
                    .ok_or_else(|| Error::new(Class::Auth, "no region to sign for: give --region or configure one"))?;
                let provider = config
                    .credentials_provider()
                    .ok_or_else(|| Error::new(Class::Auth, "no AWS credentials provider configured"))?;
                let credentials = provider
                    .provide_credentials()
                    .await
                    .map_err(|e| Error::new(Class::Auth, format!("loading AWS credentials: {e}")))?;
                Auth::Sigv4 { credentials, region }
            }
        };
        Ok(Self {
            base: api_url(o)?.trim_end_matches('/').to_owned(),
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
            // The HTTP API, or a function URL for callers in other accounts (DESIGN §4).
            Auth::Sigv4 { credentials, region } => headers.extend(signed_headers(
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
        let resp = req.send().await.map_err(|e| no_answer(method, &url, &e))?;
        let status = resp.status();
        let text = resp.text().await.map_err(|e| no_answer(method, &url, &e))?;
        let json: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if status.is_success() {
            return Ok(json);
        }
        Err(refusal(status.as_u16(), &json).into())
    }
}

/// --api-url (or EGRESS_API_URL), else the stack's ApiUrl, else the local stack.
fn api_url(o: &ApiOptions) -> Result<String, Error> {
    match (&o.api_url, &o.outputs) {
        (None, None) => Ok(LOCAL_API_URL.to_owned()),
        (explicit, outputs) => stack::pick(explicit.as_deref(), outputs.as_ref(), "ApiUrl", "--api-url"),
    }
}

/// No answer: a bad URL is the caller's, anything else (refused, timed out, reset) the API's.
fn no_answer(method: &str, url: &str, e: &reqwest::Error) -> Error {
    let class = match e.is_builder() {
        true => Class::Usage,
        false => Class::Unavailable,
    };
    let source = std::iter::successors(std::error::Error::source(e), |s| s.source())
        .last()
        .map(|s| format!(": {s}"))
        .unwrap_or_default();
    Error::new(class, format!("{method} {url}: {e}{source}"))
}

/// A refusal as a typed error: the gateway's problem (RFC 9457) by its title and detail; API Gateway's
/// own 401/403 (`{"message": ...}`, no problem fields) with a hint, since no function ever saw it.
fn refusal(status: u16, body: &Value) -> Error {
    let class = Class::of_status(status);
    match (body.get("title"), body.get("detail")) {
        (Some(t), Some(d)) => Error::new(
            class,
            format!("{status} {}: {}", t.as_str().unwrap_or(""), d.as_str().unwrap_or("")),
        ),
        _ if refused_by_api_gateway(status, body) => {
            Error::new(class, format!("{status} from API Gateway: {body}")).with_hint(API_GATEWAY_HINT)
        }
        _ => Error::new(class, format!("{status}: {body}")),
    }
}

/// A 401/403 that is not the gateway's problem+json: API Gateway answered (IAM authorization, a
/// missing route's "Missing Authentication Token", a JWT authorizer) before any function ran.
fn refused_by_api_gateway(status: u16, body: &Value) -> bool {
    let problem = body.get("type").is_some() && body.get("title").is_some() && body.get("status").is_some();
    matches!(status, 401 | 403) && !problem
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn api_gateways_own_refusals_get_the_hint_and_the_gateways_problems_do_not() {
        for body in [
            json!({"message": "Forbidden"}),
            json!({"message": "Missing Authentication Token"}),
            json!({"message": "The security token included in the request is invalid"}),
            json!({"Message": "User: arn:aws:iam::123456789012:user/x is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:..."}),
            json!({"message": "Unauthorized"}),
            json!("not JSON at all"),
        ] {
            for status in [401, 403] {
                let e = refusal(status, &body);
                assert_eq!(
                    (e.class, e.hint.as_deref()),
                    (Class::Auth, Some(API_GATEWAY_HINT)),
                    "{body}"
                );
            }
        }
        let problem = json!({"type": "urn:egress:problem:forbidden", "title": "Forbidden", "status": 403,
            "detail": "approvers of zone default only"});
        let e = refusal(403, &problem);
        assert_eq!((e.class, e.hint), (Class::Auth, None));
        assert_eq!(e.message, "403 Forbidden: approvers of zone default only");
        // Other statuses keep their class and never get the hint.
        let e = refusal(404, &json!({"message": "Not Found"}));
        assert_eq!((e.class, e.hint), (Class::NotFound, None));
    }
}
