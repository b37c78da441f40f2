//! Kong Admin API client: reading live state (paginated, concurrent) and sending writes.

mod client;
mod read;

pub use client::{ClientConfig, KongClient, KongError, Response, api_message, install_crypto_provider};
pub use read::{GatewayInfo, Live, entity_from_json, gateway_info, list_all, membership, read_live, read_memberships};
