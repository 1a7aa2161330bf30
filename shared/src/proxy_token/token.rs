//! The token: claims, minting, verification. The claims are ours (serde, unknown fields refused), signed
//! with PASETO v4.public; the footer carries the key id (`{"kid":"k4.pid.…"}`) so a verifier picks the key
//! without trying each, and a rotation can overlap.

use std::collections::HashMap;
use std::sync::Mutex;

use pasetors::token::UntrustedToken;
use pasetors::version4::{PublicToken, V4};
use pasetors::Public;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};
use ulid::Ulid;

use super::{ProxyKeys, TokenVerifier};
use crate::identity::Identity;
use crate::names::valid_principal;

/// The longest a token lives (and the default): an hour.
pub const MAX_TTL_SECONDS: u32 = 3600;
/// How far the verifier's clock may be from the minter's: `exp` and `nbf` are read with this much slack.
pub const CLOCK_SKEW_SECONDS: i64 = 30;
/// Longer than any token we mint (about 700 bytes with a long principal); longer input is not parsed.
const MAX_TOKEN_LEN: usize = 4096;

/// What a token says. `sub` is the agent's principal, `identity` what the authorizer said about it when it
/// minted the token; times are RFC 3339 (PASETO's registered claims).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenClaims {
    /// The agent's principal: whom the proxy may ask for with this token.
    pub sub: String,
    /// The proxy audience (`<stack>-egress-proxy`); a verifier refuses any other.
    pub aud: String,
    /// When the token was minted.
    pub iat: String,
    /// Not valid before this: the minting time (read with [`CLOCK_SKEW_SECONDS`] of slack).
    pub nbf: String,
    /// Expiry: at most [`MAX_TTL_SECONDS`] after `nbf`, read with [`CLOCK_SKEW_SECONDS`] of slack.
    pub exp: String,
    /// The token's id, a ULID: recorded with every request made with the token.
    pub jti: String,
    /// The agent's identity at minting, without `via` and `token_id` (the gateway sets those per request).
    pub identity: Identity,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Footer {
    kid: String,
}

/// How many verified tokens a process remembers; past it the memory starts over (a token lives an hour,
/// and a gateway container serves a few proxies' agents).
/// (A few in unit tests, so the start-over is exercised quickly.)
const CACHE_ENTRIES: usize = if cfg!(test) { 16 } else { 4096 };

/// Tokens that verified, by the SHA-256 of their text, with their validity: an agent presents the same
/// token for every connection of its hour, and its signature, key and audience cannot change meanwhile
/// (a verifier's keys are fixed), so only the time is checked again. A forged token never enters.
#[derive(Default)]
pub(crate) struct VerifiedCache {
    entries: Mutex<HashMap<[u8; 32], (Verified, OffsetDateTime, OffsetDateTime)>>,
}

impl VerifiedCache {
    fn get(&self, digest: &[u8; 32]) -> Option<(Verified, OffsetDateTime, OffsetDateTime)> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.get(digest).cloned()
    }

    fn put(&self, digest: [u8; 32], entry: (Verified, OffsetDateTime, OffsetDateTime)) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= CACHE_ENTRIES {
            entries.clear();
        }
        entries.insert(digest, entry);
    }
}

/// A minted token (the token itself is never stored or logged; its id is).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Minted {
    /// The PASETO v4.public token, the proxy credential's password
    pub token: String,
    /// The token's id (`jti`), recorded with every request made with it
    pub token_id: String,
    /// RFC 3339, UTC
    pub expires_at: String,
}

/// A token that verified: for whom the gateway decides, and which token said so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The agent's principal (the token's `sub`).
    pub principal: String,
    /// The agent's identity as the token carries it.
    pub identity: Identity,
    /// The token's id (`jti`).
    pub token_id: String,
}

/// Why a token was refused (each a 401 at the gateway and a 407 at the proxy), or could not be minted
/// (`Sign`, which verification never returns).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProxyTokenError {
    /// Not a token of ours: too long, unparsable, bad footer or claims, too long-lived, or a bad principal.
    #[error("the proxy token is not a PASETO v4.public token of this gateway")]
    Malformed,
    /// The footer's `kid` is none of the verifier's keys (another stack, or a key rotated out).
    #[error("the proxy token names a key this gateway does not know")]
    UnknownKey,
    /// The signature does not verify under the key the footer names.
    #[error("the proxy token's signature does not verify")]
    BadSignature,
    /// Signed by a known key, but for another audience (another stack's proxy).
    #[error("the proxy token is for another audience")]
    WrongAudience,
    /// Past `exp` by more than [`CLOCK_SKEW_SECONDS`].
    #[error("the proxy token has expired")]
    Expired,
    /// Before `nbf` by more than [`CLOCK_SKEW_SECONDS`].
    #[error("the proxy token is not valid yet")]
    NotYetValid,
    /// Minting failed (the serializer's or signer's message); never a verification answer.
    #[error("the proxy token could not be signed: {0}")]
    Sign(String),
}

