//! `watch`: reads the kill-switch parameter every second (the gateway's own semantics,
//! [`KillSwitchState::after_read`]) and rewrites the state file `acl` obeys. While engaged it can also end
//! the tunnels already open ([`CutTunnels`], `EGRESS_PROXY_CUT_TUNNELS`): with `ss -K`, the kernel's
//! socket-destroy call (SOCK_DESTROY, Linux 4.5+), which needs `CAP_NET_ADMIN`; or, where no container
//! may have that capability (ECS on Fargate adds only `SYS_PTRACE`), by stopping the proxy when the
//! switch is engaged, so its every connection ends and the orchestrator starts a fresh one.

use std::path::PathBuf;

use egress_core::{KillSwitchState, PolicyFetcher, SsmFetcher};

use crate::env;
use crate::kill_switch::{write_state, POLL_EVERY};

/// How open tunnels end when the kill switch is engaged (`EGRESS_PROXY_CUT_TUNNELS`). New connections
/// are refused in every mode (`acl` reads the state file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CutTunnels {
    /// `0` or unset: open tunnels run until they end on their own.
    Never,
    /// `1`: at every poll while engaged, `ss -K` destroys the client connections of this port. Needs
    /// `CAP_NET_ADMIN`, checked at start: without it `ss -K` fails silently (it exits 0).
    Destroy {
        /// The agents' port (`EGRESS_PROXY_PORT`).
        port: u16,
    },
    /// `restart`: when the switch goes from released to engaged while this proxy runs, `watch` exits, and
    /// the entrypoint stops Squid with it (every connection ends); the orchestrator starts a new task,
    /// which refuses from its first connection. A proxy that starts engaged does not stop again.
    Restart,
}

impl CutTunnels {
    /// The mode `value` names (`0`, `1`, `restart`; unset is `0`); `port` is the agents' port (`1`
    /// needs it). Anything else is an error: a typo must not silently leave tunnels open.
    pub fn parse(value: Option<&str>, port: Option<&str>) -> Result<Self, String> {
        match value.map(str::trim) {
            None | Some("" | "0") => Ok(Self::Never),
            Some("1") => port
                .and_then(|p| p.parse().ok())
                .map(|port| Self::Destroy { port })
                .ok_or_else(|| format!("{}=1 needs {}", env::CUT_TUNNELS, env::PORT)),
            Some("restart") => Ok(Self::Restart),
            Some(other) => Err(format!("{}={other}: expected 0, 1 or restart", env::CUT_TUNNELS)),
        }
    }
}

/// What `watch` reads, where it writes, and how it ends open tunnels.
pub struct WatchSettings {
    /// The kill switch's SSM parameter name (`EGRESS_KILL_SWITCH_PARAMETER`).
    pub parameter: String,
    /// Where the state file is written (the settings' `state_dir`, which `acl` reads).
    pub state_dir: PathBuf,
    /// How open tunnels end while engaged.
    pub cut: CutTunnels,
}

/// Why `watch` ended.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// `EGRESS_PROXY_CUT_TUNNELS=1` without the capability `ss -K` needs.
    #[error(
        "{}=1 needs CAP_NET_ADMIN, which this process lacks (on ECS Fargate use restart)",
        env::CUT_TUNNELS
    )]
    NoNetAdmin,
    /// The kill switch was engaged in `restart` mode: the proxy stops so that its open tunnels end.
    #[error(
        "kill switch engaged: stopping the proxy so that every open tunnel ends ({}=restart)",
        env::CUT_TUNNELS
    )]
    EngagedRestart,
}

/// `CAP_NET_ADMIN` (capability 12, capabilities(7)) in this process's effective set, from
/// `/proc/self/status` (`CapEff`, hexadecimal). Unreadable counts as absent.
pub fn has_net_admin() -> bool {
    const CAP_NET_ADMIN: u32 = 12;
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let hex = status
                .lines()
                .find_map(|l| l.strip_prefix("CapEff:"))?
                .trim()
                .to_owned();
            u64::from_str_radix(&hex, 16).ok()
        })
        .is_some_and(|caps| caps & (1 << CAP_NET_ADMIN) != 0)
}

/// Whether `restart` mode stops the proxy on this read: only on a change from released to engaged seen
/// by this process (a proxy that starts engaged, or stays engaged, keeps running and refusing).
pub fn restart_on(previous: Option<&KillSwitchState>, next: &KillSwitchState) -> bool {
    matches!(next, KillSwitchState::Engaged { .. })
        && previous.is_some_and(|p| !matches!(p, KillSwitchState::Engaged { .. }))
}

/// Polls the parameter every [`POLL_EVERY`] and rewrites the state file until the process ends (read
/// and write errors are logged, never returned); ends open tunnels while engaged as `settings.cut` says.
/// Returns only to stop the proxy: the capability `Destroy` needs is missing, or `Restart` saw the
/// switch engaged.
pub async fn run(settings: WatchSettings) -> Result<(), WatchError> {
    if matches!(settings.cut, CutTunnels::Destroy { .. }) && !has_net_admin() {
        return Err(WatchError::NoNetAdmin);
    }
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
        let mut restart = false;
        if let Some(next) = KillSwitchState::after_read(state.as_ref(), read, &source) {
            if state.as_ref() != Some(&next) {
                tracing::info!(source = %source, state = ?next, "kill-switch state");
            }
            restart = settings.cut == CutTunnels::Restart && restart_on(state.as_ref(), &next);
            state = Some(next);
        }
        let Some(current) = &state else { continue };
        if let Err(e) = write_state(&settings.state_dir, current) {
            tracing::error!(error = %e, dir = %settings.state_dir.display(), "kill-switch state not written");
        }
        // After the state file says engaged: new connections are refused before the old ones end.
        if restart {
            tracing::warn!("kill switch engaged: stopping the proxy so that every open tunnel ends");
            return Err(WatchError::EngagedRestart);
        }
        if let (KillSwitchState::Engaged { .. }, CutTunnels::Destroy { port }) = (current, settings.cut) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes() {
        assert_eq!(CutTunnels::parse(None, None), Ok(CutTunnels::Never));
        assert_eq!(CutTunnels::parse(Some("0"), None), Ok(CutTunnels::Never));
        assert_eq!(
            CutTunnels::parse(Some("1"), Some("3128")),
            Ok(CutTunnels::Destroy { port: 3128 })
        );
        assert!(CutTunnels::parse(Some("1"), None).is_err());
        assert_eq!(CutTunnels::parse(Some("restart"), None), Ok(CutTunnels::Restart));
        for typo in ["yes", "true", "Restart", "2"] {
            assert!(CutTunnels::parse(Some(typo), Some("3128")).is_err(), "{typo}");
        }
    }

    #[test]
    fn restart_only_on_a_change_to_engaged_seen_while_running() {
        let engaged = KillSwitchState::Engaged { reason: "test".into() };
        let released = KillSwitchState::Off;
        assert!(restart_on(Some(&released), &engaged));
        assert!(
            !restart_on(None, &engaged),
            "started engaged: keep running (no restart loop)"
        );
        assert!(!restart_on(Some(&engaged), &engaged));
        assert!(!restart_on(Some(&released), &released));
        assert!(!restart_on(Some(&engaged), &released));
    }
}
