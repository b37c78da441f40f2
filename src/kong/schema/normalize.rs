//! Value normalisation Kong applies before validation: set de-duplication and the
//! recursive record merge of a PATCH (`kong-admin-api.md` §1.1, §1.7).

use serde_json::{Map, Value};

use super::field::{Field, FieldType};

/// De-duplicates a list, keeping the first occurrence of each value (Kong's `set`).
pub fn dedupe_set(items: &mut Vec<Value>) {
    let mut seen: Vec<Value> = Vec::with_capacity(items.len());
    items.retain(|v| {
        if seen.contains(v) {
            false
        } else {
            seen.push(v.clone());
            true
        }
    });
}

/// Applies [`dedupe_set`] to every `set` field of `obj`, recursively through records,
/// array elements and map values.
pub fn normalize_sets(fields: &[(String, Field)], obj: &mut Map<String, Value>) {
    for (name, field) in fields {
        if let Some(v) = obj.get_mut(name) {
            normalize_value(field, v);
        }
    }
}

fn normalize_value(field: &Field, v: &mut Value) {
    match (field.ty, v) {
        (FieldType::Set, Value::Array(items)) => {
            dedupe_set(items);
            if let Some(el) = &field.elements {
                items.iter_mut().for_each(|i| normalize_value(el, i));
            }
        }
        (FieldType::Array, Value::Array(items)) => {
            if let Some(el) = &field.elements {
                items.iter_mut().for_each(|i| normalize_value(el, i));
            }
        }
        (FieldType::Record, Value::Object(o)) => {
            if let Some(sub) = &field.fields {
                normalize_sets(sub, o);
            }
        }
        (FieldType::Map, Value::Object(o)) => {
            if let Some(vf) = &field.values {
                o.values_mut().for_each(|i| normalize_value(vf, i));
            }
        }
        _ => {}
    }
}

/// Merges a partial update into a stored entity as Kong's PATCH does: records merge field by
/// field (recursively), everything else (arrays, sets, maps, scalars, `null`) replaces.
pub fn merge_update(fields: &[(String, Field)], stored: &mut Map<String, Value>, patch: Map<String, Value>) {
    for (k, v) in patch {
        let field = fields.iter().find(|(n, _)| *n == k).map(|(_, f)| f);
        match (field, stored.get_mut(&k), v) {
            (Some(f), Some(Value::Object(old)), Value::Object(new)) if f.ty == FieldType::Record => {
                let sub: &[(String, Field)] = f.fields.as_deref().unwrap_or(&[]);
                if sub.is_empty() {
                    // abstract record (custom plugin config): shallow merge
                    for (nk, nv) in new {
                        old.insert(nk, nv);
                    }
                } else {
                    merge_update(sub, old, new);
                }
            }
            (_, _, v) => {
                stored.insert(k, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kong::schema::Schemas;
    use serde_json::json;

    #[test]
    fn sets_keep_first_occurrence() {
        let mut v = vec![json!("b"), json!("a"), json!("b")];
        dedupe_set(&mut v);
        assert_eq!(v, vec![json!("b"), json!("a")]);
    }

    #[test]
    fn patch_merges_records() {
        let s = Schemas::bundled().plugin("key-auth").unwrap();
        let mut stored = json!({"config": {"key_names": ["a"], "hide_credentials": false}, "tags": ["x"]})
            .as_object()
            .cloned()
            .unwrap();
        merge_update(
            &s.fields,
            &mut stored,
            json!({"config": {"hide_credentials": true}, "tags": ["y"]}).as_object().cloned().unwrap(),
        );
        assert_eq!(
            stored,
            json!({"config": {"key_names": ["a"], "hide_credentials": true}, "tags": ["y"]})
                .as_object()
                .cloned()
                .unwrap()
        );
    }
}
