//! The caching [`PolicySource`] over any fetcher: at most `ttl` old, last good kept, closed when none.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::Mutex;

use super::{FetchError, Fetched, PolicyFetcher, PolicySource, MAX_POLICY_AGE};
use crate::metrics;
use crate::policy::{requests_kill_switch, CompiledPolicy};

struct CacheState {
    policy: Option<Arc<CompiledPolicy>>,
    /// Raw text of the last good policy: an unchanged document is not compiled again.
    raw: Option<String>,
    /// The document the source holds now was rejected (it may be the text in `rejected_raw`, or one
    /// that was never text): every refresh that still finds it counts again, so the alarm stays on
    /// until the document is fixed.
    rejected: bool,
    rejected_raw: Option<String>,
    checked_at: Option<Instant>,
    /// The last read after which the policy in force was the source's (see [`Read`]).
    good_at: Option<Instant>,
}

/// What one refresh found: the source's document is in force (`Good`), or it could not be read, was
/// missing, or was rejected (`Stale`: whatever is in force is older than the source).
#[derive(PartialEq, Eq)]
enum Read {
    Good,
    Stale,
}

/// The caching [`PolicySource`] over any fetcher.
pub struct CachedPolicySource<F> {
    fetcher: F,
    ttl: Duration,
    /// Until a first good read, the age is counted from here.
    created: Instant,
    state: Mutex<CacheState>,
}

impl<F: PolicyFetcher> CachedPolicySource<F> {
    /// A cache over `fetcher` whose policy is at most `ttl` old (capped at [`MAX_POLICY_AGE`]); nothing is
    /// read until the first [`current`](PolicySource::current) or [`refresh`](Self::refresh).
    pub fn new(fetcher: F, ttl: Duration) -> Self {
        Self {
            fetcher,
            ttl: ttl.min(MAX_POLICY_AGE),
            created: Instant::now(),
            state: Mutex::new(CacheState {
                policy: None,
                raw: None,
                rejected: false,
                rejected_raw: None,
                checked_at: None,
                good_at: None,
            }),
        }
    }

    /// Loads now (used at init so the first request does not pay for it).
    pub async fn refresh(&self) -> Option<Arc<CompiledPolicy>> {
        let mut st = self.state.lock().await;
        self.refresh_locked(&mut st).await;
        st.policy.clone()
    }

    /// One read of the source, then its age as a metric (a warning in a log is not an alarm: a source that
    /// keeps failing shows as an age that grows).
    async fn refresh_locked(&self, st: &mut CacheState) {
        let now = Instant::now();
        st.checked_at = Some(now);
        if self.read_locked(st).await == Read::Good {
            st.good_at = Some(now);
        }
        let since = st.good_at.unwrap_or(self.created);
        metrics::age(
            metrics::Metric::PolicyAgeSeconds,
            since.elapsed(),
            &self.fetcher.describe(),
        );
    }

    async fn read_locked(&self, st: &mut CacheState) -> Read {
        let text = match self.fetcher.fetch().await {
            Ok(Fetched::Unchanged) => {
                if st.rejected {
                    self.still_rejected(st);
                    return Read::Stale;
                }
                return if st.policy.is_some() { Read::Good } else { Read::Stale };
            }
            Ok(Fetched::Document(text)) => text,
            Err(FetchError::NotFound(what)) => {
                // A deleted policy is not a transient error: fail closed rather than serve a stale one.
                tracing::error!(source = %what, "policy not found; failing closed");
                (st.policy, st.raw, st.rejected, st.rejected_raw) = (None, None, false, None);
                return Read::Stale;
            }
            Err(FetchError::Invalid(detail)) => {
                tracing::error!(source = %self.fetcher.describe(), error = %detail, kept_last_good = st.policy.is_some(), "invalid policy rejected");
                (st.rejected, st.rejected_raw) = (true, None);
                metrics::policy_rejected(&self.fetcher.describe());
                return Read::Stale;
            }
            Err(e) => {
                tracing::warn!(source = %self.fetcher.describe(), error = %e, kept_last_good = st.policy.is_some(), "policy refresh failed");
                return Read::Stale;
            }
        };
        if st.raw.as_deref() == Some(text.as_str()) {
            st.rejected = false;
            return Read::Good;
        }
        if st.rejected_raw.as_deref() == Some(text.as_str()) {
            self.still_rejected(st);
            return Read::Stale;
        }
        match CompiledPolicy::from_yaml(&text) {
            Ok(p) => {
                tracing::info!(source = %self.fetcher.describe(), version = p.version(), rules = p.rule_count(), "policy loaded");
                st.policy = Some(Arc::new(p));
                st.raw = Some(text);
                (st.rejected, st.rejected_raw) = (false, None);
                Read::Good
            }
            Err(e) => {
                // Keep the last good policy (or stay closed): a bad edit must not open the gateway.
                tracing::error!(source = %self.fetcher.describe(), error = %e, kept_last_good = st.policy.is_some(), "invalid policy rejected");
                metrics::policy_rejected(&self.fetcher.describe());
                if requests_kill_switch(&text) {
                    // No policy at all denies everything anyway (policy_unavailable).
                    let in_force = st.policy.as_ref().is_none_or(|p| p.kill_switch_engaged());
                    tracing::error!(
                        source = %self.fetcher.describe(),
                        kill_switch_in_force = in_force,
                        "the rejected policy engages the kill switch: that engagement is NOT applied; fix the document or use the kill-switch parameter"
                    );
                }
                (st.rejected, st.rejected_raw) = (true, Some(text));
                Read::Stale
            }
        }
    }

    fn still_rejected(&self, st: &CacheState) {
        tracing::error!(source = %self.fetcher.describe(), kept_last_good = st.policy.is_some(), "the policy in the source is still the rejected one");
        metrics::policy_rejected(&self.fetcher.describe());
    }
}

#[async_trait]
impl<F: PolicyFetcher> PolicySource for CachedPolicySource<F> {
    async fn current(&self) -> Option<Arc<CompiledPolicy>> {
        let mut st = self.state.lock().await;
        let fresh = st.checked_at.is_some_and(|t| t.elapsed() < self.ttl);
        if !fresh {
            self.refresh_locked(&mut st).await;
        }
        st.policy.clone()
    }
}
