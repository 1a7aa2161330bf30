//! Builds each function's dependencies from the environment, once, at init.

use std::sync::Arc;
use std::time::Duration;

use crate::config::{self, ConfigError};
use crate::create::CreateService;
use crate::events::EventBridgeBus;
use crate::source::policy_source_from_env;
use crate::store::DynamoStore;

/// Default lifetime of an idempotency key: 24 hours.
pub const DEFAULT_IDEMPOTENCY_TTL_SECS: u64 = 24 * 3600;

pub async fn create_service() -> Result<CreateService, ConfigError> {
    let sdk = config::sdk_config().await;
    let table = config::required("EGRESS_TABLE")?;
    let ttl = config::parse_u64("EGRESS_IDEMPOTENCY_TTL_SECONDS", DEFAULT_IDEMPOTENCY_TTL_SECS)?;
    let policy = policy_source_from_env(&sdk).await?;
    Ok(CreateService {
        store: Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table)),
        policy,
        dev_mode: config::dev_mode(),
        idempotency_ttl: Duration::from_secs(ttl),
    })
}

pub async fn event_bus() -> Result<EventBridgeBus, ConfigError> {
    let sdk = config::sdk_config().await;
    let bus = config::required("EGRESS_BUS_NAME")?;
    Ok(EventBridgeBus::new(aws_sdk_eventbridge::Client::new(&sdk), bus))
}
