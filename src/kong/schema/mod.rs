//! Kong's entity and plugin schemas: the JSON that `GET /schemas/{entity}` and
//! `GET /schemas/plugins/{name}` serve, parsed into [`Schema`]s that drive defaults
//! (both the sandbox's and the planner's) and validation.
//!
//! The bundled copy (`schemas/kong/`, Kong OSS 3.9.3) is compiled into the binary; a
//! registry can also be built from what a live gateway serves.

mod bundled;
mod checks;
pub mod custom;
mod defaults;
mod field;
pub mod input;
pub mod lua_pattern;
mod normalize;
mod shorthand;
mod validate;
mod value;
mod violation;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde_json::{Map, Value};

pub use defaults::{absent_value, fill_defaults, fill_value};
pub use field::{Field, FieldType};
pub use normalize::{dedupe_set, merge_update, normalize_sets};
pub use shorthand::{echo_shorthands, expand_shorthands, shorthand_names, strip_shorthands};
pub use validate::{ValidationContext, get_path, is_nonempty, is_uuid, lua_value, validate_value};
pub use violation::{ErrorTree, FieldError, SchemaViolation};

/// A schema file that does not have the shape `{"fields": [...], "entity_checks": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    /// The JSON is not a schema; the text says where.
    #[error("malformed schema: {0}")]
    Malformed(String),
}

/// One entity schema (or a plugin's full schema: the `plugins` entity with the plugin's
/// subschema merged in).
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    /// The entity name (`services`; `plugins` for a plugin's merged schema), which selects
    /// the validators Kong implements as functions ([`custom`]).
    pub name: String,
    /// Fields in declaration order.
    pub fields: Vec<(String, Field)>,
    /// `entity_checks`, as served (`at_least_one_of`, `conditional`, ...).
    pub entity_checks: Vec<Value>,
}

impl Schema {
    /// Parses `{"fields": [...], "entity_checks": [...]}`.
    pub fn from_json(name: &str, json: &Value) -> Result<Schema, SchemaError> {
        let fields = json.get("fields").ok_or_else(|| SchemaError::Malformed(format!("{name}: no `fields`")))?;
        let fields = field::parse_field_list("", fields)?;
        let entity_checks = json.get("entity_checks").and_then(Value::as_array).cloned().unwrap_or_default();
        Ok(Schema { name: name.to_owned(), fields, entity_checks })
    }

    /// A top-level field by name.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, f)| f)
    }

    /// A field by dotted path through records (`config.redis.host`).
    pub fn field_at(&self, path: &str) -> Option<&Field> {
        let mut parts = path.split('.');
        let mut field = self.field(parts.next()?)?;
        for part in parts {
            field = field.field(part)?;
        }
        Some(field)
    }

    /// De-duplicates every `set` value; see [`normalize_sets`].
    pub fn normalize_sets(&self, obj: &mut Map<String, Value>) {
        normalize_sets(&self.fields, obj);
    }

    /// Expands shorthand fields; see [`expand_shorthands`].
    pub fn expand_shorthands(&self, obj: &mut Map<String, Value>) {
        expand_shorthands(&self.fields, obj);
    }

    /// Fills absent fields with Kong's insert defaults; see [`fill_defaults`].
    pub fn fill_defaults(&self, obj: &mut Map<String, Value>) {
        fill_defaults(&self.fields, obj);
    }

    /// Merges a plugin subschema (`/schemas/plugins/{name}`) over this `plugins` entity
    /// schema: subschema fields replace same-named fields in place, others are appended,
    /// and entity checks are concatenated.
    fn merged_with(&self, sub: &Schema) -> Schema {
        let mut fields = self.fields.clone();
        for (name, field) in &sub.fields {
            match fields.iter_mut().find(|(n, _)| n == name) {
                Some(slot) => slot.1 = field.clone(),
                None => fields.push((name.clone(), field.clone())),
            }
        }
        let mut entity_checks = self.entity_checks.clone();
        entity_checks.extend(sub.entity_checks.iter().cloned());
        Schema { name: self.name.clone(), fields, entity_checks }
    }
}

/// A registry of entity and plugin schemas, with the JSON each was parsed from.
#[derive(Debug, Clone, Default)]
pub struct Schemas {
    entity_json: BTreeMap<String, Value>,
    entities: BTreeMap<String, Schema>,
    plugin_json: BTreeMap<String, Value>,
    plugins: BTreeMap<String, Schema>,
}

