//! `egress-admin kill-switch status|engage|release [--wait]`: the kill-switch parameter, which no deploy
//! owns (DESIGN §9), read and flipped with the caller's AWS credentials; `--wait` confirms the flip
//! through the API as callers see it, within the 5 s the gateway promises.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use aws_sdk_ssm::types::ParameterType;
use egress_core::KillSwitchState;
use serde_json::{json, Value};

use crate::api::Api;
use crate::cli::{ApiOptions, KillSwitchArgs, KillSwitchCommand, WaitArgs};

/// The gateway applies a flip within this (DESIGN §9; each container re-reads the parameter every 4 s).
const APPLIED_WITHIN: Duration = Duration::from_secs(5);
/// The text that means "not engaged" (any other text engages, as its reason).
const OFF: &str = "off";
const MAX_REASON_CHARS: usize = 512;

pub async fn run(options: &ApiOptions, as_json: bool, args: KillSwitchArgs) -> anyhow::Result<()> {
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let ssm = aws_sdk_ssm::Client::new(&sdk);
    let (value, wait, engage) = match args.command {
        KillSwitchCommand::Status => return status(&ssm, &args.parameter, as_json).await,
        KillSwitchCommand::Engage { reason, wait } => {
            let reason = reason.trim().to_owned();
            if reason.is_empty() || reason.eq_ignore_ascii_case(OFF) || reason.chars().count() > MAX_REASON_CHARS {
                bail!("the reason: 1-{MAX_REASON_CHARS} characters, and not `{OFF}`");
            }
            (reason, wait, true)
        }
        KillSwitchCommand::Release { wait } => (OFF.to_owned(), wait, false),
    };
    ssm.put_parameter()
        .name(&args.parameter)
        .value(&value)
        .r#type(ParameterType::String)
        .overwrite(true)
        .send()
        .await
        .with_context(|| format!("putting {}", args.parameter))?;
    let flipped = Instant::now();
    let state = if engage { "engaged" } else { "off" };
    let confirmed = match wait.wait {
        true => Some(confirm(options, &wait, engage, flipped).await?),
        false => None,
    };
    match as_json {
        true => println!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "parameter": args.parameter, "state": state,
                "confirmed_after_ms": confirmed.map(|d| d.as_millis() as u64),
            }))?
        ),
        false => match confirmed {
            Some(after) => println!(
                "kill switch {state}: the API confirmed it after {:.1} s",
                after.as_secs_f64()
            ),
            None => println!(
                "kill switch {state} ({}); the gateway applies it within 5 s",
                args.parameter
            ),
        },
    }
    Ok(())
}

async fn status(ssm: &aws_sdk_ssm::Client, parameter: &str, as_json: bool) -> anyhow::Result<()> {
    let read = ssm.get_parameter().name(parameter).send().await;
    let (state, reason) = match read {
        Ok(out) => match KillSwitchState::from_value(out.parameter().and_then(|p| p.value()).unwrap_or("")) {
            KillSwitchState::Off => ("off", None),
            KillSwitchState::Engaged { reason } => ("engaged", Some(reason)),
        },
        Err(e) if e.as_service_error().is_some_and(|s| s.is_parameter_not_found()) => (
            "missing",
            Some("the parameter does not exist: the gateway denies every request until it is released".to_owned()),
        ),
        Err(e) => return Err(e).with_context(|| format!("reading {parameter}")),
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

/// Probes the API until it decides as the switch now says: `kill_switch` after an engage, anything else
/// after a release. The time from the flip to the first probe that showed it.
async fn confirm(options: &ApiOptions, wait: &WaitArgs, engaged: bool, flipped: Instant) -> anyhow::Result<Duration> {
    let api = Api::connect(options).await?;
    let body = json!({
        "domain": wait.probe_domain,
        "zone": wait.probe_zone,
        "purpose": "egress-admin kill-switch probe",
    });
    loop {
        let answer: Value = api.post("/v1/egress/requests", &body).await?;
        let by_switch = answer["reason"] == "kill_switch";
        if by_switch == engaged {
            return Ok(flipped.elapsed());
        }
        if flipped.elapsed() > APPLIED_WITHIN {
            bail!(
                "the API did not confirm within {} s: the probe was still decided {} ({}); check the functions' read access to the parameter and the KillSwitchAgeSeconds metric",
                APPLIED_WITHIN.as_secs(),
                answer["decision"].as_str().unwrap_or("?"),
                answer["reason"].as_str().unwrap_or("?"),
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
