//! The approval slot of a key (principal, zone, scheme, host, port, path): the one item the request path reads to
//! apply precedence step 7. It points at the key's current approval, pending or granted, and expires with
//! it (its `expires_at` is the table's TTL, so the TTL deletion of a pending slot is the `expired` event).

use serde::{Deserialize, Serialize};

use super::{ApprovalRecord, GrantScope};
use crate::{digest::hex_sha256, normalize::Target};

crate::wire_enum::wire_enum! {
    /// A slot exists while its approval waits or its grant can be used; a denied approval frees it.
    pub enum SlotState in "snake_case" {
        /// The approval waits for a decision.
        Pending,
        /// The approval was granted; the slot carries the grant's scope and use.
        Granted,
    }
}

/// The slot as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalSlot {
    /// The approval the slot points at: the key's current one, pending or granted.
    pub approval_id: String,
    /// Whether that approval waits or is granted (a denied one has no slot).
    pub state: SlotState,
    /// The grant's scope; `None` while pending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<GrantScope>,
    /// The request that used a `once` grant; `None` until then, and always for a window grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub used_by: Option<String>,
    /// Unix seconds: when the pending approval or the grant expires (the TTL attribute).
    pub expires_at: i64,
    /// The approval as of the slot's last write: the detail of the `expired` event when TTL deletes it.
    pub approval: ApprovalRecord,
}

impl ApprovalSlot {
    /// The slot a newly opened approval takes: pending, unused, expiring with the approval.
    pub fn pending(approval: ApprovalRecord, expires_at: i64) -> Self {
        Self {
            approval_id: approval.approval_id.clone(),
            state: SlotState::Pending,
            scope: None,
            used_by: None,
            expires_at,
            approval,
        }
    }
}

/// The key a grant applies to: a grant for one principal, zone and destination (scheme, host, port) is
/// never another's, and it covers exactly the path the approver was shown (the normalized path; and the
/// path as written when a client would send something else, because a server may route that text
/// elsewhere). So a `once` grant for `/raw/abc` never admits `/api/...`, nor a window grant for
/// `/admin/reports/weekly` `/admin/users/delete-all`. The query is not part of it: it is never stored, so
/// no approver is shown one (a credential in the URL is bound by the basis instead). `basis` is what asked
/// for the approval (a rule, the zone default, or a credential in one exact URL): an approver who granted
/// one question has not answered another about the same host.
pub fn approval_key(principal: &str, zone: &str, target: &Target, path: GrantPath<'_>, basis: &str) -> String {
    // A written path that normalizes to itself adds nothing; one that differs is part of the question. A
    // tunnel's path is unknown: its grant covers any path, which is another question than `/`.
    let written = match path {
        GrantPath::Tunnel => "CONNECT",
        GrantPath::Written(_) => path.differing_written(target).unwrap_or(""),
    };
    hex_sha256(&[
        principal.as_bytes(),
        zone.as_bytes(),
        target.scheme().as_str().as_bytes(),
        target.host().to_string().as_bytes(),
        &target.port().to_be_bytes(),
        target.path().as_bytes(),
        written.as_bytes(),
        basis.as_bytes(),
    ])
}

/// The path part of an approval's key beyond the normalized path: the path as written (if any), or a
/// tunnel (any path).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantPath<'a> {
    /// A request for one URL, with its path as written (`None`: no URL was given, or no path).
    Written(Option<&'a str>),
    /// A CONNECT tunnel: any path of the host and port.
    Tunnel,
}

impl<'a> GrantPath<'a> {
    /// The path as written, when it is not the normalized path (then it is part of the question).
    pub fn differing_written(self, target: &Target) -> Option<&'a str> {
        match self {
            GrantPath::Written(w) => w.filter(|w| *w != target.path()),
            GrantPath::Tunnel => None,
        }
    }
}

/// What asked for an approval, for [`approval_key`]: the rule, the zone default, or a secret in the URL
/// (with a fingerprint of the whole URL tail, so a grant never covers a credential the approver never saw).
pub fn approval_basis(decision: &crate::policy::Decision, tail_fingerprint: Option<&str>) -> String {
    match (decision.verdict(), decision.dlp()) {
        (crate::policy::Verdict::SecretInUrl(_), Some(d)) => format!("dlp/{d}/{}", tail_fingerprint.unwrap_or("")),
        (crate::policy::Verdict::Rule { rule_id, .. }, _) => format!("rule/{rule_id}"),
        _ => "default".to_owned(),
    }
}

/// What step 7 finds for a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyState {
    /// A grant that can still be used: the request is allowed (`approval_granted`).
    Granted {
        /// The approval whose grant allows the request.
        approval_id: String,
        /// Its scope: a `once` grant is used up by this request.
        scope: GrantScope,
    },
    /// An approval still waiting: the request references it.
    Pending {
        /// The pending approval.
        approval_id: String,
    },
    /// Nothing usable: a new approval is opened. `replacing` is the slot's approval when there was one
    /// (expired, or a used `once` grant), which the new slot may overwrite only if it is still that one.
    Free {
        /// The slot's stale approval, if the key had a slot.
        replacing: Option<String>,
    },
}

/// The key's state at `now` (Unix seconds), from its slot.
pub fn key_state(slot: Option<&ApprovalSlot>, now: i64) -> KeyState {
    let Some(slot) = slot else {
        return KeyState::Free { replacing: None };
    };
    let live = slot.expires_at > now;
    match (slot.state, slot.scope, live) {
        (SlotState::Pending, _, true) => KeyState::Pending {
            approval_id: slot.approval_id.clone(),
        },
        (SlotState::Granted, Some(GrantScope::Window), true) => KeyState::Granted {
            approval_id: slot.approval_id.clone(),
            scope: GrantScope::Window,
        },
        (SlotState::Granted, Some(GrantScope::Once), true) if slot.used_by.is_none() => KeyState::Granted {
            approval_id: slot.approval_id.clone(),
            scope: GrantScope::Once,
        },
        _ => KeyState::Free {
            replacing: Some(slot.approval_id.clone()),
        },
    }
}
