//! From the policy's decision to the recorded request: precedence step 7 (approval grants, and opening or
//! joining an approval), step 8 (rate limits), and the one write that records the request with its
//! idempotency claim, approval step and limit charges. A write that finds the world changed (a concurrent
//! request took the grant or opened the approval, a counter filled, a replay was re-decided elsewhere)
//! writes nothing and is decided again, a bounded number of times.

use time::OffsetDateTime;
use ulid::Ulid;

use crate::{
    approval::{approval_basis, approval_key, key_state, ApprovalRecord, GrantScope, KeyState},
    digest::hex_sha256,
    normalize::Target,
    policy::{CompiledPolicy, Decision, Effect, LimitScope},
    request::RequestRecord,
    store::{ApprovalStep, IdempotencyClaim, LimitCharge, RecordOutcome, Store, StoreError, Write},
};

/// Rounds of deciding and writing before giving up with a 503: each lost round is a concurrent writer
/// that won (they are rare and resolve in one or two rounds).
const ROUNDS: usize = 8;
/// Counters outlive their window by this much before TTL may delete them (the key names the window).
const COUNTER_SLACK_SECONDS: i64 = 3600;

/// Who asked for what, as the record states it.
pub struct Asked<'a> {
    pub principal: &'a str,
    pub identity: &'a crate::identity::Identity,
    pub zone: &'a str,
    pub target: &'a Target,
    pub purpose: Option<&'a str>,
    /// A fingerprint of the URL's tail (path, query, fragment), for approvals a credential asked for.
    pub tail_fingerprint: Option<&'a str>,
    /// The URL's path as written, or a tunnel (a grant covers exactly that, with the normalized path).
    pub path: crate::approval::GrantPath<'a>,
}

/// How the request was answered.
pub enum Recorded {
    /// A new request (`replaces` names the original when a replay was re-decided).
    Created(RequestRecord),
    /// An idempotent replay whose decision still holds: the original, as first answered.
    Replayed(RequestRecord),
    KeyConflict,
    /// Every round lost a race: nothing was written.
    Busy,
}

/// One limit a request falls under, for this window.
struct LimitSpec {
    id: String,
    charge: LimitCharge,
    retry_after_seconds: u32,
}

/// The charges of an allow under the zone's limits that cover the target, in fixed windows.
fn limit_specs(policy: &CompiledPolicy, asked: &Asked<'_>, now: i64) -> Vec<LimitSpec> {
    policy
        .limits_for(asked.zone, asked.target)
        .into_iter()
        .map(|l| {
            let window = i64::from(l.window_seconds);
            let start = now - now.rem_euclid(window);
            let whose = match l.per {
                LimitScope::Principal => asked.principal,
                LimitScope::Zone => "*",
            };
            let key = hex_sha256(&[
                asked.zone.as_bytes(),
                l.id.as_bytes(),
                l.per.as_str().as_bytes(),
                whose.as_bytes(),
                &start.to_be_bytes(),
            ]);
            LimitSpec {
                id: l.id.clone(),
                charge: LimitCharge {
                    key,
                    limit: l.limit,
                    expires_at: start + window + COUNTER_SLACK_SECONDS,
                },
                retry_after_seconds: u32::try_from((start + window - now).max(1)).unwrap_or(u32::MAX),
            }
        })
        .collect()
}

