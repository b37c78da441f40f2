//! Error bodies of a refused `/config` (`kong-admin-api.md` §3.7): the nested `fields`
//! tree and its flattened form.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::kong::sandbox::error::{ApiError, lua_pretty};

/// The errors of one `/config` load: the nested `fields` tree, its part that belongs to no
/// entity, and (with `flatten_errors`) one flattened entry per entity that failed.
pub(super) struct Refusal {
    errors: Value,
    top: Value,
    flat: Vec<Value>,
    flatten: bool,
}

impl Refusal {
    /// No errors yet; `flatten` as `?flatten_errors=1` asks.
    pub fn new(flatten: bool) -> Self {
        Refusal { errors: json!({}), top: json!({}), flat: Vec::new(), flatten }
    }

    /// An error of the document itself (a top-level key, a value that is no entity).
    pub fn top(&mut self, path: &[Value], err: Value) {
        top_error(&mut self.errors, &mut self.top, path, err);
    }

    /// An error at `path` of the nested tree only.
    pub fn at(&mut self, path: &[Value], err: Value) {
        set_error(&mut self.errors, path, err);
    }

    /// The error tree `err` of the entity at `path`; `flattened` makes its flattened entry
    /// from the flattened messages.
    pub fn entity(&mut self, path: &[Value], err: Value, flattened: impl FnOnce(Vec<Value>) -> Value) {
        if self.flatten {
            let mut errs = Vec::new();
            flatten_fields("", &err, &mut errs);
            self.flat.push(flattened(errs));
        }
        set_error(&mut self.errors, path, err);
    }

    /// Kong's 400 for an invalid declarative configuration, or `None` without errors.
    /// With `flatten_errors`, entity errors move to `flattened_errors` and `fields` keeps
    /// the rest (`errors:declarative_config_flattened`, `kong/db/errors.lua`).
    pub fn into_error(self) -> Option<ApiError> {
        if self.errors.as_object().is_none_or(|o| o.is_empty()) {
            return None;
        }
        let errors = if self.flatten { self.top } else { self.errors };
        let mut body = json!({
            "code": 14,
            "name": "invalid declarative configuration",
            "message": format!("declarative config is invalid: {}", lua_pretty(&errors)),
            "fields": errors,
        });
        if self.flatten {
            body["flattened_errors"] = Value::Array(self.flat);
        }
        Some(ApiError { status: StatusCode::BAD_REQUEST, body: Some(body) })
    }
}

/// Sets `err` at `path` in both the nested `fields` tree and the top-level one.
fn top_error(errors: &mut Value, top: &mut Value, path: &[Value], err: Value) {
    set_error(errors, path, err.clone());
    set_error(top, path, err);
}

/// Sets `err` at `path` (object keys and array indexes) in a nested error tree, making
/// the objects and arrays on the way.
fn set_error(errors: &mut Value, path: &[Value], err: Value) {
    let Some((first, rest)) = path.split_first() else {
        *errors = err;
        return;
    };
    match first {
        Value::String(k) => {
            if !errors.is_object() {
                *errors = json!({});
            }
            let slot = errors.as_object_mut().map(|o| o.entry(k.clone()).or_insert(Value::Null));
            if let Some(slot) = slot {
                set_error(slot, rest, err);
            }
        }
        Value::Number(n) => {
            let i = n.as_u64().unwrap_or(0) as usize;
            if !errors.is_array() {
                *errors = json!([]);
            }
            if let Some(a) = errors.as_array_mut() {
                while a.len() <= i {
                    a.push(Value::Null);
                }
                set_error(&mut a[i], rest, err);
            }
        }
        _ => {}
    }
}

/// The `flatten_errors=1` form of an error tree: one `{type, field?, message}` per
/// message, fields named by their dotted path (array items counted from 1, as Lua does).
fn flatten_fields(prefix: &str, v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::String(m) if prefix == "@entity" || prefix.is_empty() => {
            out.push(json!({"type": "entity", "message": m}))
        }
        Value::String(m) => out.push(json!({"type": "field", "field": prefix, "message": m})),
        Value::Array(a) if prefix == "@entity" => {
            a.iter().for_each(|m| out.push(json!({"type": "entity", "message": m})))
        }
        Value::Array(a) => a
            .iter()
            .enumerate()
            .filter(|(_, x)| !x.is_null())
            .for_each(|(i, x)| flatten_fields(&format!("{prefix}.{}", i + 1), x, out)),
        Value::Object(o) => o.iter().for_each(|(k, x)| {
            flatten_fields(
                &if prefix.is_empty() || k == "@entity" { k.clone() } else { format!("{prefix}.{k}") },
                x,
                out,
            )
        }),
        _ => {}
    }
}
