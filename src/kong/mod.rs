//! The Kong dialect: Kong's kinds ([`KongKind`]), natural keys, labels, normalisation with
//! Kong's schemas ([`schema`]), secret fields, the requests that carry out changes, the decK
//! file format ([`deck`]), the Admin API session ([`KongSession`]) and the Kong 3.x sandbox
//! ([`sandbox`]). Everything Kong-specific lives under this module; the core reaches it only
//! through [`crate::gateway`]'s traits.

mod attached;
mod dbless;
pub mod deck;
mod dialect;
mod dump;
pub mod key;
pub mod kind;
pub mod label;
pub mod normalize;
pub mod plugins;
mod probe;
mod read;
pub mod sandbox;
pub mod schema;
pub mod secrets;
mod session;
pub mod steps;
mod validate;

#[cfg(test)]
mod tests;

pub use crate::gateway::{
    Client as KongClient, ClientConfig, HttpError as KongError, Response, api_message, install_crypto_provider,
};
pub use dialect::KongDialect;
pub use key::{membership_id, natural_key, normalize_target, pem_digest};
pub use kind::{ForeignKey, KongEntity, KongKind, OnDelete};
pub use read::{KongInfo, KongLive, entity_from_json, gateway_info, list_all, membership, read_live, read_memberships};
pub use session::{KongConnector, KongSession, gateway_schemas};
