//! `switch`: Squid's `external_acl_type` helper on the proxy's one exception (DESIGN §12), a CONNECT to
//! the gateway's own API without a token. That path asks the gateway nothing, so the kill switch is read
//! here, from the state file `watch` writes and `acl` reads ([`gate`]): `OK` only for a fresh `off`;
//! engaged, missing, unreadable or stale (watch stopped) is `ERR` with `decision=deny
//! reason=kill_switch`, and the connection is refused. While the switch is engaged nothing passes the
//! proxy, the gateway's own API included.
//!
//! Input (`external_acl_type egress_switch` in `infra/proxy/squid.conf`): `%>rd %DATA`, read for the
//! log only; the answer depends on the state file alone.

use std::path::PathBuf;
use std::time::SystemTime;

use crate::kill_switch::gate;
use crate::protocol::{HelperLine, Reply};
use crate::serve::Handler;

/// The `switch` mode, reading the kill switch's state file in `state_dir`.
pub struct Switch {
    state_dir: PathBuf,
}

impl Switch {
    /// A `switch` helper reading the state file in `state_dir` (the settings' `state_dir`, as `acl`).
    pub fn new(state_dir: PathBuf) -> Self {
        Self { state_dir }
    }
}

impl Handler for Switch {
    async fn handle(&self, _line: HelperLine) -> Reply {
        gate(&self.state_dir, SystemTime::now())
            .refusal()
            .unwrap_or_else(Reply::ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kill_switch::write_state;
    use crate::protocol::parse_line;
    use egress_core::KillSwitchState;

    #[tokio::test]
    async fn only_a_fresh_off_lets_the_exception_through() {
        let d = std::env::temp_dir().join(format!("egress-switch-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        let switch = Switch::new(d.clone());
        let ask = || parse_line("4 gateway-api.example.com -").unwrap();
        let missing = switch.handle(ask()).await.line("4");
        assert!(
            missing.starts_with("4 ERR decision=\"deny\" reason=\"kill_switch\""),
            "{missing}"
        );
        write_state(&d, &KillSwitchState::Off).unwrap();
        assert_eq!(switch.handle(ask()).await.line("4"), "4 OK\n");
        write_state(&d, &KillSwitchState::Engaged { reason: "INC-1".into() }).unwrap();
        let engaged = switch.handle(ask()).await.line("4");
        assert!(
            engaged.starts_with("4 ERR decision=\"deny\" reason=\"kill_switch\""),
            "{engaged}"
        );
        assert!(engaged.contains("INC-1"), "{engaged}");
        let _ = std::fs::remove_dir_all(&d);
    }
}
