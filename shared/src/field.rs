//! A field-level validation error: what the parsers of request and decision bodies return, and what a
//! 400 lists in its `errors` (RFC 9457 extension member). Its own module, so the parsers need not know
//! the HTTP error model (`problem`), which knows them.

use serde::Serialize;

/// A field-level problem, listed in `errors`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub code: String,
    pub detail: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            code: code.into(),
            detail: detail.into(),
        }
    }
}
