//! The kill-switch parameter (`EGRESS_KILL_SWITCH_PARAMETER`), laid over the policy source: engaging it
//! needs no valid document, so an incident responder's flip cannot be lost to a bad edit. Re-read at most
//! every [`KILL_SWITCH_AGE`]; unreadable at cold start or deleted counts as engaged (fail closed).

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::Mutex;

use super::{FetchError, Fetched, PolicyFetcher, PolicySource};
use crate::policy::CompiledPolicy;

/// How old the switch's state may be. DESIGN.md promises engagement within 5 s of the flip; 4 s leaves
/// room for the request that reads it (one SSM GetParameter per container every 4 s).
pub const KILL_SWITCH_AGE: Duration = Duration::from_secs(4);

/// What the kill-switch parameter says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KillSwitchState {
    /// Not engaged: the parameter says [`OFF`](KillSwitchState::OFF).
    Off,
    /// Engaged: every request is denied as `kill_switch`.
    Engaged {
        /// The parameter's text (cut to [`MAX_REASON_CHARS`](KillSwitchState::MAX_REASON_CHARS)), or why it
        /// counts as engaged when it has none.
        reason: String,
    },
}

impl KillSwitchState {
    /// The parameter's value that means "not engaged" (any case, trimmed); anything else engages, its
    /// text being the reason.
    pub const OFF: &'static str = "off";
    /// The longest reason kept; a longer text is cut to this many characters.
    pub const MAX_REASON_CHARS: usize = 512;

    /// The state a parameter's text means.
    pub fn from_value(text: &str) -> Self {
        let text = text.trim();
        if text.eq_ignore_ascii_case(Self::OFF) {
            return Self::Off;
        }
        let reason: String = text.chars().take(Self::MAX_REASON_CHARS).collect();
        Self::Engaged {
            reason: if reason.is_empty() {
                "kill-switch parameter engaged".into()
            } else {
                reason
            },
        }
    }
}

impl KillSwitchState {
    /// The state after one read of the parameter, `None` to keep the previous one. Fails closed: a
    /// deleted parameter engages, and so does an unreadable one when there is no previous state (cold
    /// start); a later transient failure keeps the state last read. The gateway's guard and the proxy's
    /// `watch` both decide with this, so they cannot disagree.
    pub fn after_read(
        previous: Option<&KillSwitchState>,
        read: Result<Fetched, FetchError>,
        source: &str,
    ) -> Option<KillSwitchState> {
        match read {
            Ok(Fetched::Document(text)) => Some(KillSwitchState::from_value(&text)),
            Ok(Fetched::Unchanged) => None,
            Err(FetchError::NotFound(what)) => Some(KillSwitchState::Engaged {
                reason: format!("kill-switch parameter {what} not found"),
            }),
            Err(e) if previous.is_none() => {
                tracing::error!(source = %source, error = %e, "kill-switch parameter unreadable at cold start: engaged");
                Some(KillSwitchState::Engaged {
                    reason: "kill-switch parameter unreadable".into(),
                })
            }
            Err(e) => {
                tracing::warn!(source = %source, error = %e, "kill-switch refresh failed; state kept");
                None
            }
        }
    }
}

struct GuardState {
    switch: Option<KillSwitchState>,
    checked_at: Option<Instant>,
    /// The last read that answered (a value, or unchanged); a missing parameter is not one.
    read_at: Option<Instant>,
    /// The last overlay made: (the source's policy, that policy with the switch engaged).
    overlay: Option<(Arc<CompiledPolicy>, Arc<CompiledPolicy>)>,
}

/// A [`PolicySource`] that engages the kill switch of whatever `inner` serves while the parameter says so.
pub struct KillSwitchGuard<F> {
    inner: Arc<dyn PolicySource>,
    fetcher: F,
    ttl: Duration,
    /// Until a first read, the age is counted from here.
    created: Instant,
    state: Mutex<GuardState>,
}

