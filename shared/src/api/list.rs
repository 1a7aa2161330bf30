//! `GET /v1/egress/requests` and `GET /v1/egress/requests/{request_id}`: Query and GetItem only.
//!
//! A caller sees its own requests; auditors (named in the policy, or holding the JWT scope
//! `egress:audit`) see all. Another principal's request by id is a 404, so existence does not leak.

use std::sync::Arc;

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::params::Params;
use super::roles::is_auditor;
use crate::timestamp::Timestamp;
use crate::{
    api::{caller, json_response, query_binding, respond, Caller, CursorCodec},
    approval::{ApprovalRecord, ApprovalState, Grant},
    field::FieldError,
    policy::Effect,
    policy_source::PolicySource,
    problem::Problem,
    request::{is_canonical_ulid, ulid_bound, RequestRecord},
    store::{ListQuery, Store},
};

const PARAMS: [&str; 7] = ["principal", "zone", "decision", "since", "until", "limit", "cursor"];

/// The requests API: one handler for the list and for one request by id.
pub struct ListService {
    /// Where requests, and the approvals they opened, are read.
    pub store: Arc<dyn Store>,
    /// The policy in force: who audits (and so sees every principal's requests).
    pub policy: Arc<dyn PolicySource>,
    /// Signs and checks the list's `cursor` parameter.
    pub cursors: CursorCodec,
    /// Development mode: the `X-Egress-Principal` header names the caller when there is no authorizer.
    pub dev_mode: bool,
}

/// One request as `GET /v1/egress/requests/{request_id}` answers it.
#[derive(Debug, Serialize)]
struct RequestView {
    #[serde(flatten)]
    record: RequestRecord,
    #[serde(skip_serializing_if = "Option::is_none")]
    approval: Option<ApprovalView>,
}

/// The state of the approval a request opened, joined or used, as of the answer.
#[derive(Debug, Serialize)]
struct ApprovalView {
    approval_id: String,
    state: ApprovalState,
    expires_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    grant: Option<Grant>,
}

impl ApprovalView {
    fn of(a: ApprovalRecord) -> Self {
        let now = OffsetDateTime::now_utc();
        Self {
            state: a.state_at(now),
            approval_id: a.approval_id,
            expires_at: a.expires_at,
            grant: a.grant,
        }
    }
}

/// A page of requests, as `GET /v1/egress/requests` answers.
#[derive(Debug, Serialize)]
pub struct RequestsPage {
    /// The requests, newest first.
    pub items: Vec<RequestRecord>,
    /// The `cursor` of the next page; `None` (`null`) on the last one.
    pub next_cursor: Option<String>,
}

/// The validated query string.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ListParams {
    /// Only this principal's requests (another principal's: auditors only).
    pub principal: Option<String>,
    /// Only requests made in this zone.
    pub zone: Option<String>,
    /// Only requests answered with this decision.
    pub decision: Option<Effect>,
    /// Only requests made at or after this time (to the millisecond).
    pub since: Option<OffsetDateTime>,
    /// Only requests made at or before this time (to the millisecond); never before `since`.
    pub until: Option<OffsetDateTime>,
    /// Most items on the page: 1 to [`MAX_LIMIT`](super::MAX_LIMIT), by default
    /// [`DEFAULT_LIMIT`](super::DEFAULT_LIMIT).
    pub limit: usize,
    /// The `cursor` of a previous page, as given (checked against the query when used).
    pub cursor: Option<String>,
}

impl ListParams {
    /// Everything the cursor is bound to, in a fixed order.
    fn binding(&self, caller: &str) -> String {
        let ts = |t: &Option<OffsetDateTime>| t.map(|t| t.unix_timestamp_nanos().to_string()).unwrap_or_default();
        query_binding(&[
            caller,
            self.principal.as_deref().unwrap_or(""),
            self.zone.as_deref().unwrap_or(""),
            self.decision.map(Effect::as_str).unwrap_or(""),
            &ts(&self.since),
            &ts(&self.until),
            &self.limit.to_string(),
        ])
    }
}

