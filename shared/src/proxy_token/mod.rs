//! Proxy tokens: what lets the enforcing proxy ask the gateway on an agent's behalf (DESIGN §12).
//!
//! An agent mints a token through the API (`POST /v1/egress/proxy-tokens`) and hands it to the proxy as
//! its proxy credential. The token is a PASETO v4.public token
//! (<https://github.com/paseto-standard/paseto-spec/blob/master/docs/01-Protocol-Versions/Version4.md>):
//! Ed25519-signed claims naming the agent's principal and identity, the proxy audience, an expiry and an id.
//! The proxy's helper checks it offline against the public keys, and the gateway checks it again before it
//! decides for the agent, so neither has to trust the other's reading.
//!
//! - `keys`: the signing and verifying keys, derived from the stack's secret (and the previous one while a
//!   rotation overlaps), each named by its PASERK id; [`TokenVerifier`], the public keys alone;
//! - `token`: the claims, minting and verification.

mod keys;
mod token;

pub use keys::{KeyError, ProxyKeys, PublicKeyInfo, TokenVerifier};
pub use token::{Minted, ProxyTokenError, TokenClaims, Verified, CLOCK_SKEW_SECONDS, MAX_TTL_SECONDS};
