//! `auth`: Squid's `auth_param basic` helper. The user name is the zone, the password the agent's proxy
//! token; it is checked offline against the gateway's public keys (signature, key id, audience, time:
//! `egress_core::proxy_token`), so a missing, forged, expired or foreign token is a `407` and costs the
//! gateway nothing. The gateway checks the token again when `acl` asks it to decide.

use std::sync::Arc;
use std::time::{Duration, Instant};

use egress_core::proxy_token::TokenVerifier;
use egress_core::valid_zone_name;
use time::OffsetDateTime;
use tokio::sync::RwLock;

use crate::gateway::Gateway;
use crate::protocol::{HelperLine, Reply};
use crate::serve::Handler;

/// How long fetched keys are used before they are fetched again (a rotation publishes the new key an
/// hour before it signs; see DESIGN §12).
const KEYS_FRESH_FOR: Duration = Duration::from_secs(300);
/// An unknown key id fetches the keys again, at most this often (a flood of forged ids cannot turn into
/// a flood of gateway calls).
const REFETCH_AT_MOST_EVERY: Duration = Duration::from_secs(30);

struct Keys {
    verifier: Option<Arc<TokenVerifier>>,
    fetched_at: Option<Instant>,
}

/// The `auth` mode: checks each credential offline with the gateway's public keys, fetched and cached.
pub struct Auth {
    gateway: Gateway,
    keys: RwLock<Keys>,
}

impl Auth {
    /// An `auth` helper that fetches the keys through `gateway` on its first check.
    pub fn new(gateway: Gateway) -> Self {
        Self {
            gateway,
            keys: RwLock::new(Keys {
                verifier: None,
                fetched_at: None,
            }),
        }
    }

    /// The verifier, fetched when there is none, when it is older than [`KEYS_FRESH_FOR`], or when
    /// `refetch` asks (an unknown key id) and the last fetch is older than [`REFETCH_AT_MOST_EVERY`].
    async fn verifier(&self, refetch: bool) -> Option<Arc<TokenVerifier>> {
        {
            let keys = self.keys.read().await;
            let age = keys.fetched_at.map(|t| t.elapsed());
            let due = match (&keys.verifier, age) {
                (Some(_), Some(age)) => age > KEYS_FRESH_FOR || (refetch && age > REFETCH_AT_MOST_EVERY),
                (None, Some(age)) => age > Duration::from_secs(1),
                _ => true,
            };
            if !due {
                return keys.verifier.clone();
            }
        }
        let mut keys = self.keys.write().await;
        // Another task may have fetched meanwhile.
        if keys.fetched_at.is_some_and(|t| t.elapsed() < Duration::from_secs(1)) {
            return keys.verifier.clone();
        }
        keys.fetched_at = Some(Instant::now());
        match self.gateway.keys().await {
            Ok(answer) => match TokenVerifier::from_public_keys(&answer.keys, &answer.audience) {
                Ok(v) => keys.verifier = Some(Arc::new(v)),
                Err(e) => tracing::error!(error = %e, "the gateway's proxy keys are unusable; kept the last ones"),
            },
            Err(e) => tracing::error!(error = %e, "proxy keys not fetched; kept the last ones"),
        }
        keys.verifier.clone()
    }

    /// The verdict on one credential.
    pub async fn check(&self, zone: Option<&str>, token: Option<&str>) -> Reply {
        let (Some(zone), Some(token)) = (zone, token) else {
            return Reply::err().note(
                "message",
                "proxy credentials missing: zone as user, proxy token as password",
            );
        };
        if !valid_zone_name(zone) {
            return Reply::err().note("message", "the user name must be a zone name");
        }
        let Some(verifier) = self.verifier(false).await else {
            return Reply::err().note("message", "proxy keys unavailable");
        };
        let now = OffsetDateTime::now_utc();
        let verified = match verifier.verify(token, now) {
            Err(egress_core::proxy_token::ProxyTokenError::UnknownKey) => match self.verifier(true).await {
                Some(v) if !Arc::ptr_eq(&v, &verifier) => v.verify(token, now),
                _ => Err(egress_core::proxy_token::ProxyTokenError::UnknownKey),
            },
            other => other,
        };
        match verified {
            // No notes: Squid keeps one credential record per user name, and the user name is the zone,
            // shared by every agent in it; a note here could name another agent in the log. `acl`
            // annotates the principal from the gateway's answer.
            Ok(_) => Reply::ok(),
            Err(e) => Reply::err().note("message", e.to_string()),
        }
    }
}

impl Handler for Auth {
    async fn handle(&self, line: HelperLine) -> Reply {
        let mut values = line.values.into_iter();
        let zone = values.next().flatten();
        let token = values.next().flatten();
        if values.next().is_some() {
            return Reply::err().note("message", "unexpected helper input");
        }
        self.check(zone.as_deref(), token.as_deref()).await
    }
}
