//! Schema-driven type checks: every value is checked against its field's type in Kong's
//! schema (`string`, `integer`, `number`, `boolean`, `array`, `set`, `map`, `record`,
//! recursively into records, array elements and map values), and unknown record fields are
//! reported, with Kong's wording (`expected an integer`, `unknown field`).
//!
//! A checker made [`Checker::for_entity`] also runs Kong's value rules on every scalar it
//! reads (ranges, `one_of`, lengths, patterns, the validators Kong writes as functions;
//! [`validate_value`]), so a value error names the line of the value (`port: 70000` →
//! the `port` line, not the service's). A message about the value of a sensitive field
//! ([`is_sensitive`]) or of a value from a `DECK_*` variable never quotes it. Entity checks
//! (rules over several fields) belong to full validation, which hooks in at
//! [`full_validation`].

use serde_json::{Map, Number, Value};

use super::file::SourceFile;
use crate::kong::KongKind;
use crate::kong::schema::{Field, FieldError, FieldType, Schema, ValidationContext, validate_value};
use crate::kong::secrets::is_sensitive;
use crate::secrets::{MIN_SCRUB_LEN, SENSITIVE};
use crate::source::yaml::{Node, NodeValue, Pos};

/// One problem found in an entity's values, before the entity's name is known.
pub(crate) struct Problem {
    pub pos: Pos,
    pub path: String,
    pub message: String,
    /// `; did you mean `x`?`, or empty.
    pub hint: String,
}

/// Converts YAML nodes to JSON values while checking them, collecting problems and the
/// dotted field paths whose values came from `DECK_*` variables.
pub(crate) struct Checker<'f> {
    pub file: &'f SourceFile,
    pub problems: Vec<Problem>,
    pub env_paths: Vec<String>,
    /// The entity whose values are checked, for value rules and sensitivity.
    entity: Option<(KongKind, &'f Schema)>,
    /// Top-level fields whose written values a shorthand replaces before Kong validates
    /// them (a service's `url` sets `protocol`, `host`, `port` and `path`): not checked here.
    pub overridden: &'static [&'static str],
    /// The schema path of the value being checked (`hosts.*`, `sources.*.ip`), which
    /// selects Kong's function validators.
    vpath: String,
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

/// `message` with `text` replaced by `(sensitive value)` where the message quotes it
/// (`'text'`, `"text"`, a trailing `: text`), and anywhere when it is long enough not to be
/// an ordinary word ([`MIN_SCRUB_LEN`]).
fn unquote(message: &str, text: &str) -> String {
    let mut m = message.replace(&format!("'{text}'"), SENSITIVE).replace(&format!("\"{text}\""), SENSITIVE);
    if let Some(head) = m.strip_suffix(text)
        && head.ends_with(' ')
    {
        m = format!("{head}{SENSITIVE}");
    }
    if text.chars().count() >= MIN_SCRUB_LEN {
        m = m.replace(text, SENSITIVE);
    }
    m
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") }
}

impl<'f> Checker<'f> {
    /// A checker of types only.
    pub fn new(file: &'f SourceFile) -> Self {
        Checker {
            file,
            problems: Vec::new(),
            env_paths: Vec::new(),
            entity: None,
            overridden: &[],
            vpath: String::new(),
        }
    }

    /// A checker of types and value rules of an entity of `kind` described by `schema`
    /// (the plugin's own schema for a plugin).
    pub fn for_entity(file: &'f SourceFile, kind: KongKind, schema: &'f Schema) -> Self {
        Checker { entity: Some((kind, schema)), ..Checker::new(file) }
    }

    /// Runs `f` with `segment` added to the schema path.
    fn nested<T>(&mut self, segment: &str, f: impl FnOnce(&mut Self) -> T) -> T {
        let len = self.vpath.len();
        if !self.vpath.is_empty() {
            self.vpath.push('.');
        }
        self.vpath.push_str(segment);
        let out = f(self);
        self.vpath.truncate(len);
        out
    }

