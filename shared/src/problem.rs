//! RFC 9457 problems (`application/problem+json`): the one error model of the API, one constructor per
//! status, and the one mapping of store failures to answers.

use serde::Serialize;

use crate::field::FieldError;
use crate::request::MAX_BODY_BYTES;
use crate::store::StoreError;

/// An RFC 9457 problem. `type` is a stable URN per problem class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// `type`: the URN of the problem class (`urn:egress:problem:<class>`), stable for clients to match.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Short human summary of the class; the same for every occurrence.
    pub title: &'static str,
    /// The HTTP status code, repeated in the body.
    pub status: u16,
    /// What went wrong this time, for a human.
    pub detail: String,
    /// Per-field errors of an invalid input (`errors`), omitted when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// Seconds for the `Retry-After` header (not in the body).
    #[serde(skip)]
    pub retry_after: Option<u32>,
    /// Methods for the `Allow` header of a 405 (not in the body).
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
    /// 400: the input is invalid, with the offending fields.
    pub fn invalid(detail: impl Into<String>, errors: Vec<FieldError>) -> Self {
        let mut p = Self::new(400, "urn:egress:problem:invalid-input", "Invalid input", detail);
        p.errors = errors;
        p
    }
    /// 401: the request carries no authenticated principal.
    pub fn unauthenticated() -> Self {
        Self::new(
            401,
            "urn:egress:problem:unauthenticated",
            "No principal",
            "the request carries no authenticated principal",
        )
    }
    /// A proxy token that is missing where it must be, or does not verify (forged, expired, another
    /// audience, an unknown key): the caller is not who it claims to ask for.
    pub fn invalid_proxy_token(detail: impl Into<String>) -> Self {
        Self::new(
            401,
            "urn:egress:problem:invalid-proxy-token",
            "Invalid proxy token",
            detail,
        )
    }
    /// 403: the principal may not do this.
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(403, "urn:egress:problem:forbidden", "Forbidden", detail)
    }
    /// 404: no such route or resource, or one the caller may not see (answered alike).
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(404, "urn:egress:problem:not-found", "Not found", detail)
    }
    /// 405, with the `Allow` header listing `allow`.
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
    /// 413: the body exceeds [`MAX_BODY_BYTES`] bytes.
    pub fn too_large() -> Self {
        Self::new(
            413,
            "urn:egress:problem:body-too-large",
            "Body too large",
            format!("the body must be at most {MAX_BODY_BYTES} bytes"),
        )
    }
    /// 415: the body is not declared as JSON.
    pub fn unsupported_media_type() -> Self {
        Self::new(
            415,
            "urn:egress:problem:unsupported-media-type",
            "Unsupported media type",
            "the body must be JSON: Content-Type: application/json (charset utf-8, if given)",
        )
    }
    /// The resource is not in a state that allows the change (an approval decided or expired).
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(409, "urn:egress:problem:conflict", "Conflict", detail)
    }
    /// 422: the `Idempotency-Key` was already used with a different body.
    pub fn idempotency_mismatch() -> Self {
        Self::new(
            422,
            "urn:egress:problem:idempotency-key-reused",
            "Idempotency key reused",
            "this Idempotency-Key was already used with a different body",
        )
    }
    /// 503 with `Retry-After: 1`: the request store is unreachable, throttled or busy; retry.
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
    /// 500: an unexpected error; the details are logged, never answered.
    pub fn internal() -> Self {
        Self::new(
            500,
            "urn:egress:problem:internal",
            "Internal error",
            "unexpected error; it was logged",
        )
    }
}

/// Store failures, mapped once: unreachable or throttled is a 503 the caller retries, anything else a 500.
/// Logged here, with the error and without request data.
impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "request store failed");
        match e {
            StoreError::Unavailable(_) => Problem::unavailable("the request store is unavailable; retry shortly"),
            StoreError::Corrupt(_) => Problem::internal(),
        }
    }
}
