//! The comparable form of Tyk objects (`tyk.md` §2.3): what the configuration says and what
//! the gateway answers compare equal exactly when the gateway serves what was written.
//!
//! * Classic definitions and policies go through Go's decode/encode of `apidef.APIDefinition`
//!   / `user.Policy` ([`crate::tyk::sandbox::fields`]): every field the gateway has, with its
//!   Go zero value when absent (the gateway emits them all, #6); fields it does not have
//!   dropped (it drops them on write, #10: the loader warns); whole floats written as
//!   integers (#12). Then what the gateway does at load (#2, #4, #5: listen path cleaned,
//!   `tag_headers` lowercased, TLS versions) and what it owns (#8: `id`, `is_oas`, a policy's
//!   `_id`, `last_updated`, `date_created`, `access_rights.*.api_name`) are applied.
//! * Tyk OAS documents: the `servers` entries the gateway generates from its own address and
//!   the listen path are left out (#9), the extension's zero values and empty blocks too
//!   (Tyk's `Fill` leaves them out or adds them), `info.dbId` (Dashboard-owned) and nulls
//!   anywhere; the listen path is cleaned.
//! * Certificates: their id is the SHA-256 of their content, so there is nothing else to
//!   compare.

use serde_json::{Map, Value};

use super::kind::TykKind;
use super::rules::{process_spec, valid_listen_path};
use crate::tyk::sandbox::fields::{Field, is_zero};
use crate::tyk::sandbox::{classic_fields, policy_fields};

/// The OAS extension key.
pub const EXTENSION: &str = "x-tyk-api-gateway";

/// The comparable form of a body of `kind`.
pub fn comparable(kind: TykKind, body: &Map<String, Value>) -> Map<String, Value> {
    match kind {
        TykKind::Api => classic(body),
        TykKind::OasApi => oas(body),
        TykKind::Policy => policy(body),
        TykKind::Certificate => Map::new(),
    }
}

/// The body as the gateway encodes it; the values of maps of structs (a classic API's
/// versions, a policy's access rights) without their zero fields, so that a new entry reads
/// as what it says.
fn through(template: &Field, body: &Map<String, Value>) -> Map<String, Value> {
    match template.normalize(&Value::Object(body.clone()), "", true, &mut Vec::new()) {
        Ok(mut v) => {
            tidy(template, &mut v);
            match v {
                Value::Object(m) => m,
                _ => body.clone(),
            }
        }
        _ => body.clone(),
    }
}

fn tidy(field: &Field, v: &mut Value) {
    match (field, v) {
        (Field::Struct(s), Value::Object(m)) => {
            for (name, f, _) in &s.fields {
                if let Some(c) = m.get_mut(name) {
                    tidy(f, c);
                }
            }
        }
        (Field::Map(Some(inner)), Value::Object(m)) => {
            for c in m.values_mut() {
                *c = compact_value(inner, c).unwrap_or_else(|| Value::Object(Map::new()));
            }
        }
        (Field::Nullable(inner), v) if !v.is_null() => tidy(inner, v),
        _ => {}
    }
}

fn classic(body: &Map<String, Value>) -> Map<String, Value> {
    let mut v = Value::Object(through(classic_fields(), body));
    if let Some(lp) = v.pointer_mut("/proxy/listen_path")
        && let Some(s) = lp.as_str()
    {
        *lp = Value::String(valid_listen_path(s));
    }
    process_spec(&mut v);
    let Value::Object(mut m) = v else { return Map::new() };
    m.remove("id");
    m.remove("is_oas");
    m
}

fn policy(body: &Map<String, Value>) -> Map<String, Value> {
    let mut m = through(policy_fields(), body);
    for k in ["_id", "id", "last_updated", "date_created"] {
        m.remove(k);
    }
    if let Some(Value::Object(rights)) = m.get_mut("access_rights") {
        for right in rights.values_mut() {
            if let Some(r) = right.as_object_mut() {
                r.remove("api_name");
            }
        }
    }
    m
}

/// The cleaned listen path of an OAS document, without a trailing `/` (as the gateway's
/// generated server URLs end).
fn oas_listen_path(doc: &Map<String, Value>) -> Option<String> {
    let lp = doc.get(EXTENSION)?.pointer("/server/listenPath/value")?.as_str()?;
    let clean = valid_listen_path(if lp.starts_with('/') { lp.to_owned() } else { format!("/{lp}") }.as_str());
    Some(if clean.len() > 1 { clean.trim_end_matches('/').to_owned() } else { clean })
}

/// Whether a `servers` URL is one the gateway generates for listen path `lp`: the relative
/// path itself, or any absolute URL whose path is it (the gateway's own address or a custom
/// domain).
fn generated_server(url: &str, lp: &str) -> bool {
    let trim = |p: &str| if p.len() > 1 { p.trim_end_matches('/').to_owned() } else { p.to_owned() };
    if url.starts_with('/') {
        return trim(url) == lp;
    }
    match url::Url::parse(url) {
        Ok(u) => trim(u.path()) == lp && lp != "/",
        Err(_) => false,
    }
}

fn oas(body: &Map<String, Value>) -> Map<String, Value> {
    let mut m = body.clone();
    if let Some(lp) = oas_listen_path(&m)
        && let Some(Value::Array(servers)) = m.get_mut("servers")
    {
        servers.retain(|s| !s.get("url").and_then(Value::as_str).is_some_and(|u| generated_server(u, &lp)));
    }
    if let Some(Value::Object(ext)) = m.get_mut(EXTENSION) {
        if let Some(Value::Object(info)) = ext.get_mut("info") {
            info.remove("dbId");
        }
        if let Some(Value::String(lp)) =
            ext.get_mut("server").and_then(|s| s.get_mut("listenPath")).and_then(|l| l.get_mut("value"))
        {
            *lp = valid_listen_path(lp);
        }
        strip(ext, true);
    }
    strip(&mut m, false);
    m
}

