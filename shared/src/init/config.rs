//! Configuration read once at init, from the environment.

use std::time::Duration;

/// Why a function cannot start: a setting in its environment is missing or unusable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A required setting is unset (the variable's name, or the alternatives).
    #[error("missing configuration: {0}")]
    Missing(&'static str),
    /// A setting is set but unusable (unparsable, too short, or naming a secret that cannot be read).
    #[error("invalid configuration {name}: {detail}")]
    Invalid {
        /// The environment variable.
        name: &'static str,
        /// What is wrong with its value.
        detail: String,
    },
}

/// Which timeouts a function's SDK clients get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timeouts {
    /// The request path: a stuck dependency must become a 503 the caller can retry, not a hung agent.
    RequestPath,
    /// The stream publisher: a slow PutEvents that times out on our side may still have been applied,
    /// so a short timeout turns slowness into duplicate events. Wait longer, but bounded well inside the
    /// function's 60 s: a failed call hands the batch back to the event source at once.
    Publisher,
}

/// Loads the AWS SDK configuration once; endpoints come from `AWS_ENDPOINT_URL_*` locally.
pub async fn sdk_config(timeouts: Timeouts) -> aws_config::SdkConfig {
    let (attempt, operation) = match timeouts {
        Timeouts::RequestPath => (Duration::from_secs(2), Duration::from_secs(5)),
        Timeouts::Publisher => (Duration::from_secs(8), Duration::from_secs(20)),
    };
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(Duration::from_millis(500))
                .operation_attempt_timeout(attempt)
                .operation_timeout(operation)
                .build(),
        )
        .load()
        .await
}

/// The value of the environment variable `name`, which must be set.
pub fn required(name: &'static str) -> Result<String, ConfigError> {
    std::env::var(name).map_err(|_| ConfigError::Missing(name))
}

/// The organization whose IAM callers the front-door routes serve (`EGRESS_ORGANIZATION_ID`): unset or
/// blank is none; set to anything but an organization id stops the function at init (a typo must not
/// open the routes to every account the function URL's policy admits, nor close them silently).
pub fn organization() -> Result<Option<crate::identity::OrganizationId>, ConfigError> {
    match std::env::var(crate::env::ORGANIZATION_ID) {
        Ok(v) if !v.trim().is_empty() => {
            crate::identity::OrganizationId::parse(&v)
                .map(Some)
                .ok_or_else(|| ConfigError::Invalid {
                    name: crate::env::ORGANIZATION_ID,
                    detail: "not an AWS Organizations id (o- and 10 to 32 lowercase letters or digits)".into(),
                })
        }
        _ => Ok(None),
    }
}

/// `EGRESS_DEV_MODE=1` (exactly) enables the local principal header. Anything else is off.
pub fn dev_mode() -> bool {
    std::env::var(crate::env::DEV_MODE).is_ok_and(|v| v == "1")
}

/// The environment variable `name` as an integer, or `default` when unset; set but not one is an error.
pub fn parse_u64(name: &'static str, default: u64) -> Result<u64, ConfigError> {
    match std::env::var(name) {
        Err(_) => Ok(default),
        Ok(v) => v.parse().map_err(|e: std::num::ParseIntError| ConfigError::Invalid {
            name,
            detail: e.to_string(),
        }),
    }
}
