//! Normalising entities so that desired and live compare equal exactly when Kong would store
//! the same thing: input shorthands expanded (service `url`, upstream algorithm coupling,
//! plugin `shorthand_fields`, target ports), defaults filled from the gateway's schemas,
//! sets de-duplicated, and for comparison server-owned fields dropped, sets sorted and
//! numbers made canonical (`kong-admin-api.md` §1.2, §9).

use std::collections::BTreeMap;

use serde_json::{Map, Number, Value};

use super::KongKind as Kind;
use super::key::normalize_target;
use super::schema::input::{self, parse_service_url};
use super::schema::{Field, FieldType, Schema, Schemas, expand_shorthands, normalize_sets, strip_shorthands};
use crate::model::{Entity, Ref};

/// Fields the gateway owns or computes, never compared: ids, timestamps, a key-auth
/// credential's remaining `ttl`, a CA certificate's `cert_digest`, a certificate's `snis`.
const SERVER_OWNED: &[&str] = &["id", "created_at", "updated_at", "ttl", "cert_digest"];

/// The schema that describes an entity: the plugin's full schema for plugins (the entity
/// schema when the plugin is unknown, e.g. a custom plugin), else the entity schema.
pub fn schema_for<'s>(schemas: &'s Schemas, kind: Kind, fields: &Map<String, Value>) -> Option<&'s Schema> {
    if kind == Kind::Plugin
        && let Some(name) = fields.get("name").and_then(Value::as_str)
        && let Some(s) = schemas.plugin(name)
    {
        return Some(s);
    }
    schemas.entity(kind.table())
}

/// The body gateform sends for a desired entity: its fields with shorthands expanded,
/// defaults filled, sets de-duplicated, and foreign keys as `{"id": ...}` (or `null`).
pub fn desired_body(
    schemas: &Schemas,
    kind: Kind,
    fields: &Map<String, Value>,
    parents: &BTreeMap<&'static str, String>,
) -> Map<String, Value> {
    let mut body = fields.clone();
    match kind {
        Kind::Service => expand_service_url(&mut body),
        Kind::Upstream => couple_upstream_algorithm(&mut body),
        Kind::Target => {
            if let Some(t) = body.get("target").and_then(Value::as_str) {
                let t = normalize_target(t);
                body.insert("target".into(), Value::String(t));
            }
        }
        Kind::Route => {
            let grpc_only = body
                .get("protocols")
                .and_then(Value::as_array)
                .is_some_and(|p| !p.is_empty() && p.iter().all(|x| matches!(x.as_str(), Some("grpc" | "grpcs"))));
            if grpc_only && !body.contains_key("strip_path") {
                body.insert("strip_path".into(), Value::Bool(false));
            }
        }
        _ => {}
    }
    let schema = schema_for(schemas, kind, &body);
    for fk in kind.foreign_keys() {
        match parents.get(fk.field) {
            Some(id) => {
                body.insert(fk.field.to_owned(), serde_json::json!({ "id": id }));
            }
            // An unset reference is sent as `null` only when the gateway knows the field:
            // Kong OSS has no `consumer_group` on plugins and refuses it as unknown.
            None if schema.is_none_or(|s| s.field(fk.field).is_some()) => {
                body.insert(fk.field.to_owned(), Value::Null);
            }
            None => {}
        }
    }
    if let Some(schema) = schema {
        expand_shorthands(&schema.fields, &mut body);
        schema.fill_defaults(&mut body);
        normalize_sets(&schema.fields, &mut body);
    }
    if kind == Kind::ConsumerGroupConsumer {
        body.retain(|k, _| k == "consumer" || k == "consumer_group");
    }
    body
}

/// The body of a live entity: its fields plus foreign keys as `{"id": ...}` (or `null`).
pub fn live_body(e: &Entity) -> Map<String, Value> {
    let mut body = e.fields.clone();
    for fk in e.kind.foreign_keys() {
        let value = match e.refs.get(fk.field) {
            Some(Ref::Id(id)) => serde_json::json!({ "id": id }),
            _ => Value::Null,
        };
        body.insert(fk.field.to_owned(), value);
    }
    body
}

/// The comparable form of a body: server-owned fields and read-side shorthand echoes
/// removed, sets sorted, integral floats written as integers.
pub fn comparable(schemas: &Schemas, kind: Kind, body: &Map<String, Value>) -> Map<String, Value> {
    comparable_owned(schemas, kind, body.clone())
}

/// [`comparable`] of a body given up by the caller (made in place).
pub fn comparable_owned(schemas: &Schemas, kind: Kind, body: Map<String, Value>) -> Map<String, Value> {
    let schema = schema_for(schemas, kind, &body);
    let mut out = body;
    for f in SERVER_OWNED {
        out.remove(*f);
    }
    if kind == Kind::Certificate {
        out.remove("snis");
    }
    // A service's CA certificates are a set to Kong's TLS verification, and to decK's diff:
    // their order is no difference.
    if kind == Kind::Service
        && let Some(Value::Array(ids)) = out.get_mut("ca_certificates")
    {
        ids.sort_by_key(|v| v.to_string());
    }
    match schema {
        Some(schema) => {
            strip_shorthands(&schema.fields, &mut out);
            canonical_record(&schema.fields, &mut out);
        }
        None => {
            for v in out.values_mut() {
                canonical_numbers(v);
            }
        }
    }
    out
}

fn canonical_record(fields: &[(String, Field)], obj: &mut Map<String, Value>) {
    for (name, field) in fields {
        if let Some(v) = obj.get_mut(name) {
            canonical_value(field, v);
        }
    }
    for v in obj.values_mut() {
        canonical_numbers(v);
    }
}

