//! `shorthand_fields` of records (`kong-schemas/README.md` "shorthand_fields"): input-only
//! names that Kong translates into real fields on write, and the read-side echo of those
//! whose `deprecation.replaced_with` is set.

use serde_json::{Map, Value};

use super::field::{Field, FieldType};

/// Where a shorthand writes: the `replaced_with` path, or Kong's hard-coded translation for
/// the shorthands whose schema carries none (session, opentelemetry). `None`: ignored.
fn target_path(name: &str, def: &Field) -> Option<Vec<String>> {
    let replaced = def
        .attrs
        .get("deprecation")
        .and_then(|d| d.get("replaced_with"))
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(|r| r.get("path"))
        .and_then(Value::as_array);
    if let Some(path) = replaced {
        return Some(path.iter().filter_map(Value::as_str).map(str::to_owned).collect());
    }
    let fixed = match name {
        "cookie_lifetime" => "rolling_timeout",
        "cookie_idletime" => "idling_timeout",
        "cookie_discard" => "stale_ttl",
        "cookie_samesite" => "cookie_same_site",
        "cookie_httponly" => "cookie_http_only",
        "cookie_persistent" => "remember",
        "endpoint" => "traces_endpoint",
        _ => return None,
    };
    Some(vec![fixed.to_owned()])
}

fn set_path(obj: &mut Map<String, Value>, path: &[String], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut cur = obj;
    for p in parents {
        let slot = cur.entry(p.clone()).or_insert_with(|| Value::Object(Map::new()));
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        let Value::Object(next) = slot else { return };
        cur = next;
    }
    cur.insert(last.clone(), value);
}

fn get_path<'a>(obj: &'a Map<String, Value>, path: &[String]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    let mut cur = obj.get(first)?;
    for p in rest {
        cur = cur.as_object()?.get(p)?;
    }
    Some(cur)
}

/// Translates shorthand fields of every record in `obj` (recursively) into the real fields
/// they stand for, and removes them. A non-null shorthand value overrides the real field.
pub fn expand_shorthands(fields: &[(String, Field)], obj: &mut Map<String, Value>) {
    for (name, field) in fields {
        if field.ty != FieldType::Record {
            continue;
        }
        let Some(Value::Object(rec)) = obj.get_mut(name) else {
            continue;
        };
        for (short, def) in &field.shorthand_fields {
            if let Some(v) = rec.remove(short)
                && !v.is_null()
                && let Some(path) = target_path(short, def)
            {
                set_path(rec, &path, v);
            }
        }
        if let Some(sub) = &field.fields {
            expand_shorthands(sub, rec);
        }
    }
}

/// The names of a record's shorthands that Kong echoes on reads (those with
/// `deprecation.replaced_with`).
pub fn shorthand_names(field: &Field) -> Vec<String> {
    field
        .shorthand_fields
        .iter()
        .filter(|(_, d)| d.attrs.get("deprecation").and_then(|d| d.get("replaced_with")).is_some())
        .map(|(n, _)| n.clone())
        .collect()
}

/// Adds the read-side echo of shorthands to every record of `obj` (what a GET returns):
/// each shorthand with `replaced_with`, holding the value at the path it points to.
pub fn echo_shorthands(fields: &[(String, Field)], obj: &mut Map<String, Value>) {
    for (name, field) in fields {
        if field.ty != FieldType::Record {
            continue;
        }
        let Some(Value::Object(rec)) = obj.get_mut(name) else {
            continue;
        };
        if let Some(sub) = &field.fields {
            echo_shorthands(sub, rec);
        }
        for short in shorthand_names(field) {
            let Some(def) = field.shorthand_fields.iter().find(|(n, _)| *n == short).map(|(_, d)| d) else {
                continue;
            };
            let Some(path) = target_path(&short, def) else {
                continue;
            };
            let v = get_path(rec, &path).cloned().unwrap_or(Value::Null);
            rec.insert(short, v);
        }
    }
}

/// Removes the read-side shorthand echo from every record of `obj` (the inverse of
/// [`echo_shorthands`]), e.g. before comparing a GET body with a desired entity.
pub fn strip_shorthands(fields: &[(String, Field)], obj: &mut Map<String, Value>) {
    for (name, field) in fields {
        if field.ty != FieldType::Record {
            continue;
        }
        let Some(Value::Object(rec)) = obj.get_mut(name) else {
            continue;
        };
        for (short, _) in &field.shorthand_fields {
            rec.remove(short);
        }
        if let Some(sub) = &field.fields {
            strip_shorthands(sub, rec);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kong::schema::Schemas;
    use serde_json::json;

    #[test]
    fn redis_host_expands_and_echoes() {
        let s = Schemas::bundled().plugin("rate-limiting").unwrap();
        let mut p = json!({"name": "rate-limiting", "config": {"minute": 5, "redis_host": "r.test"}})
            .as_object()
            .cloned()
            .unwrap();
        expand_shorthands(&s.fields, &mut p);
        assert_eq!(p["config"]["redis"]["host"], "r.test");
        assert!(p["config"].get("redis_host").is_none());
        s.fill_defaults(&mut p);
        echo_shorthands(&s.fields, &mut p);
        assert_eq!(p["config"]["redis_host"], "r.test");
        assert_eq!(p["config"]["redis_port"], 6379);
        strip_shorthands(&s.fields, &mut p);
        assert!(p["config"].get("redis_port").is_none());
    }

    #[test]
    fn session_shorthands_have_fixed_targets() {
        let s = Schemas::bundled().plugin("session").unwrap();
        let mut p = json!({"config": {"cookie_lifetime": 10}}).as_object().cloned().unwrap();
        expand_shorthands(&s.fields, &mut p);
        assert_eq!(p["config"], json!({"rolling_timeout": 10}));
    }
}
