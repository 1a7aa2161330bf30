//! The policy as a local file (`EGRESS_POLICY_FILE`, used by `make dev` and the tests).

use std::path::PathBuf;

use async_trait::async_trait;

use super::{FetchError, PolicyFetcher};

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
