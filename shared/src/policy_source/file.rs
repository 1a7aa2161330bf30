//! The policy as a local file (`EGRESS_POLICY_FILE`, used by `make dev` and the tests).

use std::path::PathBuf;

use async_trait::async_trait;

use super::{FetchError, Fetched, PolicyFetcher};

/// Reads the policy from a local file, whole, on every fetch.
pub struct FileFetcher {
    path: PathBuf,
}

impl FileFetcher {
    /// A fetcher of the file at `path` (not read until the first fetch).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }
}

#[async_trait]
impl PolicyFetcher for FileFetcher {
    async fn fetch(&self) -> Result<Fetched, FetchError> {
        match tokio::fs::read_to_string(&self.path).await {
            Ok(text) => Ok(Fetched::Document(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(FetchError::NotFound(self.path.display().to_string()))
            }
            Err(e) => Err(FetchError::Unavailable(format!("{}: {e}", self.path.display()))),
        }
    }
    fn describe(&self) -> String {
        format!("file {}", self.path.display())
    }
}
