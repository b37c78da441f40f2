//! The seam between the gateway-agnostic core and the gateways (Kong, Tyk).
//!
//! A gateway is taught to the core in three parts:
//!
//! * a [`Dialect`]: everything that needs no I/O — its kinds ([`crate::model::KindSpec`]),
//!   how entities are identified and labelled, normalised for comparison, which fields are
//!   secret, which request carries out a change, and its file format. A dialect value carries
//!   the schema knowledge it was built with (bundled, or what a live gateway served).
//! * a [`Session`]: one connection to one gateway — its facts, reading the live state in
//!   scope, executing one request with the gateway's error-tolerance rules, and the barrier
//!   after all writes (Tyk's reload);
//! * a [`Connector`]: how to reach a gateway of that dialect, its bundled dialect, and its
//!   in-process sandbox.
//!
//! [`registry`] names the connectors; the core modules (`model`, `plan`, `graph`, `apply`,
//! `render`, `secrets`, `ledger`, `engine`) import nothing from a dialect.

pub mod http;
mod json;
pub mod registry;
mod traits;

pub use http::{Client, ClientConfig, HttpError, Response, api_message, install_crypto_provider, path_segment};
pub use traits::{
    Connector, Dialect, DumpOptions, DumpOutput, EntityError, FieldShape, GatewayInfo, GatewayTarget, Live,
    NodeSharing, Request, SandboxHandle, Scope, Session, StepError, Write,
};
