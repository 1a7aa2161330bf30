//! `watch`: reads the kill-switch parameter every second (the gateway's own semantics,
//! [`KillSwitchState::after_read`]) and rewrites the state file `acl` obeys. With
//! `EGRESS_PROXY_CUT_TUNNELS=1`, while engaged it also closes every open client connection of the proxy
//! port (tunnels included) with `ss -K`, the kernel's socket-destroy call (SOCK_DESTROY, Linux 4.5+).

use std::path::PathBuf;

use egress_core::{KillSwitchState, PolicyFetcher, SsmFetcher};

use crate::kill_switch::{write_state, POLL_EVERY};

/// What `watch` reads, where it writes, and whether it cuts open connections.
pub struct WatchSettings {
    /// The kill switch's SSM parameter name (`EGRESS_KILL_SWITCH_PARAMETER`).
    pub parameter: String,
    /// Where the state file is written (the settings' `state_dir`, which `acl` reads).
    pub state_dir: PathBuf,
    /// The proxy port whose client connections are cut while engaged; `None`: never cut.
    pub cut_port: Option<u16>,
}

/// Polls the parameter every [`POLL_EVERY`] and rewrites the state file until the process ends (errors
/// are logged, never returned); cuts open connections at each poll while engaged, when asked to.
pub async fn run(settings: WatchSettings) -> std::io::Result<()> {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let fetcher = SsmFetcher::new(aws_sdk_ssm::Client::new(&config), settings.parameter.clone());
    let source = fetcher.describe();
    let mut state: Option<KillSwitchState> = None;
    let mut ticker = tokio::time::interval(POLL_EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        // A read slower than the poll interval must not stall the file: the file then ages, and acl
        // refuses on its own past STALE_AFTER.
        let read = match tokio::time::timeout(POLL_EVERY * 2, fetcher.fetch()).await {
            Ok(read) => read,
            Err(_) => {
                tracing::warn!(source = %source, "kill-switch read timed out");
                continue;
            }
        };
        if let Some(next) = KillSwitchState::after_read(state.as_ref(), read, &source) {
            if state.as_ref() != Some(&next) {
                tracing::info!(source = %source, state = ?next, "kill-switch state");
            }
            state = Some(next);
        }
        let Some(current) = &state else { continue };
        if let Err(e) = write_state(&settings.state_dir, current) {
            tracing::error!(error = %e, dir = %settings.state_dir.display(), "kill-switch state not written");
        }
        if let (KillSwitchState::Engaged { .. }, Some(port)) = (current, settings.cut_port) {
            cut_connections(port).await;
        }
    }
}

async fn cut_connections(port: u16) {
    let filter = format!("( sport = :{port} )");
    match tokio::process::Command::new("ss")
        .args(["-K", "-t", "-n", "state", "established", &filter])
        .stdout(std::process::Stdio::null())
        .status()
        .await
    {
        Ok(s) if s.success() => {}
        Ok(s) => tracing::error!(status = %s, "ss -K failed: open tunnels not cut"),
        Err(e) => tracing::error!(error = %e, "ss not runnable: open tunnels not cut"),
    }
}
