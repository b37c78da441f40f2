//! Generic entity operations behind the auto-generated endpoints (`kong-admin-api.md` §1.7,
//! §3.1, §3.2): list, create, read, upsert, update and delete, top-level or nested under a
//! parent, with cascades and restrictions on delete.

use std::collections::HashMap;
use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::Inner;
use super::entity::{self, Mode, Prepared, now_f64, now_secs};
use super::error::{ApiError, ApiResult};
use super::page::{TagFilter, decode_offset, encode_offset, escape, parse_size};
use super::store::{Change, Row, Store};
use crate::kong::schema::{SchemaViolation, is_uuid};
use crate::kong::{KongKind, OnDelete};

/// A response: status and optional JSON body.
pub type Resp = (StatusCode, Option<Value>);

/// The request facts operations need.
pub struct Ctx<'a> {
    /// Shared state.
    pub inner: &'a Inner,
    /// Query parameters (last value wins).
    pub query: &'a HashMap<String, String>,
    /// The request path as given (no trailing slash), for `next` links.
    pub path: &'a str,
}

/// A parent scope of a nested path: (foreign-key field, parent id).
pub type Scope<'a> = Option<(&'static str, &'a str)>;

/// Finds a row by id or endpoint key (§3.1: a UUID-looking segment is always an id).
pub fn lookup(store: &Store, kind: KongKind, key: &str, scope: Scope<'_>) -> ApiResult<Option<Arc<Row>>> {
    let now = now_secs();
    let row = if is_uuid(key) {
        store.get(kind, &key.to_ascii_lowercase()).cloned()
    } else if let Some(ek) = kind.endpoint_key() {
        entity::check_endpoint_key(kind, ek, key)?;
        let key = if kind == KongKind::Target { crate::kong::normalize_target(key) } else { key.to_owned() };
        store.find_by(kind, ek, &key).cloned()
    } else {
        return Err(ApiError::invalid_pk());
    };
    Ok(row.filter(|r| !r.expired(now)).filter(|r| scope.is_none_or(|(f, pid)| r.fk(f) == Some(pid))))
}

/// Writes a change set to the persistence layer, then to memory (all-or-nothing).
pub fn commit(inner: &Inner, store: &mut Store, changes: Vec<Change>) -> ApiResult<()> {
    if changes.is_empty() {
        return Ok(());
    }
    if let Some(p) = &inner.persist {
        let mut p = p.lock().map_err(|_| ApiError::internal())?;
        if let Err(e) = p.write(&changes) {
            tracing::error!("sandbox persistence failed: {e}");
            return Err(ApiError::internal());
        }
    }
    store.apply(&changes);
    Ok(())
}

/// Purges expired rows (ttl, §1.4) before a write.
fn purge_expired(inner: &Inner, store: &mut Store) -> ApiResult<()> {
    let changes = store.expired_changes(now_secs());
    commit(inner, store, changes)
}

fn render(inner: &Inner, store: &Store, kind: KongKind, row: &Row) -> Value {
    entity::render(&inner.env, store, kind, row, now_secs())
}

