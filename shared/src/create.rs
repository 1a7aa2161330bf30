//! `POST /v1/egress/requests`: parse, authorize, record. One DynamoDB call, no EventBridge call.

use std::sync::Arc;
use std::time::Duration;

use lambda_http::http::{header, HeaderValue, Method, StatusCode};
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};
use ulid::Ulid;

use crate::decision::Decision;
use crate::http::{
    body_bytes, caller, is_json_content_type, json_response, respond, FieldError, Problem, MAX_BODY_BYTES,
};
use crate::normalize::{NormalizeError, Target};
use crate::policy::{authorize_egress, valid_zone_name};
use crate::record::RequestRecord;
use crate::source::PolicySource;
use crate::store::{IdempotencyClaim, RecordOutcome, RequestStore, StoreError};

pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";
pub const MAX_PURPOSE_CHARS: usize = 512;
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// The request body. Unknown fields (a `principal` above all) are rejected, never ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    pub zone: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
}

/// A body that passed every check: the only input `authorize` and the store see.
#[derive(Debug, Clone)]
pub struct ValidRequest {
    pub body: CreateBody,
    pub target: Target,
}

pub struct CreateService {
    pub store: Arc<dyn RequestStore>,
    pub policy: Arc<dyn PolicySource>,
    pub dev_mode: bool,
    pub idempotency_ttl: Duration,
}

/// Parses and validates the JSON body, collecting every field problem.
pub fn parse_body(bytes: &[u8]) -> Result<ValidRequest, Problem> {
    let body: CreateBody = serde_json::from_slice(bytes).map_err(|e| {
        let msg = e.to_string();
        if msg.contains("unknown field `principal`") {
            return Problem::invalid(
                "the principal is never taken from the body; it comes from the authenticated caller",
                vec![FieldError::new("principal", "not_allowed", "remove this field")],
            );
        }
        Problem::invalid(format!("the body is not a valid request: {msg}"), Vec::new())
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
        (Some(u), None) => Target::from_url(u).map_err(|e| target_error("url", &e)),
        (None, Some(d)) => Target::from_domain(d).map_err(|e| target_error("domain", &e)),
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
    match target {
        Ok(target) if errors.is_empty() => Ok(ValidRequest { body, target }),
        Ok(_) => Err(Problem::invalid("the request has invalid fields", errors)),
        Err(fe) => {
            errors.insert(0, fe);
            Err(Problem::invalid("the request has invalid fields", errors))
        }
    }
}

fn target_error(field: &str, e: &NormalizeError) -> FieldError {
    FieldError::new(field, e.code(), e.to_string())
}

/// `Idempotency-Key`: optional, once, 1-255 printable ASCII characters.
pub fn idempotency_key(req: &Request) -> Result<Option<String>, Problem> {
    let mut values = req.headers().get_all(IDEMPOTENCY_HEADER).iter();
    let Some(v) = values.next() else {
        return Ok(None);
    };
    let bad = |d: &str| Problem::invalid(d.to_owned(), vec![FieldError::new("Idempotency-Key", "invalid", d)]);
    if values.next().is_some() {
        return Err(bad("give the Idempotency-Key header once"));
    }
    let bytes = v.as_bytes();
    if bytes.is_empty() || bytes.len() > MAX_IDEMPOTENCY_KEY_LEN || !bytes.iter().all(|b| (0x20..=0x7e).contains(b)) {
        return Err(bad("the Idempotency-Key must be 1-255 printable ASCII characters"));
    }
    Ok(Some(String::from_utf8_lossy(bytes).into_owned()))
}

impl CreateService {
    pub async fn handle(&self, req: Request) -> Response<Body> {
        respond(self.try_handle(req).await)
    }

    async fn try_handle(&self, req: Request) -> Result<Response<Body>, Problem> {
        if req.method() != Method::POST {
            return Err(Problem::method_not_allowed("POST"));
        }
        let caller = caller(&req, self.dev_mode).ok_or_else(Problem::unauthenticated)?;
        let bytes = body_bytes(&req);
        if bytes.len() > MAX_BODY_BYTES {
            return Err(Problem::too_large());
        }
        if !is_json_content_type(&req) {
            return Err(Problem::unsupported_media_type());
        }
        let key = idempotency_key(&req)?;
        let valid = parse_body(bytes)?;

        let decision = match self.policy.current().await {
            Some(policy) => authorize_egress(&policy, &caller.principal, &valid.body.zone, &valid.target),
            None => Decision::policy_unavailable(),
        };
        let id = Ulid::new();
        let record = RequestRecord::new(
            id,
            caller.principal.clone(),
            valid.body.zone.clone(),
            valid.target.clone(),
            valid.body.purpose.clone(),
            &decision,
        );
        let claim = key.map(|k| {
            // Canonical form of the parsed body: formatting and key order do not make a "different body".
            let canonical = serde_json::to_vec(&valid.body).unwrap_or_default();
            let expires = time::OffsetDateTime::now_utc().unix_timestamp() + self.idempotency_ttl.as_secs() as i64;
            IdempotencyClaim::new(&caller.principal, &k, &canonical, expires)
        });
        let outcome = self.store.record(&record, claim.as_ref()).await.map_err(|e| {
            tracing::error!(error = %e, "recording the request failed");
            match e {
                StoreError::Unavailable(_) => Problem::unavailable("the request store is unavailable; retry shortly"),
                StoreError::Corrupt(_) => Problem::internal(),
            }
        })?;
        match outcome {
            RecordOutcome::Created => {
                tracing::info!(
                    request_id = %record.request_id,
                    principal = %record.principal,
                    zone = %record.zone,
                    host = %record.target.host(),
                    decision = record.decision.as_str(),
                    policy_decision = record.policy_decision.as_str(),
                    reason = record.reason.as_str(),
                    rule = record.rule.as_deref().unwrap_or(""),
                    "egress request recorded"
                );
                let mut resp = json_response(StatusCode::CREATED, &record);
                if let Ok(loc) = HeaderValue::from_str(&format!("/v1/egress/requests/{}", record.request_id)) {
                    resp.headers_mut().insert(header::LOCATION, loc);
                }
                Ok(resp)
            }
            RecordOutcome::Replayed(original) => {
                tracing::info!(request_id = %original.request_id, "idempotent replay");
                let mut resp = json_response(StatusCode::OK, &*original);
                resp.headers_mut()
                    .insert("idempotent-replayed", HeaderValue::from_static("true"));
                Ok(resp)
            }
            RecordOutcome::KeyConflict => Err(Problem::idempotency_mismatch()),
        }
    }
}
