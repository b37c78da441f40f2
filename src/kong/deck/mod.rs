//! The decK file format (`deck.md` §a.2): reading it into the entity model and writing
//! live state back in it.

pub mod convert;
pub mod placeholder;
pub mod read;
mod shape;
pub mod write;
mod yaml_out;