/// `GET` of a collection (§3.4, §3.5).
pub fn list(ctx: &Ctx<'_>, kind: KongKind, scope: Scope<'_>) -> ApiResult<Resp> {
    let size = parse_size(ctx.query.get("size").map(String::as_str))?;
    let after = ctx.query.get("offset").map(|o| decode_offset(o)).transpose()?;
    let filter = match (scope, ctx.query.get("tags")) {
        (None, Some(t)) => Some(TagFilter::parse(t)?),
        _ => None,
    };
    let store = ctx.inner.store.read().map_err(|_| ApiError::internal())?;
    if kind == KongKind::Consumer
        && scope.is_none()
        && let Some(cid) = ctx.query.get("custom_id")
    {
        if cid.is_empty() {
            return Err(ApiError::bad_request("custom_id must be an unempty string"));
        }
        let data: Vec<Value> =
            store.find_by(kind, "custom_id", cid).map(|r| render(ctx.inner, &store, kind, r)).into_iter().collect();
        return Ok((StatusCode::OK, Some(json!({"data": data, "next": null}))));
    }
    let now = now_secs();
    let pass = |r: &Row| !r.expired(now) && filter.as_ref().is_none_or(|f| f.matches(r.data.get("tags")));
    let mut rows: Vec<Arc<Row>> = Vec::with_capacity(size + 1);
    match scope {
        Some((field, pid)) => {
            let parent = kind.foreign_key(field).map(|f| f.parent).ok_or_else(ApiError::internal)?;
            for id in store.children_of_kind(parent, pid, kind) {
                if after.as_deref().is_some_and(|a| id <= a) {
                    continue;
                }
                if let Some(r) = store.get(kind, id)
                    && r.fk(field) == Some(pid)
                    && pass(r)
                {
                    rows.push(r.clone());
                    if rows.len() > size {
                        break;
                    }
                }
            }
        }
        None => {
            let table = store.table(kind);
            let range: Box<dyn Iterator<Item = (&String, &Arc<Row>)>> = match &after {
                Some(a) => Box::new(
                    table.range::<String, _>((std::ops::Bound::Excluded(a.clone()), std::ops::Bound::Unbounded)),
                ),
                None => Box::new(table.iter()),
            };
            for (_, r) in range {
                if pass(r) {
                    rows.push(r.clone());
                    if rows.len() > size {
                        break;
                    }
                }
            }
        }
    }
    let more = rows.len() > size;
    rows.truncate(size);
    let data: Vec<Value> = rows.iter().map(|r| render(ctx.inner, &store, kind, r)).collect();
    let mut body = Map::new();
    body.insert("data".into(), Value::Array(data));
    if more && let Some(last) = rows.last() {
        let token = encode_offset(last.id());
        let mut next = format!("{}?offset={}", ctx.path, escape(&token));
        if scope.is_none() {
            if let Some(t) = ctx.query.get("tags") {
                next.push_str(&format!("&tags={}", escape(t)));
            }
            if let Some(s) = ctx.query.get("size") {
                next.push_str(&format!("&size={}", escape(s)));
            }
        }
        body.insert("offset".into(), json!(token));
        body.insert("next".into(), json!(next));
    } else {
        body.insert("next".into(), Value::Null);
    }
    Ok((StatusCode::OK, Some(Value::Object(body))))
}

/// `GET /{coll}/{key}`.
pub fn get(ctx: &Ctx<'_>, kind: KongKind, key: &str, scope: Scope<'_>) -> ApiResult<Resp> {
    let store = ctx.inner.store.read().map_err(|_| ApiError::internal())?;
    match lookup(&store, kind, key, scope)? {
        Some(r) => Ok((StatusCode::OK, Some(render(ctx.inner, &store, kind, &r)))),
        None if kind == KongKind::Certificate && is_uuid(key) => Err(ApiError::not_found_pk(key)),
        None => Err(ApiError::not_found()),
    }
}

/// Certificate `snis` replacement (§2.6): the changes that make the certificate own exactly
/// `names`.
fn sni_changes(store: &Store, cert_id: &str, names: &[String], tags: Option<&Value>) -> ApiResult<Vec<Change>> {
    let mut seen = Vec::new();
    for n in names {
        if seen.contains(n) {
            return Err(ApiError::schema(&SchemaViolation::field("snis", format!("{n} is duplicated"))));
        }
        seen.push(n.clone());
        if let Some(other) = store.find_by(KongKind::Sni, "name", n)
            && other.fk("certificate") != Some(cert_id)
        {
            let owner = other.fk("certificate").unwrap_or("");
            return Err(ApiError::schema(&SchemaViolation::field(
                "snis",
                format!("{n} already associated with existing certificate '{owner}'"),
            )));
        }
    }
    let mut changes = Vec::new();
    for sid in store.children_of_kind(KongKind::Certificate, cert_id, KongKind::Sni) {
        if let Some(r) = store.get(KongKind::Sni, sid)
            && !names.iter().any(|n| r.data.get("name").and_then(Value::as_str) == Some(n))
        {
            changes.push(Change::Delete(KongKind::Sni, sid.to_owned()));
        }
    }
    let now = now_secs();
    for n in names {
        if store.find_by(KongKind::Sni, "name", n).is_none() {
            let mut d = Map::new();
            d.insert("id".into(), json!(uuid::Uuid::new_v4().to_string()));
            d.insert("name".into(), json!(n));
            d.insert("created_at".into(), json!(now));
            d.insert("updated_at".into(), json!(now));
            d.insert("tags".into(), tags.cloned().unwrap_or(Value::Null));
            d.insert("certificate".into(), json!({"id": cert_id}));
            changes.push(Change::Put(KongKind::Sni, Arc::new(Row { data: d, expires: None })));
        }
    }
    Ok(changes)
}

