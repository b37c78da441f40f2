//! What Go's `encoding/json` does to a Tyk object on its way through the gateway: decoding
//! into a Go struct (`json.Unmarshal`: unknown fields dropped, wrong types refused, `null`
//! leaves the zero value) and encoding it again (`json.Marshal`: every field emitted with its
//! zero value, `nil` slices and maps as `null`, `omitempty` fields left out, map keys sorted,
//! whole `float64` values written without a fraction).
//!
//! The structs are described by templates written as JSON (`fields/classic.json` for
//! `apidef.APIDefinition`, `fields/policy.json` for `user.Policy`; `tyk.md` §2.1, §2.2):
//!
//! * `""`, `false`, `0` (an integer field), `0.0` (a `float64` field): scalars;
//! * `[]`: a slice (elements kept as written), zero value `null`;
//! * `{}`: a map of anything, zero value `null`; `{"$map": T}`: a map whose values are `T`;
//! * any other object: a struct, fields in declaration order. `"$open": true` keeps fields the
//!   template does not list (for structs whose full field list is not written down), otherwise
//!   they are dropped as Go drops them; `"$omitempty": [names]` lists fields Go leaves out
//!   when they hold a zero value;
//! * `{"$nullable": T}`: a pointer to `T`, zero value `null`;
//! * `null`: anything (`interface{}`), zero value `null`.

use serde_json::{Map, Number, Value};

/// A parsed template node.
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    /// A string.
    Str,
    /// A boolean.
    Bool,
    /// An integer (Go `int`, `int64`, `uint16`, ...).
    Int,
    /// A Go `float64`.
    Float,
    /// A slice; elements are kept as written.
    Slice,
    /// A map; values follow the template when there is one.
    Map(Option<Box<Field>>),
    /// A struct.
    Struct(Struct),
    /// A pointer: `null` stays `null`.
    Nullable(Box<Field>),
    /// Anything (`interface{}`).
    Any,
}

/// The fields of a struct template.
#[derive(Debug, Clone, PartialEq)]
pub struct Struct {
    /// Field names and templates, in declaration order.
    pub fields: Vec<(String, Field, bool)>,
    /// Whether fields the template does not list are kept.
    pub open: bool,
    /// The encoded zero value (computed once).
    zero: Value,
}

/// Why a value cannot be decoded into its Go type (the gateway answers `Request malformed`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("json: cannot unmarshal {found} into Go struct field {path} of type {expected}")]
pub struct DecodeError {
    /// What the value is (`string`, `number 2.5`, ...).
    pub found: String,
    /// The dotted path of the field.
    pub path: String,
    /// The Go type expected.
    pub expected: &'static str,
}

impl Field {
    /// Parses a template (see the module documentation). Templates are bundled constants:
    /// a malformed one is a programming error reported as `Err`.
    pub fn parse(t: &Value) -> Result<Field, String> {
        Ok(match t {
            Value::String(_) => Field::Str,
            Value::Bool(_) => Field::Bool,
            Value::Number(n) if n.is_f64() => Field::Float,
            Value::Number(_) => Field::Int,
            Value::Array(_) => Field::Slice,
            Value::Null => Field::Any,
            Value::Object(m) if m.is_empty() => Field::Map(None),
            Value::Object(m) => {
                if let Some(inner) = m.get("$map") {
                    return Ok(Field::Map(Some(Box::new(Field::parse(inner)?))));
                }
                if let Some(inner) = m.get("$nullable") {
                    return Ok(Field::Nullable(Box::new(Field::parse(inner)?)));
                }
                let omit: Vec<&str> = match m.get("$omitempty") {
                    Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
                    Some(_) => return Err("$omitempty must be a list of names".into()),
                    None => Vec::new(),
                };
                let mut fields = Vec::new();
                for (k, v) in m {
                    if k.starts_with('$') {
                        continue;
                    }
                    fields.push((k.clone(), Field::parse(v)?, omit.contains(&k.as_str())));
                }
                if let Some(missing) = omit.iter().find(|o| !fields.iter().any(|(k, _, _)| k == *o)) {
                    return Err(format!("$omitempty names {missing}, which is not a field"));
                }
                let mut st = Struct { fields, open: m.get("$open") == Some(&Value::Bool(true)), zero: Value::Null };
                st.zero = st.compute_zero();
                Field::Struct(st)
            }
        })
    }

