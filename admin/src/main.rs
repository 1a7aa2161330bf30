//! egress-admin: the operators' command-line tool. `approvals ls|show|grant|deny|wait` for approvers,
//! against the API (SigV4 with the caller's AWS credentials, a bearer token, or the development header
//! locally); `proxy token|env` for agents and their operators (a proxy token, the `HTTPS_PROXY` lines);
//! `kill-switch status|engage|release` and `redrive` for operators, against the stack's parameter, queue,
//! table and bus (`--stack` reads them from its outputs). Readable output by default, `--json` for
//! scripts; the exit code says what kind of failure it was (error.rs).

mod api;
mod approvals;
mod cli;
mod error;
mod kill_switch;
mod proxy;
mod redrive;
mod stack;

use std::process::ExitCode;

use clap::Parser;
use serde_json::json;

#[tokio::main]
async fn main() -> ExitCode {
    // clap's own errors exit 2 (usage) with its text, before --json is known.
    let cli = cli::Cli::parse();
    let as_json = cli.json;
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let (class, hint) = error::classify(&e);
            match as_json {
                true => eprintln!(
                    "{}",
                    json!({"error": class.name(), "message": format!("{e:#}"), "exit_code": class.code(), "hint": hint})
                ),
                false => {
                    eprintln!("egress-admin: {e:#}");
                    if let Some(h) = hint {
                        eprintln!("hint: {h}");
                    }
                }
            }
            ExitCode::from(class.code())
        }
    }
}

async fn run(mut cli: cli::Cli) -> anyhow::Result<()> {
    if let Some(name) = &cli.api.stack {
        cli.api.outputs = Some(stack::Outputs::load(name, cli.api.region.as_deref()).await?);
    }
    match cli.command {
        cli::Command::Approvals { command } => approvals::run(&cli.api, cli.json, command).await,
        cli::Command::Proxy { command } => proxy::run(&cli.api, cli.json, command).await,
        cli::Command::KillSwitch(args) => kill_switch::run(&cli.api, cli.json, args).await,
        cli::Command::Redrive(args) => redrive::run(&cli.api, &args, cli.json).await,
    }
}