fn rfc3339(t: OffsetDateTime) -> String {
    crate::request::rfc3339_millis(t)
}

impl ProxyKeys {
    /// Mints a token for `principal` (with its `identity`) valid for `ttl_seconds` (at most an hour) from
    /// `now`.
    pub fn mint(
        &self,
        principal: &str,
        identity: &Identity,
        ttl_seconds: u32,
        now: OffsetDateTime,
    ) -> Result<Minted, ProxyTokenError> {
        let ttl = i64::from(ttl_seconds.clamp(1, MAX_TTL_SECONDS));
        let token_id = Ulid::new().to_string();
        let expires_at = rfc3339(now + Duration::seconds(ttl));
        let claims = TokenClaims {
            sub: principal.to_owned(),
            aud: self.audience().to_owned(),
            iat: rfc3339(now),
            nbf: rfc3339(now),
            exp: expires_at.clone(),
            jti: token_id.clone(),
            identity: Identity {
                via: None,
                token_id: None,
                ..identity.clone()
            },
        };
        let (kid, key) = self.signing();
        let sign_error = |e: &dyn std::fmt::Display| ProxyTokenError::Sign(e.to_string());
        let payload = serde_json::to_vec(&claims).map_err(|e| sign_error(&e))?;
        let footer = serde_json::to_vec(&Footer { kid: kid.to_owned() }).map_err(|e| sign_error(&e))?;
        let token = PublicToken::sign(key, &payload, Some(&footer), None).map_err(|e| sign_error(&e))?;
        Ok(Minted {
            token,
            token_id,
            expires_at,
        })
    }

    /// Verifies `token` at `now` with the public keys (see [`TokenVerifier::verify`]).
    pub fn verify(&self, token: &str, now: OffsetDateTime) -> Result<Verified, ProxyTokenError> {
        self.verifier.verify(token, now)
    }
}

