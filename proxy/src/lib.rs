//! The enforcing proxy's helper (`egress-squid-helper`, DESIGN §12): Squid carries the traffic, this
//! crate answers Squid's questions by asking the gateway. Modes, one job each:
//!
//! - [`auth`]: `auth_param basic` helper, checks the proxy token offline (407 when it fails);
//! - [`acl`]: `external_acl_type` helper, one gateway decision per tunnel or plain-HTTP request;
//! - [`admit`]: `external_acl_type` helper at the tunnel leg's door, the relayed decision into its notes;
//! - [`sni`]: `external_acl_type` helper of the tunnel leg, the TLS server name against the CONNECT host;
//! - [`dns`]: the resolver Squid asks, a forwarder that drops internal addresses from every answer;
//! - [`watch`]: follows the kill-switch parameter and writes the state `acl` obeys;
//! - [`ranges`]: prints the internal address list of Squid's `dst` ACL.
//!
//! [`protocol`] and [`serve`] are Squid's helper protocol (channel ids, out-of-order replies), [`stdio`]
//! its channel on the runtime's event loop;
//! [`host`] compares two readings of a host; [`gateway`] the SigV4-signed API client; [`kill_switch`]
//! the state file; [`settings`] the environment, [`mod@env`] its names.

// Every public item says what it is for (issue 20); `make lint` denies warnings.
#![warn(missing_docs)]

pub mod acl;
pub mod admit;
pub mod auth;
pub mod dns;
pub mod env;
pub mod gateway;
pub mod host;
pub mod kill_switch;
pub mod protocol;
pub mod ranges;
pub mod serve;
pub mod settings;
pub mod sni;
pub mod stdio;
pub mod switch;
pub mod watch;
