//! A document in an SSM parameter: the policy (`EGRESS_POLICY_PARAMETER`) or the kill switch.

use async_trait::async_trait;

use super::{FetchError, Fetched, PolicyFetcher};

/// Reads a document from an SSM parameter's value (decrypted, so a `SecureString` works too).
pub struct SsmFetcher {
    client: aws_sdk_ssm::Client,
    name: String,
}

impl SsmFetcher {
    /// A fetcher of the parameter `name` through `client`.
    pub fn new(client: aws_sdk_ssm::Client, name: impl Into<String>) -> Self {
        Self {
            client,
            name: name.into(),
        }
    }
}

#[async_trait]
impl PolicyFetcher for SsmFetcher {
    async fn fetch(&self) -> Result<Fetched, FetchError> {
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
            .map(Fetched::Document)
            .ok_or_else(|| FetchError::NotFound(self.name.clone()))
    }
    fn describe(&self) -> String {
        format!("ssm parameter {}", self.name)
    }
}
