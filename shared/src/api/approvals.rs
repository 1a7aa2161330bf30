//! The approvals API: `GET /v1/egress/approvals`, `GET /v1/egress/approvals/{approval_id}` and
//! `POST /v1/egress/approvals/{approval_id}/decision`.
//!
//! An approval is visible to its requester, its zone's approvers and auditors; to anyone else it does not
//! exist (404). Only an approver of the zone who is not the requester may decide (403), once (409 when
//! decided or expired). Lists read Query pages only: a zone's pending queue from the sparse index, a zone's
//! or a principal's approvals from the time-ordered indexes.

use std::sync::Arc;

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use time::OffsetDateTime;

use super::params::Params;
use super::roles::{approver_zones, approves, is_auditor};
use crate::metrics;
use crate::timestamp::Timestamp;
use crate::{
    api::{body_bytes, caller, is_json_content_type, json_response, query_binding, respond, Caller, CursorCodec},
    approval::{parse_decision_body, ApprovalRecord, ApprovalState, Decided, TransitionError},
    field::FieldError,
    policy::CompiledPolicy,
    policy_source::PolicySource,
    problem::Problem,
    request::is_canonical_ulid,
    request::MAX_BODY_BYTES,
    store::{ApprovalPartition, ApprovalQuery, DecideOutcome, DecisionWrite, Store, StoredApproval},
};

const PARAMS: [&str; 5] = ["state", "zone", "principal", "limit", "cursor"];

/// The approvals API: one handler for its three routes (list, get one, decide).
pub struct ApprovalsService {
    /// Where approvals and their slots are read, and decisions written.
    pub store: Arc<dyn Store>,
    /// The policy in force: who approves or audits which zone, and each zone's grant limit.
    pub policy: Arc<dyn PolicySource>,
    /// Signs and checks the list's `cursor` parameter.
    pub cursors: CursorCodec,
    /// Development mode: the `X-Egress-Principal` header names the caller when there is no authorizer.
    pub dev_mode: bool,
}

/// A page of approvals.
#[derive(Debug, Serialize)]
pub struct ApprovalsPage {
    /// The approvals, newest first, each with its state as of the answer.
    pub items: Vec<ApprovalRecord>,
    /// The `cursor` of the next page; `None` (`null`) on the last one.
    pub next_cursor: Option<String>,
}

/// Which route a request is for.
enum Route {
    List,
    One(String),
    Decide(String),
}

/// The route, from API Gateway's path parameter or (under `cargo lambda watch`) the path itself.
fn route(req: &Request) -> Option<Route> {
    let path = req.uri().path().trim_end_matches('/');
    let from_path = |suffix: &str| -> Option<String> {
        let (_, rest) = path.split_once("/approvals/")?;
        let id = rest.strip_suffix(suffix)?;
        (!id.is_empty() && !id.contains('/')).then(|| id.to_owned())
    };
    let param = req
        .path_parameters_ref()
        .and_then(|p| p.first("approval_id"))
        .map(str::to_owned);
    if path.ends_with("/decision") {
        return param.or_else(|| from_path("/decision")).map(Route::Decide);
    }
    if path.ends_with("/approvals") {
        return Some(Route::List);
    }
    param.or_else(|| from_path("")).map(Route::One)
}

fn checked_id(id: &str) -> Result<(), Problem> {
    match is_canonical_ulid(id) {
        true => Ok(()),
        false => Err(Problem::invalid(
            "approval_id is not a ULID",
            vec![FieldError::new("approval_id", "invalid", "a 26-character ULID")],
        )),
    }
}

/// May `c` see the approval?
fn visible(c: &Caller, a: &ApprovalRecord, policy: Option<&CompiledPolicy>) -> bool {
    a.principal == c.principal || approves(c, &a.zone, policy) || is_auditor(c, policy)
}

impl ApprovalsService {
    /// Answers one API Gateway request: the approval(s) as JSON, or a problem.
    pub async fn handle(&self, req: Request) -> Response<Body> {
        respond(self.try_handle(req).await)
    }

    async fn try_handle(&self, req: Request) -> Result<Response<Body>, Problem> {
        let route = route(&req).ok_or_else(|| Problem::not_found("no such route"))?;
        let (allowed, name) = match route {
            Route::Decide(_) => (Method::POST, "POST"),
            Route::List | Route::One(_) => (Method::GET, "GET"),
        };
        if req.method() != allowed {
            return Err(Problem::method_not_allowed(name));
        }
        let caller = caller(&req, self.dev_mode).ok_or_else(Problem::unauthenticated)?;
        let policy = self.policy.current().await;
        let policy = policy.as_deref();
        match route {
            Route::List => self.list(&caller, policy, &req).await,
            Route::One(id) => {
                let found = self.visible_approval(&caller, policy, &id).await?;
                Ok(json_response(
                    StatusCode::OK,
                    &found.approval.as_of(OffsetDateTime::now_utc()),
                ))
            }
            Route::Decide(id) => self.decide(&caller, policy, &id, &req).await,
        }
    }

    /// The approval, if `c` may see it; a 404 otherwise, exactly like a missing one.
    async fn visible_approval(
        &self,
        c: &Caller,
        policy: Option<&CompiledPolicy>,
        id: &str,
    ) -> Result<StoredApproval, Problem> {
        checked_id(id)?;
        match self.store.get_approval(id).await? {
            Some(found) if visible(c, &found.approval, policy) => Ok(found),
            _ => Err(Problem::not_found(format!("no approval {id}"))),
        }
    }