    fn go_type(&self) -> &'static str {
        match self {
            Field::Str => "string",
            Field::Bool => "bool",
            Field::Int => "int",
            Field::Float => "float64",
            Field::Slice => "[]interface {}",
            Field::Map(_) => "map[string]interface {}",
            Field::Struct(_) | Field::Nullable(_) => "struct",
            Field::Any => "interface {}",
        }
    }

    /// The value Go emits for this field when nothing was decoded into it.
    pub fn zero(&self) -> Value {
        match self {
            Field::Str => Value::String(String::new()),
            Field::Bool => Value::Bool(false),
            Field::Int | Field::Float => Value::Number(0.into()),
            Field::Slice | Field::Map(_) | Field::Nullable(_) | Field::Any => Value::Null,
            Field::Struct(s) => s.zero.clone(),
        }
    }

    /// Decodes `value` as Go would into this field, then encodes it again.
    ///
    /// `lenient` copies what Go's decoder does when it reads a file: a value of the wrong type
    /// leaves the field at its zero value and decoding goes on. Otherwise the first such value
    /// is an error (what the REST API answers with 400 `Request malformed`). `dropped`
    /// collects the dotted paths of unknown fields that were left out.
    pub fn normalize(
        &self,
        value: &Value,
        path: &str,
        lenient: bool,
        dropped: &mut Vec<String>,
    ) -> Result<Value, DecodeError> {
        let root = At { parent: None, key: path };
        self.norm(value, &root, lenient, dropped)
    }

    fn norm(&self, value: &Value, at: &At<'_>, lenient: bool, dropped: &mut Vec<String>) -> Result<Value, DecodeError> {
        let mismatch = || {
            if lenient {
                Ok(self.zero())
            } else {
                Err(DecodeError { found: describe(value), path: at.render(), expected: self.go_type() })
            }
        };
        match (self, value) {
            (_, Value::Null) => Ok(self.zero()),
            (Field::Str, Value::String(_)) | (Field::Bool, Value::Bool(_)) => Ok(value.clone()),
            (Field::Int, Value::Number(n)) if !n.is_f64() => Ok(value.clone()),
            (Field::Float, Value::Number(n)) => Ok(go_float(n)),
            (Field::Slice, Value::Array(items)) => Ok(Value::Array(items.iter().map(go_any).collect())),
            (Field::Map(inner), Value::Object(m)) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                let mut out = Map::new();
                for k in keys {
                    let v = &m[k];
                    let nv = match inner {
                        Some(f) => f.norm(v, &At { parent: Some(at), key: k }, lenient, dropped)?,
                        None => go_any(v),
                    };
                    out.insert(k.clone(), nv);
                }
                Ok(Value::Object(out))
            }
            (Field::Nullable(inner), _) => inner.norm(value, at, lenient, dropped),
            (Field::Struct(s), Value::Object(m)) => s.norm(m, at, lenient, dropped),
            (Field::Any, _) => Ok(go_any(value)),
            _ => mismatch(),
        }
    }
}

/// Where a value is, rendered as a dotted path only when a message needs it.
struct At<'a> {
    parent: Option<&'a At<'a>>,
    key: &'a str,
}

impl At<'_> {
    fn render(&self) -> String {
        let mut parts = vec![self.key];
        let mut cur = self.parent;
        while let Some(p) = cur {
            parts.push(p.key);
            cur = p.parent;
        }
        parts.reverse();
        parts.into_iter().filter(|p| !p.is_empty()).collect::<Vec<_>>().join(".")
    }
}

impl Struct {
    fn compute_zero(&self) -> Value {
        let mut out = Map::new();
        for (name, f, omit) in &self.fields {
            let z = f.zero();
            if !(*omit && is_zero(&z)) {
                out.insert(name.clone(), z);
            }
        }
        Value::Object(out)
    }

    fn norm(
        &self,
        m: &Map<String, Value>,
        at: &At<'_>,
        lenient: bool,
        dropped: &mut Vec<String>,
    ) -> Result<Value, DecodeError> {
        let mut out = Map::new();
        let mut known = 0;
        for (name, f, omit) in &self.fields {
            let v = match m.get(name) {
                Some(v) => {
                    known += 1;
                    f.norm(v, &At { parent: Some(at), key: name }, lenient, dropped)?
                }
                None => f.zero(),
            };
            if !(*omit && is_zero(&v)) {
                out.insert(name.clone(), v);
            }
        }
        for (k, v) in m.iter().filter(|_| known < m.len()) {
            if self.fields.iter().any(|(name, _, _)| name == k) {
                continue;
            }
            if self.open {
                out.insert(k.clone(), go_any(v));
            } else {
                dropped.push(At { parent: Some(at), key: k }.render());
            }
        }
        Ok(Value::Object(out))
    }
}

