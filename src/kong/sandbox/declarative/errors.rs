//! Error bodies of a refused `/config` (`kong-admin-api.md` §3.7): the nested `fields`
//! tree and its flattened form.

use serde_json::{Value, json};

/// Sets `err` at `path` in both the nested `fields` tree and the top-level one.
pub(super) fn top_error(errors: &mut Value, top: &mut Value, path: &[Value], err: Value) {
    set_error(errors, path, err.clone());
    set_error(top, path, err);
}

/// Sets `err` at `path` (object keys and array indexes) in a nested error tree, making
/// the objects and arrays on the way.
pub(super) fn set_error(errors: &mut Value, path: &[Value], err: Value) {
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
pub(super) fn flatten_fields(prefix: &str, v: &Value, out: &mut Vec<Value>) {
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
