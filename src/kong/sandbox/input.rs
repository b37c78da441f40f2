//! Input-side transformations before validation (`kong-admin-api.md` §1.7 order): the
//! service `url` shorthand (§2.1), the upstream `algorithm`/`hash_on` coupling (§2.5) and
//! foreign-key resolution by unique field (§1.1, code 13).

use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::error::{ApiError, ApiResult};
use super::store::{Row, Store, unique_constraints};
use crate::kong::KongKind;
use crate::kong::schema::input::{couple_upstream_algorithm, parse_service_url};
use crate::kong::schema::{SchemaViolation, is_uuid};

/// Expands the service `url` shorthand (§2.1).
pub fn expand_url(obj: &mut Map<String, Value>) -> ApiResult<()> {
    let Some(url) = obj.remove("url") else {
        return Ok(());
    };
    let url = match url {
        Value::Null => return Ok(()),
        Value::String(s) => s,
        _ => return Err(ApiError::schema_field("url", "expected a string")),
    };
    let parts = parse_service_url(&url).map_err(|(field, msg)| ApiError::schema_field(field, msg))?;
    parts.write_into(obj);
    Ok(())
}

/// Upstream `algorithm`/`hash_on` coupling (§2.5), against the stored row on updates.
pub fn couple_upstream(input: &mut Map<String, Value>, stored: Option<&Row>) {
    let stored_algorithm = stored.and_then(|r| r.data.get("algorithm")).and_then(Value::as_str);
    couple_upstream_algorithm(input, stored_algorithm, stored.is_none());
}

/// Resolves the foreign keys of `input` to `{"id": ...}` (§1.1; code 13 when unresolvable).
/// Schema errors of foreign records are returned (and those records taken out of `input`) so
/// that they are reported together with the entity's own errors, as Kong reports them.
pub fn resolve_foreign_keys(
    store: &Store,
    kind: KongKind,
    input: &mut Map<String, Value>,
) -> ApiResult<SchemaViolation> {
    let mut violation = SchemaViolation::default();
    for fk in kind.foreign_keys() {
        let Some(v) = input.get(fk.field) else {
            continue;
        };
        let obj = match v {
            Value::Null => continue,
            Value::Object(o) => o.clone(),
            _ => {
                violation.tree.set(fk.field, crate::kong::schema::FieldError::Msg("expected a record".into()));
                continue;
            }
        };
        if let Some(id) = obj.get("id") {
            match id.as_str() {
                Some(s) if is_uuid(s) => {
                    input.insert(fk.field.into(), json!({"id": s.to_ascii_lowercase()}));
                }
                _ => violation.tree.set_path(&format!("{}.id", fk.field), "expected a valid UUID".into()),
            }
            continue;
        }
        // Kong validates the given fields of a foreign record against the parent's schema
        // before resolving it (`service: {protocol: "foo"}` → `service.protocol: ...`).
        if let Some(parent) = crate::kong::schema::Schemas::bundled().entity(fk.parent.table()) {
            let mut tree = crate::kong::schema::ErrorTree::default();
            let ctx = crate::kong::schema::ValidationContext::default();
            for (k, v) in &obj {
                if let Some(f) = parent.field(k)
                    && let Err(e) = crate::kong::schema::validate_value(&parent.name, k, f, v, &ctx)
                {
                    tree.set(k, e);
                }
            }
            if !tree.is_empty() {
                violation.tree.set(fk.field, crate::kong::schema::FieldError::Record(tree));
                continue;
            }
        }
        let mut resolved = None;
        let mut tried = None;
        for c in unique_constraints(fk.parent).iter().filter(|c| c.len() == 1) {
            let f = c[0];
            if let Some(Value::String(val)) = obj.get(f) {
                tried = Some((f, val.clone()));
                if let Some(row) = store.find_by(fk.parent, f, val) {
                    resolved = Some(row.id().to_owned());
                }
                break;
            }
        }
        match (resolved, tried) {
            (Some(id), _) => {
                input.insert(fk.field.into(), json!({"id": id}));
            }
            (None, Some((f, val))) => {
                let detail = format!(
                    "the foreign key cannot be resolved with '{{{f}={}}}' for an existing '{}' entity",
                    super::error::lua_str(&val),
                    fk.parent.table()
                );
                let mut inner = Map::new();
                inner.insert(f.into(), json!(detail));
                let mut fields = Map::new();
                fields.insert(fk.field.into(), Value::Object(inner));
                return Err(ApiError::dao(
                    StatusCode::BAD_REQUEST,
                    13,
                    "foreign keys unresolved",
                    format!("foreign key unresolved ({}.{f}: {detail})", fk.field),
                    Some(Value::Object(fields)),
                ));
            }
            (None, None) => violation.tree.set_path(&format!("{}.id", fk.field), "missing primary key".into()),
        }
    }
    for f in violation.tree.fields.keys() {
        input.remove(f);
    }
    Ok(violation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_shorthand() {
        let mut o = json!({"url": "https://example.test"}).as_object().cloned().unwrap();
        expand_url(&mut o).unwrap();
        assert_eq!(Value::Object(o), json!({"protocol": "https", "host": "example.test", "port": 443, "path": null}));
        let mut o = json!({"url": "http://example.test:8080/a/b?q"}).as_object().cloned().unwrap();
        expand_url(&mut o).unwrap();
        assert_eq!(o["path"], "/a/b");
        assert_eq!(o["port"], 8080);
    }
}
