//! The `POST /v1/egress/requests` body: strict JSON, every field validated, the target normalized.
//! Pure (no I/O, no AWS types), so it is fuzzed on its own (fuzz target `request_body`).

use serde::{Deserialize, Serialize};

use crate::names::valid_zone_name;
use crate::{
    field::FieldError,
    normalize::{NormalizeError, Requested, Target, UrlTail},
};

/// Longest `purpose` accepted, in characters (Unicode scalar values, not bytes).
pub const MAX_PURPOSE_CHARS: usize = 512;

/// Why a body was refused: a summary and the field problems (the 400's `detail` and `errors`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyError {
    /// One-sentence summary of why the body was refused.
    pub detail: String,
    /// One entry per invalid field; empty when the JSON itself could not be read.
    pub errors: Vec<FieldError>,
}

impl BodyError {
    fn new(detail: impl Into<String>, errors: Vec<FieldError>) -> Self {
        Self {
            detail: detail.into(),
            errors,
        }
    }
}

/// The request body. Unknown fields (a `principal` above all) are rejected, never ignored. Optional members
/// may be absent but not `null` (`infra/openapi.yaml` types them as strings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    /// Absolute http(s) URL to reach; exactly one of `url` and `domain` is given.
    #[serde(default, deserialize_with = "crate::json::present")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Bare host name or IP literal, standing for `https://<domain>/`; exclusive with `url`.
    #[serde(default, deserialize_with = "crate::json::present")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Policy zone to decide in: 1-64 characters of `a-z`, `0-9` and `-`.
    pub zone: String,
    /// Free-text reason for the request: at most [`MAX_PURPOSE_CHARS`] characters, no control characters
    /// but `\n` and `\t`.
    #[serde(default, deserialize_with = "crate::json::present")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// `true`: a CONNECT tunnel (the enforcing proxy asks before it opens one). The target is
    /// `https://host[:port]` with no path, query or fragment; the path the tunnel will carry is unknown.
    #[serde(default, deserialize_with = "crate::json::present")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tunnel: Option<bool>,
}

/// A body that passed every check: the only input `authorize` and the store see.
#[derive(Debug, Clone)]
pub struct ValidRequest {
    /// The body as received (already validated).
    pub body: CreateBody,
    /// The normalized target of the `url` or `domain`.
    pub target: Target,
    /// The tail of a `url` input (path, query, fragment as written): read by the decision, never stored.
    pub tail: Option<UrlTail>,
}

impl ValidRequest {
    /// What the policy decides on: the target and, for a `url` input, its tail; or a tunnel.
    pub fn requested(&self) -> Requested<'_> {
        match self.is_tunnel() {
            true => Requested::tunnel(&self.target),
            false => Requested {
                target: &self.target,
                tail: self.tail.as_ref(),
                tunnel: false,
            },
        }
    }

    /// Whether the body asked for a CONNECT tunnel (`tunnel: true`; absent or `false` is not).
    pub fn is_tunnel(&self) -> bool {
        self.body.tunnel == Some(true)
    }
}

/// A tunnel names a host and port only: its scheme is `https` and it has no path, query or fragment (the
/// gateway cannot see what the tunnel will carry, and must not pretend to).
fn tunnel_error(target: &Target, tail: Option<&UrlTail>) -> Option<FieldError> {
    let bare = tail.is_none_or(|t| matches!(t.path(), "" | "/") && t.query().is_none() && t.fragment().is_none());
    if target.scheme() != crate::normalize::Scheme::Https || target.path() != "/" || !bare {
        return Some(FieldError::new(
            "tunnel",
            "not_a_tunnel_target",
            "a tunnel's target is `https://host[:port]` (or a `domain`): no path, query or fragment",
        ));
    }
    None
}

