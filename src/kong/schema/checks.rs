//! Entity checks (`entity_checks` of a schema or record): `at_least_one_of`, `only_one_of`,
//! `mutually_exclusive`, `mutually_required`, `distinct`, `conditional`,
//! `conditional_at_least_one_of` and the `custom_entity_check`s Kong implements as functions
//! (`kong-admin-api.md` §4.2 messages).

use serde_json::{Map, Value};

use super::custom;
use super::field::Field;
use super::value::{CheckValue, ValidationContext, get_path, is_nonempty};
use super::violation::{ErrorTree, FieldError};

fn find_field<'a>(fields: &'a [(String, Field)], path: &str) -> Option<&'a Field> {
    let mut parts = path.split('.');
    let first = parts.next()?;
    let mut f = fields.iter().find(|(n, _)| n == first).map(|(_, f)| f)?;
    for p in parts {
        f = f.field(p)?;
    }
    Some(f)
}

fn quoted(list: &[Value]) -> String {
    list.iter().filter_map(Value::as_str).map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", ")
}

/// Validates `value` against a `*_match` spec laid over the schema field at `path`
/// (Kong resolves missing keys of the spec from the field, like a Lua `__index`).
fn matches_spec(
    fields: &[(String, Field)],
    path: &str,
    spec: &Value,
    value: &Value,
    check_value: CheckValue<'_>,
) -> Result<(), String> {
    let mut attrs = find_field(fields, path).map(|f| f.attrs.clone()).unwrap_or_default();
    if let Some(spec) = spec.as_object() {
        for (k, v) in spec {
            attrs.insert(k.clone(), v.clone());
        }
    }
    attrs.remove("default");
    let field = Field::from_json(path, &Value::Object(attrs)).map_err(|e| e.to_string())?;
    match check_value(path, &field, value) {
        Ok(()) => Ok(()),
        Err(FieldError::Msg(m)) => Err(m),
        Err(other) => Err(other.to_json().to_string()),
    }
}

/// Runs one of a schema's `entity_checks` (Kong's `kong/db/schema/init.lua`) on `obj`,
/// adding its messages to `tree`; skipped when a field it is about already has an error.
pub(crate) fn run_entity_check(
    schema: &str,
    fields: &[(String, Field)],
    check: &Value,
    obj: &Map<String, Value>,
    ctx: &ValidationContext,
    check_value: CheckValue<'_>,
    tree: &mut ErrorTree,
) {
    let Some((kind, arg)) = check.as_object().and_then(|o| o.iter().next()) else {
        return;
    };
    let names = checked_fields(kind, arg);
    if names.iter().any(|n| tree.has_error_at(n)) {
        return;
    }
    let list = arg.as_array().cloned().unwrap_or_default();
    let present = |n: &str| is_nonempty(get_path(obj, n));
    let prefix = if ctx.updating { "when updating, " } else { "" };
    match kind.as_str() {
        "at_least_one_of" if !list.iter().filter_map(Value::as_str).any(present) => {
            tree.entity.push(format!("{prefix}at least one of these fields must be non-empty: {}", quoted(&list)));
        }
        "only_one_of" if list.iter().filter_map(Value::as_str).filter(|n| present(n)).count() != 1 => {
            tree.entity.push(format!("{prefix}exactly one of these fields must be non-empty: {}", quoted(&list)));
        }
        "mutually_exclusive" if list.iter().filter_map(Value::as_str).filter(|n| present(n)).count() > 1 => {
            tree.entity.push(format!("only one or none of these fields must be set: {}", quoted(&list)));
        }
        "mutually_required" => {
            let n = list.iter().filter_map(Value::as_str).filter(|n| present(n)).count();
            if n != 0 && n != list.len() {
                tree.entity.push(format!("all or none of these fields must be set: {}", quoted(&list)));
            }
        }
        "distinct" => {
            let vals: Vec<&Value> = list
                .iter()
                .filter_map(Value::as_str)
                .filter_map(|n| get_path(obj, n))
                .filter(|v| !v.is_null())
                .collect();
            let dup = vals.iter().enumerate().any(|(i, a)| vals[i + 1..].contains(a));
            if dup {
                tree.entity.push(format!("values of these fields must be distinct: {}", quoted(&list)));
            }
        }
        "conditional" => conditional(fields, arg, (obj, &names[0]), check_value, tree),
        "conditional_at_least_one_of" => {
            let list = conditional_list(fields, arg, (obj, &names[0]), check_value);
            if let Some((list, err)) = list
                && !list.iter().filter_map(Value::as_str).any(present)
            {
                let msg = err.and_then(Value::as_str).map(str::to_owned).unwrap_or_else(|| {
                    format!("{prefix}at least one of these fields must be non-empty: {}", quoted(&list))
                });
                tree.entity.push(msg);
            }
        }
        "custom_entity_check" => {
            if let Some(msg) = custom::entity_check(schema, &names, obj) {
                tree.entity.push(msg);
            }
        }
        _ => {}
    }
}