/// Records the request `base` decided (steps 1-6), applying steps 7 and 8 on the way.
pub async fn record_request(
    store: &dyn Store,
    policy: Option<&CompiledPolicy>,
    base: &Decision,
    asked: &Asked<'_>,
    claim: Option<&IdempotencyClaim>,
) -> Result<Recorded, StoreError> {
    let mut supersedes: Option<String> = None;
    let mut limited: Option<(String, u32)> = None;
    for _ in 0..ROUNDS {
        let now = OffsetDateTime::now_utc();
        let now_s = now.unix_timestamp();
        let id = Ulid::new();
        let mut decision = base.clone();
        // Step 7: a require_approval verdict looks at its key's slot (one read).
        let mut step = None;
        let mut open = None;
        if decision.needs_approval() {
            let basis = approval_basis(&decision, asked.tail_fingerprint);
            let key = approval_key(asked.principal, asked.zone, asked.target, asked.path, &basis);
            let slot = store.approval_slot(&key).await?;
            match key_state(slot.as_ref(), now_s) {
                KeyState::Granted { approval_id, scope } => {
                    decision = decision.granted(approval_id.clone());
                    step = Some(match scope {
                        GrantScope::Once => ApprovalStep::ConsumeOnce { key, approval_id },
                        GrantScope::Window => ApprovalStep::UseWindow { key, approval_id },
                    });
                }
                KeyState::Pending { approval_id } => decision = decision.awaiting(approval_id),
                KeyState::Free { replacing } => {
                    let approval_id = Ulid::new();
                    decision = decision.awaiting(approval_id.to_string());
                    open = Some((key, approval_id, replacing));
                }
            }
        }
        // Step 8: an allow spends its limits' budgets; one already found full denies.
        let specs = match (policy, decision.effective()) {
            (Some(p), Effect::Allow) => limit_specs(p, asked, now_s),
            _ => Vec::new(),
        };
        if let Some((limit_id, retry)) = &limited {
            decision = decision.rate_limited(limit_id.clone(), *retry);
            if decision.effective() != Effect::Allow {
                step = None; // a denied request uses no grant
            }
        }
        let charges: Vec<LimitCharge> = match &limited {
            None => specs.iter().map(|s| s.charge.clone()).collect(),
            Some(_) => Vec::new(),
        };
        let mut record = RequestRecord::new(
            id,
            asked.principal.to_owned(),
            asked.identity.clone(),
            asked.zone.to_owned(),
            asked.target.clone(),
            asked.purpose.map(str::to_owned),
            &decision,
        );
        record.replaces = supersedes.clone();
        record.tunnel = asked.path == crate::approval::GrantPath::Tunnel;
        if let Some((key, approval_id, replacing)) = open {
            let settings = policy.map(|p| p.approval_settings(asked.zone)).unwrap_or_default();
            let mut approval = ApprovalRecord::open(approval_id, &record, settings.pending_ttl_seconds);
            // The approver is shown every spelling the grant is keyed on (see `approval_key`).
            approval.path_as_written =
                asked
                    .path
                    .differing_written(asked.target)
                    .map(|w| match crate::policy::redact_path(w) {
                        Some(redacted) => redacted,
                        None => w.to_owned(),
                    });
            let expires_at =
                crate::request::ulid_time(approval_id).unix_timestamp() + i64::from(settings.pending_ttl_seconds);
            step = Some(ApprovalStep::Open {
                key,
                approval: Box::new(approval),
                replacing,
                expires_at,
            });
        }
        let write = Write {
            record: &record,
            claim,
            supersedes: supersedes.as_deref(),
            approval: step.as_ref(),
            charges: &charges,
        };
        match store.write(&write).await? {
            RecordOutcome::Created => return Ok(Recorded::Created(record)),
            RecordOutcome::KeyConflict => return Ok(Recorded::KeyConflict),
            RecordOutcome::Replayed(original) if original.decision == record.decision => {
                // The audit trail counts the replay on the original; the answer is the original as first given.
                store
                    .note_replay(&original.request_id, &crate::request::rfc3339_millis(now))
                    .await?;
                return Ok(Recorded::Replayed(*original));
            }
            RecordOutcome::Replayed(original) => {
                // A replay answers the original only while the current policy still gives its decision;
                // otherwise the new decision is recorded, naming the original, and the key moves to it.
                tracing::info!(
                    original = %original.request_id,
                    was = original.decision.as_str(),
                    now = record.decision.as_str(),
                    "idempotent replay re-decided"
                );
                supersedes = Some(original.request_id);
            }
            RecordOutcome::ApprovalChanged => {}
            RecordOutcome::LimitReached(i) => {
                let spec = specs
                    .get(i)
                    .ok_or_else(|| StoreError::Corrupt("unknown limit charge".into()))?;
                limited = Some((spec.id.clone(), spec.retry_after_seconds));
            }
        }
    }
    Ok(Recorded::Busy)
}
