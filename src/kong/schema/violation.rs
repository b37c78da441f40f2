//! Schema violations in Kong's shape: the structured `fields` tree of an error body and the
//! `schema violation (...)` message (`kong-admin-api.md` §4.1, §4.2).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// The error of one field: a message, the errors of a record's sub-fields (or a map's
/// values), or the errors of array/set elements by 0-based index.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldError {
    /// `"required field missing"` and the like.
    Msg(String),
    /// Errors inside a record or map, with its own entity-level errors.
    Record(ErrorTree),
    /// Errors of elements, by 0-based index (rendered 1-based in messages).
    Items(BTreeMap<usize, FieldError>),
}

/// The errors of one record: field errors by name plus entity-level (`@entity`) messages.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ErrorTree {
    /// Field errors by field name.
    pub fields: BTreeMap<String, FieldError>,
    /// Entity-level messages (`fields["@entity"]`), in the order found.
    pub entity: Vec<String>,
}

impl ErrorTree {
    /// Whether there is no error at all.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.entity.is_empty()
    }

    /// Sets the error of `field` unless it already has one.
    pub fn set(&mut self, field: &str, err: FieldError) {
        self.fields.entry(field.to_owned()).or_insert(err);
    }

    /// Sets a message error at a dotted path (`config.redis.host`), creating records.
    pub fn set_path(&mut self, path: &str, msg: String) {
        match path.split_once('.') {
            None => self.set(path, FieldError::Msg(msg)),
            Some((head, rest)) => {
                let slot =
                    self.fields.entry(head.to_owned()).or_insert_with(|| FieldError::Record(ErrorTree::default()));
                if let FieldError::Record(t) = slot {
                    t.set_path(rest, msg);
                }
            }
        }
    }

    /// Whether the field at a dotted path (or any of its ancestors) has an error.
    pub fn has_error_at(&self, path: &str) -> bool {
        let (head, rest) = match path.split_once('.') {
            Some((h, r)) => (h, Some(r)),
            None => (path, None),
        };
        match (self.fields.get(head), rest) {
            (None, _) => false,
            (Some(FieldError::Record(t)), Some(rest)) => t.has_error_at(rest),
            (Some(_), _) => true,
        }
    }

    /// The tree as Kong's `fields` JSON object.
    pub fn to_json(&self) -> Value {
        let mut obj = Map::new();
        if !self.entity.is_empty() {
            obj.insert("@entity".into(), Value::Array(self.entity.iter().cloned().map(Value::String).collect()));
        }
        for (k, v) in &self.fields {
            obj.insert(k.clone(), v.to_json());
        }
        Value::Object(obj)
    }

    /// Every message with its dotted path (`None` for top-level entity messages).
    pub fn flatten(&self) -> Vec<(Option<String>, String)> {
        let mut out: Vec<(Option<String>, String)> = self.entity.iter().map(|m| (None, m.clone())).collect();
        let mut rest = Vec::new();
        for (k, v) in &self.fields {
            v.flatten_into(k, &mut rest);
        }
        rest.sort();
        out.extend(rest.into_iter().map(|(p, m)| (Some(p), m)));
        out
    }
}

impl FieldError {
    /// The error as JSON: a string, an object, or an array with `null` gaps.
    pub fn to_json(&self) -> Value {
        match self {
            FieldError::Msg(m) => Value::String(m.clone()),
            FieldError::Record(t) => t.to_json(),
            FieldError::Items(items) => {
                let len = items.keys().next_back().map_or(0, |k| k + 1);
                let mut arr = vec![Value::Null; len];
                for (i, e) in items {
                    arr[*i] = e.to_json();
                }
                Value::Array(arr)
            }
        }
    }

    fn flatten_into(&self, path: &str, out: &mut Vec<(String, String)>) {
        match self {
            FieldError::Msg(m) => out.push((path.to_owned(), m.clone())),
            FieldError::Record(t) => {
                for m in &t.entity {
                    out.push((path.to_owned(), m.clone()));
                }
                for (k, v) in &t.fields {
                    v.flatten_into(&format!("{path}.{k}"), out);
                }
            }
            FieldError::Items(items) => {
                for (i, e) in items {
                    e.flatten_into(&format!("{path}.{}", i + 1), out);
                }
            }
        }
    }
}

/// A failed validation: Kong's code 2 `schema violation`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SchemaViolation {
    /// The structured errors (`fields` of the error body).
    pub tree: ErrorTree,
}

impl SchemaViolation {
    /// A violation with one message on a top-level field.
    pub fn field(name: &str, msg: impl Into<String>) -> Self {
        let mut tree = ErrorTree::default();
        tree.set(name, FieldError::Msg(msg.into()));
        SchemaViolation { tree }
    }

    /// A violation with one entity-level message.
    pub fn entity(msg: impl Into<String>) -> Self {
        SchemaViolation { tree: ErrorTree { fields: BTreeMap::new(), entity: vec![msg.into()] } }
    }

    /// Kong's `fields` object.
    pub fn fields_json(&self) -> Value {
        self.tree.to_json()
    }

    /// The messages as `path: msg` (or just `msg` for entity-level ones), entity-level
    /// first, then by path (§4.2).
    pub fn messages(&self) -> Vec<String> {
        self.tree
            .flatten()
            .into_iter()
            .map(|(p, m)| match p {
                Some(p) => format!("{p}: {m}"),
                None => m,
            })
            .collect()
    }

    /// `schema violation (a: b)` or `2 schema violations (a: b; c: d)` (§4.2).
    pub fn message(&self) -> String {
        let msgs = self.messages();
        if msgs.len() == 1 {
            format!("schema violation ({})", msgs[0])
        } else {
            format!("{} schema violations ({})", msgs.len(), msgs.join("; "))
        }
    }

    /// Merges another violation's errors into this one (existing field errors win).
    pub fn merge(&mut self, other: SchemaViolation) {
        for (k, v) in other.tree.fields {
            self.tree.set(&k, v);
        }
        self.tree.entity.extend(other.tree.entity);
    }
}

impl std::fmt::Display for SchemaViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for SchemaViolation {}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn messages_follow_kong() {
        let mut t = ErrorTree::default();
        t.set("host", FieldError::Msg("required field missing".into()));
        t.set("connect_timeout", FieldError::Msg("expected an integer".into()));
        let v = SchemaViolation { tree: t };
        assert_eq!(
            v.message(),
            "2 schema violations (connect_timeout: expected an integer; host: required field missing)"
        );
        let mut items = BTreeMap::new();
        items.insert(1, FieldError::Msg("bad".into()));
        let v = SchemaViolation::field("protocols", "x");
        assert_eq!(v.message(), "schema violation (protocols: x)");
        let f = FieldError::Items(items);
        assert_eq!(f.to_json(), json!([null, "bad"]));
        let mut t = ErrorTree::default();
        t.set_path("config.http_endpoint", "required field missing".into());
        t.entity.push("e".into());
        let v = SchemaViolation { tree: t };
        assert_eq!(v.fields_json(), json!({"@entity": ["e"], "config": {"http_endpoint": "required field missing"}}));
        assert_eq!(v.message(), "2 schema violations (e; config.http_endpoint: required field missing)");
    }
}
