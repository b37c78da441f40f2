//! The entity model shared by every other module: kinds, entities, references and
//! natural keys. Pure data; no I/O.

mod entity;
mod key;
mod kind;

pub use entity::{Entity, Origin, Ref};
pub use key::{membership_id, natural_key, normalize_target, pem_digest};
pub use kind::{ForeignKey, Kind, OnDelete};

/// A whole configuration: desired (from files) or live (from a gateway).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct State {
    /// The entities, parents not necessarily before children.
    pub entities: Vec<Entity>,
}
