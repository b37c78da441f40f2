//! Schema-driven type checks: every value is checked against its field's type in Kong's
//! schema (`string`, `integer`, `number`, `boolean`, `array`, `set`, `map`, `record`,
//! recursively into records, array elements and map values), and unknown record fields are
//! reported, with Kong's wording (`expected an integer`, `unknown field`).
//!
//! This is the type layer only. Kong's value rules (ranges, `one_of`, patterns, entity
//! checks) belong to full validation, which hooks in at [`full_validation`].

use serde_json::{Map, Number, Value};

use super::file::SourceFile;
use crate::kong::KongKind;
use crate::kong::schema::{Field, FieldType, Schema};
use crate::source::yaml::{Node, NodeValue, Pos};

/// One problem found in an entity's values, before the entity's name is known.
pub(crate) struct Problem {
    pub pos: Pos,
    pub path: String,
    pub message: String,
}

/// Converts YAML nodes to JSON values while checking them, collecting problems and the
/// dotted field paths whose values came from `DECK_*` variables.
pub(crate) struct Checker<'f> {
    pub file: &'f SourceFile,
    pub problems: Vec<Problem>,
    pub env_paths: Vec<String>,
}

fn expected(ty: FieldType) -> &'static str {
    match ty {
        FieldType::String => "expected a string",
        FieldType::Integer => "expected an integer",
        FieldType::Number => "expected a number",
        FieldType::Boolean => "expected a boolean",
        FieldType::Array => "expected an array",
        FieldType::Set => "expected a set",
        FieldType::Map => "expected a map",
        FieldType::Record => "expected a record",
        FieldType::Foreign | FieldType::Any => "unexpected value",
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") }
}

impl<'f> Checker<'f> {
    pub fn new(file: &'f SourceFile) -> Self {
        Checker { file, problems: Vec::new(), env_paths: Vec::new() }
    }

    /// Records a problem at `node`.
    pub fn problem(&mut self, node: &Node, path: &str, message: impl Into<String>) {
        self.problems.push(Problem { pos: node.pos, path: path.to_owned(), message: message.into() });
    }

    fn note_env(&mut self, node: &Node, field_path: &str) {
        if self.file.is_env(node.pos) && !self.env_paths.iter().any(|p| p == field_path) {
            self.env_paths.push(field_path.to_owned());
        }
    }

    /// The node as JSON, unchecked, noting values from variables under `field_path`.
    pub fn any(&mut self, node: &Node, field_path: &str) -> Value {
        self.note_env(node, field_path);
        match &node.value {
            NodeValue::Seq(items) => Value::Array(items.iter().map(|i| self.any(i, field_path)).collect()),
            NodeValue::Map(entries) => {
                let mut map = Map::new();
                for (k, v) in entries {
                    let key = k.key_text();
                    let value = self.any(v, &join(field_path, &key));
                    map.insert(key, value);
                }
                Value::Object(map)
            }
            _ => node.to_json(),
        }
    }

    /// The node as JSON, checked against `field`. `path` names the value in messages
    /// (`services[0].port`); `field_path` is its dotted path inside the entity (`port`).
    pub fn typed(&mut self, field: &Field, node: &Node, path: &str, field_path: &str) -> Value {
        if field.ty == FieldType::Any || field.ty == FieldType::Foreign {
            return self.any(node, field_path);
        }
        self.note_env(node, field_path);
        match (&node.value, field.ty) {
            (NodeValue::Null, _) => Value::Null,
            (NodeValue::Str(s), FieldType::String) => Value::String(s.clone()),
            (NodeValue::Int(i), FieldType::Integer | FieldType::Number) => Value::Number((*i).into()),
            // Kong's integers are numbers without a fraction: `1.0` is the integer 1.
            (NodeValue::Float(f), FieldType::Integer) if f.is_finite() && f.fract() == 0.0 && f.abs() < 9.0e15 => {
                Value::Number((*f as i64).into())
            }
            (NodeValue::Float(f), FieldType::Number) => Number::from_f64(*f).map_or(Value::Null, Value::Number),
            (NodeValue::Bool(b), FieldType::Boolean) => Value::Bool(*b),
            (NodeValue::Seq(items), FieldType::Array | FieldType::Set) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let item_path = format!("{path}[{i}]");
                    out.push(match &field.elements {
                        Some(el) => self.typed(el, item, &item_path, field_path),
                        None => self.any(item, field_path),
                    });
                }
                Value::Array(out)
            }
            (NodeValue::Map(entries), FieldType::Map) => {
                let mut out = Map::new();
                for (k, v) in entries {
                    let key = k.key_text();
                    let value = match &field.values {
                        Some(def) => self.typed(def, v, &join(path, &key), &join(field_path, &key)),
                        None => self.any(v, &join(field_path, &key)),
                    };
                    out.insert(key, value);
                }
                Value::Object(out)
            }
            (NodeValue::Map(_), FieldType::Record) => match &field.fields {
                Some(fields) => Value::Object(self.record(fields, &field.shorthand_fields, node, path, field_path)),
                // An abstract record (a vault's `config`): its fields depend on another value.
                None => self.any(node, field_path),
            },
            _ => {
                self.problem(node, path, expected(field.ty));
                node.to_json()
            }
        }
    }

    /// A record's fields, checked; keys that are neither fields nor shorthand fields are
    /// `unknown field` problems.
    pub fn record(
        &mut self,
        fields: &[(String, Field)],
        shorthands: &[(String, Field)],
        node: &Node,
        path: &str,
        field_path: &str,
    ) -> Map<String, Value> {
        let mut out = Map::new();
        for (k, v) in node.entries().unwrap_or_default() {
            let key = k.key_text();
            let def = fields.iter().chain(shorthands).find(|(n, _)| *n == key).map(|(_, f)| f);
            let value = match def {
                Some(def) => self.typed(def, v, &join(path, &key), &join(field_path, &key)),
                None => {
                    self.problem(k, &join(path, &key), "unknown field");
                    self.any(v, &join(field_path, &key))
                }
            };
            out.insert(key, value);
        }
        out
    }
}

/// The seam for Kong's full validation (ranges, `one_of`, patterns, entity checks:
/// [`Schema::validate`]). The loader calls it for every entity it reads, with the fields as
/// written, and reports each `(dotted field path, message)` it returns at the entity.
///
/// It returns nothing yet. [`Schema::validate`] expects a complete entity, so wiring it in
/// means: expand shorthands (a service's `url`), fill schema defaults, put `{"id": ...}`
/// placeholders for resolved foreign keys, validate, then report the error tree's leaves
/// (and map them to node positions where a leaf names a written field).
pub(crate) fn full_validation(
    _kind: KongKind,
    _schema: &Schema,
    _fields: &Map<String, Value>,
) -> Vec<(String, String)> {
    Vec::new()
}