    /// Kong's value rules for a scalar that has the right type.
    fn value_rules(&mut self, field: &Field, node: &Node, path: &str, field_path: &str, value: &Value) {
        let Some((kind, schema)) = self.entity else { return };
        // Route paths are left to full validation: pre-3.0 files convert them (a regex
        // gains its `~`), and a 3.0 path that looks unconverted is only warned about.
        if (kind == KongKind::Route && self.vpath == "paths.*") || self.overridden.contains(&self.vpath.as_str()) {
            return;
        }
        let Err(FieldError::Msg(mut message)) =
            validate_value(&schema.name, &self.vpath, field, value, &ValidationContext::default())
        else {
            return;
        };
        if let Some(text) = value.as_str().filter(|t| !t.is_empty())
            && (self.file.is_env(node.pos) || is_sensitive(kind, field_path, Some(schema)))
        {
            message = unquote(&message, text);
        }
        self.problem(node, path, message);
    }

    /// Records a problem at `node`.
    pub fn problem(&mut self, node: &Node, path: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            pos: node.pos,
            path: path.to_owned(),
            message: message.into(),
            hint: String::new(),
        });
    }

    /// Records `unknown field` at the key `node`, suggesting the nearest of `known`.
    pub fn unknown_field<'k>(&mut self, node: &Node, path: &str, known: impl IntoIterator<Item = &'k str>) {
        let hint = crate::source::suggest::did_you_mean(&node.key_text(), known);
        self.problems.push(Problem { pos: node.pos, path: path.to_owned(), message: "unknown field".into(), hint });
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
        self.vpath = field_path.to_owned();
        self.check(field, node, path, field_path)
    }

    fn check(&mut self, field: &Field, node: &Node, path: &str, field_path: &str) -> Value {
        if field.ty == FieldType::Any || field.ty == FieldType::Foreign {
            return self.any(node, field_path);
        }
        self.note_env(node, field_path);
        let scalar = match (&node.value, field.ty) {
            (NodeValue::Null, _) => return Value::Null,
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
                        Some(el) => self.nested("*", |c| c.check(el, item, &item_path, field_path)),
                        None => self.any(item, field_path),
                    });
                }
                return Value::Array(out);
            }
            (NodeValue::Map(entries), FieldType::Map) => {
                let mut out = Map::new();
                for (k, v) in entries {
                    let key = k.key_text();
                    let value = match &field.values {
                        Some(def) => {
                            self.nested("<value>", |c| c.check(def, v, &join(path, &key), &join(field_path, &key)))
                        }
                        None => self.any(v, &join(field_path, &key)),
                    };
                    out.insert(key, value);
                }
                return Value::Object(out);
            }
            (NodeValue::Map(_), FieldType::Record) => {
                return match &field.fields {
                    Some(fields) => Value::Object(self.record(fields, &field.shorthand_fields, node, path, field_path)),
                    // An abstract record (a vault's `config`): its fields depend on another value.
                    None => self.any(node, field_path),
                };
            }
            _ => {
                self.problem(node, path, expected(field.ty));
                return node.to_json();
            }
        };
        self.value_rules(field, node, path, field_path, &scalar);
        scalar
    }

    /// The fields of a mapping checked against an entity schema's fields (`_info.defaults`).
    pub fn schema_fields(&mut self, schema: &Schema, node: &Node, path: &str) -> Map<String, Value> {
        self.vpath.clear();
        self.record(&schema.fields, &[], node, path, "")
    }

    /// A record's fields, checked; keys that are neither fields nor shorthand fields are
    /// `unknown field` problems.
    fn record(
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
                Some(def) => self.nested(&key, |c| c.check(def, v, &join(path, &key), &join(field_path, &key))),
                None => {
                    let known = fields.iter().chain(shorthands).map(|(n, _)| n.as_str());
                    self.unknown_field(k, &join(path, &key), known);
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
