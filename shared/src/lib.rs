//! Egress gateway core. Functions are thin entrypoints over these modules:
//! - [`normalize`]: URL / domain input to a [`normalize::Target`] (its only constructor);
//! - [`special`]: internal and special-purpose targets;
//! - [`policy`] and [`decision`]: the policy document and `authorize_egress`;
//! - [`source`]: where the policy comes from (file, SSM) and its cache;
//! - [`record`], [`store`]: the request resource and the DynamoDB table;
//! - [`events`], [`outbox`]: `egress.*` events and the stream publisher;
//! - [`http`], [`create`], [`list`], [`cursor`]: the HTTP API;
//! - [`wiring`], [`config`], [`telemetry`]: init.

pub mod body;
#[cfg(feature = "aws")]
pub mod config;
#[cfg(feature = "aws")]
pub mod create;
#[cfg(feature = "aws")]
pub mod cursor;
pub mod decision;
#[cfg(feature = "aws")]
pub mod events;
#[cfg(feature = "aws")]
pub mod http;
pub mod identity;
mod idn;
#[cfg(feature = "aws")]
pub mod list;
pub mod normalize;
#[cfg(feature = "aws")]
pub mod outbox;
pub mod policy;
pub mod record;
#[cfg(feature = "aws")]
pub mod source;
pub mod special;
#[cfg(feature = "aws")]
pub mod store;
#[cfg(feature = "aws")]
pub mod telemetry;
#[cfg(feature = "aws")]
pub mod wiring;

pub use decision::{Decision, Effect, Mode, Reason};
pub use normalize::{NormalizeError, Target};
pub use policy::{authorize_egress, CompiledPolicy, Subject};
