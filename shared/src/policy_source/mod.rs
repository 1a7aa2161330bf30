//! Where the policy comes from: a fetcher of raw text (a file locally; SSM in AWS) behind one cache that
//! bounds its age, keeps the last good policy when a refresh fails or is invalid, and fails closed (`None`)
//! when no good policy was ever loaded.

mod cache;
mod file;
mod ssm;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::CompiledPolicy;

pub use cache::CachedPolicySource;
pub use file::FileFetcher;
pub use ssm::SsmFetcher;

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
