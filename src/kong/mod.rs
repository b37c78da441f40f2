//! Kong Admin API client: reading live state (paginated, concurrent) and sending writes.

mod client;
pub mod deck;
pub mod key;
pub mod kind;
mod read;
pub mod sandbox;
pub mod schema;

pub use client::{ClientConfig, KongClient, KongError, Response, api_message, install_crypto_provider};
pub use key::{membership_id, natural_key, normalize_target, pem_digest};
pub use kind::{ForeignKey, KongKind, OnDelete};
pub use read::{GatewayInfo, Live, entity_from_json, gateway_info, list_all, membership, read_live, read_memberships};
