//! The environment variables the helper reads: one name each. The entrypoint (`infra/proxy/entrypoint.sh`)
//! sets, reads or documents (in its header, for what passes through) every one of them, and a test below
//! holds it to that, so a name renamed on one side fails the tests instead of leaving a mode unconfigured. The gateway's own names (the kill-switch
//! parameter) stay in `egress_core::env`.

/// The gateway's API base URL the helper sends its signed requests to.
pub const GATEWAY_URL: &str = "EGRESS_GATEWAY_URL";
/// A principal to send as the local stack's dev header (local stack only; never set in AWS).
pub const GATEWAY_DEV_PRINCIPAL: &str = "EGRESS_GATEWAY_DEV_PRINCIPAL";
/// Where `watch` writes the kill switch's state and `acl` and `switch` read it.
pub const STATE_DIR: &str = "EGRESS_PROXY_STATE_DIR";
/// The port agents connect to; `watch`'s `ss -K` cut selects tunnels by it.
pub const PORT: &str = "EGRESS_PROXY_PORT";
/// How an engaged kill switch ends open tunnels: `0`, `1` (ss -K) or `restart` ([`crate::watch`]).
pub const CUT_TUNNELS: &str = "EGRESS_PROXY_CUT_TUNNELS";
/// The per-start key the tunnel leg's `admit` checks relayed decisions with.
pub const TUNNEL_KEY: &str = "EGRESS_PROXY_TUNNEL_KEY";
/// The loopback address the DNS filter listens on (port 53).
pub const DNS_LISTEN: &str = "EGRESS_PROXY_DNS_LISTEN";
/// The upstream nameservers the DNS filter asks (default: /etc/resolv.conf's).
pub const DNS: &str = "EGRESS_PROXY_DNS";
/// The rendered internal address list the DNS filter drops from answers.
pub const RANGES_FILE: &str = "EGRESS_PROXY_RANGES_FILE";

/// Every name above, for the test that holds the entrypoint to them.
pub const ALL: [&str; 9] = [
    GATEWAY_URL,
    GATEWAY_DEV_PRINCIPAL,
    STATE_DIR,
    PORT,
    CUT_TUNNELS,
    TUNNEL_KEY,
    DNS_LISTEN,
    DNS,
    RANGES_FILE,
];

#[cfg(test)]
mod tests {
    use super::ALL;

    const ENTRYPOINT: &str = include_str!("../../infra/proxy/entrypoint.sh");

    #[test]
    fn the_entrypoint_knows_every_name_the_helper_reads() {
        for name in ALL {
            // The whole name: EGRESS_PROXY_DNS inside EGRESS_PROXY_DNS_LISTEN does not count.
            let whole = ENTRYPOINT.match_indices(name).any(|(at, _)| {
                let next = ENTRYPOINT[at + name.len()..].chars().next();
                !next.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
            });
            assert!(
                whole,
                "{name} is read by the helper but the entrypoint neither sets nor documents it"
            );
        }
    }

    /// The helper reads its environment through these names only: a literal elsewhere is a second
    /// source for the same fact.
    #[test]
    fn no_module_spells_an_egress_name_itself() {
        let sources = [
            ("acl.rs", include_str!("acl.rs")),
            ("admit.rs", include_str!("admit.rs")),
            ("dns.rs", include_str!("dns.rs")),
            ("main.rs", include_str!("main.rs")),
            ("settings.rs", include_str!("settings.rs")),
            ("switch.rs", include_str!("switch.rs")),
            ("watch.rs", include_str!("watch.rs")),
        ];
        for (file, text) in sources {
            for line in text.lines().filter(|l| !l.trim_start().starts_with("//")) {
                assert!(
                    !line.contains("var(\"EGRESS_"),
                    "{file} reads an EGRESS_ variable by a literal: {line}"
                );
            }
        }
    }
}