/// The fields a check is about (an error at one of them already skips the check).
fn checked_fields(kind: &str, arg: &Value) -> Vec<String> {
    match kind {
        "conditional" | "conditional_at_least_one_of" => {
            let mut v = vec![arg.get("if_field").and_then(Value::as_str).unwrap_or("").to_owned()];
            if let Some(t) = arg.get("then_field").and_then(Value::as_str) {
                v.push(t.to_owned());
            }
            v
        }
        "custom_entity_check" => arg
            .get("field_sources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => arg.as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_owned).collect(),
    }
}

/// Kong's `conditional` check: when `if_field` matches `if_match`, `then_field` must match
/// `then_match`; the failure is set at `then_field` and named on the entity.
fn conditional(
    fields: &[(String, Field)],
    arg: &Value,
    (obj, if_field): (&Map<String, Value>, &str),
    check_value: CheckValue<'_>,
    tree: &mut ErrorTree,
) {
    let Some(then_field) = arg.get("then_field").and_then(Value::as_str) else {
        return;
    };
    let Some(if_value) = get_path(obj, if_field) else {
        return;
    };
    let if_match = arg.get("if_match").cloned().unwrap_or(Value::Null);
    if matches_spec(fields, if_field, &if_match, if_value, check_value).is_err() {
        return;
    }
    let then_value = get_path(obj, then_field).cloned().unwrap_or(Value::Null);
    let then_match = arg.get("then_match").cloned().unwrap_or(Value::Null);
    let err = if then_match.get("required") == Some(&Value::Bool(true)) && then_value.is_null() {
        Some("required field missing".to_owned())
    } else {
        matches_spec(fields, then_field, &then_match, &then_value, check_value).err()
    };
    if let Some(e) = err {
        let msg = arg.get("then_err").and_then(Value::as_str).map(str::to_owned).unwrap_or(e);
        tree.set_path(then_field, msg);
        tree.entity.push(format!("failed conditional validation given value of field '{if_field}'"));
    }
}

/// The list `conditional_at_least_one_of` requires one of, and its message, by which of
/// `if_match` and `else_match` the `if_field` matches (`None`: neither, nothing required).
fn conditional_list<'v>(
    fields: &[(String, Field)],
    arg: &'v Value,
    (obj, if_field): (&Map<String, Value>, &str),
    check_value: CheckValue<'_>,
) -> Option<(Vec<Value>, Option<&'v Value>)> {
    let if_value = get_path(obj, if_field).cloned().unwrap_or(Value::Null);
    let if_match = arg.get("if_match").cloned().unwrap_or(Value::Null);
    let (list, err) = if matches_spec(fields, if_field, &if_match, &if_value, check_value).is_ok() {
        (arg.get("then_at_least_one_of"), arg.get("then_err"))
    } else {
        let else_match = arg.get("else_match")?;
        matches_spec(fields, if_field, else_match, &if_value, check_value).ok()?;
        (arg.get("else_then_at_least_one_of"), arg.get("else_then_err"))
    };
    Some((list.and_then(Value::as_array).cloned().unwrap_or_default(), err))
}
