//! Hashes of several parts (idempotency keys, body hashes, cursor bindings), length-prefixed so that no two
//! different part lists hash alike.

use sha2::{Digest, Sha256};

/// SHA-256 of length-prefixed parts, in hex.
pub fn hex_sha256(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        // Length-prefix each part so ("ab","c") and ("a","bc") hash differently.
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    hex::encode(h.finalize())
}