fn canonical_value(field: &Field, value: &mut Value) {
    match (field.ty, value) {
        (FieldType::Record, Value::Object(obj)) => {
            if let Some(fields) = &field.fields {
                canonical_record(fields, obj);
            }
        }
        (FieldType::Set, Value::Array(items)) => {
            if let Some(el) = &field.elements {
                items.iter_mut().for_each(|i| canonical_value(el, i));
            }
            items.iter_mut().for_each(canonical_numbers);
            items.sort_by_key(|v| v.to_string());
            items.dedup();
        }
        (FieldType::Array, Value::Array(items)) => {
            if let Some(el) = &field.elements {
                items.iter_mut().for_each(|i| canonical_value(el, i));
            }
        }
        (FieldType::Map, Value::Object(obj)) => {
            if let Some(values) = &field.values {
                obj.values_mut().for_each(|v| canonical_value(values, v));
            }
        }
        (_, v) => canonical_numbers(v),
    }
}

/// Writes integral floats (`1.2096e+06`) as integers, recursively.
pub fn canonical_numbers(value: &mut Value) {
    match value {
        Value::Number(n) if !n.is_i64() && !n.is_u64() => {
            if let Some(f) = n.as_f64()
                && f.fract() == 0.0
                && f.abs() < 9.0e15
            {
                *n = Number::from(f as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(canonical_numbers),
        Value::Object(obj) => obj.values_mut().for_each(canonical_numbers),
        _ => {}
    }
}

/// Expands a service's `url` shorthand into `protocol`, `host`, `port` and `path`
/// (`kong-admin-api.md` §2.1), as the gateway will; a `url` it would refuse is left for it
/// to refuse.
pub fn expand_service_url(body: &mut Map<String, Value>) {
    let Some(Value::String(url)) = body.get("url") else { return };
    if let Ok(parts) = parse_service_url(url) {
        body.remove("url");
        parts.write_into(body);
    }
}

/// Upstream `algorithm`/`hash_on` coupling on a desired upstream, which is sent whole.
pub fn couple_upstream_algorithm(body: &mut Map<String, Value>) {
    input::couple_upstream_algorithm(body, None, true);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn service_url_expands_like_kong() {
        let mut b = obj(json!({"url": "http://example.test/"}));
        expand_service_url(&mut b);
        assert_eq!(Value::Object(b), json!({"protocol": "http", "host": "example.test", "port": 80, "path": "/"}));
        let mut b = obj(json!({"url": "https://example.test", "path": "/x"}));
        expand_service_url(&mut b);
        assert_eq!(Value::Object(b), json!({"protocol": "https", "host": "example.test", "port": 443, "path": null}));
        let mut b = obj(json!({"url": "http://identity-give-ipp.apps.internal:8080"}));
        expand_service_url(&mut b);
        assert_eq!(b["port"], 8080);
        assert_eq!(b["path"], Value::Null);
    }

    #[test]
    fn desired_and_live_compare_equal_after_normalising() {
        let schemas = Schemas::bundled();
        let fields = obj(
            json!({"name": "rate-limiting", "config": {"minute": 10, "redis_host": null}, "tags": ["b", "a", "b"]}),
        );
        let parents = BTreeMap::from([("service", "S".to_owned())]);
        let body = desired_body(schemas, Kind::Plugin, &fields, &parents);
        assert_eq!(body["tags"], json!(["b", "a"]));
        assert_eq!(body["service"], json!({"id": "S"}));
        assert_eq!(body["route"], Value::Null);
        assert!(body["config"].get("redis_host").is_none());
        assert_eq!(body["config"]["redis"]["port"], 6379);
        // What Kong returns: same values, tags in another order, shorthand echoes, timestamps.
        let mut live = body.clone();
        live.insert("tags".into(), json!(["a", "b"]));
        live.insert("created_at".into(), json!(1));
        live["config"].as_object_mut().unwrap().insert("redis_host".into(), Value::Null);
        live["config"].as_object_mut().unwrap().insert("minute".into(), json!(10.0));
        assert_eq!(comparable(schemas, Kind::Plugin, &body), comparable(schemas, Kind::Plugin, &live));
    }

    #[test]
    fn shorthand_values_move_to_their_path() {
        let schemas = Schemas::bundled();
        let fields = obj(json!({"name": "rate-limiting", "config": {"minute": 1, "redis_host": "r.example"}}));
        let body = desired_body(schemas, Kind::Plugin, &fields, &BTreeMap::new());
        assert_eq!(body["config"]["redis"]["host"], "r.example");
    }

    #[test]
    fn targets_and_grpc_routes() {
        let schemas = Schemas::bundled();
        let t = desired_body(schemas, Kind::Target, &obj(json!({"target": "a.test"})), &BTreeMap::new());
        assert_eq!(t["target"], "a.test:8000");
        assert_eq!(t["weight"], 100);
        let r =
            desired_body(schemas, Kind::Route, &obj(json!({"protocols": ["grpc"], "paths": ["/x"]})), &BTreeMap::new());
        assert_eq!(r["strip_path"], false);
    }

    #[test]
    fn upstream_coupling() {
        let mut b = obj(json!({"hash_on": "ip"}));
        couple_upstream_algorithm(&mut b);
        assert_eq!(b["algorithm"], "consistent-hashing");
        let mut b = obj(json!({"algorithm": "least-connections", "hash_on": "ip"}));
        couple_upstream_algorithm(&mut b);
        assert_eq!(b["hash_on"], "none");
    }
}