/// Parses and validates the JSON body, collecting every field problem.
pub fn parse_body(bytes: &[u8]) -> Result<ValidRequest, BodyError> {
    let body: CreateBody = serde_json::from_slice(bytes).map_err(|e| {
        let msg = e.to_string();
        if msg.contains("unknown field `principal`") {
            return BodyError::new(
                "the principal is never taken from the body; it comes from the authenticated caller",
                vec![FieldError::new("principal", "not_allowed", "remove this field")],
            );
        }
        BodyError::new(format!("the body is not a valid request: {msg}"), Vec::new())
    })?;
    let mut errors = Vec::new();
    if !valid_zone_name(&body.zone) {
        errors.push(FieldError::new(
            "zone",
            "invalid",
            "1-64 characters of a-z, 0-9 and `-`",
        ));
    }
    if let Some(p) = &body.purpose {
        if p.chars().count() > MAX_PURPOSE_CHARS {
            errors.push(FieldError::new(
                "purpose",
                "too_long",
                format!("at most {MAX_PURPOSE_CHARS} characters"),
            ));
        } else if p.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
            errors.push(FieldError::new(
                "purpose",
                "control_characters",
                "control characters are not allowed",
            ));
        }
    }
    let target = match (&body.url, &body.domain) {
        (Some(u), None) => Target::parse_url(u)
            .map(|(t, tail)| (t, Some(tail)))
            .map_err(|e| target_error("url", &e)),
        (None, Some(d)) => Target::from_domain(d)
            .map(|t| (t, None))
            .map_err(|e| target_error("domain", &e)),
        (Some(_), Some(_)) => Err(FieldError::new(
            "url",
            "exclusive",
            "give exactly one of `url` or `domain`, not both",
        )),
        (None, None) => Err(FieldError::new(
            "url",
            "required",
            "give exactly one of `url` or `domain`",
        )),
    };
    if let (Ok((target, tail)), Some(true)) = (&target, body.tunnel) {
        errors.extend(tunnel_error(target, tail.as_ref()));
    }
    match target {
        Ok((target, tail)) if errors.is_empty() => Ok(ValidRequest { body, target, tail }),
        Ok(_) => Err(BodyError::new("the request has invalid fields", errors)),
        Err(fe) => {
            errors.insert(0, fe);
            Err(BodyError::new("the request has invalid fields", errors))
        }
    }
}

fn target_error(field: &str, e: &NormalizeError) -> FieldError {
    FieldError::new(field, e.code(), e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tunnel_names_a_host_and_port_only() {
        for ok in [
            r#"{"url":"https://example.com","zone":"z","tunnel":true}"#,
            r#"{"url":"https://example.com:8443/","zone":"z","tunnel":true}"#,
            r#"{"domain":"example.com","zone":"z","tunnel":true}"#,
            r#"{"url":"http://example.com/x?y","zone":"z","tunnel":false}"#,
        ] {
            let v = parse_body(ok.as_bytes()).unwrap_or_else(|e| panic!("{ok}: {e:?}"));
            assert_eq!(v.requested().tunnel, v.body.tunnel == Some(true), "{ok}");
        }
        for bad in [
            r#"{"url":"http://example.com","zone":"z","tunnel":true}"#,
            r#"{"url":"https://example.com/x","zone":"z","tunnel":true}"#,
            r#"{"url":"https://example.com/?q","zone":"z","tunnel":true}"#,
            r#"{"url":"https://example.com/#f","zone":"z","tunnel":true}"#,
            r#"{"url":"https://example.com/%2e/","zone":"z","tunnel":true}"#,
        ] {
            let e = parse_body(bad.as_bytes()).unwrap_err();
            assert_eq!(e.errors[0].code, "not_a_tunnel_target", "{bad}");
        }
    }

    #[test]
    fn optional_members_may_be_absent_but_not_null() {
        assert!(parse_body(br#"{"domain":"example.com","zone":"default"}"#).is_ok());
        assert!(parse_body(br#"{"domain":"example.com","zone":"default","tunnel":true}"#).is_ok());
        for body in [
            r#"{"url":null,"domain":"example.com","zone":"default"}"#,
            r#"{"url":"https://example.com/","domain":null,"zone":"default"}"#,
            r#"{"domain":"example.com","zone":"default","purpose":null}"#,
            r#"{"domain":"example.com","zone":"default","tunnel":null}"#,
        ] {
            let e = parse_body(body.as_bytes()).unwrap_err();
            assert!(e.detail.contains("invalid type: null"), "{body}: {}", e.detail);
            assert!(e.errors.is_empty());
        }
    }
}
