//! `POST /v1/egress/requests`: parse, authorize (steps 1-6), then steps 7-8 and the record (`record`). One
//! DynamoDB write (plus one read on the `require_approval` path), no EventBridge call.

use std::sync::Arc;
use std::time::Duration;

use lambda_http::http::{header, HeaderValue, Method, StatusCode};
use lambda_http::{Body, Request, Response};

use super::on_behalf::decided_for;
use crate::metrics;
use crate::proxy_token::ProxyKeys;
use crate::{
    api::{body_bytes, caller, check_organization, is_json_content_type, json_response, owner_account, respond},
    approval::GrantPath,
    field::FieldError,
    identity::OrganizationId,
    policy::{authorize_egress, Decision},
    policy_source::PolicySource,
    problem::Problem,
    record::{record_request, Asked, Budget, Recorded, RECORD_TIMEOUT},
    request::{parse_body, MAX_BODY_BYTES},
    store::{IdempotencyClaim, Store},
};

/// The optional `Idempotency-Key` header: a retry with the same key and body replays the first answer.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";
/// The longest `Idempotency-Key`, in characters (printable ASCII).
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// The route of `POST` (create) and, with a request id appended, of the record's `Location`.
pub const REQUESTS_PATH: &str = "/v1/egress/requests";

/// `POST /v1/egress/requests`: decides a request and records it.
pub struct CreateService {
    /// Where requests, idempotency claims and approvals are written.
    pub store: Arc<dyn Store>,
    /// The policy in force; without one every request is denied with reason `policy_unavailable`.
    pub policy: Arc<dyn PolicySource>,
    /// Development mode: the `X-Egress-Principal` header names the caller when there is no authorizer.
    pub dev_mode: bool,
    /// The organization whose IAM callers are served (`EGRESS_ORGANIZATION_ID`); `None`: any the front
    /// door admits (the HTTP API admits this account's only).
    pub organization: Option<OrganizationId>,
    /// How long an `Idempotency-Key` is remembered: a retry within it replays the recorded answer.
    pub idempotency_ttl: Duration,
    /// The proxy-token keys (verification of `X-Egress-Proxy-Token`); `None`: no token is accepted.
    pub proxy_keys: Option<Arc<ProxyKeys>>,
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
    /// Answers one API Gateway request: the new record (201), an idempotent replay (200) or a problem.
    pub async fn handle(&self, req: Request) -> Response<Body> {
        respond(self.try_handle(req).await)
    }

    async fn try_handle(&self, req: Request) -> Result<Response<Body>, Problem> {
        // The HTTP API routes one path here; a function URL sends every path (DESIGN "Callers in other
        // accounts").
        if req.uri().path().trim_end_matches('/') != REQUESTS_PATH {
            return Err(Problem::not_found("no such route"));
        }
        if req.method() != Method::POST {
            return Err(Problem::method_not_allowed("POST"));
        }
        let caller = caller(&req, self.dev_mode).ok_or_else(Problem::unauthenticated)?;
        check_organization(&caller, self.organization.as_ref(), owner_account(&req))?;
        let bytes = body_bytes(&req);
        if bytes.len() > MAX_BODY_BYTES {
            return Err(Problem::too_large());
        }
        if !is_json_content_type(&req) {
            return Err(Problem::unsupported_media_type());
        }
        let key = idempotency_key(&req)?;
        let valid = parse_body(bytes).map_err(|e| Problem::invalid(e.detail, e.errors))?;

        let policy = self.policy.current().await;
        let caller = decided_for(caller, &req, policy.as_deref(), self.proxy_keys.as_deref())?;
        let decision = match &policy {
            Some(policy) => authorize_egress(policy, caller.subject(), &valid.body.zone, valid.requested()),
            None => Decision::policy_unavailable(),
        };
        let claim = key.map(|k| {
            // Canonical form of the parsed body: formatting and key order do not make a "different body".
            let canonical = serde_json::to_vec(&valid.body).unwrap_or_default();
            let expires = time::OffsetDateTime::now_utc().unix_timestamp() + self.idempotency_ttl.as_secs() as i64;
            IdempotencyClaim::new(&caller.principal, &k, &canonical, expires)
        });
        let fingerprint = valid.tail.as_ref().map(|t| {
            crate::digest::hex_sha256(&[
                t.path().as_bytes(),
                t.query().unwrap_or("").as_bytes(),
                t.fragment().unwrap_or("").as_bytes(),
            ])
        });
        let asked = Asked {
            principal: &caller.principal,
            identity: &caller.identity,
            zone: &valid.body.zone,
            target: &valid.target,
            purpose: valid.body.purpose.as_deref(),
            tail_fingerprint: fingerprint.as_deref(),
            path: match valid.is_tunnel() {
                true => GrantPath::Tunnel,
                false => GrantPath::Written(valid.tail.as_ref().map(|t| t.path()).filter(|p| !p.is_empty())),
            },
        };
        // The retry budget: no new attempt after RETRY_WINDOW, and an answer (a 503 at worst) by
        // RECORD_TIMEOUT, under the function's timeout (record/budget.rs).
        let recording = record_request(
            self.store.as_ref(),
            policy.as_deref(),
            &decision,
            &asked,
            claim.as_ref(),
            Budget::start(),
        );
        let recorded = match tokio::time::timeout(RECORD_TIMEOUT, recording).await {
            Ok(recorded) => recorded?,
            Err(_) => Recorded::Busy,
        };
        match recorded {
            Recorded::Created(record) => {
                tracing::info!(
                    request_id = %record.request_id,
                    principal = %record.principal,
                    zone = %record.zone,
                    host = %record.target.host(),
                    decision = record.decision.as_str(),
                    policy_decision = record.policy_decision.as_str(),
                    reason = record.reason.as_str(),
                    rule = record.rule.as_deref().unwrap_or(""),
                    approval_id = record.approval_id.as_deref().unwrap_or(""),
                    replaces = record.replaces.as_deref().unwrap_or(""),
                    "egress request recorded"
                );
                let zone_defined = policy.as_deref().is_some_and(|p| p.has_zone(&record.zone));
                metrics::decision(&record, zone_defined);
                let mut resp = json_response(StatusCode::CREATED, &record);
                if let Ok(loc) = HeaderValue::from_str(&format!("{REQUESTS_PATH}/{}", record.request_id)) {
                    resp.headers_mut().insert(header::LOCATION, loc);
                }
                if let Some(retry) = record.retry_after_seconds {
                    resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry));
                }
                Ok(resp)
            }
            Recorded::Replayed(original) => {
                tracing::info!(request_id = %original.request_id, "idempotent replay");
                let mut resp = json_response(StatusCode::OK, &original);
                resp.headers_mut()
                    .insert("idempotent-replayed", HeaderValue::from_static("true"));
                Ok(resp)
            }
            Recorded::Busy => {
                tracing::error!("recording kept losing races, or ran out of its retry budget");
                Err(Problem::unavailable("the request store is busy; retry shortly"))
            }
            Recorded::KeyConflict => Err(Problem::idempotency_mismatch()),
        }
    }
}
