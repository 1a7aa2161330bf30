//! An approver's decision on a pending approval (DESIGN §6): the decided record and, for a grant, the slot
//! the request path reads for its key (precedence step 7). Pure; the store writes both in one transaction
//! that only succeeds while the approval is still pending (decisions are write-once).

use time::OffsetDateTime;

use super::{ApprovalRecord, ApprovalSlot, ApprovalState, DecisionBody, Grant, SlotState};
use crate::field::FieldError;
use crate::policy::ApprovalSettings;
use crate::timestamp::Timestamp;

/// Why a decision cannot be taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// Granted, denied or expired already (as of `now`).
    #[error("the approval is {0}; decisions are write-once")]
    NotPending(ApprovalState),
    /// A grant longer than the zone's `approval.max_grant_seconds`.
    #[error("the grant is longer than this zone allows")]
    GrantTooLong(FieldError),
}

/// A decision taken: what the store writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decided {
    /// The approval as decided: its new state, `decided_by`, `decided_at`, note and, for a grant, the grant.
    pub approval: ApprovalRecord,
    /// The granted slot of the approval's key; `None` for a denial (the pending slot is deleted).
    pub slot: Option<ApprovalSlot>,
}

impl ApprovalRecord {
    /// `by` decides this approval with `body`, at `now`, under the zone's `settings`.
    pub fn decide(
        self,
        by: &str,
        body: DecisionBody,
        settings: ApprovalSettings,
        now: OffsetDateTime,
    ) -> Result<Decided, TransitionError> {
        let state = self.state_at(now);
        if state != ApprovalState::Pending {
            return Err(TransitionError::NotPending(state));
        }
        let mut decided = ApprovalRecord {
            decided_by: Some(by.to_owned()),
            decided_at: Some(Timestamp::new(now)),
            ..self
        };
        let slot = match body {
            DecisionBody::Deny { note } => {
                decided.state = ApprovalState::Denied;
                decided.note = note;
                None
            }
            DecisionBody::Grant {
                scope,
                ttl_seconds,
                note,
            } => {
                let seconds =
                    DecisionBody::grant_seconds(ttl_seconds, settings).map_err(TransitionError::GrantTooLong)?;
                let until = now + time::Duration::seconds(i64::from(seconds));
                decided.state = ApprovalState::Granted;
                decided.note = note;
                decided.grant = Some(Grant {
                    scope,
                    expires_at: Timestamp::new(until),
                    used_by: None,
                });
                Some(ApprovalSlot {
                    approval_id: decided.approval_id.clone(),
                    state: SlotState::Granted,
                    scope: Some(scope),
                    used_by: None,
                    expires_at: until.unix_timestamp(),
                    approval: decided.clone(),
                })
            }
        };
        Ok(Decided {
            approval: decided,
            slot,
        })
    }
}

#[cfg(test)]
mod tests {
    use ulid::Ulid;

    use super::*;
    use crate::approval::GrantScope;
    use crate::identity::Identity;
    use crate::normalize::Target;
    use crate::policy::{Decision, DefaultEffect, Mode, Verdict};
    use crate::request::RequestRecord;

    fn pending(now: OffsetDateTime) -> ApprovalRecord {
        let decision = Decision::new(Verdict::Default(DefaultEffect::RequireApproval), Mode::Enforce, None)
            .awaiting(Ulid::new().to_string());
        let request = RequestRecord::new(
            Ulid::from_datetime(now.into()),
            "agent".into(),
            Identity::dev(),
            "default".into(),
            Target::from_domain("pastebin.com").unwrap(),
            None,
            &decision,
        );
        ApprovalRecord::open(Ulid::from_datetime(now.into()), &request, 3600)
    }

    #[test]
    fn a_grant_writes_the_granted_record_and_its_slot() {
        let now = OffsetDateTime::now_utc();
        let grant = DecisionBody::Grant {
            scope: GrantScope::Window,
            ttl_seconds: Some(600),
            note: Some("ok".into()),
        };
        let Decided { approval, slot } = pending(now).decide("approver", grant, Default::default(), now).unwrap();
        assert_eq!(approval.state, ApprovalState::Granted);
        assert_eq!(approval.decided_by.as_deref(), Some("approver"));
        assert_eq!(approval.decided_at, Some(Timestamp::new(now)));
        let slot = slot.expect("a granted slot");
        assert_eq!((slot.state, slot.scope), (SlotState::Granted, Some(GrantScope::Window)));
        assert_eq!(slot.expires_at, now.unix_timestamp() + 600);
        assert_eq!(slot.approval, approval);
    }

    #[test]
    fn a_denial_writes_no_slot() {
        let now = OffsetDateTime::now_utc();
        let deny = DecisionBody::Deny { note: None };
        let Decided { approval, slot } = pending(now).decide("approver", deny, Default::default(), now).unwrap();
        assert_eq!((approval.state, slot), (ApprovalState::Denied, None));
    }

    #[test]
    fn decisions_are_write_once_and_within_the_zones_limit() {
        let now = OffsetDateTime::now_utc();
        let deny = || DecisionBody::Deny { note: None };
        let denied = pending(now)
            .decide("a", deny(), Default::default(), now)
            .unwrap()
            .approval;
        assert_eq!(
            denied.decide("b", deny(), Default::default(), now),
            Err(TransitionError::NotPending(ApprovalState::Denied))
        );
        let later = now + time::Duration::seconds(3601);
        assert_eq!(
            pending(now).decide("a", deny(), Default::default(), later),
            Err(TransitionError::NotPending(ApprovalState::Expired))
        );
        let settings = ApprovalSettings {
            pending_ttl_seconds: 3600,
            max_grant_seconds: 60,
        };
        let long = DecisionBody::Grant {
            scope: GrantScope::Once,
            ttl_seconds: Some(61),
            note: None,
        };
        assert!(matches!(
            pending(now).decide("a", long, settings, now),
            Err(TransitionError::GrantTooLong(_))
        ));
    }
}
