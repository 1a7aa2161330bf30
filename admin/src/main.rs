//! egress-admin: the operators' command-line tool. `approvals ls|show|grant|deny` for approvers, against
//! the API (SigV4 with the caller's AWS credentials, a bearer token, or the development header locally);
//! `proxy token|env` for agents and their operators (a proxy token, the `HTTPS_PROXY` lines);
//! `kill-switch status|engage|release` and `redrive` for operators, against the stack's parameter, queue,
//! table and bus. Readable output by default,
//! `--json` for scripts.

mod api;
mod approvals;
mod cli;
mod kill_switch;
mod proxy;
mod redrive;

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    let result = match cli.command {
        cli::Command::Approvals { command } => approvals::run(&cli.api, cli.json, command).await,
        cli::Command::Proxy { command } => proxy::run(&cli.api, cli.json, command).await,
        cli::Command::KillSwitch(args) => kill_switch::run(&cli.api, cli.json, args).await,
        cli::Command::Redrive(args) => redrive::run(&args, cli.json).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("egress-admin: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
