//! The checks a write passes against what the database holds (`kong-admin-api.md` §1.7,
//! §4.3): the primary key on insert, foreign keys that exist, unique values, and a
//! plugin's protocols against its route's or its service's routes.

use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::entity::Env;
use super::error::{ApiError, ApiResult, lua_pretty};
use super::store::{Store, fk_id};
use crate::kong::KongKind;

/// Database checks (§1.7, §4.3): primary key on insert (code 3), foreign-key existence
/// (code 4), uniqueness (code 5), plugin protocols against routes.
pub fn check_db(env: &Env, store: &Store, kind: KongKind, data: &Map<String, Value>, insert: bool) -> ApiResult<()> {
    let id = data.get("id").and_then(Value::as_str).unwrap_or("");
    if insert && store.get(kind, id).is_some() {
        return Err(ApiError::pk_violation(id));
    }
    for fk in kind.foreign_keys() {
        if let Some(pid) = fk_id(data, fk.field)
            && store.get(fk.parent, pid).is_none()
        {
            let mut fields = Map::new();
            fields.insert(fk.field.into(), json!({"id": pid}));
            return Err(ApiError::dao(
                StatusCode::BAD_REQUEST,
                4,
                "foreign key violation",
                format!(
                    "the foreign key '{{id=\"{pid}\"}}' does not reference an existing '{}' entity.",
                    fk.parent.table()
                ),
                Some(Value::Object(fields)),
            ));
        }
    }
    if let Some((fields, _)) = store.unique_conflict(kind, data, id) {
        let mut f = Map::new();
        for name in fields {
            if *name == "consumer_group" && data.get(*name).is_none_or(Value::is_null) {
                continue;
            }
            f.insert((*name).into(), data.get(*name).cloned().unwrap_or(Value::Null));
        }
        let value = Value::Object(f.clone());
        return Err(ApiError::dao(
            StatusCode::CONFLICT,
            5,
            "unique constraint violation",
            format!("UNIQUE violation detected on '{}'", lua_pretty(&value)),
            Some(value),
        ));
    }
    if kind == KongKind::Plugin {
        check_plugin_protocols(store, data)?;
    }
    let _ = env;
    Ok(())
}

fn protocols(d: &Map<String, Value>) -> Vec<&str> {
    d.get("protocols")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn check_plugin_protocols(store: &Store, d: &Map<String, Value>) -> ApiResult<()> {
    let mine = protocols(d);
    if let Some(rid) = fk_id(d, "route") {
        if let Some(route) = store.get(KongKind::Route, rid)
            && !protocols(&route.data).iter().any(|p| mine.contains(p))
        {
            return Err(ApiError::schema_field("protocols", "must match the associated route's protocols"));
        }
    } else if let Some(sid) = fk_id(d, "service") {
        let mut any_route = false;
        let mut matched = false;
        for rid in store.children_of_kind(KongKind::Service, sid, KongKind::Route) {
            any_route = true;
            if let Some(r) = store.get(KongKind::Route, rid)
                && protocols(&r.data).iter().any(|p| mine.contains(p))
            {
                matched = true;
                break;
            }
        }
        if any_route && !matched {
            return Err(ApiError::schema_field(
                "protocols",
                "must match the protocols of at least one route pointing to this Plugin's service",
            ));
        }
    }
    Ok(())
}
