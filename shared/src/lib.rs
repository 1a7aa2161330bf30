//! Egress gateway core. Functions are thin entrypoints over these modules:
//! - [`normalize`]: URL / domain input to a [`normalize::Target`] (its only constructor);
//! - [`special`]: internal and special-purpose targets;
//! - [`policy`] and [`decision`]: the policy document and `authorize_egress`;
//! - [`source`]: where the policy comes from (file, SSM) and its cache;
//! - [`record`], [`store`]: the request resource and the DynamoDB table;
//! - [`events`], [`outbox`]: `egress.*` events and the stream publisher;
//! - [`http`], [`create`]: the HTTP API;
//! - [`wiring`], [`config`], [`telemetry`]: init.

pub mod config;
pub mod create;
pub mod decision;
pub mod events;
pub mod http;
pub mod normalize;
pub mod outbox;
pub mod policy;
pub mod record;
pub mod source;
pub mod special;
pub mod store;
pub mod telemetry;
pub mod wiring;

pub use decision::{Decision, Effect, Mode, Reason};
pub use normalize::{NormalizeError, Target};
pub use policy::{authorize_egress, CompiledPolicy};