/// Parses the query string; each parameter at most once, unknown ones rejected.
pub fn parse_params(req: &Request) -> Result<ListParams, Problem> {
    let mut q = Params::new(req, &PARAMS);
    let mut p = ListParams {
        principal: q.principal(),
        zone: q.zone(),
        decision: q.parsed("decision", "allow, deny, require_approval"),
        limit: q.limit(),
        cursor: q.cursor(),
        ..Default::default()
    };
    for (name, slot) in [("since", &mut p.since), ("until", &mut p.until)] as [(&'static str, _); 2] {
        if let Some(v) = q.one(name) {
            match OffsetDateTime::parse(&v, &Rfc3339) {
                Ok(t) if t.unix_timestamp() >= 0 && t.year() < 10_000 => *slot = Some(t),
                _ => q.errors.push(FieldError::new(
                    name,
                    "invalid",
                    "an RFC 3339 date-time, e.g. 2026-11-27T20:00:00Z",
                )),
            }
        }
    }
    if let (Some(s), Some(u)) = (p.since, p.until) {
        if s > u {
            q.errors.push(FieldError::new(
                "since",
                "after_until",
                "`since` must not be later than `until`",
            ));
        }
    }
    q.finish()?;
    Ok(p)
}

/// The request id of `GET /v1/egress/requests/{request_id}`, if this is that route.
fn path_request_id(req: &Request) -> Option<String> {
    if let Some(id) = req.path_parameters_ref().and_then(|p| p.first("request_id")) {
        return Some(id.to_owned());
    }
    let path = req.uri().path().trim_end_matches('/');
    let (_, last) = path.rsplit_once("/requests/")?;
    (!last.is_empty() && !last.contains('/')).then(|| last.to_owned())
}

impl ListService {
    /// Answers one API Gateway request for either route: a page, one request, or a problem.
    pub async fn handle(&self, req: Request) -> Response<Body> {
        respond(self.try_handle(req).await)
    }

    async fn is_auditor(&self, c: &Caller) -> bool {
        is_auditor(c, self.policy.current().await.as_deref())
    }

    async fn try_handle(&self, req: Request) -> Result<Response<Body>, Problem> {
        if req.method() != Method::GET {
            return Err(Problem::method_not_allowed("GET"));
        }
        let caller = caller(&req, self.dev_mode).ok_or_else(Problem::unauthenticated)?;
        match path_request_id(&req) {
            Some(id) => self.get_one(&caller, &id).await,
            None => self.list(&caller, &req).await,
        }
    }

    async fn get_one(&self, caller: &Caller, id: &str) -> Result<Response<Body>, Problem> {
        if !is_canonical_ulid(id) {
            return Err(Problem::invalid(
                "request_id is not a ULID",
                vec![FieldError::new("request_id", "invalid", "a 26-character ULID")],
            ));
        }
        let record = self.store.get(id).await?;
        match record {
            Some(r) if r.principal == caller.principal || self.is_auditor(caller).await => {
                // With the approval it opened or used, as it stands now.
                let approval = match &r.approval_id {
                    Some(a) => self.store.get_approval(a).await?.map(|s| ApprovalView::of(s.approval)),
                    None => None,
                };
                Ok(json_response(StatusCode::OK, &RequestView { record: r, approval }))
            }
            // Someone else's request answers exactly like a missing one.
            _ => Err(Problem::not_found(format!("no request {id}"))),
        }
    }

    async fn list(&self, caller: &Caller, req: &Request) -> Result<Response<Body>, Problem> {
        let params = parse_params(req)?;
        let auditor = self.is_auditor(caller).await;
        let principal = match (&params.principal, auditor) {
            (Some(p), false) if *p != caller.principal => {
                return Err(Problem::forbidden("only auditors may list other principals' requests"))
            }
            (p, true) => p.clone(),
            (_, false) => Some(caller.principal.clone()),
        };
        let binding = params.binding(&caller.principal);
        let before = self.cursors.position(params.cursor.as_deref(), &binding)?;
        let query = ListQuery {
            principal,
            zone: params.zone.clone(),
            decision: params.decision,
            lowest: ulid_bound(params.since, false),
            highest: ulid_bound(params.until, true),
            before,
            limit: params.limit,
        };
        let page = self.store.list(&query).await?;
        let next_cursor = page.next_before.map(|before| self.cursors.encode(&before, &binding));
        Ok(json_response(
            StatusCode::OK,
            &RequestsPage {
                items: page.items,
                next_cursor,
            },
        ))
    }
}
