//! Kong's schema field definitions, parsed from the JSON that `/schemas/...` serves.

use serde_json::{Map, Value};

use super::SchemaError;

/// A field's `type` (`kong-schemas/README.md`, "Reading the format").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// `string`
    String,
    /// `integer` (a whole number)
    Integer,
    /// `number`
    Number,
    /// `boolean`
    Boolean,
    /// `array`: ordered list, duplicates kept.
    Array,
    /// `set`: list whose duplicates Kong removes, first-occurrence order kept.
    Set,
    /// `map`: JSON object with typed keys and values.
    Map,
    /// `record`: nested object with its own fields.
    Record,
    /// `foreign`: reference to another entity, `{"id": "<uuid>"}` on the wire.
    Foreign,
    /// `json` or `function` or anything else: accepted as is.
    Any,
}

impl FieldType {
    fn parse(s: &str) -> FieldType {
        match s {
            "string" => FieldType::String,
            "integer" => FieldType::Integer,
            "number" => FieldType::Number,
            "boolean" => FieldType::Boolean,
            "array" => FieldType::Array,
            "set" => FieldType::Set,
            "map" => FieldType::Map,
            "record" => FieldType::Record,
            "foreign" => FieldType::Foreign,
            _ => FieldType::Any,
        }
    }
}

/// One field definition. The attributes the engine needs are typed; every attribute,
/// validators included, stays available in [`Field::attrs`].
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The field's type.
    pub ty: FieldType,
    /// `required: true`: must be non-null after defaults are applied.
    pub required: bool,
    /// `default`: `Some(Value::Null)` for an explicit `"default": null`.
    pub default: Option<Value>,
    /// `auto: true`: Kong generates the value on insert (ids, timestamps, credential secrets).
    pub auto: bool,
    /// `unique: true`.
    pub unique: bool,
    /// `reference` of a foreign field (the parent's table name).
    pub reference: Option<String>,
    /// `referenceable: true`: may hold a vault reference; the value is a secret.
    pub referenceable: bool,
    /// `encrypted: true` (Enterprise keyring flag): the value is a secret.
    pub encrypted: bool,
    /// `elements` of an array or set.
    pub elements: Option<Box<Field>>,
    /// `keys` of a map.
    pub keys: Option<Box<Field>>,
    /// `values` of a map.
    pub values: Option<Box<Field>>,
    /// `fields` of a record, in declaration order.
    pub fields: Option<Vec<(String, Field)>>,
    /// `shorthand_fields` of a record: input-only names translated into real fields.
    pub shorthand_fields: Vec<(String, Field)>,
    /// Every attribute as served (validators, `entity_checks` of records, descriptions...).
    pub attrs: Map<String, Value>,
}

impl Field {
    /// Parses one field definition (`{"type": ..., ...}`); `path` names it in errors.
    pub fn from_json(path: &str, def: &Value) -> Result<Field, SchemaError> {
        let attrs = def
            .as_object()
            .ok_or_else(|| SchemaError::Malformed(format!("{path}: field definition is not an object")))?
            .clone();
        let ty = FieldType::parse(attrs.get("type").and_then(Value::as_str).unwrap_or("any"));
        let flag = |k: &str| attrs.get(k).and_then(Value::as_bool).unwrap_or(false);
        let sub = |k: &str| -> Result<Option<Box<Field>>, SchemaError> {
            attrs.get(k).map(|d| Field::from_json(&format!("{path}.{k}"), d).map(Box::new)).transpose()
        };
        let fields = match attrs.get("fields") {
            Some(list) => Some(parse_field_list(path, list)?),
            None => None,
        };
        let shorthand_fields = match attrs.get("shorthand_fields") {
            Some(list) => parse_field_list(path, list)?,
            None => Vec::new(),
        };
        Ok(Field {
            ty,
            required: flag("required"),
            default: attrs.get("default").cloned(),
            auto: flag("auto"),
            unique: flag("unique"),
            reference: attrs.get("reference").and_then(Value::as_str).map(str::to_owned),
            referenceable: flag("referenceable"),
            encrypted: flag("encrypted"),
            elements: sub("elements")?,
            keys: sub("keys")?,
            values: sub("values")?,
            fields,
            shorthand_fields,
            attrs,
        })
    }

    /// A sub-field of a record by name.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.as_ref()?.iter().find(|(n, _)| n == name).map(|(_, f)| f)
    }

    /// Whether the value is a secret: `encrypted` or `referenceable` (§ issue "Secrets").
    pub fn is_sensitive(&self) -> bool {
        self.encrypted || self.referenceable
    }
}

/// Parses a `fields` list: `[{"<name>": {definition}}, ...]`.
pub(crate) fn parse_field_list(path: &str, list: &Value) -> Result<Vec<(String, Field)>, SchemaError> {
    let items = list.as_array().ok_or_else(|| SchemaError::Malformed(format!("{path}: `fields` is not an array")))?;
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let obj = item
            .as_object()
            .filter(|o| o.len() == 1)
            .ok_or_else(|| SchemaError::Malformed(format!("{path}: each field must be a one-key object")))?;
        for (name, def) in obj {
            let child = if path.is_empty() { name.clone() } else { format!("{path}.{name}") };
            out.push((name.clone(), Field::from_json(&child, def)?));
        }
    }
    Ok(out)
}