/// Whether Go's `omitempty` (or `omitzero`) leaves this encoded value out.
pub fn is_zero(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.values().all(is_zero),
    }
}

/// A number as Go's `float64` encoding writes it: whole values below 1e21 without a fraction.
fn go_float(n: &Number) -> Value {
    match n.as_f64() {
        Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 9e15 => Value::Number((f as i64).into()),
        _ => Value::Number(n.clone()),
    }
}

/// A value decoded into `interface{}` and encoded again: numbers become `float64`, map keys
/// are sorted.
pub fn go_any(v: &Value) -> Value {
    match v {
        Value::Number(n) => go_float(n),
        Value::Array(items) => Value::Array(items.iter().map(go_any).collect()),
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(keys.into_iter().map(|k| (k.clone(), go_any(&m[k]))).collect())
        }
        other => other.clone(),
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::String(_) => "string".into(),
        Value::Bool(_) => "bool".into(),
        Value::Number(n) => format!("number {n}"),
        Value::Array(_) => "array".into(),
        Value::Object(_) => "object".into(),
        Value::Null => "null".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tmpl() -> Field {
        Field::parse(&json!({
            "$omitempty": ["id"],
            "id": "",
            "name": "",
            "rate": 0.0,
            "port": 0,
            "tags": [],
            "meta": {},
            "proxy": {"listen_path": "", "strip": false},
            "open": {"$open": true, "a": 0},
            "vers": {"$map": {"name": "", "paths": []}},
            "ptr": {"$nullable": {"x": 0}}
        }))
        .unwrap()
    }

    #[test]
    fn zero_values_are_filled_and_unknown_fields_dropped() {
        let mut dropped = Vec::new();
        let out = tmpl()
            .normalize(
                &json!({"name": "a", "new_field": 1, "proxy": {"listen_path": "/a", "x": 1}, "open": {"b": 2.0}}),
                "",
                false,
                &mut dropped,
            )
            .unwrap();
        assert_eq!(
            out,
            json!({"name": "a", "rate": 0, "port": 0, "tags": null, "meta": null,
                   "proxy": {"listen_path": "/a", "strip": false}, "open": {"a": 0, "b": 2}, "vers": null, "ptr": null})
        );
        assert_eq!(out.as_object().unwrap().keys().next().unwrap(), "name");
        assert_eq!(dropped, vec!["proxy.x", "new_field"]);
    }

    #[test]
    fn wrong_types_are_refused_or_zeroed() {
        let mut d = Vec::new();
        let err = tmpl().normalize(&json!({"port": 2.5}), "", false, &mut d).unwrap_err();
        assert_eq!(err.to_string(), "json: cannot unmarshal number 2.5 into Go struct field port of type int");
        assert!(tmpl().normalize(&json!({"name": true}), "", false, &mut d).is_err());
        let lenient = tmpl().normalize(&json!({"name": true, "port": 3}), "", true, &mut d).unwrap();
        assert_eq!(lenient["name"], "");
        assert_eq!(lenient["port"], 3);
    }

    #[test]
    fn maps_sort_keys_and_floats_lose_whole_fractions() {
        let mut d = Vec::new();
        let out = tmpl()
            .normalize(
                &json!({"rate": 2.0, "id": "x", "vers": {"b": {"name": "b"}, "a": {}}, "ptr": {}}),
                "",
                false,
                &mut d,
            )
            .unwrap();
        assert_eq!(out["rate"], json!(2));
        assert_eq!(out["id"], "x");
        let keys: Vec<&String> = out["vers"].as_object().unwrap().keys().collect();
        assert_eq!(keys, vec!["a", "b"]);
        assert_eq!(out["vers"]["a"], json!({"name": "", "paths": null}));
        assert_eq!(out["ptr"], json!({"x": 0}));
    }

    #[test]
    fn bundled_templates_parse() {
        for t in [super::super::options::CLASSIC_FIELDS, super::super::options::POLICY_FIELDS] {
            let v: Value = serde_json::from_str(t).unwrap();
            Field::parse(&v).unwrap();
        }
    }
}
