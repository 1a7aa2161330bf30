//! `egress-admin kill-switch status|engage|release [--wait]`: the kill-switch parameter, which no deploy
//! owns (DESIGN §9), read and flipped with the caller's AWS credentials; `--wait` confirms the flip
//! through the API as callers see it, within the 5 s the gateway promises.

use std::time::{Duration, Instant};

use anyhow::Context;
use aws_sdk_ssm::types::ParameterType;
use egress_core::KillSwitchState;
use serde_json::{json, Value};

use crate::api::Api;
use crate::cli::{ApiOptions, KillSwitchArgs, KillSwitchCommand, WaitArgs};
use crate::error::{self, usage, Class, Error};
use crate::stack;

/// The gateway applies a flip within this (DESIGN §9; each container re-reads the parameter every 4 s).
const APPLIED_WITHIN: Duration = Duration::from_secs(5);
/// What the gateway reads as "not engaged", and the longest reason it keeps (its own definitions).
const OFF: &str = KillSwitchState::OFF;
const MAX_REASON_CHARS: usize = KillSwitchState::MAX_REASON_CHARS;

pub async fn run(options: &ApiOptions, as_json: bool, args: KillSwitchArgs) -> anyhow::Result<()> {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(region) = &options.region {
        loader = loader.region(aws_config::Region::new(region.clone()));
    }
    let ssm = aws_sdk_ssm::Client::new(&loader.load().await);
    let parameter = stack::pick(
        args.parameter.as_deref(),
        options.outputs.as_ref(),
        "KillSwitchParameterName",
        "--parameter",
    )?;
    let (value, wait, engage) = match args.command {
        KillSwitchCommand::Status => return status(&ssm, &parameter, as_json).await,
        KillSwitchCommand::Engage { reason, wait } => {
            let reason = reason.trim().to_owned();
            // The gateway's own reading decides what would not engage (`off` in any case, trimmed).
            let releases = KillSwitchState::from_value(&reason) == KillSwitchState::Off;
            if reason.is_empty() || releases || reason.chars().count() > MAX_REASON_CHARS {
                return Err(usage(format!("the reason: 1-{MAX_REASON_CHARS} characters, and not `{OFF}`")).into());
            }
            (reason, wait, true)
        }
        KillSwitchCommand::Release { wait } => (OFF.to_owned(), wait, false),
    };
    // Engaging a name that does not exist would create a new parameter and report success while the
    // stack's switch stays as it was (a typo, another region): only `release` creates the parameter.
    if engage && read(&ssm, &parameter).await?.is_none() {
        return Err(Error::new(
            Class::NotFound,
            format!("{parameter} does not exist (in this region): check --parameter and --region; a stack whose parameter is missing already denies every request, and `release` creates it"),
        )
        .into());
    }
    ssm.put_parameter()
        .name(&parameter)
        .value(&value)
        .r#type(ParameterType::String)
        .overwrite(true)
        .send()
        .await
        .map_err(|e| error::sdk(&format!("putting {parameter}"), e))?;
    let flipped = Instant::now();
    let state = if engage { "engaged" } else { "off" };
    let confirmed = match wait.wait {
        true => Some(
            confirm(options, &wait, engage, flipped)
                .await
                .with_context(|| format!("{parameter} is now {state}, but"))?,
        ),
        false => None,
    };
    match as_json {
        true => println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "parameter": parameter, "state": state,
                "confirmed_after_ms": confirmed.map(|d| d.as_millis() as u64),
            }))?
        ),
        false => match confirmed {
            Some(after) => println!(
                "kill switch {state}: the API confirmed it after {:.1} s",
                after.as_secs_f64()
            ),
            None => println!("kill switch {state} ({parameter}); the gateway applies it within 5 s"),
        },
    }
    Ok(())
}

/// The parameter's value, `None` when it does not exist.
async fn read(ssm: &aws_sdk_ssm::Client, parameter: &str) -> anyhow::Result<Option<String>> {
    match ssm.get_parameter().name(parameter).send().await {
        Ok(out) => Ok(Some(out.parameter().and_then(|p| p.value()).unwrap_or("").to_owned())),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_parameter_not_found()) => Ok(None),
        Err(e) => Err(error::sdk(&format!("reading {parameter}"), e).into()),
    }
}

async fn status(ssm: &aws_sdk_ssm::Client, parameter: &str, as_json: bool) -> anyhow::Result<()> {
    let (state, reason) = match read(ssm, parameter).await? {
        Some(value) => match KillSwitchState::from_value(&value) {
            KillSwitchState::Off => ("off", None),
            KillSwitchState::Engaged { reason } => ("engaged", Some(reason)),
        },
        None => (
            "missing",
            Some("the parameter does not exist: the gateway denies every request until it is released".to_owned()),
        ),
    };
    match as_json {
        true => println!(
            "{}",
            serde_json::to_string_pretty(&json!({"parameter": parameter, "state": state, "reason": reason}))?
        ),
        false => match reason {
            Some(r) => println!("{state}: {r}"),
            None => println!("{state}"),
        },
    }
    Ok(())
}

/// Probes the API until the gateway's promise has passed (5 s after the flip) and confirms only if every
/// probe from some point on decided as the switch now says (`kill_switch` after an engage, anything else
/// after a release): each function container re-reads the parameter on its own clock, so one agreeing
/// answer could come from a container that is already up to date while another is not. The time from the
/// flip to the first probe of that agreeing run.
async fn confirm(options: &ApiOptions, wait: &WaitArgs, engaged: bool, flipped: Instant) -> anyhow::Result<Duration> {
    let api = Api::connect(options).await?;
    let body = json!({
        "domain": wait.probe_domain,
        "zone": wait.probe_zone,
        "purpose": "egress-admin kill-switch probe",
    });
    let mut agreeing_since: Option<Duration> = None;
    loop {
        let sent = flipped.elapsed();
        let answer: Value = api.post("/v1/egress/requests", &body).await?;
        let agrees = (answer["reason"] == "kill_switch") == engaged;
        agreeing_since = match agrees {
            true => agreeing_since.or(Some(sent)),
            false => None,
        };
        if flipped.elapsed() >= APPLIED_WITHIN {
            return agreeing_since.ok_or_else(|| {
                anyhow::anyhow!(
                    "the API did not confirm it within {} s: a probe was still decided {} ({}); check the functions' read access to the parameter and the KillSwitchAgeSeconds metric",
                    APPLIED_WITHIN.as_secs(),
                    answer["decision"].as_str().unwrap_or("?"),
                    answer["reason"].as_str().unwrap_or("?"),
                )
            });
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
