//! Input-side transformations before validation (`kong-admin-api.md` §1.7 order): the
//! service `url` shorthand (§2.1), the upstream `algorithm`/`hash_on` coupling (§2.5) and
//! foreign-key resolution by unique field (§1.1, code 13).

use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::error::{ApiError, ApiResult};
use super::store::{Row, Store, unique_constraints};
use crate::model::Kind;
use crate::schema::{SchemaViolation, is_uuid};

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
    if url.is_empty() {
        return Err(ApiError::schema_field("url", "length must be at least 1"));
    }
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (Some(s.to_ascii_lowercase()), r),
        None => (None, url.as_str()),
    };
    let (authority, path) = if scheme.is_some() {
        match rest.find(['/', '?', '#']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        }
    } else {
        ("", rest)
    };
    let path = path.split(['?', '#']).next().unwrap_or("");
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        match v6.split_once(']') {
            Some((h, p)) => (h.to_owned(), p.strip_prefix(':').map(str::to_owned)),
            None => (authority.to_owned(), None),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_owned(), Some(p.to_owned())),
            None => (authority.to_owned(), None),
        }
    };
    let port: Option<i64> = match port {
        Some(p) if !p.is_empty() => match p.parse() {
            Ok(n) => Some(n),
            Err(_) => return Err(ApiError::schema_field("port", "expected an integer")),
        },
        _ => None,
    };
    let protocol = scheme.clone().unwrap_or_else(|| if port == Some(443) { "https".into() } else { "http".into() });
    let port = port.unwrap_or(if protocol == "https" { 443 } else { 80 });
    obj.insert("protocol".into(), json!(protocol));
    obj.insert("host".into(), if host.is_empty() { Value::Null } else { json!(host) });
    obj.insert("port".into(), json!(port));
    obj.insert("path".into(), if path.is_empty() || scheme.is_none() { Value::Null } else { json!(path) });
    Ok(())
}

/// Upstream `algorithm`/`hash_on` coupling (§2.5).
pub fn couple_upstream(input: &mut Map<String, Value>, stored: Option<&Row>) {
    let algorithm = input.get("algorithm").and_then(Value::as_str).map(str::to_owned);
    if matches!(algorithm.as_deref(), Some("least-connections" | "latency")) {
        input.insert("hash_on".into(), json!("none"));
    }
    match input.get("hash_on").and_then(Value::as_str) {
        Some("none") => {
            let current = algorithm
                .clone()
                .or_else(|| stored.and_then(|r| r.data.get("algorithm")).and_then(Value::as_str).map(str::to_owned));
            if current.as_deref() == Some("consistent-hashing") || current.is_none() && stored.is_none() {
                input.insert("algorithm".into(), json!("round-robin"));
            }
        }
        Some(_) => {
            input.insert("algorithm".into(), json!("consistent-hashing"));
        }
        None => {}
    }
}

/// Resolves the foreign keys of `input` to `{"id": ...}` (§1.1; code 13 when unresolvable).
pub fn resolve_foreign_keys(store: &Store, kind: Kind, input: &mut Map<String, Value>) -> ApiResult<()> {
    let mut violation = SchemaViolation::default();
    for fk in kind.foreign_keys() {
        let Some(v) = input.get(fk.field) else {
            continue;
        };
        let obj = match v {
            Value::Null => continue,
            Value::Object(o) => o.clone(),
            _ => {
                violation.tree.set(fk.field, crate::schema::FieldError::Msg("expected a record".into()));
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
    if violation.tree.is_empty() { Ok(()) } else { Err(ApiError::schema(&violation)) }
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
