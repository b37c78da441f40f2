//! Value normalisation Kong applies before validation: set de-duplication and the
//! recursive record merge of a PATCH (`kong-admin-api.md` §1.1, §1.7).

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};

use serde_json::{Map, Value};

use super::field::{Field, FieldType};

/// De-duplicates a list, keeping the first occurrence of each value (Kong's `set`), in time
/// linear in the list: values are bucketed by a hash of their content, and compared with
/// `==` only within a bucket (70,000 distinct tags took 22 s when every value was compared
/// with every value kept before it).
pub fn dedupe_set(items: &mut Vec<Value>) {
    if items.len() < 2 {
        return;
    }
    let mut buckets: HashMap<u64, Vec<usize>> = HashMap::with_capacity(items.len());
    let mut kept: Vec<Value> = Vec::with_capacity(items.len());
    for v in items.drain(..) {
        let bucket = buckets.entry(content_hash(&v)).or_default();
        if bucket.iter().any(|&i| kept[i] == v) {
            continue;
        }
        bucket.push(kept.len());
        kept.push(v);
    }
    *items = kept;
}

/// A hash that equal values share: numbers hash as `f64` (so `1` and `1.0` collide, which
/// `==` then separates), objects hash independently of key order, as their `==` is.
fn content_hash(v: &Value) -> u64 {
    let mut h = DefaultHasher::new();
    match v {
        Value::Null => 0u8.hash(&mut h),
        Value::Bool(b) => (1u8, b).hash(&mut h),
        Value::Number(n) => {
            let f = n.as_f64().unwrap_or(0.0);
            (2u8, if f == 0.0 { 0 } else { f.to_bits() }).hash(&mut h);
        }
        Value::String(s) => (3u8, s).hash(&mut h),
        Value::Array(items) => {
            4u8.hash(&mut h);
            items.iter().for_each(|i| content_hash(i).hash(&mut h));
        }
        Value::Object(map) => {
            let sum = map.iter().fold(0u64, |acc, (k, v)| {
                let mut e = DefaultHasher::new();
                (k, content_hash(v)).hash(&mut e);
                acc.wrapping_add(e.finish())
            });
            (5u8, sum).hash(&mut h);
        }
    }
    h.finish()
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

    #[test]
    fn sets_keep_the_first_of_equal_values() {
        let mut items = vec![
            json!("a"),
            json!(1),
            json!(1.0),
            json!("a"),
            json!({"x": 1, "y": [2]}),
            json!({"y": [2], "x": 1}),
            json!(null),
            json!(1),
            json!(0.0),
            json!(-0.0),
            json!(null),
        ];
        dedupe_set(&mut items);
        assert_eq!(items, vec![json!("a"), json!(1), json!(1.0), json!({"x": 1, "y": [2]}), json!(null), json!(0.0)]);
        let mut many: Vec<Value> = (0..70_000).chain(0..10).map(|i| Value::String(format!("t{i}"))).collect();
        dedupe_set(&mut many);
        assert_eq!(many.len(), 70_000);
        assert_eq!(many[69_999], json!("t69999"));
    }
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
