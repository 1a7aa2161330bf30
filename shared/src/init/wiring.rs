//! Builds each function's dependencies from the environment, once, at init.

use std::sync::Arc;
use std::time::Duration;

use super::config::{self, ConfigError};
use super::secrets::{self, read_secret};
use crate::env;
use crate::proxy_token::ProxyKeys;
use crate::{
    api::{ApprovalsService, CreateService, CursorCodec, ListService, ProxyTokensService, MIN_KEY_LEN},
    events::EventBridgeBus,
    policy_source::{
        CachedPolicySource, FileFetcher, KillSwitchGuard, PolicySource, S3Fetcher, S3Location, SsmFetcher,
        KILL_SWITCH_AGE, MAX_POLICY_AGE,
    },
    store::DynamoStore,
};

/// Default lifetime of an idempotency key: 24 hours.
pub const DEFAULT_IDEMPOTENCY_TTL_SECS: u64 = 24 * 3600;

/// The create-request function's service: the table (`EGRESS_TABLE`, with the request retention),
/// the guarded policy source, idempotency TTL and proxy-token keys.
pub async fn create_service() -> Result<CreateService, ConfigError> {
    let sdk = config::sdk_config(config::Timeouts::RequestPath).await;
    let table = config::required(env::TABLE)?;
    let ttl = config::parse_u64(env::IDEMPOTENCY_TTL_SECONDS, DEFAULT_IDEMPOTENCY_TTL_SECS)?;
    let retention_days = config::parse_u64(env::REQUEST_RETENTION_DAYS, 0)?;
    let retention = (retention_days > 0).then(|| Duration::from_secs(retention_days.saturating_mul(86_400)));
    let policy = guarded_policy_source(&sdk).await?;
    crate::policy::compile_detectors();
    Ok(CreateService {
        store: Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table).with_request_retention(retention)),
        policy,
        dev_mode: config::dev_mode(),
        organization: config::organization()?,
        idempotency_ttl: Duration::from_secs(ttl),
        proxy_keys: proxy_keys(&sdk).await?.map(Arc::new),
    })
}

/// The proxy-token keys: the secret from `EGRESS_PROXY_KEY` (local), else the Secrets Manager secret named
/// by `EGRESS_PROXY_KEY_SECRET` (its `AWSCURRENT` version signs; `AWSPREVIOUS`, while a rotation overlaps,
/// still verifies); tokens are for `EGRESS_PROXY_AUDIENCE`. `None` when neither is set: then no proxy token
/// is accepted (an enforcer's request is a 401).
pub async fn proxy_keys(sdk: &aws_config::SdkConfig) -> Result<Option<ProxyKeys>, ConfigError> {
    let (current, previous) = match (std::env::var(env::PROXY_KEY), std::env::var(env::PROXY_KEY_SECRET)) {
        (Ok(key), _) => (key, None),
        (Err(_), Ok(id)) => {
            let current = read_secret(sdk, env::PROXY_KEY_SECRET, &id, secrets::CURRENT)
                .await?
                .ok_or(ConfigError::Missing(env::PROXY_KEY_SECRET))?;
            (
                current,
                read_secret(sdk, env::PROXY_KEY_SECRET, &id, secrets::PREVIOUS).await?,
            )
        }
        (Err(_), Err(_)) => return Ok(None),
    };
    let audience = config::required(env::PROXY_AUDIENCE)?;
    ProxyKeys::new(current.as_bytes(), previous.as_deref().map(str::as_bytes), &audience)
        .map(Some)
        .map_err(|e| ConfigError::Invalid {
            name: env::PROXY_KEY_SECRET,
            detail: e.to_string(),
        })
}

/// The proxy-tokens function's service; unlike the others it requires the proxy-token keys.
pub async fn proxy_tokens_service() -> Result<ProxyTokensService, ConfigError> {
    let sdk = config::sdk_config(config::Timeouts::RequestPath).await;
    let keys = proxy_keys(&sdk)
        .await?
        .ok_or(ConfigError::Missing("EGRESS_PROXY_KEY or EGRESS_PROXY_KEY_SECRET"))?;
    Ok(ProxyTokensService {
        keys: Arc::new(keys),
        dev_mode: config::dev_mode(),
        organization: config::organization()?,
    })
}

/// The stream publisher's bus (`EGRESS_BUS_NAME`), with the publisher's longer SDK timeouts.
pub async fn event_bus() -> Result<EventBridgeBus, ConfigError> {
    let sdk = config::sdk_config(config::Timeouts::Publisher).await;
    let bus = config::required(env::BUS_NAME)?;
    Ok(EventBridgeBus::new(aws_sdk_eventbridge::Client::new(&sdk), bus))
}

