//! egress-admin: the operators' command-line tool. `approvals ls|show|grant|deny` for approvers, against
//! the API (SigV4 with the caller's AWS credentials, a bearer token, or the development header locally);
//! `proxy token|env` for agents and their operators (a proxy token, the `HTTPS_PROXY` lines); `redrive` for
//! operators, against the stack's queue, table and bus. Readable output by default,
//! `--json` for scripts.

mod api;
mod approvals;
mod cli;
mod proxy;
mod redrive;

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    let result = match cli.command {
        cli::Command::Approvals { command } => approvals::run(&cli.api, cli.json, command).await,
        cli::Command::Proxy { command } => proxy::run(&cli.api, cli.json, command).await,
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
