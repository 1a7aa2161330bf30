//! `make load`: the write-path load test against the running local stack (see `egress_e2e::load`).
//!
//! ```text
//! load [--total N] [--concurrency N] [--replays FRACTION] [--principals N] [--event-timeout SECONDS]
//!      [--receivers N]
//! ```
//! Defaults: 2000 requests, concurrency 50, replay fraction 0.2, 4 principals, 180 s for the events,
//! 1 SQS receiver. The environment can set the same: `LOAD_TOTAL`, `LOAD_CONCURRENCY`, `LOAD_REPLAYS`,
//! `LOAD_PRINCIPALS`, `LOAD_EVENT_TIMEOUT`, `LOAD_RECEIVERS` (flags win). Ports: `LAMBDA_PORT`, `DYNAMODB_PORT`,
//! `MOTO_PORT`. Prints a one-line summary (and every failed check); exits 1 when a check fails.

use std::process::ExitCode;
use std::str::FromStr;
use std::time::Duration;

use egress_e2e::load::{run, LoadConfig};

const USAGE: &str = "usage: load [--total N] [--concurrency N] [--replays FRACTION] [--principals N] \
                     [--event-timeout SECONDS] [--receivers N]";

fn parse<T: FromStr>(name: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("{name}: not a valid value: {value:?}\n{USAGE}"))
}

fn set(name: &str, value: &str, cfg: &mut LoadConfig) -> Result<(), String> {
    match name {
        "total" => cfg.total = parse(name, value)?,
        "concurrency" => cfg.concurrency = parse(name, value)?,
        "replays" => {
            let f: f64 = parse(name, value)?;
            if !(0.0..=0.9).contains(&f) {
                return Err(format!("replays: a fraction from 0 to 0.9, not {value}"));
            }
            cfg.replay_fraction = f;
        }
        "principals" => cfg.principals = parse(name, value)?,
        "receivers" => cfg.receivers = parse(name, value)?,
        "event-timeout" => cfg.event_timeout = Duration::from_secs(parse(name, value)?),
        _ => return Err(format!("unknown option --{name}\n{USAGE}")),
    }
    Ok(())
}

fn config() -> Result<LoadConfig, String> {
    let mut cfg = LoadConfig::default();
    for (var, name) in [
        ("LOAD_TOTAL", "total"),
        ("LOAD_CONCURRENCY", "concurrency"),
        ("LOAD_REPLAYS", "replays"),
        ("LOAD_PRINCIPALS", "principals"),
        ("LOAD_RECEIVERS", "receivers"),
        ("LOAD_EVENT_TIMEOUT", "event-timeout"),
    ] {
        if let Ok(v) = std::env::var(var) {
            if !v.is_empty() {
                set(name, &v, &mut cfg).map_err(|e| format!("{var}: {e}"))?;
            }
        }
    }
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "-h" || arg == "--help" {
            return Err(USAGE.to_owned());
        }
        let Some(flag) = arg.strip_prefix("--") else {
            return Err(format!("unexpected argument {arg:?}\n{USAGE}"));
        };
        let (name, value) = match flag.split_once('=') {
            Some((n, v)) => (n.to_owned(), v.to_owned()),
            None => (
                flag.to_owned(),
                args.next().ok_or_else(|| format!("--{flag} needs a value\n{USAGE}"))?,
            ),
        };
        set(&name, &value, &mut cfg)?;
    }
    if cfg.total == 0 || cfg.concurrency == 0 || cfg.principals == 0 {
        return Err(format!("total, concurrency and principals must be at least 1\n{USAGE}"));
    }
    Ok(cfg)
}

#[tokio::main]
async fn main() -> ExitCode {
    let cfg = match config() {
        Ok(cfg) => cfg,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let report = run(&cfg).await;
    println!("{}", report.details());
    for f in &report.failures {
        println!("load: FAILED: {f}");
    }
    println!("{}", report.summary());
    if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
