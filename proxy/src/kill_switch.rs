//! The kill switch as the proxy sees it: `watch` reads the parameter every second and rewrites a state
//! file; every `acl` decision reads that file before it asks the gateway. The file is rewritten on every
//! read, so its age says whether `watch` is alive: a file older than [`STALE_AFTER`], missing or
//! unreadable counts as engaged (fail closed). Writes are atomic (temp file + rename).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use egress_core::KillSwitchState;

use crate::protocol::Reply;

/// How often `watch` reads the parameter (ENFORCEMENT: new connections refused within 2 s).
pub const POLL_EVERY: Duration = Duration::from_secs(1);
/// A state older than this means `watch` stopped: refuse.
pub const STALE_AFTER: Duration = Duration::from_secs(5);

const FILE: &str = "kill-switch";
const OFF: &str = "off";

/// The state file in `dir` (the settings' `state_dir`): `off`, or `engaged: <reason>`.
pub fn state_path(dir: &Path) -> PathBuf {
    dir.join(FILE)
}

/// What `acl` does with a connection, from the state file alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    /// A fresh `off`: ask the gateway.
    Open,
    /// Refused without asking the gateway, with the reason code given to the agent.
    Closed {
        /// Always `kill_switch`, whether engaged or unknown.
        reason: &'static str,
        /// The engaged state's text, or why the state is unknown (missing, unreadable, stale).
        detail: String,
    },
}

impl Gate {
    /// Squid's answer to a closed gate (`ERR` with the decision, reason and message notes the error page
    /// and the access log show), the same from every helper that reads the switch; `None` when open.
    pub fn refusal(self) -> Option<Reply> {
        match self {
            Gate::Open => None,
            Gate::Closed { reason, detail } => Some(
                Reply::err()
                    .note("decision", "deny")
                    .note("reason", reason)
                    .note("message", detail),
            ),
        }
    }
}

/// Reads the state file in `dir` at `now`.
pub fn gate(dir: &Path, now: SystemTime) -> Gate {
    let path = state_path(dir);
    let unknown = |detail: String| Gate::Closed {
        reason: "kill_switch",
        detail,
    };
    let age = match std::fs::metadata(&path).and_then(|m| m.modified()) {
        Ok(modified) => now.duration_since(modified).unwrap_or_default(),
        Err(e) => return unknown(format!("kill-switch state unreadable ({e}): refused")),
    };
    if age > STALE_AFTER {
        return unknown(format!(
            "kill-switch state {}s old: watch not running, refused",
            age.as_secs()
        ));
    }
    match std::fs::read_to_string(&path) {
        Ok(text) if text.trim() == OFF => Gate::Open,
        Ok(text) => unknown(text.trim().to_owned()),
        Err(e) => unknown(format!("kill-switch state unreadable ({e}): refused")),
    }
}

/// Writes `state` to the file in `dir`.
pub fn write_state(dir: &Path, state: &KillSwitchState) -> std::io::Result<()> {
    let text = match state {
        KillSwitchState::Off => OFF.to_owned(),
        KillSwitchState::Engaged { reason } => format!("engaged: {reason}"),
    };
    let tmp = dir.join(format!(".{FILE}.{}", std::process::id()));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_data()?;
    std::fs::rename(&tmp, state_path(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("egress-ks-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn only_a_fresh_off_opens_the_gate() {
        let d = dir("fresh");
        let now = SystemTime::now();
        assert!(matches!(gate(&d, now), Gate::Closed { .. }), "no file: closed");
        write_state(&d, &KillSwitchState::Off).unwrap();
        assert_eq!(gate(&d, SystemTime::now()), Gate::Open);
        assert!(
            matches!(
                gate(&d, SystemTime::now() + STALE_AFTER + Duration::from_secs(1)),
                Gate::Closed { .. }
            ),
            "a stale off is closed"
        );
        write_state(
            &d,
            &KillSwitchState::Engaged {
                reason: "incident 42".into(),
            },
        )
        .unwrap();
        assert_eq!(
            gate(&d, SystemTime::now()),
            Gate::Closed {
                reason: "kill_switch",
                detail: "engaged: incident 42".into()
            }
        );
        std::fs::write(state_path(&d), "OFF but not quite").unwrap();
        assert!(matches!(gate(&d, SystemTime::now()), Gate::Closed { .. }));
    }
}
