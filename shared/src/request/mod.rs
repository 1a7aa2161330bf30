//! The request: the `POST /v1/egress/requests` body as received and validated, and the resource recorded
//! for it (what the API answers, the table stores and events describe).

mod body;
mod record;

pub use body::{parse_body, BodyError, CreateBody, ValidRequest, MAX_PURPOSE_CHARS};
pub use record::{is_canonical_ulid, rfc3339_millis, ulid_bound, ulid_time, RequestRecord, ULID_PATTERN};

/// Bodies larger than this are refused with 413 before parsing.
pub const MAX_BODY_BYTES: usize = 16 * 1024;
