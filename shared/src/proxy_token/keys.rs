//! The proxy-token keys. The stack generates a random secret (Secrets Manager, like the cursor key); the
//! Ed25519 key pair is derived from it with HMAC-SHA-256 under a fixed label, so every function and every
//! container derives the same pair and nothing but the secret is ever stored. While a rotation overlaps,
//! the previous secret's key still verifies (its tokens live at most an hour) but never signs.
//!
//! Verification needs only the public keys: [`TokenVerifier`] holds them, and [`ProxyKeys`] verifies through
//! one built from its own, as the proxy's helper does from the keys `GET /v1/egress/proxy-keys` lists.

use std::collections::HashMap;

use base64::Engine;
use hmac::{Hmac, Mac};
use pasetors::keys::{AsymmetricPublicKey, AsymmetricSecretKey};
use pasetors::paserk::{FormatAsPaserk, Id};
use pasetors::version4::V4;
use serde::Serialize;
use sha2::Sha256;

/// The label under which the signing seed is derived from the secret (domain separation: the same secret
/// could never yield this key for another purpose).
const SEED_LABEL: &[u8] = b"egress-gateway proxy-token ed25519 seed v1";
/// A secret shorter than this is refused: it is meant to be 32 random bytes or more.
pub const MIN_SECRET_LEN: usize = 32;

/// Why the proxy-token keys could not be built, from a secret or from a list of public keys.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    /// The secret is shorter than `MIN_SECRET_LEN` (32) bytes.
    #[error("the proxy-token secret must be at least {MIN_SECRET_LEN} bytes")]
    ShortSecret,
    /// The key library refused the derived key or its PASERK id (the library's message).
    #[error("the proxy-token key could not be derived: {0}")]
    Derive(String),
    /// A verifier was asked for with an empty key list.
    #[error("no proxy-token public key was given")]
    NoPublicKeys,
    /// A listed `public_key` does not decode to an Ed25519 public key.
    #[error("the proxy-token public key {kid} is not a base64url Ed25519 public key")]
    BadPublicKey {
        /// The id the key was listed under.
        kid: String,
    },
    /// A listed key hashes to another PASERK id than the one it is listed under.
    #[error("the proxy-token public key listed as {kid} has the id {actual}")]
    KidMismatch {
        /// The id the key was listed under.
        kid: String,
        /// The key's own PASERK id.
        actual: String,
    },
}

/// One key: its PASERK id (`k4.pid.…`), public key, and the secret key when it may sign.
struct Key {
    id: String,
    public: AsymmetricPublicKey<V4>,
    secret: AsymmetricSecretKey<V4>,
}

fn derive(secret: &[u8]) -> Result<Key, KeyError> {
    if secret.len() < MIN_SECRET_LEN {
        return Err(KeyError::ShortSecret);
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|e| KeyError::Derive(e.to_string()))?;
    mac.update(SEED_LABEL);
    let seed: [u8; 32] = mac.finalize().into_bytes().into();
    let pair = ed25519_compact::KeyPair::from_seed(ed25519_compact::Seed::new(seed));
    let secret = AsymmetricSecretKey::<V4>::from(&pair.sk[..]).map_err(|e| KeyError::Derive(e.to_string()))?;
    let public = AsymmetricPublicKey::<V4>::from(&pair.pk[..]).map_err(|e| KeyError::Derive(e.to_string()))?;
    let id = paserk_id(&public)?;
    Ok(Key { id, public, secret })
}

/// The key's PASERK id, `k4.pid.…` (<https://github.com/paseto-standard/paserk/blob/master/types/pid.md>):
/// a hash of the key, so a key cannot be listed under another key's id.
fn paserk_id(public: &AsymmetricPublicKey<V4>) -> Result<String, KeyError> {
    let mut id = String::new();
    Id::from(public)
        .fmt(&mut id)
        .map_err(|e| KeyError::Derive(e.to_string()))?;
    Ok(id)
}

/// The key ring: the current key signs and verifies, the previous one (during a rotation) only verifies.
pub struct ProxyKeys {
    current: Key,
    previous: Option<Key>,
    /// Both public keys: the one place tokens are verified.
    pub(super) verifier: TokenVerifier,
}

/// Verifies tokens with public keys only: the proxy's helper builds one from the keys the gateway lists;
/// [`ProxyKeys`] holds one for its own keys. See [`TokenVerifier::verify`].
pub struct TokenVerifier {
    /// The verifying keys by PASERK id, the token footer's `kid`.
    pub(super) keys: HashMap<String, AsymmetricPublicKey<V4>>,
    pub(super) audience: String,
    /// Tokens that verified, by their digest (see [`super::token`]).
    pub(super) verified: super::token::VerifiedCache,
}

