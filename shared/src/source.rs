//! Where the policy comes from: a file locally, an SSM parameter in AWS. Both sit behind [`PolicySource`]
//! and share one cache: at most `ttl` old, keeping the last good policy when a refresh fails or yields an
//! invalid document, and failing closed (`None`) when no good policy was ever loaded.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::Mutex;

use crate::policy::CompiledPolicy;

/// The cache lifetime DESIGN.md allows: a kill switch flips within 10 s without a deploy.
pub const MAX_POLICY_AGE: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("policy source unavailable: {0}")]
    Unavailable(String),
    #[error("policy not found: {0}")]
    NotFound(String),
}

/// Fetches the raw policy text from wherever it lives.
#[async_trait]
pub trait PolicyFetcher: Send + Sync {
    async fn fetch(&self) -> Result<String, FetchError>;
    fn describe(&self) -> String;
}

/// What request handlers depend on: the current policy, or `None` (fail closed with `policy_unavailable`).
#[async_trait]
pub trait PolicySource: Send + Sync {
    async fn current(&self) -> Option<Arc<CompiledPolicy>>;
}

pub struct FileFetcher {
    path: PathBuf,
}

impl FileFetcher {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }
}

#[async_trait]
impl PolicyFetcher for FileFetcher {
    async fn fetch(&self) -> Result<String, FetchError> {
        tokio::fs::read_to_string(&self.path).await.map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => FetchError::NotFound(self.path.display().to_string()),
            _ => FetchError::Unavailable(format!("{}: {e}", self.path.display())),
        })
    }
    fn describe(&self) -> String {
        format!("file {}", self.path.display())
    }
}

pub struct SsmFetcher {
    client: aws_sdk_ssm::Client,
    name: String,
}

impl SsmFetcher {
    pub fn new(client: aws_sdk_ssm::Client, name: impl Into<String>) -> Self {
        Self {
            client,
            name: name.into(),
        }
    }
}

#[async_trait]
impl PolicyFetcher for SsmFetcher {
    async fn fetch(&self) -> Result<String, FetchError> {
        let out = self
            .client
            .get_parameter()
            .name(&self.name)
            .with_decryption(true)
            .send()
            .await
            .map_err(|e| {
                let se = e.into_service_error();
                if se.is_parameter_not_found() {
                    FetchError::NotFound(self.name.clone())
                } else {
                    FetchError::Unavailable(format!("{}: {se}", self.name))
                }
            })?;
        out.parameter
            .and_then(|p| p.value)
            .ok_or_else(|| FetchError::NotFound(self.name.clone()))
    }
    fn describe(&self) -> String {
        format!("ssm parameter {}", self.name)
    }
}

struct CacheState {
    policy: Option<Arc<CompiledPolicy>>,
    /// Raw text of the last good policy: an unchanged document is not compiled again.
    raw: Option<String>,
    checked_at: Option<Instant>,
}

/// The caching [`PolicySource`] over any fetcher.
pub struct CachedPolicySource<F> {
    fetcher: F,
    ttl: Duration,
    state: Mutex<CacheState>,
}

impl<F: PolicyFetcher> CachedPolicySource<F> {
    pub fn new(fetcher: F, ttl: Duration) -> Self {
        Self {
            fetcher,
            ttl: ttl.min(MAX_POLICY_AGE),
            state: Mutex::new(CacheState {
                policy: None,
                raw: None,
                checked_at: None,
            }),
        }
    }

    /// Loads now (used at init so the first request does not pay for it).
    pub async fn refresh(&self) -> Option<Arc<CompiledPolicy>> {
        let mut st = self.state.lock().await;
        self.refresh_locked(&mut st).await;
        st.policy.clone()
    }

    async fn refresh_locked(&self, st: &mut CacheState) {
        st.checked_at = Some(Instant::now());
        match self.fetcher.fetch().await {
            Ok(text) if st.raw.as_deref() == Some(text.as_str()) => {}
            Ok(text) => match CompiledPolicy::from_yaml(&text) {
                Ok(p) => {
                    tracing::info!(source = %self.fetcher.describe(), version = p.version(), rules = p.rule_count(), "policy loaded");
                    st.policy = Some(Arc::new(p));
                    st.raw = Some(text);
                }
                Err(e) => {
                    // Keep the last good policy (or stay closed): a bad edit must not open the gateway.
                    tracing::error!(source = %self.fetcher.describe(), error = %e, kept_last_good = st.policy.is_some(), "invalid policy rejected");
                    if crate::policy::requests_kill_switch(&text) {
                        // No policy at all denies everything anyway (policy_unavailable).
                        let in_force = st.policy.as_ref().is_none_or(|p| p.kill_switch_engaged());
                        tracing::error!(
                            source = %self.fetcher.describe(),
                            kill_switch_in_force = in_force,
                            "the rejected policy engages the kill switch: that engagement is NOT applied; fix the document or use the kill-switch parameter"
                        );
                    }
                }
            },
            Err(FetchError::NotFound(what)) => {
                // A deleted policy is not a transient error: fail closed rather than serve a stale one.
                tracing::error!(source = %what, "policy not found; failing closed");
                st.policy = None;
                st.raw = None;
            }
            Err(e) => {
                tracing::warn!(source = %self.fetcher.describe(), error = %e, kept_last_good = st.policy.is_some(), "policy refresh failed");
            }
        }
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

/// A policy source built from the environment: `EGRESS_POLICY_FILE` wins locally, else
/// `EGRESS_POLICY_PARAMETER` (SSM). Neither set is a configuration error: the caller fails closed.
pub async fn policy_source_from_env(
    sdk: &aws_config::SdkConfig,
) -> Result<Arc<dyn PolicySource>, crate::config::ConfigError> {
    if let Ok(path) = std::env::var("EGRESS_POLICY_FILE") {
        let src = CachedPolicySource::new(FileFetcher::new(path), Duration::from_secs(1));
        src.refresh().await;
        return Ok(Arc::new(src));
    }
    if let Ok(name) = std::env::var("EGRESS_POLICY_PARAMETER") {
        let src = CachedPolicySource::new(SsmFetcher::new(aws_sdk_ssm::Client::new(sdk), name), MAX_POLICY_AGE);
        src.refresh().await;
        return Ok(Arc::new(src));
    }
    Err(crate::config::ConfigError::Missing(
        "EGRESS_POLICY_FILE or EGRESS_POLICY_PARAMETER",
    ))
}
