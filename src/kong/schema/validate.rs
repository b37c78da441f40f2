//! Validation of an entity against a [`Schema`], as Kong's schema engine does it
//! (`kong-admin-api.md` §1.1, §4.2; `kong-schemas/README.md` "Validators", "entity_checks").
//!
//! Order per field: required → type → validators (in Kong's order: `eq`, `ne`,
//! `not_one_of`, `one_of`, `gt`, `timestamp`, `uuid`, `between`, `len_eq`, `len_min`,
//! `len_max`, `starts_with`, `contains`, `match`, `not_match`, `match_all`, `match_none`,
//! `match_any`, `mutually_exclusive_subsets`), then the custom validators Kong implements as
//! functions (see [`super::custom`]). Entity checks run only when every field they name is
//! valid.

use serde_json::{Map, Value};

use super::Schema;
use super::checks::run_entity_check;
use super::custom;
use super::field::{Field, FieldType};
use super::lua_pattern;
pub use super::value::{ValidationContext, get_path, is_nonempty};
use super::violation::{ErrorTree, FieldError, SchemaViolation};

impl Schema {
    /// Validates a complete entity (defaults already filled, shorthands expanded, foreign
    /// keys as `{"id": ...}`). Returns Kong's structured errors on failure.
    pub fn validate(&self, obj: &Map<String, Value>, ctx: &ValidationContext) -> Result<(), SchemaViolation> {
        let mut tree = ErrorTree::default();
        validate_record(&self.name, "", &self.fields, &self.entity_checks, obj, ctx, &mut tree);
        if tree.is_empty() { Ok(()) } else { Err(SchemaViolation { tree }) }
    }
}

/// Validates one value against one field definition (no `required` check for absent values).
/// `schema` and `path` name the field for the custom validators (`services`, `host`).
pub fn validate_value(
    schema: &str,
    path: &str,
    field: &Field,
    value: &Value,
    ctx: &ValidationContext,
) -> Result<(), FieldError> {
    if value.is_null() {
        if field.attrs.get("ne") == Some(&Value::Null) {
            return Err(FieldError::Msg("value must not be null".into()));
        }
        if let Some(eq) = field.attrs.get("eq").filter(|v| !v.is_null()) {
            return Err(FieldError::Msg(format!("value must be {}", lua_value(eq))));
        }
        if field.required {
            return Err(FieldError::Msg("required field missing".into()));
        }
        return Ok(());
    }
    if field.attrs.get("eq") == Some(&Value::Null) {
        return Err(FieldError::Msg("value must be null".into()));
    }
    check_type(field, value)?;
    run_validators(field, value).map_err(FieldError::Msg)?;
    match (field.ty, value) {
        (FieldType::Array | FieldType::Set, Value::Array(items)) => {
            if let Some(el) = &field.elements {
                let sub = format!("{path}.*");
                let mut errs = std::collections::BTreeMap::new();
                for (i, item) in items.iter().enumerate() {
                    let r = if item.is_null() {
                        Err(FieldError::Msg("required field missing".into()))
                    } else {
                        validate_value(schema, &sub, el, item, ctx)
                    };
                    if let Err(e) = r {
                        errs.insert(i, e);
                    }
                }
                if !errs.is_empty() {
                    return Err(FieldError::Items(errs));
                }
            }
        }
        (FieldType::Record, Value::Object(obj)) => {
            if let Some(fields) = &field.fields {
                let checks =
                    field.attrs.get("entity_checks").and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
                let mut tree = ErrorTree::default();
                validate_record(schema, path, fields, checks, obj, ctx, &mut tree);
                if !tree.is_empty() {
                    return Err(FieldError::Record(tree));
                }
            }
        }
        (FieldType::Map, Value::Object(obj)) => {
            let mut tree = ErrorTree::default();
            for (k, v) in obj {
                if let Some(kf) = &field.keys
                    && let Err(e) = validate_value(schema, &format!("{path}.<key>"), kf, &Value::String(k.clone()), ctx)
                {
                    tree.set(k, e);
                    continue;
                }
                if let Some(vf) = &field.values
                    && let Err(e) = validate_value(schema, &format!("{path}.<value>"), vf, v, ctx)
                {
                    tree.set(k, e);
                }
            }
            if !tree.is_empty() {
                return Err(FieldError::Record(tree));
            }
        }
        _ => {}
    }
    if let (Some(d), Some(s)) = (field.attrs.get("description").and_then(Value::as_str), value.as_str())
        && let Some(msg) = custom::check_typedef(d, s)
    {
        return Err(FieldError::Msg(msg));
    }
    if let Some(msg) = custom::check_field(schema, path, value) {
        return Err(FieldError::Msg(msg));
    }
    Ok(())
}

