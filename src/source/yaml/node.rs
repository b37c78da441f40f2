//! The tree the reader builds: nodes with their positions, the errors it reports, and the
//! limits it enforces.

use std::fmt;

use serde_json::{Map, Number, Value};

/// A 1-based line and column in a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos {
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// A parsed node with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The value.
    pub value: NodeValue,
    /// Where the node starts.
    pub pos: Pos,
}

/// The value of a [`Node`].
#[derive(Debug, Clone, PartialEq)]
pub enum NodeValue {
    /// `null`, `~` or nothing.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer that fits in 64 bits.
    Int(i64),
    /// Any other number.
    Float(f64),
    /// A string.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in document order; keys are scalar nodes.
    Map(Vec<(Node, Node)>),
}

/// A syntax error, a duplicate key or an unsupported construct, with its position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{pos}: {message}")]
pub struct YamlError {
    /// What is wrong.
    pub message: String,
    /// Where.
    pub pos: Pos,
}

impl Node {
    /// The value of `key` when this node is a mapping with a string key `key`.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            NodeValue::Map(entries) => entries.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The string value of a string node.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            NodeValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Mapping entries, when this node is a mapping.
    pub fn entries(&self) -> Option<&[(Node, Node)]> {
        match &self.value {
            NodeValue::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// Sequence items, when this node is a sequence.
    pub fn items(&self) -> Option<&[Node]> {
        match &self.value {
            NodeValue::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// A short name of the node's type for messages (`a string`, `a mapping`, ...).
    pub fn type_name(&self) -> &'static str {
        match self.value {
            NodeValue::Null => "null",
            NodeValue::Bool(_) => "a boolean",
            NodeValue::Int(_) => "an integer",
            NodeValue::Float(_) => "a number",
            NodeValue::Str(_) => "a string",
            NodeValue::Seq(_) => "a sequence",
            NodeValue::Map(_) => "a mapping",
        }
    }

    /// The node as JSON (positions dropped). Non-string mapping keys are written as their
    /// YAML text; non-finite floats become `null`.
    pub fn to_json(&self) -> Value {
        match &self.value {
            NodeValue::Null => Value::Null,
            NodeValue::Bool(b) => Value::Bool(*b),
            NodeValue::Int(i) => Value::Number((*i).into()),
            NodeValue::Float(f) => Number::from_f64(*f).map_or(Value::Null, Value::Number),
            NodeValue::Str(s) => Value::String(s.clone()),
            NodeValue::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeValue::Map(entries) => {
                let mut map = Map::new();
                for (k, v) in entries {
                    map.insert(k.key_text(), v.to_json());
                }
                Value::Object(map)
            }
        }
    }

    /// The text of a scalar used as a mapping key.
    pub fn key_text(&self) -> String {
        match &self.value {
            NodeValue::Str(s) => s.clone(),
            NodeValue::Null => "null".to_owned(),
            NodeValue::Bool(b) => b.to_string(),
            NodeValue::Int(i) => i.to_string(),
            NodeValue::Float(f) => f.to_string(),
            NodeValue::Seq(_) | NodeValue::Map(_) => "<complex key>".to_owned(),
        }
    }
}

/// Bounds on what reading one document may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The deepest nesting of sequences and mappings, counting those an alias pastes in
    /// (a document that is one scalar has depth 0; `[[1]]` has depth 2).
    pub max_depth: usize,
    /// How many nodes the anchors and aliases of a document may copy together: each anchored
    /// tree is kept once, each alias pastes a copy (an alias of an anchored mapping of 10
    /// scalar entries copies 21 nodes: the mapping, its keys and values).
    pub max_alias_nodes: usize,
    /// How many bytes of scalar text (keys included) anchors and aliases may copy together.
    pub max_alias_bytes: usize,
}

impl Limits {
    /// The limits [`parse`] applies: depth 256, anchors and aliases copying at most 1,000,000
    /// nodes and 64 MiB of text. Real configurations nest less than 20 levels deep; a 400-byte
    /// "billion laughs" document would expand to 10⁹ nodes.
    pub const DEFAULT: Limits =
        Limits { max_depth: 256, max_alias_nodes: 1_000_000, max_alias_bytes: 64 * 1024 * 1024 };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}