fn finish_write(
    inner: &Inner,
    store: &mut Store,
    kind: KongKind,
    prepared: Prepared,
    insert: bool,
    status: StatusCode,
) -> ApiResult<Resp> {
    super::db_checks::check_db(&inner.env, store, kind, &prepared.row.data, insert)?;
    let id = prepared.row.id().to_owned();
    let row = Arc::new(prepared.row);
    let mut changes = vec![Change::Put(kind, row.clone())];
    if let Some(names) = &prepared.snis {
        changes.extend(sni_changes(store, &id, names, None)?);
    }
    commit(inner, store, changes)?;
    Ok((status, Some(render(inner, store, kind, &row))))
}

/// Kong's targets DAO formats `target` before the schema runs (`kong/db/dao/targets.lua`):
/// one that does not parse is the only error reported.
fn check_target_dao(kind: KongKind, input: &Map<String, Value>) -> ApiResult<()> {
    match input.get("target").and_then(Value::as_str) {
        Some(t) if kind == KongKind::Target && !crate::kong::schema::custom::target_parses(t) => {
            Err(ApiError::schema_field("target", "Invalid target; not a valid hostname or ip address"))
        }
        _ => Ok(()),
    }
}

/// `POST /{coll}` (201).
pub fn create(ctx: &Ctx<'_>, kind: KongKind, input: Map<String, Value>, scope: Scope<'_>) -> ApiResult<Resp> {
    check_target_dao(kind, &input)?;
    let mut store = ctx.inner.store.write().map_err(|_| ApiError::internal())?;
    purge_expired(ctx.inner, &mut store)?;
    let prepared = entity::prepare(&ctx.inner.env, &store, kind, Mode::Insert, input, scope)?;
    finish_write(ctx.inner, &mut store, kind, prepared, true, StatusCode::CREATED)
}

/// `PUT /{coll}/{key}`: upsert by id or endpoint key, keeping the id (200).
pub fn upsert(
    ctx: &Ctx<'_>,
    kind: KongKind,
    key: &str,
    mut input: Map<String, Value>,
    scope: Scope<'_>,
) -> ApiResult<Resp> {
    let mut store = ctx.inner.store.write().map_err(|_| ApiError::internal())?;
    purge_expired(ctx.inner, &mut store)?;
    let (id, existing) = if is_uuid(key) {
        let id = key.to_ascii_lowercase();
        let existing = store.get(kind, &id).cloned();
        (id, existing)
    } else {
        let Some(ek) = kind.endpoint_key() else {
            return Err(ApiError::invalid_pk());
        };
        entity::check_endpoint_key(kind, ek, key)?;
        input.insert(ek.into(), json!(key));
        let existing = store.find_by(kind, ek, key).cloned();
        let id = match (&existing, input.get("id").and_then(Value::as_str)) {
            (Some(r), _) => r.id().to_owned(),
            (None, Some(i)) if is_uuid(i) => i.to_ascii_lowercase(),
            _ => uuid::Uuid::new_v4().to_string(),
        };
        (id, existing)
    };
    input.remove("id");
    let mut prepared = entity::prepare(
        &ctx.inner.env,
        &store,
        kind,
        Mode::Upsert { id: &id, existing: existing.as_deref() },
        input,
        scope,
    )?;
    if kind == KongKind::Certificate && prepared.snis.is_none() {
        prepared.snis = Some(Vec::new());
    }
    finish_write(ctx.inner, &mut store, kind, prepared, false, StatusCode::OK)
}

/// `PATCH /{coll}/{key}` (200; 404 code 6 when missing).
pub fn update(
    ctx: &Ctx<'_>,
    kind: KongKind,
    key: &str,
    input: Map<String, Value>,
    scope: Scope<'_>,
) -> ApiResult<Resp> {
    let mut store = ctx.inner.store.write().map_err(|_| ApiError::internal())?;
    purge_expired(ctx.inner, &mut store)?;
    let Some(existing) = lookup(&store, kind, key, scope)? else {
        if kind == KongKind::Plugin || scope.is_some() {
            return Err(ApiError::not_found());
        }
        return Err(match (is_uuid(key), kind.endpoint_key()) {
            (false, Some(ek)) => ApiError::not_found_key(ek, key),
            _ => ApiError::not_found_pk(key),
        });
    };
    check_target_dao(kind, &input)?;
    let mut input = input;
    input.remove("id");
    let prepared = entity::prepare(&ctx.inner.env, &store, kind, Mode::Update { existing: &existing }, input, scope)?;
    finish_write(ctx.inner, &mut store, kind, prepared, false, StatusCode::OK)
}

