//! Where the policy comes from: a fetcher of raw text (a file locally; SSM or S3 in AWS) behind one cache
//! that bounds its age, keeps the last good policy when a refresh fails or is invalid, and fails closed
//! (`None`) when no good policy was ever loaded; the kill-switch parameter laid over whatever the source
//! serves.

mod cache;
mod file;
mod kill_switch;
mod s3;
mod ssm;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::policy::CompiledPolicy;

pub use cache::CachedPolicySource;
pub use file::FileFetcher;
pub use kill_switch::{KillSwitchGuard, KillSwitchState, KILL_SWITCH_AGE};
pub use s3::{S3Fetcher, S3Location, MAX_POLICY_BYTES};
pub use ssm::SsmFetcher;

/// The cache lifetime DESIGN.md allows: a kill switch flips within 10 s without a deploy.
pub const MAX_POLICY_AGE: Duration = Duration::from_secs(10);

/// Why a fetch returned no document; each names the source (and what went wrong).
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The source could not be read (an outage, a permission): transient, the last good state is kept.
    #[error("policy source unavailable: {0}")]
    Unavailable(String),
    /// The document does not exist: a policy source fails closed, the kill switch engages.
    #[error("policy not found: {0}")]
    NotFound(String),
    /// The document is there but can never be a policy (too large, not text).
    #[error("policy document refused: {0}")]
    Invalid(String),
}

/// What a fetch found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// The document's text.
    Document(String),
    /// The same document as the previous fetch returned (a conditional GET answered 304).
    Unchanged,
}

/// Fetches the raw policy text from wherever it lives.
#[async_trait]
pub trait PolicyFetcher: Send + Sync {
    /// One read of the source: its document, or `Unchanged` since the previous read.
    async fn fetch(&self) -> Result<Fetched, FetchError>;
    /// The source as logs and metrics name it (`file …`, `s3 object s3://…`, `ssm parameter …`).
    fn describe(&self) -> String;
}

/// What request handlers depend on: the current policy, or `None` (fail closed with `policy_unavailable`).
#[async_trait]
pub trait PolicySource: Send + Sync {
    /// The policy in force now, refreshed first if it is older than the source allows; `None` fails
    /// closed.
    async fn current(&self) -> Option<Arc<CompiledPolicy>>;
}