    async fn decide(
        &self,
        c: &Caller,
        policy: Option<&CompiledPolicy>,
        id: &str,
        req: &Request,
    ) -> Result<Response<Body>, Problem> {
        // The body first: an invalid one is a 400 whatever the approval (nothing is looked up for it).
        let bytes = body_bytes(req);
        if bytes.len() > MAX_BODY_BYTES {
            return Err(Problem::too_large());
        }
        if !is_json_content_type(req) {
            return Err(Problem::unsupported_media_type());
        }
        let body =
            parse_decision_body(bytes).map_err(|errors| Problem::invalid("the decision has invalid fields", errors))?;
        let StoredApproval { approval, key } = self.visible_approval(c, policy, id).await?;
        // Four eyes: not the requester's principal, nor the same person behind another one (an Identity
        // Center user through a second permission set).
        if approval.principal == c.principal
            || crate::identity::person(&approval.principal, &approval.identity)
                == crate::identity::person(&c.principal, &c.identity)
        {
            return Err(Problem::forbidden("the requester of an approval cannot decide it"));
        }
        if !approves(c, &approval.zone, policy) {
            return Err(Problem::forbidden(format!(
                "only approvers of zone {} may decide its approvals",
                approval.zone
            )));
        }
        let settings = policy.map(|p| p.approval_settings(&approval.zone)).unwrap_or_default();
        let now = OffsetDateTime::now_utc();
        let Decided {
            approval: decided,
            slot,
        } = approval
            .decide(&c.principal, body, settings, now)
            .map_err(|e| match e {
                TransitionError::NotPending(state) => {
                    Problem::conflict(format!("approval {id} is {state}; decisions are write-once"))
                }
                TransitionError::GrantTooLong(field) => {
                    Problem::invalid("the grant is longer than this zone allows", vec![field])
                }
            })?;
        let write = DecisionWrite {
            approval: decided.clone(),
            key,
            slot,
            now: Timestamp::new(now),
        };
        match self.store.decide_approval(&write).await? {
            DecideOutcome::Decided => {
                tracing::info!(
                    approval_id = %decided.approval_id,
                    zone = %decided.zone,
                    state = decided.state.as_str(),
                    decided_by = %c.principal,
                    "approval decided"
                );
                metrics::approval_decided(&decided);
                Ok(json_response(StatusCode::OK, &decided))
            }
            DecideOutcome::NotPending(current) => Err(Problem::conflict(format!(
                "approval {id} is {}; decisions are write-once",
                current.state_at(now)
            ))),
            DecideOutcome::Missing => Err(Problem::not_found(format!("no approval {id}"))),
        }
    }

    async fn list(
        &self,
        c: &Caller,
        policy: Option<&CompiledPolicy>,
        req: &Request,
    ) -> Result<Response<Body>, Problem> {
        let mut q = Params::new(req, &PARAMS);
        let state: Option<ApprovalState> = q.parsed("state", "pending, granted, denied, expired");
        let zone = q.zone();
        let principal = q.principal();
        let limit = q.limit();
        let cursor = q.cursor();
        q.finish()?;
        let partitions = partitions(c, policy, state, zone.as_deref(), principal.as_deref())?;
        let binding = query_binding(&[
            &c.principal,
            state.map(ApprovalState::as_str).unwrap_or(""),
            zone.as_deref().unwrap_or(""),
            principal.as_deref().unwrap_or(""),
            &limit.to_string(),
        ]);
        let before = self.cursors.position(cursor.as_deref(), &binding)?;
        let query = ApprovalQuery {
            partitions,
            state,
            zone,
            principal,
            before,
            limit,
            now: Timestamp::now(),
        };
        let page = self.store.list_approvals(&query).await?;
        let next_cursor = page.next_before.map(|b| self.cursors.encode(&b, &binding));
        Ok(json_response(
            StatusCode::OK,
            &ApprovalsPage {
                items: page.items,
                next_cursor,
            },
        ))
    }
}

/// Where a list reads, for what `c` may see: auditors anything, approvers their zones, everyone their own.
/// A zone partition reads the pending queue (sparse index) when only pending approvals are asked for.
fn partitions(
    c: &Caller,
    policy: Option<&CompiledPolicy>,
    state: Option<ApprovalState>,
    zone: Option<&str>,
    principal: Option<&str>,
) -> Result<Vec<ApprovalPartition>, Problem> {
    let of_zone = |z: &str| match state {
        Some(ApprovalState::Pending) => ApprovalPartition::PendingIn(z.to_owned()),
        _ => ApprovalPartition::Zone(z.to_owned()),
    };
    let auditor = is_auditor(c, policy);
    let own = principal.is_none_or(|p| p == c.principal);
    if let Some(z) = zone {
        if auditor || approves(c, z, policy) {
            return Ok(vec![of_zone(z)]);
        }
        return match own {
            true => Ok(vec![ApprovalPartition::Principal(c.principal.clone())]),
            false => Err(Problem::forbidden(
                "only this zone's approvers and auditors may list others' approvals",
            )),
        };
    }
    if let Some(p) = principal {
        if auditor || p == c.principal {
            return Ok(vec![ApprovalPartition::Principal(p.to_owned())]);
        }
        // An approver sees another principal's approvals in the zones they approve.
        let zones = approver_zones(c, policy);
        if zones.is_empty() {
            return Err(Problem::forbidden(
                "only approvers and auditors may list others' approvals",
            ));
        }
        return Ok(zones.iter().map(|z| of_zone(z)).collect());
    }
    let mut parts = match auditor {
        true => policy
            .map(|p| p.zone_names())
            .unwrap_or_default()
            .into_iter()
            .map(of_zone)
            .collect(),
        false => approver_zones(c, policy).iter().map(|z| of_zone(z)).collect::<Vec<_>>(),
    };
    parts.push(ApprovalPartition::Principal(c.principal.clone()));
    Ok(parts)
}