impl<F: PolicyFetcher> KillSwitchGuard<F> {
    /// A guard over `inner` that reads the parameter through `fetcher` when its state is older than `ttl`
    /// (capped at [`KILL_SWITCH_AGE`]); nothing is read until the first request or `refresh`.
    pub fn new(inner: Arc<dyn PolicySource>, fetcher: F, ttl: Duration) -> Self {
        Self {
            inner,
            fetcher,
            ttl: ttl.min(KILL_SWITCH_AGE),
            created: Instant::now(),
            state: Mutex::new(GuardState {
                switch: None,
                checked_at: None,
                read_at: None,
                overlay: None,
            }),
        }
    }

    /// Reads the parameter now (at init, so the first request does not pay for it).
    pub async fn refresh(&self) -> KillSwitchState {
        let mut st = self.state.lock().await;
        self.refresh_locked(&mut st).await;
        st.switch.clone().unwrap_or(KillSwitchState::Off)
    }

    /// One read of the parameter, then its age as a metric (a failed read only warns in the log, and the
    /// state it keeps may be old: the age is what an alarm watches).
    async fn refresh_locked(&self, st: &mut GuardState) {
        let now = Instant::now();
        st.checked_at = Some(now);
        let read = self.fetcher.fetch().await;
        if read.is_ok() {
            st.read_at = Some(now);
        }
        let since = st.read_at.unwrap_or(self.created);
        let source = self.fetcher.describe();
        crate::metrics::age(crate::metrics::Metric::KillSwitchAgeSeconds, since.elapsed(), &source);
        let next = KillSwitchState::after_read(st.switch.as_ref(), read, &source);
        // What is in force after this read: the new state, or the one kept through a failed read.
        match next.as_ref().or(st.switch.as_ref()) {
            Some(KillSwitchState::Engaged { reason }) => crate::metrics::kill_switch_engaged(true, &source, reason),
            Some(KillSwitchState::Off) | None => crate::metrics::kill_switch_engaged(false, &source, ""),
        }
        let Some(next) = next else {
            return;
        };
        if st.switch.as_ref() != Some(&next) {
            match &next {
                KillSwitchState::Off => tracing::info!(source = %source, "kill switch off"),
                KillSwitchState::Engaged { reason } => {
                    tracing::warn!(source = %source, reason = %reason, "kill switch engaged")
                }
            }
            st.overlay = None;
            st.switch = Some(next);
        }
    }
}

#[async_trait]
impl<F: PolicyFetcher> PolicySource for KillSwitchGuard<F> {
    async fn current(&self) -> Option<Arc<CompiledPolicy>> {
        // The switch is read on its own clock before the policy, so that its state and its metrics stay
        // current while no policy is in force too.
        {
            let mut st = self.state.lock().await;
            if st.checked_at.is_none_or(|t| t.elapsed() >= self.ttl) {
                self.refresh_locked(&mut st).await;
            }
        }
        let policy = self.inner.current().await?;
        let mut st = self.state.lock().await;
        let reason = match &st.switch {
            Some(KillSwitchState::Engaged { reason }) if !policy.kill_switch_engaged() => reason.clone(),
            _ => return Some(policy),
        };
        if let Some((base, overlaid)) = &st.overlay {
            if Arc::ptr_eq(base, &policy) {
                return Some(Arc::clone(overlaid));
            }
        }
        let overlaid = Arc::new(policy.with_kill_switch(&reason));
        st.overlay = Some((policy, Arc::clone(&overlaid)));
        Some(overlaid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        assert_eq!(KillSwitchState::from_value("off"), KillSwitchState::Off);
        assert_eq!(KillSwitchState::from_value(" OFF\n"), KillSwitchState::Off);
        assert_eq!(
            KillSwitchState::from_value("incident-42: exfiltration suspected"),
            KillSwitchState::Engaged {
                reason: "incident-42: exfiltration suspected".into()
            }
        );
        // "on", "false", empty: anything but off engages (a typo must not leave the gateway open).
        for v in ["on", "false", "0", "", "of", "off off"] {
            assert!(
                matches!(KillSwitchState::from_value(v), KillSwitchState::Engaged { .. }),
                "{v:?}"
            );
        }
        let KillSwitchState::Engaged { reason } = KillSwitchState::from_value(&"é".repeat(600)) else {
            panic!("engaged")
        };
        assert_eq!(reason.chars().count(), 512);
    }
}
