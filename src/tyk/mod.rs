//! The Tyk dialect (`tyk.md`): Tyk's kinds ([`kind`]), identities, labels and comparable
//! forms ([`compare`]), secret fields ([`sensitive`]), references ([`refs`]), gateform's
//! ownership marker ([`marker`]), the requests that carry out changes and the file formats
//! ([`files`], read by [`load`], written by [`dump`]) — all behind [`TykDialect`]; the
//! Gateway API session ([`TykSession`]: preconditions, reading, Tyk's tolerance rules, one
//! reload per apply and the verification after it) and its [`TykConnector`]; and an
//! emulator of the Tyk Gateway for tests and rehearsals ([`sandbox`]). The core reaches it
//! only through [`crate::gateway`]'s traits.

mod check;
pub mod compare;
mod connector;
mod dialect;
mod dump;
pub mod files;
pub mod ids;
pub mod kind;
pub mod load;
pub mod marker;
mod preconditions;
mod read;
pub mod refs;
pub mod rules;
pub mod sandbox;
pub mod sensitive;
mod session;
mod verify;

pub use connector::{SECRET_HEADER, TykConnector};
pub use dialect::{TykDialect, body_id};
pub use dump::dumped_body;
pub use kind::TykKind;
pub use session::{Reload, TykSession};
pub use verify::Written;
