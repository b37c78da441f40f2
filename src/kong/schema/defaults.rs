//! Filling absent fields with defaults, as Kong does on insert (`Schema:process_auto_fields`,
//! `kong-schemas/README.md` "How Kong fills an absent field on insert"; `kong-admin-api.md` §1.2).

use serde_json::{Map, Value};

use super::field::{Field, FieldType};

/// Fills absent fields of `obj` from `fields`, recursively, with Kong's insert rules:
///
/// 1. an absent field with a `default` gets a copy of it (a record default is then filled too);
/// 2. else an absent optional field becomes `null`;
/// 3. else an absent required record is built from its sub-fields' defaults;
/// 4. else the field stays absent (validation reports it).
///
/// Present records are filled recursively, and so are records inside arrays, sets and map
/// values. `auto` fields (ids, timestamps, generated secrets) are left alone: whoever
/// stores the entity generates them.
pub fn fill_defaults(fields: &[(String, Field)], obj: &mut Map<String, Value>) {
    for (name, field) in fields {
        if field.auto {
            continue;
        }
        match obj.get_mut(name) {
            Some(value) => fill_value(field, value),
            None => {
                if let Some(value) = absent_value(field) {
                    obj.insert(name.clone(), value);
                }
            }
        }
    }
}

/// The value Kong stores for an absent field, or `None` when it stays absent.
pub fn absent_value(field: &Field) -> Option<Value> {
    if let Some(default) = &field.default {
        let mut value = default.clone();
        fill_value(field, &mut value);
        return Some(value);
    }
    if !field.required {
        return Some(Value::Null);
    }
    if field.ty == FieldType::Record {
        let mut value = Value::Object(Map::new());
        fill_value(field, &mut value);
        return Some(value);
    }
    None
}

/// Fills the nested records of a present value.
pub fn fill_value(field: &Field, value: &mut Value) {
    match (field.ty, value) {
        (FieldType::Record, Value::Object(obj)) => {
            if let Some(fields) = &field.fields {
                fill_defaults(fields, obj);
            }
        }
        (FieldType::Array | FieldType::Set, Value::Array(items)) => {
            if let Some(elements) = &field.elements {
                for item in items {
                    fill_value(elements, item);
                }
            }
        }
        (FieldType::Map, Value::Object(obj)) => {
            if let Some(values) = &field.values {
                for item in obj.values_mut() {
                    fill_value(values, item);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kong::schema::Schemas;
    use serde_json::json;

    #[test]
    fn service_defaults_match_kong() {
        let schemas = Schemas::bundled();
        let mut svc = json!({"host": "example.test"}).as_object().cloned().unwrap();
        schemas.entity("services").unwrap().fill_defaults(&mut svc);
        assert_eq!(svc["port"], 80);
        assert_eq!(svc["protocol"], "http");
        assert_eq!(svc["retries"], 5);
        assert_eq!(svc["connect_timeout"], 60000);
        assert_eq!(svc["path"], Value::Null);
        assert_eq!(svc["enabled"], true);
        assert!(!svc.contains_key("id"), "auto fields are left to the store");
    }

    #[test]
    fn plugin_config_defaults_are_nested() {
        let schemas = Schemas::bundled();
        let mut p = json!({"name": "key-auth"}).as_object().cloned().unwrap();
        schemas.plugin("key-auth").unwrap().fill_defaults(&mut p);
        assert_eq!(p["config"]["key_names"], json!(["apikey"]));
        assert_eq!(p["config"]["realm"], Value::Null);
        assert_eq!(p["protocols"], json!(["grpc", "grpcs", "http", "https"]));
        assert_eq!(p["enabled"], true);
        assert_eq!(p["route"], Value::Null);
    }

    #[test]
    fn upstream_healthchecks_are_filled() {
        let schemas = Schemas::bundled();
        let mut u = json!({"name": "up"}).as_object().cloned().unwrap();
        schemas.entity("upstreams").unwrap().fill_defaults(&mut u);
        assert_eq!(u["healthchecks"]["active"]["healthy"]["http_statuses"], json!([200, 302]));
        assert_eq!(u["healthchecks"]["threshold"], 0);
        assert_eq!(u["slots"], 10000);
    }
}
