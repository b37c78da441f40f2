//! Tyk, the second gateway dialect (`tyk.md`): an emulator of the Tyk Gateway REST API for
//! tests and rehearsals ([`sandbox`]), Tyk's file formats as desired-state documents
//! ([`files`]), and the identity rules Tyk applies ([`ids`]).

pub mod files;
pub mod ids;
pub mod sandbox;
