//! Tyk, the second gateway dialect (`tyk.md`): an emulator of the Tyk Gateway REST API for
//! tests and rehearsals ([`sandbox`]), and the identity rules Tyk applies ([`ids`]).

pub mod ids;
pub mod sandbox;