impl Schemas {
    /// The schemas bundled in the binary: Kong OSS 3.9.3 entities and plugins, plus the
    /// Enterprise entities gateform authors (`schemas/kong/enterprise/`). The `plugins`
    /// schema gains the Enterprise `consumer_group` foreign key (the served JSON does not).
    pub fn bundled() -> &'static Schemas {
        static BUNDLED: OnceLock<Schemas> = OnceLock::new();
        BUNDLED.get_or_init(|| {
            let parse = |name: &str, text: &str| -> Value {
                serde_json::from_str(text).unwrap_or_else(|e| panic!("bundled schema {name} is not JSON: {e}"))
            };
            let mut s = Schemas::default();
            for (name, text) in bundled::ENTITIES.iter().chain(bundled::ENTERPRISE_ENTITIES) {
                s.insert_entity(name, parse(name, text)).unwrap_or_else(|e| panic!("bundled schema {name}: {e}"));
            }
            let cg = parse("plugins.consumer_group", bundled::PLUGIN_CONSUMER_GROUP_FIELD);
            let cg_fields = field::parse_field_list("", &Value::Array(vec![cg])).expect("bundled consumer_group field");
            if let Some(plugins) = s.entities.get_mut("plugins") {
                let at =
                    plugins.fields.iter().position(|(n, _)| n == "consumer").map_or(plugins.fields.len(), |i| i + 1);
                for (i, f) in cg_fields.into_iter().enumerate() {
                    plugins.fields.insert(at + i, f);
                }
            }
            for (name, text) in bundled::PLUGINS {
                s.insert_plugin(name, parse(name, text))
                    .unwrap_or_else(|e| panic!("bundled plugin schema {name}: {e}"));
            }
            s
        })
    }

    /// Adds (or replaces) an entity schema from the JSON `/schemas/{name}` serves.
    pub fn insert_entity(&mut self, name: &str, json: Value) -> Result<(), SchemaError> {
        let schema = Schema::from_json(name, &json)?;
        self.entities.insert(name.to_owned(), schema);
        self.entity_json.insert(name.to_owned(), json);
        Ok(())
    }

    /// Adds (or replaces) a plugin subschema from the JSON `/schemas/plugins/{name}` serves.
    /// The `plugins` entity schema must be inserted first for [`Schemas::plugin`] to merge it.
    pub fn insert_plugin(&mut self, name: &str, json: Value) -> Result<(), SchemaError> {
        let sub = Schema::from_json(name, &json)?;
        let full = match self.entities.get("plugins") {
            Some(base) => base.merged_with(&sub),
            None => sub,
        };
        self.plugins.insert(name.to_owned(), full);
        self.plugin_json.insert(name.to_owned(), json);
        Ok(())
    }

    /// The schema of entity `name` (Kong's table name, e.g. `services`).
    pub fn entity(&self, name: &str) -> Option<&Schema> {
        self.entities.get(name)
    }

    /// The full schema of plugin `name`: the `plugins` entity with its subschema merged in.
    /// `None` for a plugin this registry does not know (a custom plugin).
    pub fn plugin(&self, name: &str) -> Option<&Schema> {
        self.plugins.get(name)
    }

    /// The JSON of entity `name` exactly as `/schemas/{name}` serves it.
    pub fn entity_json(&self, name: &str) -> Option<&Value> {
        self.entity_json.get(name)
    }

    /// The JSON of plugin `name` exactly as `/schemas/plugins/{name}` serves it.
    pub fn plugin_json(&self, name: &str) -> Option<&Value> {
        self.plugin_json.get(name)
    }

    /// Names of the known plugins, sorted.
    pub fn plugin_names(&self) -> impl Iterator<Item = &str> {
        self.plugins.keys().map(String::as_str)
    }

    /// Names of the known entities, sorted.
    pub fn entity_names(&self) -> impl Iterator<Item = &str> {
        self.entities.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_has_every_kind_and_plugin() {
        let s = Schemas::bundled();
        for kind in crate::kong::KongKind::ALL {
            assert!(s.entity(kind.table()).is_some(), "no schema for {kind}");
        }
        assert_eq!(s.plugin_names().count(), 45);
        let p = s.plugin("acl").unwrap();
        assert!(p.field("consumer_group").is_some());
        assert_eq!(p.field("consumer").unwrap().attrs.get("eq"), Some(&Value::Null));
        assert!(s.entity_json("plugins").unwrap().to_string().find("consumer_group").is_none());
    }

    #[test]
    fn field_paths_walk_records() {
        let s = Schemas::bundled();
        let f = s.plugin("rate-limiting").unwrap().field_at("config.redis.host").unwrap();
        assert_eq!(f.ty, FieldType::String);
        assert!(s.plugin("rate-limiting").unwrap().field_at("config.nope").is_none());
    }
}
