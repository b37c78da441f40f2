//! Secrets: which fields hold them ([`is_sensitive`]), scrubbing known secret values from
//! any text ([`Redactor`]), and secret-free dumps ([`placeholder`]).

mod fields;
pub mod placeholder;
mod redact;

pub use fields::{SENSITIVE, is_sensitive, may_hold_secrets};
pub use redact::{MIN_SCRUB_LEN, Redactor};
