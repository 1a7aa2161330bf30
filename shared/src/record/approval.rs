//! Precedence step 7: a `require_approval` decision looks at its key's slot (one read). An active grant
//! allows (and is used: once, or within its window); a pending approval is joined; otherwise this request
//! opens one (DESIGN §6).

use time::OffsetDateTime;
use ulid::Ulid;

use crate::approval::{approval_basis, approval_key, key_state, ApprovalRecord, GrantScope, KeyState};
use crate::policy::{CompiledPolicy, Decision};
use crate::request::{ulid_time, RequestRecord};
use crate::store::{ApprovalStep, Store, StoreError};

use super::Asked;

/// An approval this request opens: written with it, once its record exists.
pub(super) struct Opening {
    key: String,
    approval_id: Ulid,
    replacing: Option<String>,
}

/// Step 7 applied to `decision`: the decision as it now stands, the grant it uses, or the approval it opens.
pub(super) async fn apply(
    store: &dyn Store,
    decision: Decision,
    asked: &Asked<'_>,
    now: OffsetDateTime,
) -> Result<(Decision, Option<ApprovalStep>, Option<Opening>), StoreError> {
    if !decision.needs_approval() {
        return Ok((decision, None, None));
    }
    let basis = approval_basis(&decision, asked.tail_fingerprint);
    let key = approval_key(asked.principal, asked.zone, asked.target, asked.path, &basis);
    let slot = store.approval_slot(&key).await?;
    Ok(match key_state(slot.as_ref(), now.unix_timestamp()) {
        KeyState::Granted { approval_id, scope } => {
            let step = match scope {
                GrantScope::Once => ApprovalStep::ConsumeOnce {
                    key,
                    approval_id: approval_id.clone(),
                },
                GrantScope::Window => ApprovalStep::UseWindow {
                    key,
                    approval_id: approval_id.clone(),
                },
            };
            (decision.granted(approval_id), Some(step), None)
        }
        KeyState::Pending { approval_id } => (decision.awaiting(approval_id), None, None),
        KeyState::Free { replacing } => {
            let approval_id = Ulid::new();
            let opening = Opening {
                key,
                approval_id,
                replacing,
            };
            (decision.awaiting(approval_id.to_string()), None, Some(opening))
        }
    })
}

/// The step that opens the approval `record` waits for, pending for the zone's approval TTL.
pub(super) fn open(
    opening: Opening,
    record: &RequestRecord,
    asked: &Asked<'_>,
    policy: Option<&CompiledPolicy>,
) -> ApprovalStep {
    let settings = policy.map(|p| p.approval_settings(asked.zone)).unwrap_or_default();
    let mut approval = ApprovalRecord::open(opening.approval_id, record, settings.pending_ttl_seconds);
    // The approver is shown every spelling the grant is keyed on (see `approval_key`).
    approval.path_as_written = asked
        .path
        .differing_written(asked.target)
        .map(|w| crate::policy::redact_path(w).unwrap_or_else(|| w.to_owned()));
    let expires_at = ulid_time(opening.approval_id).unix_timestamp() + i64::from(settings.pending_ttl_seconds);
    ApprovalStep::Open {
        key: opening.key,
        approval: Box::new(approval),
        replacing: opening.replacing,
        expires_at,
    }
}