/// The changes deleting `(kind, id)` implies: cascades, or a code 4 / code 19 refusal.
pub fn plan_delete(store: &Store, kind: KongKind, id: &str, out: &mut Vec<Change>) -> ApiResult<()> {
    if kind == KongKind::CaCertificate {
        for (sid, svc) in store.table(KongKind::Service) {
            let refs = svc.data.get("ca_certificates").and_then(Value::as_array);
            if refs.is_some_and(|a| a.iter().any(|v| v.as_str().is_some_and(|s| s.eq_ignore_ascii_case(id)))) {
                return Err(ApiError::dao(
                    StatusCode::BAD_REQUEST,
                    19,
                    "referenced by others",
                    format!("ca certificate {id} is still referenced by services (id = {sid})"),
                    None,
                ));
            }
        }
    }
    let children: Vec<(KongKind, String)> = store.children(kind, id).cloned().collect();
    for (ck, cid) in children {
        let Some(row) = store.get(ck, &cid) else {
            continue;
        };
        for fk in ck.foreign_keys().iter().filter(|f| f.parent == kind && row.fk(f.field) == Some(id)) {
            match fk.on_delete {
                OnDelete::Restrict => {
                    return Err(ApiError::dao(
                        StatusCode::BAD_REQUEST,
                        4,
                        "foreign key violation",
                        format!("an existing '{}' entity references this '{}' entity", ck.table(), kind.table()),
                        Some(json!({"@referenced_by": ck.table()})),
                    ));
                }
                OnDelete::Cascade => {
                    if !out.iter().any(|c| matches!(c, Change::Delete(k, i) if *k == ck && *i == cid)) {
                        plan_delete(store, ck, &cid, out)?;
                    }
                }
            }
        }
    }
    out.push(Change::Delete(kind, id.to_owned()));
    Ok(())
}

/// `DELETE /{coll}/{key}`: 204, also when absent on top-level paths (§3.2).
pub fn delete(ctx: &Ctx<'_>, kind: KongKind, key: &str, scope: Scope<'_>) -> ApiResult<Resp> {
    let mut store = ctx.inner.store.write().map_err(|_| ApiError::internal())?;
    let Some(row) = lookup(&store, kind, key, scope)? else {
        if scope.is_some() {
            return Err(ApiError::not_found());
        }
        return Ok((StatusCode::NO_CONTENT, None));
    };
    let mut changes = Vec::new();
    plan_delete(&store, kind, row.id(), &mut changes)?;
    commit(ctx.inner, &mut store, changes)?;
    Ok((StatusCode::NO_CONTENT, None))
}

/// `/{coll}/{key}/{fk}`: the parent through foreign key `field` (GET, PUT, PATCH; DELETE 405).
pub fn parent(
    ctx: &Ctx<'_>,
    method: &str,
    kind: KongKind,
    key: &str,
    field: &'static str,
    input: Option<Map<String, Value>>,
) -> ApiResult<Resp> {
    let fk = kind.foreign_key(field).ok_or_else(ApiError::not_found)?;
    let pid = {
        let store = ctx.inner.store.read().map_err(|_| ApiError::internal())?;
        let row = lookup(&store, kind, key, None)?.ok_or_else(ApiError::not_found)?;
        row.fk(field).map(str::to_owned).ok_or_else(ApiError::not_found)?
    };
    match method {
        "GET" => get(ctx, fk.parent, &pid, None),
        "PATCH" => update(ctx, fk.parent, &pid, input.unwrap_or_default(), None),
        "PUT" => upsert(ctx, fk.parent, &pid, input.unwrap_or_default(), None),
        "DELETE" => Err(ApiError::method_not_allowed()),
        _ => Err(ApiError::method_not_allowed()),
    }
}

/// Current time helper re-exported for handlers.
pub fn now() -> f64 {
    now_f64()
}