fn validate_record(
    schema: &str,
    prefix: &str,
    fields: &[(String, Field)],
    checks: &[Value],
    obj: &Map<String, Value>,
    ctx: &ValidationContext,
    tree: &mut ErrorTree,
) {
    for key in obj.keys() {
        if !fields.iter().any(|(n, _)| n == key) {
            tree.set(key, FieldError::Msg("unknown field".into()));
        }
    }
    for (name, field) in fields {
        let path = if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
        match obj.get(name) {
            None => {
                if field.required && !field.auto {
                    tree.set(name, FieldError::Msg("required field missing".into()));
                }
            }
            Some(v) => {
                if let Err(e) = validate_value(schema, &path, field, v, ctx) {
                    tree.set(name, e);
                }
            }
        }
    }
    for check in checks {
        let check_value = |path: &str, field: &Field, value: &Value| validate_value("", path, field, value, ctx);
        run_entity_check(schema, fields, check, obj, ctx, &check_value, tree);
    }
}

fn check_type(field: &Field, value: &Value) -> Result<(), FieldError> {
    let ok = match field.ty {
        FieldType::String => value.is_string(),
        FieldType::Integer => value.as_f64().is_some_and(|f| f.fract() == 0.0 && f.is_finite()),
        FieldType::Number => value.is_number(),
        FieldType::Boolean => value.is_boolean(),
        FieldType::Array | FieldType::Set => value.is_array(),
        FieldType::Map | FieldType::Record => value.is_object(),
        FieldType::Foreign => value.is_object(),
        FieldType::Any => true,
    };
    if ok {
        return Ok(());
    }
    let what = match field.ty {
        FieldType::String => "a string",
        FieldType::Integer => "an integer",
        FieldType::Number => "a number",
        FieldType::Boolean => "a boolean",
        FieldType::Array => "an array",
        FieldType::Set => "a set",
        FieldType::Map => "a map",
        FieldType::Record | FieldType::Foreign => "a record",
        FieldType::Any => "a value",
    };
    Err(FieldError::Msg(format!("expected {what}")))
}

/// A value as Lua's `tostring` would print it (numbers without a needless `.0`).
pub fn lua_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
            _ => n.to_string(),
        },
        Value::Null => "null".into(),
        other => other.to_string(),
    }
}

fn length(value: &Value) -> Option<usize> {
    match value {
        Value::String(s) => Some(s.chars().count()),
        Value::Array(a) => Some(a.len()),
        Value::Object(o) => Some(o.len()),
        _ => None,
    }
}

fn pattern_ok(pattern: &str, s: &str) -> bool {
    lua_pattern::is_match(pattern, s).unwrap_or(false)
}

/// Kong's field validators (`kong/db/schema/init.lua`, `Schema.validators_order`) on one value,
/// in Kong's order; the first that fails gives the message.
fn run_validators(field: &Field, value: &Value) -> Result<(), String> {
    let a = &field.attrs;
    value_rules(a, value)?;
    if let Some(len) = length(value) {
        length_rules(a, value, len)?;
    }
    if let Some(s) = value.as_str() {
        string_rules(a, s)?;
    }
    if let Value::Array(items) = value {
        array_rules(a, items)?;
    }
    Ok(())
}

