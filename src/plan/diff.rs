//! Field-by-field comparison of a normalised desired body with a normalised live body.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::gateway::FieldShape;

/// One changed field: its dotted path (`config.minute`) and values before and after
/// (`None` = absent). For sensitive fields the values are kept here for apply, but every
/// renderer shows `(sensitive value)` instead.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    /// Dotted path through records.
    pub path: String,
    /// Live value.
    pub before: Option<Value>,
    /// Desired value.
    pub after: Option<Value>,
    /// Whether the value is a secret.
    pub sensitive: bool,
}

/// What the comparison needs beyond the two bodies.
pub struct DiffContext<'a> {
    /// The shape of the entity (its schema), if known.
    pub shape: Option<&'a dyn FieldShape>,
    /// Decides whether a dotted path holds a secret.
    pub sensitive: &'a dyn Fn(&str) -> bool,
    /// Whether a desired value equals a live one the gateway stores transformed (a hashed
    /// password): `(path, desired, live)`.
    pub equal: &'a dyn Fn(&str, &Value, &Value) -> bool,
}

/// The fields whose desired value differs from the live one, sorted by path. Keys absent
/// on one side compare as `null`. Fields the gateway generates that the desired side leaves
/// out are not compared; live fields the shape does not know are ignored.
pub fn diff(desired: &Map<String, Value>, live: &Map<String, Value>, ctx: &DiffContext<'_>) -> Vec<FieldChange> {
    let mut out = Vec::new();
    diff_record(ctx.shape, desired, live, "", ctx, &mut out);
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

fn diff_record(
    shape: Option<&dyn FieldShape>,
    desired: &Map<String, Value>,
    live: &Map<String, Value>,
    prefix: &str,
    ctx: &DiffContext<'_>,
    out: &mut Vec<FieldChange>,
) {
    let lists = shape.filter(|s| s.lists_fields());
    let mut keys: Vec<&String> = desired.keys().collect();
    for k in live.keys() {
        let known = lists.is_none_or(|s| s.child(k).is_some());
        if known && !desired.contains_key(k) {
            keys.push(k);
        }
    }
    for key in keys {
        let field = lists.and_then(|s| s.child(key));
        let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        let d = desired.get(key);
        let l = live.get(key);
        if d.is_none() && field.is_some_and(|f| f.generated()) {
            continue;
        }
        let dn = d.filter(|v| !v.is_null());
        let ln = l.filter(|v| !v.is_null());
        if let (Some(Value::Object(dm)), Some(Value::Object(lm))) = (dn, ln) {
            let is_record = field.is_none_or(|f| f.is_record());
            if is_record {
                diff_record(field, dm, lm, &path, ctx, out);
                continue;
            }
        }
        let transformed = matches!((dn, ln), (Some(d), Some(l)) if (ctx.equal)(&path, d, l));
        if dn == ln || transformed {
            continue;
        }
        out.push(FieldChange { sensitive: (ctx.sensitive)(&path), path, before: l.cloned(), after: d.cloned() });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    fn ctx() -> DiffContext<'static> {
        DiffContext { shape: None, sensitive: &|p: &str| p == "password", equal: &|_, d, l| d == "s3cret" && l == "H" }
    }

    #[test]
    fn nested_records_give_dotted_paths() {
        let d = obj(json!({"config": {"minute": 20, "hour": null}, "enabled": true}));
        let l = obj(json!({"config": {"minute": 10}, "enabled": true}));
        let changes = diff(&d, &l, &ctx());
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].path, "config.minute");
        assert_eq!(changes[0].before, Some(json!(10)));
        assert_eq!(changes[0].after, Some(json!(20)));
    }

    #[test]
    fn transformed_values_compare_through_the_dialect() {
        let d = obj(json!({"username": "u", "password": "s3cret"}));
        let l = obj(json!({"username": "u", "password": "H"}));
        assert!(diff(&d, &l, &ctx()).is_empty());
        let d = obj(json!({"username": "u", "password": "other"}));
        let changes = diff(&d, &l, &ctx());
        assert_eq!(changes.len(), 1);
        assert!(changes[0].sensitive);
    }
}
