//! The entity model shared by every other module: kinds as data, entities, references,
//! the desired state and the action vocabulary. Pure data; no I/O; no gateway's names.

mod entity;
mod kind;

pub use entity::{Entity, Origin, Ref};
pub use kind::{ForeignKey, Kind, KindSpec, OnDelete};

/// What a change does, in Terraform's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// The entity is created (`+`).
    Create,
    /// The entity is updated in place (`~`).
    Update,
    /// The entity is destroyed (`-`).
    Delete,
}

impl Action {
    /// Terraform's symbol: `+`, `~` or `-`.
    pub fn symbol(self) -> char {
        match self {
            Action::Create => '+',
            Action::Update => '~',
            Action::Delete => '-',
        }
    }
}

/// A whole configuration: desired (from files) or live (from a gateway).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct State {
    /// The entities, parents not necessarily before children.
    pub entities: Vec<Entity>,
}

/// An entity from JSON fields, for unit tests.
#[cfg(test)]
pub(crate) fn test_entity(
    kind: impl Into<Kind>,
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
