//! Approvals: what a `require_approval` answer opens (the approval resource and its lifecycle), the key a
//! grant applies to, the slot the request path reads for that key (precedence step 7), and the body an
//! approver decides with.

mod decide;
mod record;
mod slot;
mod transition;

pub use decide::{parse_decision_body, DecisionBody, DecisionKind, DEFAULT_GRANT_SECONDS, MAX_NOTE_CHARS};
pub use record::{ApprovalRecord, ApprovalState, Grant, GrantScope};
pub use slot::{approval_basis, approval_key, key_state, ApprovalSlot, GrantPath, KeyState, SlotState};
pub use transition::{Decided, TransitionError};
