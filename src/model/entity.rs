//! One entity of desired or live state, in its gateway's wire shape.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::Kind;

/// Where a desired entity was written: file (as the user named it), 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Origin {
    /// The file as the user named it (or `<stdin>`, or `<ref>:<path>` for Git sources).
    pub file: Arc<str>,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// A reference from an entity to its parent through a foreign-key field.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ref {
    /// Another entity of the same desired state, by its index in [`crate::model::State::entities`].
    Local(usize),
    /// An entity by id; it may exist only on the gateway.
    Id(String),
    /// An entity by its natural key (see [`crate::gateway::Dialect::natural_key`]),
    /// that is not in the desired state and must be found on the gateway
    /// (`_info.default_lookup_tags`).
    Key(String),
}

/// One entity: its kind, its id when known, its plain fields in the gateway's wire shape
/// (foreign keys excluded) and its references to parents.
#[derive(Debug, Clone, PartialEq)]
pub struct Entity {
    /// The kind.
    pub kind: Kind,
    /// The id (a UUID string), when the file gave one or the gateway assigned it.
    pub id: Option<String>,
    /// Every non-foreign field, as the gateway's API spells it.
    pub fields: Map<String, Value>,
    /// Foreign-key fields (`service`, `consumer`, ...) by field name.
    pub refs: BTreeMap<&'static str, Ref>,
    /// Where the entity was written, for desired entities read from files.
    pub origin: Option<Origin>,
}

impl Entity {
    /// A new entity of `kind` with no fields.
    pub fn new(kind: impl Into<Kind>) -> Self {
        Entity { kind: kind.into(), id: None, fields: Map::new(), refs: BTreeMap::new(), origin: None }
    }

    /// A string field's value, if present and a string.
    pub fn str_field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).and_then(Value::as_str)
    }

    /// The entity's tags (empty when absent or null).
    pub fn tags(&self) -> Vec<&str> {
        match self.fields.get("tags") {
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    }

    /// Whether the entity carries every tag of `tags`.
    pub fn has_all_tags(&self, tags: &[String]) -> bool {
        let own = self.tags();
        tags.iter().all(|t| own.contains(&t.as_str()))
    }
}
