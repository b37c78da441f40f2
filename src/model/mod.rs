//! The entity model shared by every other module: kinds, entities, references and
//! natural keys. Pure data; no I/O.

mod entity;

pub use crate::kong::key::{membership_id, natural_key, normalize_target, pem_digest};
pub use crate::kong::kind::{ForeignKey, KongKind as Kind, OnDelete};
pub use entity::{Entity, Origin, Ref};

/// A whole configuration: desired (from files) or live (from a gateway).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct State {
    /// The entities, parents not necessarily before children.
    pub entities: Vec<Entity>,
}

/// An entity from JSON fields, for unit tests.
#[cfg(test)]
pub(crate) fn test_entity(
    kind: Kind,
    id: Option<&str>,
    fields: serde_json::Value,
    refs: &[(&'static str, Ref)],
) -> Entity {
    let mut e = Entity::new(kind);
    e.id = id.map(str::to_owned);
    e.fields = fields.as_object().cloned().unwrap_or_default();
    for (f, r) in refs {
        e.refs.insert(f, r.clone());
    }
    e
}
