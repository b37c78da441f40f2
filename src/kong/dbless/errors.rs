//! What a DB-less node said when it refused a configuration (`POST /config` → 400 code 14,
//! `kong-admin-api.md` §3.7), turned into the entities it names.
//!
//! With `flatten_errors=1` Kong lists each refused entity in `flattened_errors`
//! (`entity_type`, `entity_id`, `entity_name`, `errors: [{type, field?, message}]`,
//! `kong/db/errors.lua`) and keeps in `fields` only what belongs to no entity. An older
//! Kong ignores the flag and nests entity errors in `fields` by table and position
//! (`fields.services[3]`): the positions of the posted document name those entities.
//! The `entity` objects Kong echoes back (secrets included) are dropped from the error
//! that is kept and shown.

use serde_json::Value;

use super::config::Positions;
use crate::gateway::{EntityError, HttpError};
use crate::kong::KongKind;

/// The refusal as it is kept: the gateway's body without the entities it echoes.
pub fn trimmed(error: HttpError) -> HttpError {
    match error {
        HttpError::Api { method, path, status, mut body } => {
            if let Some(Value::Array(list)) = body.get_mut("flattened_errors") {
                for item in list.iter_mut().filter_map(Value::as_object_mut) {
                    item.remove("entity");
                }
            }
            HttpError::Api { method, path, status, body }
        }
        other => other,
    }
}

/// The entities a refusal names, with their messages (`field: message` for field errors).
pub fn entity_errors(error: &HttpError, positions: &Positions) -> Vec<EntityError> {
    let HttpError::Api { body, .. } = error else { return Vec::new() };
    let mut out = Vec::new();
    if let Some(Value::Array(list)) = body.get("flattened_errors") {
        for item in list {
            let kind = item.get("entity_type").and_then(Value::as_str).and_then(kind_named);
            let mut messages = Vec::new();
            for e in item.get("errors").and_then(Value::as_array).into_iter().flatten() {
                let message = e.get("message").and_then(Value::as_str).unwrap_or_default();
                match e.get("field").and_then(Value::as_str) {
                    Some(field) => messages.push(format!("{field}: {message}")),
                    None => messages.push(message.to_owned()),
                }
            }
            out.push(EntityError {
                kind: kind.map(KongKind::kind),
                id: item.get("entity_id").and_then(Value::as_str).map(str::to_owned),
                name: item.get("entity_name").and_then(Value::as_str).map(str::to_owned),
                messages,
            });
        }
    }
    if let Some(Value::Object(fields)) = body.get("fields") {
        for (key, value) in fields {
            match (KongKind::from_table(key), value) {
                (Some(kind), Value::Array(items)) => {
                    for (i, v) in items.iter().enumerate().filter(|(_, v)| !v.is_null()) {
                        let id = positions.get(key).and_then(|ids| ids.get(i)).cloned();
                        out.push(EntityError { kind: Some(kind.kind()), id, name: None, messages: flatten("", v) });
                    }
                }
                _ => out.push(EntityError { messages: flatten(key, value), ..EntityError::default() }),
            }
        }
    }
    out
}

/// The Kong kind an `entity_type` names: its singular (`service`) or its table.
fn kind_named(name: &str) -> Option<KongKind> {
    KongKind::ALL.iter().copied().find(|k| k.singular() == name || k.table() == name)
}

/// `path: message` for every message of a nested error value.
fn flatten(prefix: &str, v: &Value) -> Vec<String> {
    let at = |k: &str| if prefix.is_empty() { k.to_owned() } else { format!("{prefix}.{k}") };
    match v {
        Value::String(m) if prefix.is_empty() => vec![m.clone()],
        Value::String(m) => vec![format!("{prefix}: {m}")],
        Value::Array(a) => a.iter().enumerate().flat_map(|(i, x)| flatten(&at(&(i + 1).to_string()), x)).collect(),
        Value::Object(o) => o.iter().flat_map(|(k, x)| flatten(&at(k), x)).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn refusal(body: Value) -> HttpError {
        HttpError::Api { method: "POST".into(), path: "/config".into(), status: 400, body }
    }

    #[test]
    fn flattened_errors_name_entities_and_lose_their_echo() {
        let e = refusal(json!({"code": 14, "fields": {}, "flattened_errors": [{
            "entity_type": "service", "entity_id": "s1", "entity_name": "orders",
            "entity": {"name": "orders", "port": 70000},
            "errors": [{"type": "field", "field": "port", "message": "value should be between 0 and 65535"},
                       {"type": "entity", "message": "bad"}]}]}));
        let errors = entity_errors(&e, &Positions::new());
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].kind, Some(KongKind::Service.kind()));
        assert_eq!(errors[0].id.as_deref(), Some("s1"));
        assert_eq!(errors[0].messages, vec!["port: value should be between 0 and 65535", "bad"]);
        let HttpError::Api { body, .. } = trimmed(e) else { panic!() };
        assert!(body["flattened_errors"][0].get("entity").is_none());
        assert_eq!(body["flattened_errors"][0]["entity_name"], "orders");
    }

    #[test]
    fn nested_field_errors_are_found_by_position() {
        let e = refusal(json!({"fields": {
            "services": [null, {"port": "value should be between 0 and 65535"}],
            "_format_version": "expected a string"}}));
        let positions = Positions::from([("services".to_owned(), vec!["s1".to_owned(), "s2".to_owned()])]);
        let errors = entity_errors(&e, &positions);
        assert_eq!(errors[0].id.as_deref(), Some("s2"));
        assert_eq!(errors[0].messages, vec!["port: value should be between 0 and 65535"]);
        assert_eq!(errors[1].kind, None);
        assert_eq!(errors[1].messages, vec!["_format_version: expected a string"]);
    }
}
