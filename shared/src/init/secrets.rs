//! Secrets Manager reads at init: the cursor key and the proxy-token secret, each a secret the stack
//! generates. Read once per container; a rotation takes effect as containers start.

use super::config::ConfigError;

/// The string value of secret `id` at version stage `stage` (`AWSCURRENT`, `AWSPREVIOUS`). `Ok(None)`:
/// the secret has no version in that stage (no rotation yet). `name` is the variable that named the secret,
/// for the error.
pub(super) async fn read_secret(
    sdk: &aws_config::SdkConfig,
    name: &'static str,
    id: &str,
    stage: &str,
) -> Result<Option<String>, ConfigError> {
    let unreadable = |detail: String| ConfigError::Invalid { name, detail };
    let answer = aws_sdk_secretsmanager::Client::new(sdk)
        .get_secret_value()
        .secret_id(id)
        .version_stage(stage)
        .send()
        .await;
    match answer {
        Ok(v) => v
            .secret_string
            .map(Some)
            .ok_or_else(|| unreadable(format!("{id} has no string value"))),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception())
                && stage != CURRENT =>
        {
            Ok(None)
        }
        Err(e) => Err(unreadable(
            aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string(),
        )),
    }
}

pub(super) const CURRENT: &str = "AWSCURRENT";
pub(super) const PREVIOUS: &str = "AWSPREVIOUS";