impl TokenVerifier {
    /// A verifier for tokens of `audience` signed by any of `keys` (as `GET /v1/egress/proxy-keys` lists
    /// them; `current` does not matter, a previous key verifies too). Each `public_key` must hash to its
    /// `kid`: the id picks the key, so a key listed under another's id is refused rather than trusted.
    pub fn from_public_keys(keys: &[PublicKeyInfo], audience: &str) -> Result<Self, KeyError> {
        if keys.is_empty() {
            return Err(KeyError::NoPublicKeys);
        }
        let parsed = keys
            .iter()
            .map(|info| {
                let bad = || KeyError::BadPublicKey { kid: info.kid.clone() };
                let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(&info.public_key)
                    .map_err(|_| bad())?;
                let public = AsymmetricPublicKey::<V4>::from(&raw).map_err(|_| bad())?;
                let actual = paserk_id(&public)?;
                if actual != info.kid {
                    return Err(KeyError::KidMismatch {
                        kid: info.kid.clone(),
                        actual,
                    });
                }
                Ok((actual, public))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self::new(parsed, audience))
    }

    fn new(keys: HashMap<String, AsymmetricPublicKey<V4>>, audience: &str) -> Self {
        Self {
            keys,
            audience: audience.to_owned(),
            verified: super::token::VerifiedCache::default(),
        }
    }

    /// The audience tokens must name.
    pub fn audience(&self) -> &str {
        &self.audience
    }
}

/// A public key as `GET /v1/egress/proxy-keys` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct PublicKeyInfo {
    /// The PASERK id (`k4.pid.…`), the token footer's `kid`
    pub kid: String,
    /// The PASERK public key (`k4.public.…`)
    pub paserk: String,
    /// The raw Ed25519 public key, base64url without padding
    pub public_key: String,
    /// `true` for the key that signs new tokens
    pub current: bool,
}

impl ProxyKeys {
    /// The keys derived from the current secret and, during a rotation, the previous one; tokens are for
    /// `audience` (`<stack>-egress-proxy`).
    pub fn new(current: &[u8], previous: Option<&[u8]>, audience: &str) -> Result<Self, KeyError> {
        let current = derive(current)?;
        let previous = previous.map(derive).transpose()?.filter(|p| p.id != current.id);
        let public = [Some(&current), previous.as_ref()]
            .into_iter()
            .flatten()
            .map(|k| (k.id.clone(), k.public.clone()))
            .collect();
        let verifier = TokenVerifier::new(public, audience);
        Ok(Self {
            current,
            previous,
            verifier,
        })
    }

    /// The audience the tokens this ring mints name, and the verifier requires.
    pub fn audience(&self) -> &str {
        self.verifier.audience()
    }

    pub(super) fn signing(&self) -> (&str, &AsymmetricSecretKey<V4>) {
        (&self.current.id, &self.current.secret)
    }

    /// The public keys, current first.
    pub fn public_keys(&self) -> Vec<PublicKeyInfo> {
        [Some((&self.current, true)), self.previous.as_ref().map(|p| (p, false))]
            .into_iter()
            .flatten()
            .map(|(k, current)| {
                let mut paserk = String::new();
                // Formatting into a String cannot fail; an empty field would only make a helper skip the key.
                let _ = k.public.fmt(&mut paserk);
                PublicKeyInfo {
                    kid: k.id.clone(),
                    paserk,
                    public_key: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(k.public.as_bytes()),
                    current,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_secret_gives_the_same_keys_and_another_secret_others() {
        let a = ProxyKeys::new(&[7; 32], None, "egress-egress-proxy").unwrap();
        let b = ProxyKeys::new(&[7; 32], None, "egress-egress-proxy").unwrap();
        let c = ProxyKeys::new(&[8; 32], Some(&[7; 32]), "egress-egress-proxy").unwrap();
        assert_eq!(a.public_keys(), b.public_keys());
        assert!(a.public_keys()[0].kid.starts_with("k4.pid."));
        assert!(a.public_keys()[0].paserk.starts_with("k4.public."));
        let rotated = c.public_keys();
        assert_eq!(rotated.len(), 2);
        assert!(rotated[0].current && !rotated[1].current);
        assert_eq!(rotated[1].kid, a.public_keys()[0].kid);
        assert_ne!(rotated[0].kid, rotated[1].kid);
        assert_eq!(ProxyKeys::new(&[7; 31], None, "x").err(), Some(KeyError::ShortSecret));
    }
}