/// Removes nulls and empty objects and arrays, recursively; with `zeros`, also `""`, `false`
/// and `0` (Go's `omitempty`). Whole floats become integers.
pub fn strip(m: &mut Map<String, Value>, zeros: bool) {
    m.retain(|_, v| {
        clean(v, zeros);
        !dropped(v, zeros)
    });
}

fn clean(v: &mut Value, zeros: bool) {
    match v {
        Value::Object(m) => strip(m, zeros),
        Value::Array(a) => a.iter_mut().for_each(|x| clean(x, zeros)),
        Value::Number(n) => {
            if let Some(f) = n.as_f64().filter(|f| !n.is_i64() && !n.is_u64() && f.fract() == 0.0 && f.abs() < 9e15) {
                *v = Value::Number((f as i64).into());
            }
        }
        _ => {}
    }
}

fn dropped(v: &Value, zeros: bool) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => zeros && is_zero(v),
    }
}

/// A live body made short for a dump: for classic definitions and policies, the fields whose
/// value is what the gateway fills in by itself (the Go zero value) are left out, so reading
/// the dump back gives the same comparable form.
pub fn compact(kind: TykKind, body: &Map<String, Value>) -> Map<String, Value> {
    let template = match kind {
        TykKind::Api => classic_fields(),
        TykKind::Policy => policy_fields(),
        TykKind::OasApi | TykKind::Certificate => return body.clone(),
    };
    let full = Value::Object(through(template, body));
    match compact_value(template, &full) {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

/// `value` without what `field` fills in by itself; `None` when nothing is left.
fn compact_value(field: &Field, value: &Value) -> Option<Value> {
    if *value == field.zero() {
        return None;
    }
    match (field, value) {
        (Field::Struct(s), Value::Object(m)) => {
            let mut out = Map::new();
            for (k, v) in m {
                match s.fields.iter().find(|(name, _, _)| name == k) {
                    Some((_, f, _)) => {
                        if let Some(c) = compact_value(f, v) {
                            out.insert(k.clone(), c);
                        }
                    }
                    None => {
                        out.insert(k.clone(), v.clone());
                    }
                }
            }
            Some(Value::Object(out))
        }
        (Field::Map(Some(inner)), Value::Object(m)) => Some(Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), compact_value(inner, v).unwrap_or_else(|| Value::Object(Map::new()))))
                .collect(),
        )),
        (Field::Nullable(inner), _) => Some(compact_value(inner, value).unwrap_or_else(|| Value::Object(Map::new()))),
        _ => Some(value.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn classic_definitions_compare_as_the_gateway_serves_them() {
        let desired = obj(json!({"api_id": "a", "name": "A", "proxy": {"listen_path": "a/", "target_url": "http://u"},
            "tag_headers": ["X-Team"], "brand_new_field": 1}));
        let mut served =
            classic_fields().normalize(&Value::Object(desired.clone()), "", true, &mut Vec::new()).unwrap();
        served["proxy"]["listen_path"] = json!("/a/");
        served["tag_headers"] = json!(["x-team"]);
        served["id"] = json!("5e0fac4845bb46c77543be28");
        let served = served.as_object().cloned().unwrap();
        assert_eq!(comparable(TykKind::Api, &desired), comparable(TykKind::Api, &served));
        let short = compact(TykKind::Api, &served);
        assert!(short.len() < 8, "{short:?}");
        assert_eq!(comparable(TykKind::Api, &short), comparable(TykKind::Api, &served));
    }

    #[test]
    fn policies_ignore_server_owned_fields_and_float_forms() {
        let desired = obj(
            json!({"id": "p", "rate": 2, "per": 10, "access_rights": {"a": {"api_id": "a", "api_name": "old", "limit": null}}}),
        );
        let served = obj(
            json!({"_id": "x", "id": "p", "rate": 2.0, "per": 10.0, "last_updated": "2023", "access_rights": {"a": {"api_id": "a", "api_name": "new"}}}),
        );
        assert_eq!(comparable(TykKind::Policy, &desired), comparable(TykKind::Policy, &served));
        let short = compact(TykKind::Policy, &served);
        assert_eq!(comparable(TykKind::Policy, &short), comparable(TykKind::Policy, &served));
    }

    #[test]
    fn oas_documents_ignore_generated_servers_and_empty_blocks() {
        let desired = obj(json!({"openapi": "3.0.3", "servers": [{"url": "https://upstream.test"}],
            EXTENSION: {"info": {"id": "o", "state": {"active": true, "internal": false}}, "server": {"listenPath": {"value": "/o/", "strip": true}}}}));
        let served = obj(
            json!({"openapi": "3.0.3", "servers": [{"url": "http://127.0.0.1:8080/o"}, {"url": "/o"}, {"url": "https://upstream.test"}],
            EXTENSION: {"info": {"id": "o", "dbId": "d", "state": {"active": true}}, "server": {"listenPath": {"value": "/o/", "strip": true}}, "middleware": {}}}),
        );
        assert_eq!(comparable(TykKind::OasApi, &desired), comparable(TykKind::OasApi, &served));
        let changed = obj(json!({"openapi": "3.0.3", EXTENSION: {"info": {"id": "o", "state": {"active": false}}}}));
        assert_ne!(comparable(TykKind::OasApi, &desired), comparable(TykKind::OasApi, &changed));
    }
}