/// `eq`, `ne`, `not_one_of`, `one_of`, `gt`, `timestamp`, `uuid` and `between`.
fn value_rules(a: &Map<String, Value>, value: &Value) -> Result<(), String> {
    if let Some(eq) = a.get("eq")
        && !eq.is_null()
        && eq != value
    {
        return Err(format!("value must be {}", lua_value(eq)));
    }
    if let Some(ne) = a.get("ne")
        && ne == value
    {
        return Err(format!("value must not be {}", lua_value(ne)));
    }
    if let Some(list) = a.get("not_one_of").and_then(Value::as_array)
        && list.contains(value)
    {
        return Err(format!("must not be one of: {}", join(list)));
    }
    if let Some(list) = a.get("one_of").and_then(Value::as_array)
        && !value.is_array()
        && !list.iter().any(|x| num_eq(x, value))
    {
        return Err(format!("expected one of: {}", join(list)));
    }
    let num = value.as_f64();
    if let (Some(gt), Some(n)) = (a.get("gt").and_then(Value::as_f64), num)
        && n <= gt
    {
        return Err(format!("value must be greater than {}", lua_value(&a["gt"])));
    }
    if a.get("timestamp") == Some(&Value::Bool(true)) && num.is_some_and(|n| n <= 0.0) {
        return Err("expected a valid timestamp".into());
    }
    if a.get("uuid") == Some(&Value::Bool(true))
        && let Some(s) = value.as_str()
        && !is_uuid(s)
    {
        return Err("expected a valid UUID".into());
    }
    if let (Some(b), Some(n)) = (a.get("between").and_then(Value::as_array), num)
        && b.len() == 2
    {
        let lo = to_f64(&b[0]).unwrap_or(f64::NEG_INFINITY);
        let hi = to_f64(&b[1]).unwrap_or(f64::INFINITY);
        if n < lo || n > hi {
            return Err(format!("value should be between {} and {}", lua_value(&b[0]), lua_value(&b[1])));
        }
    }
    Ok(())
}

/// `len_eq`, `len_min` (1 for strings unless given) and `len_max` on a length of `len`.
fn length_rules(a: &Map<String, Value>, value: &Value, len: usize) -> Result<(), String> {
    if let Some(n) = a.get("len_eq").and_then(Value::as_u64)
        && len as u64 != n
    {
        return Err(format!("length must be {n}"));
    }
    let min = a.get("len_min").and_then(Value::as_u64).or(if value.is_string() { Some(1) } else { None });
    if let Some(n) = min
        && (len as u64) < n
    {
        return Err(format!("length must be at least {n}"));
    }
    if let Some(n) = a.get("len_max").and_then(Value::as_u64)
        && len as u64 > n
    {
        return Err(format!("length must be at most {n}"));
    }
    Ok(())
}

/// `starts_with` and Lua patterns: `match`, `not_match`, `match_all`, `match_none`, `match_any`.
fn string_rules(a: &Map<String, Value>, s: &str) -> Result<(), String> {
    if let Some(p) = a.get("starts_with").and_then(Value::as_str)
        && !s.starts_with(p)
    {
        return Err(format!("should start with: {p}"));
    }
    if let Some(p) = a.get("match").and_then(Value::as_str)
        && !pattern_ok(p, s)
    {
        return Err(format!("invalid value: {s}"));
    }
    if let Some(p) = a.get("not_match").and_then(Value::as_str)
        && pattern_ok(p, s)
    {
        return Err(format!("invalid value: {s}"));
    }
    if let Some(list) = a.get("match_all").and_then(Value::as_array) {
        for m in list {
            let p = m.get("pattern").and_then(Value::as_str).unwrap_or("");
            if !pattern_ok(p, s) {
                return Err(err_or(m, || format!("invalid value: {s}")));
            }
        }
    }
    if let Some(list) = a.get("match_none").and_then(Value::as_array) {
        for m in list {
            let p = m.get("pattern").and_then(Value::as_str).unwrap_or("");
            if pattern_ok(p, s) {
                return Err(err_or(m, || format!("invalid value: {s}")));
            }
        }
    }
    if let Some(m) = a.get("match_any") {
        let pats = m.get("patterns").and_then(Value::as_array).cloned().unwrap_or_default();
        if !pats.iter().filter_map(Value::as_str).any(|p| pattern_ok(p, s)) {
            return Err(err_or(m, || format!("invalid value: {s}")));
        }
    }
    Ok(())
}

