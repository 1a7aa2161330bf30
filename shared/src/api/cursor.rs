//! Opaque, authenticated list cursors.
//!
//! A cursor is `base64url(payload) . base64url(hmac_sha256(key, payload))`, where the payload holds the last
//! returned `request_id` and a hash of the caller and the filters. A cursor therefore cannot be forged
//! (no key), edited (MAC) or replayed against another query or by another caller (binding).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// At least 32 bytes of key: an HMAC-SHA256 key shorter than its output weakens it.
pub const MIN_KEY_LEN: usize = 32;

/// Why a cursor was refused (the list answers 400).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CursorError {
    /// Not `payload.tag` in base64url, or a payload of an unknown form or version.
    #[error("the cursor is malformed")]
    Malformed,
    /// The MAC does not verify: another key signed it, or it was edited.
    #[error("the cursor was not issued by this service or was modified")]
    BadSignature,
    /// Authentic, but bound to another caller or other filters.
    #[error("the cursor belongs to another query or caller")]
    WrongQuery,
}

#[derive(Serialize, Deserialize)]
struct Payload {
    /// Format version.
    v: u8,
    /// Last `request_id` returned; the next page starts strictly below it.
    after: String,
    /// SHA-256 (hex, truncated) of the caller and every filter.
    q: String,
}

/// Issues and checks list cursors with one HMAC-SHA256 key.
pub struct CursorCodec {
    key: Vec<u8>,
}

impl CursorCodec {
    /// A codec with `key`; `None` when the key is shorter than [`MIN_KEY_LEN`].
    pub fn new(key: &[u8]) -> Option<Self> {
        (key.len() >= MIN_KEY_LEN).then(|| Self { key: key.to_vec() })
    }

    fn mac(&self, data: &[u8]) -> HmacSha256 {
        // `new_from_slice` accepts any key length for HMAC; the error branch is unreachable.
        let mut m = <HmacSha256 as Mac>::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!());
        m.update(data);
        m
    }

    /// The cursor of the page after `after` (the last id returned), bound to `query_binding`.
    pub fn encode(&self, after: &str, query_binding: &str) -> String {
        let payload = Payload {
            v: 1,
            after: after.to_owned(),
            q: query_binding.to_owned(),
        };
        let json = serde_json::to_vec(&payload).unwrap_or_default();
        let tag = self.mac(&json).finalize().into_bytes();
        format!("{}.{}", URL_SAFE_NO_PAD.encode(&json), URL_SAFE_NO_PAD.encode(tag))
    }

    /// The `after` position, if the cursor is authentic and bound to this exact query.
    pub fn decode(&self, cursor: &str, query_binding: &str) -> Result<String, CursorError> {
        let (p, t) = cursor.split_once('.').ok_or(CursorError::Malformed)?;
        let json = URL_SAFE_NO_PAD.decode(p).map_err(|_| CursorError::Malformed)?;
        let tag = URL_SAFE_NO_PAD.decode(t).map_err(|_| CursorError::Malformed)?;
        // Constant-time comparison.
        self.mac(&json)
            .verify_slice(&tag)
            .map_err(|_| CursorError::BadSignature)?;
        let payload: Payload = serde_json::from_slice(&json).map_err(|_| CursorError::Malformed)?;
        if payload.v != 1 {
            return Err(CursorError::Malformed);
        }
        if payload.q != query_binding {
            return Err(CursorError::WrongQuery);
        }
        Ok(payload.after)
    }
}

impl CursorCodec {
    /// The position a list query's `cursor` parameter names (`None`: the first page), or a 400.
    pub fn position(&self, cursor: Option<&str>, binding: &str) -> Result<Option<String>, crate::problem::Problem> {
        cursor
            .map(|c| {
                self.decode(c, binding).map_err(|e| {
                    crate::problem::Problem::invalid(
                        format!("invalid cursor: {e}"),
                        vec![crate::field::FieldError::new("cursor", "invalid", e.to_string())],
                    )
                })
            })
            .transpose()
    }
}

/// Binds a cursor to the caller and the filters: length-prefixed parts, hashed.
pub fn query_binding(parts: &[&str]) -> String {
    let bytes: Vec<&[u8]> = parts.iter().map(|p| p.as_bytes()).collect();
    // The first 128 bits are plenty to tell two queries apart.
    crate::digest::hex_sha256(&bytes)[..32].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_tamper_and_binding() {
        let c = CursorCodec::new(&[7u8; 32]).unwrap();
        let q = query_binding(&["alice", "zone=default"]);
        let cur = c.encode("01JDQ1M8ZC4Q8W5V8T9X2Y3Z4A", &q);
        assert_eq!(c.decode(&cur, &q).unwrap(), "01JDQ1M8ZC4Q8W5V8T9X2Y3Z4A");
        assert_eq!(
            c.decode(&cur, &query_binding(&["bob", "zone=default"])),
            Err(CursorError::WrongQuery)
        );
        let mut bytes = cur.clone().into_bytes();
        bytes[3] ^= 1;
        let tampered = String::from_utf8(bytes).unwrap();
        assert!(c.decode(&tampered, &q).is_err());
        let other = CursorCodec::new(&[8u8; 32]).unwrap();
        assert_eq!(other.decode(&cur, &q), Err(CursorError::BadSignature));
        assert_eq!(c.decode("nonsense", &q), Err(CursorError::Malformed));
        assert!(CursorCodec::new(b"short").is_none());
    }
}
