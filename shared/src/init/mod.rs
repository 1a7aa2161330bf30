//! Function init: configuration from the environment, the services wired from it, and JSON logs.

mod config;
mod secrets;
mod telemetry;
mod wiring;

pub use config::{dev_mode, parse_u64, required, sdk_config, ConfigError, Timeouts};
pub use telemetry::{in_invocation, init as init_telemetry, invocation_id};
pub use wiring::{
    approvals_service, create_service, event_bus, guarded_policy_source, list_service, policy_source_from_env,
    proxy_keys, proxy_tokens_service, DEFAULT_IDEMPOTENCY_TTL_SECS,
};
