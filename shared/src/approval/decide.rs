//! The body of `POST /v1/egress/approvals/{approval_id}/decision`: strict JSON, validated against the
//! zone's limits. Pure, so it can be fuzzed and tested without I/O.

use serde::Deserialize;

use super::GrantScope;
use crate::{ApprovalSettings, FieldError};

/// The longest note an approver may leave.
pub const MAX_NOTE_CHARS: usize = 1024;
/// A grant lasts an hour unless the approver says otherwise (and never longer than the zone allows).
pub const DEFAULT_GRANT_SECONDS: u32 = 3600;

crate::wire_enum::wire_enum! {
    pub enum DecisionKind in "snake_case" {
        Grant,
        Deny,
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBody {
    decision: DecisionKind,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    scope: Option<GrantScope>,
    #[serde(default)]
    ttl_seconds: Option<u64>,
}

/// A valid decision: a grant carries its scope and lifetime; a deny carries neither.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecisionBody {
    Grant {
        scope: GrantScope,
        ttl_seconds: u32,
        note: Option<String>,
    },
    Deny {
        note: Option<String>,
    },
}

/// Parses and validates a decision body against the zone's `approval.max_grant_seconds`.
pub fn parse_decision_body(bytes: &[u8], settings: ApprovalSettings) -> Result<DecisionBody, Vec<FieldError>> {
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
            let max = settings.max_grant_seconds;
            let ttl = raw.ttl_seconds.unwrap_or(u64::from(DEFAULT_GRANT_SECONDS.min(max)));
            if !(1..=u64::from(max)).contains(&ttl) {
                errors.push(FieldError::new(
                    "ttl_seconds",
                    "out_of_range",
                    format!("1 to {max} (the zone's approval.max_grant_seconds)"),
                ));
            }
            DecisionBody::Grant {
                scope: raw.scope.unwrap_or(GrantScope::Once),
                ttl_seconds: u32::try_from(ttl).unwrap_or(u32::MAX),
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
