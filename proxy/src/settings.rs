//! The helper's settings, from the environment the entrypoint script gives Squid's helpers
//! (`infra/proxy/entrypoint.sh`, DESIGN §12).

use std::path::PathBuf;
use std::time::Duration;

use crate::env;

/// How long the gateway may take to decide: past it the answer is `ERR` (a refusal), never a retry.
pub const GATEWAY_TIMEOUT: Duration = Duration::from_secs(2);

/// Why the environment does not configure the helper.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A required variable (named) is unset or blank.
    #[error("{0} is not set")]
    Missing(&'static str),
    /// A URL variable does not parse.
    #[error("{name} is not a valid URL: {value}")]
    BadUrl {
        /// The variable's name.
        name: &'static str,
        /// Its value, trailing `/` removed.
        value: String,
    },
}

/// What every mode needs to reach the gateway and share state.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The gateway's API base URL (`https://<api-id>.execute-api.<region>.amazonaws.com`, or the local stack).
    pub gateway_url: String,
    /// The region SigV4 signs for (`execute-api`).
    pub region: String,
    /// Local stack only: the principal the gateway's dev header names (the proxy's role). In AWS the
    /// gateway reads the caller from the signed request, and this is unset.
    pub dev_principal: Option<String>,
    /// Where `watch` writes the kill switch's state and `acl` reads it.
    pub state_dir: PathBuf,
}

impl Settings {
    /// Reads `EGRESS_GATEWAY_URL`, `AWS_REGION` (or `AWS_DEFAULT_REGION`), `EGRESS_PROXY_STATE_DIR` and
    /// the optional `EGRESS_GATEWAY_DEV_PRINCIPAL`; blank counts as unset.
    pub fn from_env() -> Result<Self, SettingsError> {
        let var = |name: &'static str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let gateway_url = var(env::GATEWAY_URL).ok_or(SettingsError::Missing(env::GATEWAY_URL))?;
        let gateway_url = gateway_url.trim_end_matches('/').to_owned();
        if reqwest::Url::parse(&gateway_url).is_err() {
            return Err(SettingsError::BadUrl {
                name: env::GATEWAY_URL,
                value: gateway_url,
            });
        }
        Ok(Self {
            gateway_url,
            region: var("AWS_REGION")
                .or_else(|| var("AWS_DEFAULT_REGION"))
                .ok_or(SettingsError::Missing("AWS_REGION"))?,
            dev_principal: var(env::GATEWAY_DEV_PRINCIPAL),
            state_dir: var(env::STATE_DIR)
                .map(PathBuf::from)
                .ok_or(SettingsError::Missing(env::STATE_DIR))?,
        })
    }
}
