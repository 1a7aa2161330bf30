//! Builds each function's dependencies from the environment, once, at init.

use std::sync::Arc;
use std::time::Duration;

use super::config::{self, ConfigError};
use crate::{
    ApprovalsService, CachedPolicySource, CreateService, CursorCodec, DynamoStore, EventBridgeBus, FileFetcher,
    ListService, PolicyFetcher, PolicySource, SsmFetcher, MAX_POLICY_AGE, MIN_KEY_LEN,
};

/// Default lifetime of an idempotency key: 24 hours.
pub const DEFAULT_IDEMPOTENCY_TTL_SECS: u64 = 24 * 3600;

pub async fn create_service() -> Result<CreateService, ConfigError> {
    let sdk = config::sdk_config(config::Timeouts::RequestPath).await;
    let table = config::required("EGRESS_TABLE")?;
    let ttl = config::parse_u64("EGRESS_IDEMPOTENCY_TTL_SECONDS", DEFAULT_IDEMPOTENCY_TTL_SECS)?;
    let policy = policy_source_from_env(&sdk).await?;
    crate::compile_detectors();
    Ok(CreateService {
        store: Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table)),
        policy,
        dev_mode: config::dev_mode(),
        idempotency_ttl: Duration::from_secs(ttl),
    })
}

pub async fn event_bus() -> Result<EventBridgeBus, ConfigError> {
    let sdk = config::sdk_config(config::Timeouts::Publisher).await;
    let bus = config::required("EGRESS_BUS_NAME")?;
    Ok(EventBridgeBus::new(aws_sdk_eventbridge::Client::new(&sdk), bus))
}

/// The cursor key: `EGRESS_CURSOR_KEY` (local), else the SSM SecureString named by
/// `EGRESS_CURSOR_KEY_PARAMETER`, read once at init.
async fn cursor_key(sdk: &aws_config::SdkConfig) -> Result<Vec<u8>, ConfigError> {
    let key = match std::env::var("EGRESS_CURSOR_KEY") {
        Ok(k) => k,
        Err(_) => {
            let name = config::required("EGRESS_CURSOR_KEY_PARAMETER")?;
            SsmFetcher::new(aws_sdk_ssm::Client::new(sdk), name)
                .fetch()
                .await
                .map_err(|e| ConfigError::Invalid {
                    name: "EGRESS_CURSOR_KEY_PARAMETER",
                    detail: e.to_string(),
                })?
        }
    };
    if key.len() < MIN_KEY_LEN {
        return Err(ConfigError::Invalid {
            name: "EGRESS_CURSOR_KEY",
            detail: format!("at least {MIN_KEY_LEN} bytes"),
        });
    }
    Ok(key.into_bytes())
}

pub async fn approvals_service() -> Result<ApprovalsService, ConfigError> {
    let sdk = config::sdk_config(config::Timeouts::RequestPath).await;
    let table = config::required("EGRESS_TABLE")?;
    let key = cursor_key(&sdk).await?;
    let cursors = CursorCodec::new(&key).ok_or(ConfigError::Missing("EGRESS_CURSOR_KEY"))?;
    Ok(ApprovalsService {
        store: Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table)),
        policy: policy_source_from_env(&sdk).await?,
        cursors,
        dev_mode: config::dev_mode(),
    })
}

pub async fn list_service() -> Result<ListService, ConfigError> {
    let sdk = config::sdk_config(config::Timeouts::RequestPath).await;
    let table = config::required("EGRESS_TABLE")?;
    let key = cursor_key(&sdk).await?;
    let cursors = CursorCodec::new(&key).ok_or(ConfigError::Missing("EGRESS_CURSOR_KEY"))?;
    Ok(ListService {
        store: Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table)),
        policy: policy_source_from_env(&sdk).await?,
        cursors,
        dev_mode: config::dev_mode(),
    })
}
/// A policy source built from the environment: `EGRESS_POLICY_FILE` wins locally, else
/// `EGRESS_POLICY_PARAMETER` (SSM). Neither set is a configuration error: the caller fails closed.
pub async fn policy_source_from_env(sdk: &aws_config::SdkConfig) -> Result<Arc<dyn PolicySource>, ConfigError> {
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
    Err(ConfigError::Missing("EGRESS_POLICY_FILE or EGRESS_POLICY_PARAMETER"))
}
