//! HTTP plumbing shared by the API functions: RFC 9457 problems, the caller's principal, content checks.

use lambda_http::http::{header, HeaderValue, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;

use crate::identity::{iam_principal, is_account_id, jwt_scopes, IamPrincipal, Identity, IdentityKind};
use crate::policy::Subject;

/// Bodies larger than this are refused with 413 before parsing.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
pub const PRINCIPAL_HEADER: &str = "x-egress-principal";
pub const MAX_PRINCIPAL_LEN: usize = 1024;

pub use crate::body::FieldError;

/// An RFC 9457 problem. `type` is a stable URN per problem class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    #[serde(skip)]
    pub retry_after: Option<u32>,
    #[serde(skip)]
    pub allow: Option<&'static str>,
}

impl Problem {
    fn new(status: u16, kind: &'static str, title: &'static str, detail: impl Into<String>) -> Self {
        Self {
            kind,
            title,
            status,
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
            allow: None,
        }
    }
    pub fn invalid(detail: impl Into<String>, errors: Vec<FieldError>) -> Self {
        let mut p = Self::new(400, "urn:egress:problem:invalid-input", "Invalid input", detail);
        p.errors = errors;
        p
    }
    pub fn unauthenticated() -> Self {
        Self::new(
            401,
            "urn:egress:problem:unauthenticated",
            "No principal",
            "the request carries no authenticated principal",
        )
    }
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(403, "urn:egress:problem:forbidden", "Forbidden", detail)
    }
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(404, "urn:egress:problem:not-found", "Not found", detail)
    }
    pub fn method_not_allowed(allow: &'static str) -> Self {
        let mut p = Self::new(
            405,
            "urn:egress:problem:method-not-allowed",
            "Method not allowed",
            format!("this resource supports {allow}"),
        );
        p.allow = Some(allow);
        p
    }
    pub fn too_large() -> Self {
        Self::new(
            413,
            "urn:egress:problem:body-too-large",
            "Body too large",
            format!("the body must be at most {MAX_BODY_BYTES} bytes"),
        )
    }
    pub fn unsupported_media_type() -> Self {
        Self::new(
            415,
            "urn:egress:problem:unsupported-media-type",
            "Unsupported media type",
            "the body must be JSON: Content-Type: application/json (charset utf-8, if given)",
        )
    }
    pub fn idempotency_mismatch() -> Self {
        Self::new(
            422,
            "urn:egress:problem:idempotency-key-reused",
            "Idempotency key reused",
            "this Idempotency-Key was already used with a different body",
        )
    }
    pub fn unavailable(detail: impl Into<String>) -> Self {
        let mut p = Self::new(
            503,
            "urn:egress:problem:dependency-unavailable",
            "Dependency unavailable",
            detail,
        );
        p.retry_after = Some(1);
        p
    }
    pub fn internal() -> Self {
        Self::new(
            500,
            "urn:egress:problem:internal",
            "Internal error",
            "unexpected error; it was logged",
        )
    }

    pub fn into_response(self) -> Response<Body> {
        let body = serde_json::to_string(&self).unwrap_or_else(|_| "{}".into());
        let mut resp = Response::new(Body::Text(body));
        *resp.status_mut() = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(s) = self.retry_after {
            h.insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        if let Some(a) = self.allow {
            h.insert(header::ALLOW, HeaderValue::from_static(a));
        }
        resp
    }
}

/// The response for a handler outcome: the success as is, or the problem (logged without request data).
pub fn respond(outcome: Result<Response<Body>, Problem>) -> Response<Body> {
    outcome.unwrap_or_else(|problem| {
        tracing::info!(status = problem.status, kind = problem.kind, "request rejected");
        problem.into_response()
    })
}

