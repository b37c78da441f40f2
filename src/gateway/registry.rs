//! The dialects gateform knows, by name. Front ends pick a connector here; the core never
//! names a dialect.

use super::Connector;

/// The connector of the dialect called `name` (`kong`), if gateform knows it.
pub fn connector(name: &str) -> Option<&'static dyn Connector> {
    match name {
        "kong" => Some(&crate::kong::KongConnector),
        _ => None,
    }
}

/// The names of every dialect, for help texts and errors.
pub fn names() -> &'static [&'static str] {
    &["kong"]
}