/// The cursor codec: the key from `EGRESS_CURSOR_KEY` (local), else the Secrets Manager secret named by
/// `EGRESS_CURSOR_KEY_SECRET`, read once at init. A rotated key takes effect as containers start; a cursor
/// signed with the old key then gets a 400 and the client starts its listing again.
async fn cursor_codec(sdk: &aws_config::SdkConfig) -> Result<CursorCodec, ConfigError> {
    let key = match std::env::var(env::CURSOR_KEY) {
        Ok(k) => k,
        Err(_) => {
            let id = config::required(env::CURSOR_KEY_SECRET)?;
            read_secret(sdk, env::CURSOR_KEY_SECRET, &id, secrets::CURRENT)
                .await?
                .ok_or(ConfigError::Missing(env::CURSOR_KEY_SECRET))?
        }
    };
    if key.len() < MIN_KEY_LEN {
        return Err(ConfigError::Invalid {
            name: env::CURSOR_KEY,
            detail: format!("at least {MIN_KEY_LEN} bytes"),
        });
    }
    CursorCodec::new(key.as_bytes()).ok_or(ConfigError::Missing(env::CURSOR_KEY))
}

/// The approvals function's service: the table, policy source and cursor codec.
pub async fn approvals_service() -> Result<ApprovalsService, ConfigError> {
    let sdk = config::sdk_config(config::Timeouts::RequestPath).await;
    let table = config::required(env::TABLE)?;
    let cursors = cursor_codec(&sdk).await?;
    Ok(ApprovalsService {
        store: Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table)),
        policy: policy_source_from_env(&sdk).await?,
        cursors,
        dev_mode: config::dev_mode(),
    })
}

/// The list-requests function's service (list and get): the table, policy source and cursor codec.
pub async fn list_service() -> Result<ListService, ConfigError> {
    let sdk = config::sdk_config(config::Timeouts::RequestPath).await;
    let table = config::required(env::TABLE)?;
    let cursors = cursor_codec(&sdk).await?;
    Ok(ListService {
        store: Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table)),
        policy: policy_source_from_env(&sdk).await?,
        cursors,
        dev_mode: config::dev_mode(),
    })
}
/// A policy source built from the environment: `EGRESS_POLICY_FILE` (local), else exactly one of
/// `EGRESS_POLICY_S3_URI` and `EGRESS_POLICY_PARAMETER`. None set is a configuration error; a source that
/// cannot be read answers `None` and the caller fails closed.
pub async fn policy_source_from_env(sdk: &aws_config::SdkConfig) -> Result<Arc<dyn PolicySource>, ConfigError> {
    let s3 = std::env::var(env::POLICY_S3_URI).ok();
    let parameter = std::env::var(env::POLICY_PARAMETER).ok();
    if let Ok(path) = std::env::var(env::POLICY_FILE) {
        let src = CachedPolicySource::new(FileFetcher::new(path), Duration::from_secs(1));
        src.refresh().await;
        return Ok(Arc::new(src));
    }
    match (s3, parameter) {
        (Some(uri), None) => {
            let location: S3Location = uri.parse().map_err(|detail| ConfigError::Invalid {
                name: env::POLICY_S3_URI,
                detail,
            })?;
            let src = CachedPolicySource::new(S3Fetcher::new(aws_sdk_s3::Client::new(sdk), location), MAX_POLICY_AGE);
            src.refresh().await;
            Ok(Arc::new(src))
        }
        (None, Some(name)) => {
            let src = CachedPolicySource::new(SsmFetcher::new(aws_sdk_ssm::Client::new(sdk), name), MAX_POLICY_AGE);
            src.refresh().await;
            Ok(Arc::new(src))
        }
        (Some(_), Some(_)) => Err(ConfigError::Invalid {
            name: env::POLICY_S3_URI,
            detail: format!("set {} or {}, not both", env::POLICY_S3_URI, env::POLICY_PARAMETER),
        }),
        (None, None) => Err(ConfigError::Missing(
            "EGRESS_POLICY_FILE, EGRESS_POLICY_S3_URI or EGRESS_POLICY_PARAMETER",
        )),
    }
}

/// The request path's policy: the policy source with the kill-switch parameter laid over it when
/// `EGRESS_KILL_SWITCH_PARAMETER` is set (always, in the template).
pub async fn guarded_policy_source(sdk: &aws_config::SdkConfig) -> Result<Arc<dyn PolicySource>, ConfigError> {
    let policy = policy_source_from_env(sdk).await?;
    let Ok(name) = std::env::var(env::KILL_SWITCH_PARAMETER) else {
        tracing::warn!(
            "{} not set: only the policy document's kill switch applies",
            env::KILL_SWITCH_PARAMETER
        );
        return Ok(policy);
    };
    let guard = KillSwitchGuard::new(
        policy,
        SsmFetcher::new(aws_sdk_ssm::Client::new(sdk), name),
        KILL_SWITCH_AGE,
    );
    guard.refresh().await;
    Ok(Arc::new(guard))
}