/// A JSON response with the given status.
pub fn json_response<T: Serialize>(status: StatusCode, value: &T) -> Response<Body> {
    match serde_json::to_string(value) {
        Ok(body) => {
            let mut resp = Response::new(Body::Text(body));
            *resp.status_mut() = status;
            resp.headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            resp.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            resp
        }
        Err(e) => {
            tracing::error!(error = %e, "response serialization failed");
            Problem::internal().into_response()
        }
    }
}

/// The authenticated caller. Never read from the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub principal: String,
    pub identity: Identity,
    /// JWT scopes, when the JWT authorizer is in use (`egress:audit` grants auditor rights).
    pub scopes: Vec<String>,
}

impl Caller {
    /// Who policy decides for: the principal, and the account and organization the authorizer reported.
    pub fn subject(&self) -> Subject<'_> {
        Subject {
            principal: &self.principal,
            account: self.identity.account.as_deref(),
            org: self.identity.org.as_deref(),
        }
    }
}

/// The caller from the API Gateway authorizer context (DESIGN "Identity"): an IAM user, assumed role
/// (principal: the role) or federated user, or a JWT `sub`; with `dev_mode` only, and only when no
/// authorizer context exists, the `X-Egress-Principal` header. `None` is a 401.
pub fn caller(req: &Request, dev_mode: bool) -> Option<Caller> {
    if let Some(RequestContext::ApiGatewayV2(ctx)) = req.request_context_ref() {
        if let Some(auth) = &ctx.authorizer {
            if let Some(iam) = &auth.iam {
                let IamPrincipal { principal, session } = iam_principal(iam.user_arn.as_deref()?)?;
                let attested = |v: &Option<String>| v.clone().filter(|v| valid_principal(v) && v.len() <= 64);
                return valid_principal(&principal).then(|| Caller {
                    principal,
                    identity: Identity {
                        kind: IdentityKind::Iam,
                        session: session.filter(|s| valid_principal(s)),
                        account: iam.account_id.clone().filter(|a| is_account_id(a)),
                        org: attested(&iam.principal_org_id),
                    },
                    scopes: Vec::new(),
                });
            }
            if let Some(jwt) = &auth.jwt {
                let sub = jwt.claims.get("sub")?;
                let claim = |name: &str| jwt.claims.get(name).map(String::as_str);
                return valid_principal(sub).then(|| Caller {
                    principal: sub.clone(),
                    identity: Identity {
                        kind: IdentityKind::Jwt,
                        session: None,
                        account: None,
                        org: None,
                    },
                    scopes: jwt_scopes(jwt.scopes.as_deref(), claim("scope"), claim("scp")),
                });
            }
        }
    }
    if !dev_mode {
        return None;
    }
    let mut values = req.headers().get_all(PRINCIPAL_HEADER).iter();
    let value = values.next()?.to_str().ok()?;
    if values.next().is_some() {
        return None; // two principals is no principal
    }
    valid_principal(value).then(|| Caller {
        principal: value.to_owned(),
        identity: Identity::dev(),
        scopes: Vec::new(),
    })
}

fn valid_principal(p: &str) -> bool {
    !p.is_empty() && p.len() <= MAX_PRINCIPAL_LEN && p.chars().all(|c| !c.is_control() && !c.is_whitespace())
}

/// `application/json`, optionally with `charset=utf-8`; nothing else.
pub fn is_json_content_type(req: &Request) -> bool {
    let Some(ct) = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mut parts = ct.split(';').map(str::trim);
    let media = parts.next().unwrap_or_default();
    if !media.eq_ignore_ascii_case("application/json") {
        return false;
    }
    parts.all(|p| {
        let Some((k, v)) = p.split_once('=') else {
            return p.is_empty();
        };
        k.trim().eq_ignore_ascii_case("charset") && v.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
    })
}

pub fn body_bytes(req: &Request) -> &[u8] {
    match req.body() {
        Body::Empty => &[],
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        // `Body` is non-exhaustive; an unknown variant is treated as empty (and then rejected).
        #[allow(unreachable_patterns)]
        _ => &[],
    }
}