/// `contains` and `mutually_exclusive_subsets` on an array's items.
fn array_rules(a: &Map<String, Value>, items: &[Value]) -> Result<(), String> {
    if let Some(c) = a.get("contains")
        && !items.contains(c)
    {
        return Err(format!("expected to contain: {}", lua_value(c)));
    }
    if let Some(subsets) = a.get("mutually_exclusive_subsets").and_then(Value::as_array) {
        let mut member_of: Vec<usize> = Vec::new();
        for item in items {
            if let Some(i) = subsets.iter().position(|s| s.as_array().is_some_and(|s| s.contains(item)))
                && !member_of.contains(&i)
            {
                member_of.push(i);
            }
        }
        if member_of.len() > 1 {
            let sets: Vec<String> = member_of
                .iter()
                .map(|i| {
                    let names: Vec<String> =
                        subsets[*i].as_array().into_iter().flatten().map(|v| format!("'{}'", lua_value(v))).collect();
                    format!("({})", names.join(", "))
                })
                .collect();
            return Err(format!("these sets are mutually exclusive: {}", sets.join(", ")));
        }
    }
    Ok(())
}

fn err_or(m: &Value, default: impl FnOnce() -> String) -> String {
    m.get("err").and_then(Value::as_str).map(str::to_owned).unwrap_or_else(default)
}

fn to_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) if s == "inf" => Some(f64::INFINITY),
        Value::String(s) if s == "-inf" => Some(f64::NEG_INFINITY),
        _ => None,
    }
}

fn num_eq(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn join(list: &[Value]) -> String {
    list.iter().map(lua_value).collect::<Vec<_>>().join(", ")
}

/// Kong's UUID check: 8-4-4-4-12 hex digits, any case, any version (§1.1).
pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kong::schema::Schemas;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    fn check(schema: &str, v: Value) -> Result<(), SchemaViolation> {
        let s = Schemas::bundled().entity(schema).unwrap();
        let mut o = obj(v);
        s.fill_defaults(&mut o);
        s.validate(&o, &ValidationContext::default())
    }

    #[test]
    fn service_errors_match_kong() {
        let e = check("services", json!({"connect_timeout": "x"})).unwrap_err();
        assert_eq!(
            e.message(),
            "2 schema violations (connect_timeout: expected an integer; host: required field missing)"
        );
        assert!(check("services", json!({"host": "example.test"})).is_ok());
        let e = check("services", json!({"host": "a", "protocol": "tcp", "path": "/x"})).unwrap_err();
        assert_eq!(
            e.fields_json(),
            json!({"@entity": ["failed conditional validation given value of field 'protocol'"], "path": "value must be null"})
        );
    }

    #[test]
    fn set_elements_and_exclusive_subsets() {
        let e = check("routes", json!({"protocols": ["htp"], "paths": ["/"]})).unwrap_err();
        assert_eq!(
            e.message(),
            "schema violation (protocols.1: expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp)"
        );
        let e = check("routes", json!({"protocols": ["http", "tcp"], "paths": ["/"]})).unwrap_err();
        assert_eq!(
            e.fields_json()["protocols"],
            json!("these sets are mutually exclusive: ('http', 'https'), ('tcp', 'tls', 'udp')")
        );
    }

    #[test]
    fn consumers_need_a_name_or_custom_id() {
        let e = check("consumers", json!({})).unwrap_err();
        assert_eq!(
            e.message(),
            "schema violation (at least one of these fields must be non-empty: 'custom_id', 'username')"
        );
        let s = Schemas::bundled().entity("consumers").unwrap();
        let e = s.validate(&obj(json!({"username": null})), &ValidationContext { updating: true }).unwrap_err();
        assert!(e.message().contains("when updating, at least one"));
    }

    #[test]
    fn unknown_and_nested_fields() {
        let e = check("services", json!({"host": "a", "nope": 1})).unwrap_err();
        assert_eq!(e.fields_json(), json!({"nope": "unknown field"}));
        let s = Schemas::bundled().plugin("acl").unwrap();
        let mut p = obj(json!({"name": "acl", "config": {"allow": ["a"], "x": 1}}));
        s.fill_defaults(&mut p);
        let e = s.validate(&p, &ValidationContext::default()).unwrap_err();
        assert_eq!(e.fields_json(), json!({"config": {"x": "unknown field"}}));
    }

    #[test]
    fn uuid_check() {
        assert!(is_uuid("00000000-0000-0000-0000-000000000000"));
        assert!(is_uuid("ABCDEF00-0000-0000-0000-000000000000"));
        assert!(!is_uuid("ABCDEF00-0000-0000-0000-00000000000"));
        assert!(!is_uuid("ABCDEF00x0000-0000-0000-000000000000"));
    }
}