impl TokenVerifier {
    /// Verifies `token` at `now`: a known key id, a valid signature, our audience, and `now` within
    /// [`nbf`, `exp`] give or take [`CLOCK_SKEW_SECONDS`].
    pub fn verify(&self, token: &str, now: OffsetDateTime) -> Result<Verified, ProxyTokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(ProxyTokenError::Malformed);
        }
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let (verified, nbf, exp) = match self.verified.get(&digest) {
            Some(hit) => hit,
            None => {
                let checked = self.verify_signed(token)?;
                self.verified.put(digest, checked.clone());
                checked
            }
        };
        let skew = Duration::seconds(CLOCK_SKEW_SECONDS);
        if now > exp + skew {
            return Err(ProxyTokenError::Expired);
        }
        if now + skew < nbf {
            return Err(ProxyTokenError::NotYetValid);
        }
        Ok(verified)
    }

    /// Everything but the time: a known key id, a valid signature, our audience, a well-formed token of
    /// ours; with its validity (`nbf`, `exp`).
    fn verify_signed(&self, token: &str) -> Result<(Verified, OffsetDateTime, OffsetDateTime), ProxyTokenError> {
        use ProxyTokenError::*;
        let untrusted = UntrustedToken::<Public, V4>::try_from(token).map_err(|_| Malformed)?;
        let footer_bytes = untrusted.untrusted_footer();
        let footer: Footer = serde_json::from_slice(footer_bytes).map_err(|_| Malformed)?;
        let key = self.keys.get(&footer.kid).ok_or(UnknownKey)?;
        let trusted = PublicToken::verify(key, &untrusted, Some(footer_bytes), None).map_err(|_| BadSignature)?;
        let claims: TokenClaims = serde_json::from_str(trusted.payload()).map_err(|_| Malformed)?;
        if claims.aud != self.audience {
            return Err(WrongAudience);
        }
        let time = |s: &str| OffsetDateTime::parse(s, &Rfc3339).map_err(|_| Malformed);
        let (nbf, exp) = (time(&claims.nbf)?, time(&claims.exp)?);
        // Only we sign, and we never mint longer; a longer one is not a token of ours.
        if exp - nbf > Duration::seconds(i64::from(MAX_TTL_SECONDS)) || !valid_principal(&claims.sub) {
            return Err(Malformed);
        }
        let verified = Verified {
            principal: claims.sub,
            identity: claims.identity,
            token_id: claims.jti,
        };
        Ok((verified, nbf, exp))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::IdentityKind;
    use crate::proxy_token::{KeyError, PublicKeyInfo};

    fn keys(secret: u8) -> ProxyKeys {
        ProxyKeys::new(&[secret; 32], None, "egress-egress-proxy").unwrap()
    }

    fn iam() -> Identity {
        Identity {
            kind: IdentityKind::Iam,
            session: Some("agent-fn".into()),
            account: Some("123456789012".into()),
            org: None,
            via: None,
            token_id: None,
        }
    }

    const AGENT: &str = "arn:aws:iam::123456789012:role/agent-runner";

    #[test]
    fn a_minted_token_verifies_for_its_principal_and_identity() {
        let k = keys(1);
        let now = OffsetDateTime::now_utc();
        let m = k.mint(AGENT, &iam(), 600, now).unwrap();
        assert!(m.token.starts_with("v4.public."));
        let v = k.verify(&m.token, now).unwrap();
        assert_eq!(
            (v.principal.as_str(), v.token_id.as_str()),
            (AGENT, m.token_id.as_str())
        );
        assert_eq!(v.identity, iam());
        // Within the skew either side.
        assert!(k.verify(&m.token, now + Duration::seconds(600 + 29)).is_ok());
        assert!(k.verify(&m.token, now - Duration::seconds(29)).is_ok());
    }

    #[test]
    fn every_class_of_bad_token_is_refused() {
        let k = keys(1);
        let now = OffsetDateTime::now_utc();
        let m = k.mint(AGENT, &iam(), 60, now).unwrap();
        assert_eq!(
            k.verify(&m.token, now + Duration::seconds(91)),
            Err(ProxyTokenError::Expired)
        );
        assert_eq!(
            k.verify(&m.token, now - Duration::seconds(31)),
            Err(ProxyTokenError::NotYetValid)
        );
        // Another key: its id is unknown here; the same id with another key's signature fails to verify.
        let other = keys(2).mint(AGENT, &iam(), 60, now).unwrap();
        assert_eq!(k.verify(&other.token, now), Err(ProxyTokenError::UnknownKey));
        // Another audience (another stack's proxy).
        let elsewhere = ProxyKeys::new(&[1; 32], None, "other-egress-proxy").unwrap();
        let foreign = elsewhere.mint(AGENT, &iam(), 60, now).unwrap();
        assert_eq!(k.verify(&foreign.token, now), Err(ProxyTokenError::WrongAudience));
        // Any byte of the signed part flipped.
        let body_start = "v4.public.".len();
        let dot = m.token.rfind('.').unwrap();
        for i in (body_start..dot).step_by(7) {
            let mut bytes = m.token.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let tampered = String::from_utf8(bytes).unwrap();
            if tampered != m.token {
                assert!(k.verify(&tampered, now).is_err(), "byte {i}");
            }
        }
        for junk in ["", "v4.public.", "v4.local.abc", "v2.public.abc.def", &"x".repeat(5000)] {
            assert!(k.verify(junk, now).is_err(), "{junk}");
        }
    }

    #[test]
    fn a_token_verified_once_is_checked_again_for_time_only() {
        let k = keys(1);
        let now = OffsetDateTime::now_utc();
        let m = k.mint(AGENT, &iam(), 60, now).unwrap();
        assert!(k.verify(&m.token, now).is_ok());
        // Remembered, yet it still expires, and is not valid before its time.
        assert!(k.verify(&m.token, now + Duration::seconds(30)).is_ok());
        assert_eq!(
            k.verify(&m.token, now + Duration::seconds(91)),
            Err(ProxyTokenError::Expired)
        );
        assert_eq!(
            k.verify(&m.token, now - Duration::seconds(31)),
            Err(ProxyTokenError::NotYetValid)
        );
        // A forged twin of a remembered token is verified on its own, and refused.
        let mut bytes = m.token.clone().into_bytes();
        let i = "v4.public.".len() + 5;
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        assert!(k.verify(&String::from_utf8(bytes).unwrap(), now).is_err());
        // Past the cache's size it starts over and still verifies.
        for _ in 0..=CACHE_ENTRIES {
            let other = k.mint(AGENT, &iam(), 60, now).unwrap();
            assert!(k.verify(&other.token, now).is_ok());
        }
        assert!(k.verify(&m.token, now).is_ok());
    }

    #[test]
    fn a_rotation_verifies_old_tokens_and_signs_with_the_new_key() {
        let now = OffsetDateTime::now_utc();
        let old = keys(1).mint(AGENT, &iam(), 60, now).unwrap();
        let rotated = ProxyKeys::new(&[2; 32], Some(&[1; 32]), "egress-egress-proxy").unwrap();
        assert!(rotated.verify(&old.token, now).is_ok());
        let new = rotated.mint(AGENT, &iam(), 60, now).unwrap();
        assert_eq!(keys(1).verify(&new.token, now), Err(ProxyTokenError::UnknownKey));
        assert!(keys(2).verify(&new.token, now).is_ok());
    }

    fn verifier(keys: &ProxyKeys, audience: &str) -> TokenVerifier {
        TokenVerifier::from_public_keys(&keys.public_keys(), audience).unwrap()
    }

    #[test]
    fn the_public_keys_alone_verify_a_minted_token() {
        let k = keys(1);
        let now = OffsetDateTime::now_utc();
        let m = k.mint(AGENT, &iam(), 60, now).unwrap();
        let v = verifier(&k, "egress-egress-proxy");
        let verified = v.verify(&m.token, now).unwrap();
        assert_eq!(verified, k.verify(&m.token, now).unwrap());
        assert_eq!(
            (verified.principal.as_str(), verified.token_id.as_str()),
            (AGENT, m.token_id.as_str())
        );
        assert_eq!(verified.identity, iam());
        assert_eq!(
            v.verify(&m.token, now + Duration::seconds(91)),
            Err(ProxyTokenError::Expired)
        );
        assert_eq!(
            verifier(&k, "other-egress-proxy").verify(&m.token, now),
            Err(ProxyTokenError::WrongAudience)
        );
        assert_eq!(
            verifier(&keys(2), "egress-egress-proxy").verify(&m.token, now),
            Err(ProxyTokenError::UnknownKey)
        );
    }

    #[test]
    fn a_verifier_refuses_keys_that_are_not_what_they_say() {
        let aud = "egress-egress-proxy";
        assert_eq!(
            TokenVerifier::from_public_keys(&[], aud).err(),
            Some(KeyError::NoPublicKeys)
        );
        let ours = keys(1).public_keys().remove(0);
        let theirs = keys(2).public_keys().remove(0);
        // Another key under our id: a token naming our id would be checked against their key.
        let swapped = PublicKeyInfo {
            public_key: theirs.public_key.clone(),
            ..ours.clone()
        };
        assert_eq!(
            TokenVerifier::from_public_keys(&[swapped], aud).err(),
            Some(KeyError::KidMismatch {
                kid: ours.kid.clone(),
                actual: theirs.kid.clone()
            })
        );
        for junk in ["", "not base64!", "AAAA"] {
            let bad = PublicKeyInfo {
                public_key: junk.into(),
                ..ours.clone()
            };
            assert_eq!(
                TokenVerifier::from_public_keys(&[ours.clone(), bad], aud).err(),
                Some(KeyError::BadPublicKey { kid: ours.kid.clone() }),
                "{junk}"
            );
        }
    }

    #[test]
    fn a_verifier_from_a_rotation_accepts_both_keys() {
        let now = OffsetDateTime::now_utc();
        let old = keys(1).mint(AGENT, &iam(), 60, now).unwrap();
        let rotated = ProxyKeys::new(&[2; 32], Some(&[1; 32]), "egress-egress-proxy").unwrap();
        let new = rotated.mint(AGENT, &iam(), 60, now).unwrap();
        let v = verifier(&rotated, "egress-egress-proxy");
        assert_eq!(v.verify(&old.token, now).map(|v| v.token_id), Ok(old.token_id));
        assert_eq!(v.verify(&new.token, now).map(|v| v.token_id), Ok(new.token_id));
        // Only the new key listed: the old token's key is unknown.
        let current_only = &rotated.public_keys()[..1];
        let v = TokenVerifier::from_public_keys(current_only, "egress-egress-proxy").unwrap();
        assert_eq!(v.verify(&old.token, now), Err(ProxyTokenError::UnknownKey));
    }
}
