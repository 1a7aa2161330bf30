//! The body of `POST /v1/egress/approvals/{approval_id}/decision`: strict JSON, validated against the
//! zone's limits. Pure, so it can be fuzzed and tested without I/O.

use serde::Deserialize;

use super::GrantScope;
use crate::{
    field::FieldError,
    policy::{ApprovalSettings, MAX_APPROVAL_SECONDS},
};

/// The longest note an approver may leave.
pub const MAX_NOTE_CHARS: usize = 1024;
/// A grant lasts an hour unless the approver says otherwise (and never longer than the zone allows).
pub const DEFAULT_GRANT_SECONDS: u32 = 3600;

crate::wire_enum::wire_enum! {
    /// The `decision` member of a decision body.
    pub enum DecisionKind in "snake_case" {
        /// Grant the approval (`scope` and `ttl_seconds` optional).
        Grant,
        /// Deny it (`scope` and `ttl_seconds` are refused).
        Deny,
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBody {
    decision: DecisionKind,
    #[serde(default, deserialize_with = "crate::json::present")]
    note: Option<String>,
    #[serde(default, deserialize_with = "crate::json::present")]
    scope: Option<GrantScope>,
    #[serde(default, deserialize_with = "crate::json::present")]
    ttl_seconds: Option<u64>,
}

/// A valid decision: a grant carries its scope and lifetime (`None`: the default, capped by the zone);
/// a deny carries neither.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecisionBody {
    /// Grant: requests for the approval's key are allowed as `scope` says, until the grant expires.
    Grant {
        /// What the grant covers; `once` when the body does not say.
        scope: GrantScope,
        /// The lifetime asked for, 1 to [`MAX_APPROVAL_SECONDS`] seconds; `None`: the default, capped by the
        /// zone (see [`DecisionBody::grant_seconds`]).
        ttl_seconds: Option<u32>,
        /// The approver's note: at most [`MAX_NOTE_CHARS`] characters, no controls but tab and newline.
        note: Option<String>,
    },
    /// Deny: the request stays refused and the key is free for a new approval.
    Deny {
        /// The approver's note, checked as for a grant.
        note: Option<String>,
    },
}

impl DecisionBody {
    /// The grant's lifetime in `settings`' zone, or the field error when it is longer than the zone
    /// allows (checked once the approval, and so its zone, is known).
    pub fn grant_seconds(ttl: Option<u32>, settings: ApprovalSettings) -> Result<u32, FieldError> {
        let max = settings.max_grant_seconds;
        match ttl {
            None => Ok(DEFAULT_GRANT_SECONDS.min(max)),
            Some(t) if t <= max => Ok(t),
            Some(_) => Err(FieldError::new(
                "ttl_seconds",
                "out_of_range",
                format!("at most {max} (the zone's approval.max_grant_seconds)"),
            )),
        }
    }
}

/// Parses and validates a decision body on its own (the zone's limit is checked with
/// [`DecisionBody::grant_seconds`]), so an invalid body is a 400 before any approval is looked up.
pub fn parse_decision_body(bytes: &[u8]) -> Result<DecisionBody, Vec<FieldError>> {
    let raw: RawBody = serde_json::from_slice(bytes)
        .map_err(|e| vec![FieldError::new("body", "invalid", format!("not a valid decision: {e}"))])?;
    let mut errors = Vec::new();
    if let Some(n) = &raw.note {
        if n.chars().count() > MAX_NOTE_CHARS {
            errors.push(FieldError::new(
                "note",
                "too_long",
                format!("at most {MAX_NOTE_CHARS} characters"),
            ));
        } else if n.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
            errors.push(FieldError::new(
                "note",
                "control_characters",
                "control characters are not allowed",
            ));
        }
    }
    let body = match raw.decision {
        DecisionKind::Deny => {
            if raw.scope.is_some() || raw.ttl_seconds.is_some() {
                errors.push(FieldError::new(
                    "scope",
                    "not_allowed",
                    "scope and ttl_seconds are for grants only",
                ));
            }
            DecisionBody::Deny { note: raw.note }
        }
        DecisionKind::Grant => {
            let ttl = raw.ttl_seconds.map(|t| u32::try_from(t).unwrap_or(u32::MAX));
            if ttl.is_some_and(|t| !(1..=MAX_APPROVAL_SECONDS).contains(&t)) {
                errors.push(FieldError::new(
                    "ttl_seconds",
                    "out_of_range",
                    format!("1 to {MAX_APPROVAL_SECONDS}, and at most the zone's approval.max_grant_seconds"),
                ));
            }
            DecisionBody::Grant {
                scope: raw.scope.unwrap_or(GrantScope::Once),
                ttl_seconds: ttl,
                note: raw.note,
            }
        }
    };
    if errors.is_empty() {
        Ok(body)
    } else {
        Err(errors)
    }
}
