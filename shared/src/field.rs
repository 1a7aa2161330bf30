//! A field-level validation error: what the parsers of request and decision bodies return, and what a
//! 400 lists in its `errors` (RFC 9457 extension member). Its own module, so the parsers need not know
//! the HTTP error model (`problem`), which knows them.

use serde::Serialize;

/// A field-level problem, listed in `errors`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The body field at fault (`url`, `zone`, `purpose`, ...).
    pub field: String,
    /// What is wrong, as a machine-readable code (`required`, `invalid`, `too_long`, ...).
    pub code: String,
    /// What is wrong, for a person to read.
    pub detail: String,
}

impl FieldError {
    /// A problem with `field`: its `code` and a `detail` for people.
    pub fn new(field: impl Into<String>, code: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code: code.into(),
            detail: detail.into(),
        }
    }
}
