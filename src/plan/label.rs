//! Human labels for entities in plans and messages, drawn by the dialect: its short names
//! and how an entity's parents qualify it (`"cors" (service "a")`).

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value};

use crate::gateway::Dialect;
use crate::model::Kind;

/// Short names of entities by id, for naming parents.
pub struct Labels<'d> {
    dialect: &'d dyn Dialect,
    names: HashMap<String, (Kind, String)>,
}

impl<'d> Labels<'d> {
    /// No names yet.
    pub fn new(dialect: &'d dyn Dialect) -> Self {
        Labels { dialect, names: HashMap::new() }
    }

    /// Records the short name of entity `id`.
    pub fn insert(&mut self, kind: Kind, id: &str, fields: &Map<String, Value>) {
        self.names.insert(id.to_owned(), (kind, self.dialect.short_name(kind, id, fields)));
    }

    /// `service "svc-a"`, or the id when the entity is unknown.
    pub fn parent(&self, kind: Kind, id: &str) -> String {
        match self.names.get(id) {
            Some((k, name)) => format!("{} {name}", k.singular()),
            None => format!("{} {id}", kind.singular()),
        }
    }

    /// The full label of an entity: its short name qualified by its parents as the dialect
    /// says.
    pub fn label(
        &self,
        kind: Kind,
        id: &str,
        fields: &Map<String, Value>,
        parents: &BTreeMap<&'static str, String>,
    ) -> String {
        let name = self.dialect.short_name(kind, id, fields);
        let scope: Vec<(&'static str, String)> = parents
            .iter()
            .filter_map(|(field, pid)| kind.foreign_key(field).map(|fk| (fk.field, self.parent(fk.parent, pid))))
            .collect();
        self.dialect.label(kind, name, &scope)
    }
}
