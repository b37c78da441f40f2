//! DB-less `/config` (`kong-admin-api.md` §3.7, §6): load a whole declarative document
//! (nested entities, foreign keys by name or id, deterministic UUIDv5 ids), all-or-nothing.

use std::collections::HashMap;
use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::body::{Body, form_object};
use super::entity::{self, Mode};
use super::error::{ApiError, ApiResult};
use super::ops::{Ctx, Resp};
use super::store::{Change, Row, Store, unique_constraints};
use crate::kong::KongKind;
use crate::kong::schema::is_uuid;

mod errors;

use errors::Refusal;

const BASE_NS: &str = "fd02801f-0957-4a15-a55a-c8d9606f30b5";

/// Children a declarative entity may nest: (parent, key in the document, child kind).
fn nested_keys(parent: KongKind) -> Vec<(String, KongKind)> {
    KongKind::ALL
        .iter()
        .copied()
        .filter(|k| {
            *k != KongKind::ConsumerGroupConsumer
                && k.foreign_keys().iter().any(|f| {
                    f.parent == parent
                        && (f.on_delete == crate::model::OnDelete::Cascade || matches!(k, KongKind::Route))
                })
        })
        .map(|k| (k.table().to_owned(), k))
        .collect()
}

struct Item {
    kind: KongKind,
    data: Map<String, Value>,
    /// The entity as the document gives it (nested children taken out, the parent's key
    /// added when the parent has an `id`), for `flattened_errors`.
    orig: Map<String, Value>,
    /// Whether the document gave the `id` (else it is derived from the endpoint key).
    id_given: bool,
    /// The parent of a nested entity: its kind and id.
    parent: Option<(KongKind, String)>,
    path: Vec<Value>,
    ref_errors: Map<String, Value>,
}

/// A loaded row and the certificate SNIs it declares.
type Loaded = (Arc<Row>, Option<Vec<String>>);

/// Walks the document into [`Item`]s.
struct Collector {
    enterprise: bool,
    items: Vec<Item>,
    members: Vec<(Value, Value, Vec<Value>)>,
    /// Values that are not entities: (path, error).
    bad: Vec<(Vec<Value>, Value)>,
}

/// The parent of a nested entity as [`Collector::collect`] passes it down.
struct Parent {
    kind: KongKind,
    field: &'static str,
    id: String,
    /// Whether the document gave the parent's `id`.
    id_given: bool,
}

fn truthy(v: Option<&str>) -> bool {
    v.is_some_and(|s| matches!(s.to_ascii_lowercase().as_str(), "true" | "1" | "on" | "yes"))
}

fn det_id(kind: KongKind, key: &str) -> String {
    let base = Uuid::parse_str(BASE_NS).unwrap_or(Uuid::nil());
    let ns = Uuid::new_v5(&base, kind.table().as_bytes());
    Uuid::new_v5(&ns, key.as_bytes()).to_string()
}

/// A document that cannot be read as an object, as Kong's `unserialize` reports it
/// (`kong/db/declarative/init.lua`, `errors:declarative_config`): code 14 with
/// `fields.error` = "failed parsing declarative configuration: <why>".
fn unserialize_error(why: &str) -> ApiError {
    let err = format!("failed parsing declarative configuration: {why}");
    ApiError {
        status: StatusCode::BAD_REQUEST,
        body: Some(json!({
            "code": 14,
            "name": "invalid declarative configuration",
            "message": format!("declarative config is invalid: {{error={}}}", super::error::lua_str(&err)),
            "fields": {"error": err},
        })),
    }
}

/// `GET|POST /config`.
pub fn handle(ctx: &Ctx<'_>, method: &str, body: &Body) -> ApiResult<Resp> {
    if !ctx.inner.env.db_less {
        return Err(ApiError::bad_request(
            "this endpoint is only available when Kong is configured to not use a database",
        ));
    }
    if method == "GET" {
        return current_config(ctx);
    }
    let mut flags: HashMap<String, String> = ctx.query.clone();
    let doc = posted_document(body, &mut flags)?;
    let canonical = Value::Object(doc.clone()).to_string();
    let hash = hex::encode(&Sha256::digest(canonical.as_bytes())[..16]);
    if truthy(flags.get("check_hash").map(String::as_str))
        && ctx.inner.config_hash.lock().map(|h| *h == hash).unwrap_or(false)
    {
        return Ok((StatusCode::NOT_MODIFIED, None));
    }
    let flatten = truthy(flags.get("flatten_errors").map(String::as_str));
    let store = load(ctx, &doc, flatten)?;
    let mut out = Map::new();
    for (kind, row) in store.all_rows() {
        if kind == KongKind::ConsumerGroupConsumer {
            continue;
        }
        let slot = out.entry(kind.table().to_owned()).or_insert_with(|| json!({}));
        slot[row.id()] = entity::render(&ctx.inner.env, &store, kind, row, entity::now_secs());
    }
    if let Some(p) = &ctx.inner.persist {
        let mut p = p.lock().map_err(|_| ApiError::internal())?;
        let mut meta = Map::new();
        meta.insert("configuration_hash".into(), json!(hash));
        p.replace_all(&store, &meta).map_err(|_| ApiError::internal())?;
    }
    *ctx.inner.store.write().map_err(|_| ApiError::internal())? = store;
    if let Ok(mut h) = ctx.inner.config_hash.lock() {
        *h = hash;
    }
    Ok((StatusCode::CREATED, Some(Value::Object(out))))
}

/// `GET /config`: every entity loaded, as one document in a JSON string.
fn current_config(ctx: &Ctx<'_>) -> ApiResult<Resp> {
    let store = ctx.inner.store.read().map_err(|_| ApiError::internal())?;
    let mut doc = Map::new();
    doc.insert("_format_version".into(), json!("3.0"));
    doc.insert("_transform".into(), json!(false));
    for kind in KongKind::ALL.iter().copied().filter(|k| *k != KongKind::ConsumerGroupConsumer) {
        let rows: Vec<Value> = store.table(kind).values().map(|r| Value::Object(r.data.clone())).collect();
        if !rows.is_empty() {
            doc.insert(kind.table().into(), Value::Array(rows));
        }
    }
    let text = serde_json::to_string_pretty(&Value::Object(doc)).unwrap_or_default();
    Ok((StatusCode::OK, Some(json!({ "config": text }))))
}

/// The declarative document a `POST /config` carries: the body itself, its `config` (a
/// string of YAML or JSON, or an object) or a form's `config`; `flatten_errors` and
/// `check_hash` given in the body are added to `flags`.
fn posted_document(body: &Body, flags: &mut HashMap<String, String>) -> ApiResult<Map<String, Value>> {
    let parse_text = |t: &str| -> ApiResult<Value> {
        super::yaml_guard::check(t).map_err(|e| unserialize_error(&e))?;
        let v = crate::source::yaml::parse(t).map(|n| n.to_json()).map_err(|e| unserialize_error(&e.to_string()))?;
        if v.is_object() { Ok(v) } else { Err(unserialize_error("expected an object")) }
    };
    let doc = match body {
        Body::Json(Value::Object(o)) if o.contains_key("_format_version") => Value::Object(o.clone()),
        Body::Json(Value::Object(o)) => {
            for k in ["flatten_errors", "check_hash"] {
                if let Some(v) = o.get(k) {
                    flags.insert(k.into(), crate::kong::schema::lua_value(v));
                }
            }
            match o.get("config") {
                Some(Value::String(s)) => parse_text(s)?,
                Some(Value::Object(c)) => Value::Object(c.clone()),
                _ if !o.is_empty() => Value::Object(o.clone()),
                _ => {
                    return Err(ApiError::bad_request("expected a declarative configuration"));
                }
            }
        }
        Body::Form(pairs) => {
            let o = form_object(pairs)?;
            for k in ["flatten_errors", "check_hash"] {
                if let Some(Value::String(v)) = o.get(k) {
                    flags.insert(k.into(), v.clone());
                }
            }
            match o.get("config") {
                Some(Value::String(s)) => parse_text(s)?,
                _ => {
                    return Err(ApiError::bad_request("expected a declarative configuration"));
                }
            }
        }
        Body::Yaml(t) => parse_text(t)?,
        _ => {
            return Err(ApiError::bad_request("expected a declarative configuration"));
        }
    };
    match doc {
        Value::Object(doc) => Ok(doc),
        _ => Err(ApiError::bad_request("expected a declarative configuration")),
    }
}

fn load(ctx: &Ctx<'_>, doc: &Map<String, Value>, flatten: bool) -> ApiResult<Store> {
    let mut refusal = Refusal::new(flatten);
    let Collector { mut items, members, .. } = collect_document(ctx, doc, &mut refusal);
    let by_key = resolve_references(&mut items);
    items.sort_by_key(|it| it.kind.level());
    let transform = doc.get("_transform") != Some(&Value::Bool(false));
    let mut store = load_items(ctx, items, transform, &mut refusal);
    load_memberships(&mut store, members, &by_key, &mut refusal);
    match refusal.into_error() {
        Some(e) => Err(e),
        None => Ok(store),
    }
}

/// The document's `_format_version` checked and its collections walked into items.
fn collect_document(ctx: &Ctx<'_>, doc: &Map<String, Value>, refusal: &mut Refusal) -> Collector {
    let mut c =
        Collector { enterprise: ctx.inner.env.enterprise, items: Vec::new(), members: Vec::new(), bad: Vec::new() };
    let version = [json!("_format_version")];
    match doc.get("_format_version") {
        Some(Value::String(v)) if ["1.1", "2.1", "3.0"].contains(&v.as_str()) => {}
        Some(Value::String(_)) => refusal.top(&version, json!("expected one of: 1.1, 2.1, 3.0")),
        Some(_) => refusal.top(&version, json!("expected a string")),
        None => refusal.top(&version, json!("required field missing")),
    }
    for (key, value) in doc {
        if matches!(key.as_str(), "_format_version" | "_transform" | "_comment") {
            continue;
        }
        let served =
            |k: &KongKind| *k != KongKind::ConsumerGroupConsumer && (ctx.inner.env.enterprise || !k.is_enterprise());
        let Some(kind) = KongKind::from_table(key).filter(served) else {
            refusal.top(&[json!(key)], json!("unknown field"));
            continue;
        };
        let Value::Array(list) = value else {
            refusal.top(&[json!(key)], json!("expected an array"));
            continue;
        };
        for (i, v) in list.iter().enumerate() {
            c.collect(kind, v, vec![json!(key), json!(i)], None);
        }
    }
    for (path, e) in std::mem::take(&mut c.bad) {
        refusal.top(&path, e);
    }
    c
}

/// Foreign keys given by name (or as `{name: ...}`) replaced by `{"id": ...}`; a name no
/// item has is an error of the item. Returns the ids by (kind, endpoint key or id).
fn resolve_references(items: &mut [Item]) -> HashMap<(KongKind, String), String> {
    let mut by_key: HashMap<(KongKind, String), String> = HashMap::new();
    for it in items.iter() {
        let id = it.data.get("id").and_then(Value::as_str).unwrap_or("").to_owned();
        for c in unique_constraints(it.kind).iter().filter(|c| c.len() == 1) {
            if let Some(Value::String(s)) = it.data.get(c[0]) {
                by_key.entry((it.kind, s.clone())).or_insert_with(|| id.clone());
            }
        }
        by_key.insert((it.kind, id.clone()), id);
    }
    for it in items.iter_mut() {
        for fk in it.kind.foreign_keys() {
            let resolved = match it.data.get(fk.field) {
                Some(Value::String(s)) => match by_key.get(&(fk.parent, s.clone())) {
                    Some(id) => Some(id.clone()),
                    None if is_uuid(s) => Some(s.to_ascii_lowercase()),
                    None => {
                        let msg =
                            format!("invalid reference '{}: {s}' (no such entry in '{}')", fk.field, fk.parent.table());
                        it.ref_errors.insert(fk.field.into(), json!(msg));
                        None
                    }
                },
                Some(Value::Object(o)) if !o.contains_key("id") => o
                    .values()
                    .find_map(Value::as_str)
                    .map(|s| by_key.get(&(fk.parent, s.to_owned())).cloned().unwrap_or_else(|| s.to_owned())),
                _ => None,
            };
            if let Some(id) = resolved {
                it.data.insert(fk.field.into(), json!({ "id": id }));
            }
        }
    }
    by_key
}

/// Loads `items` (parents first) into a new store; an item that fails is an error at its
/// path, and what refers to it is left out.
fn load_items(ctx: &Ctx<'_>, items: Vec<Item>, transform: bool, refusal: &mut Refusal) -> Store {
    let mut store = Store::new();
    let mut failed: std::collections::HashSet<(KongKind, String)> = std::collections::HashSet::new();
    for it in items {
        let id = it.data.get("id").and_then(Value::as_str).unwrap_or("").to_owned();
        if !it.ref_errors.is_empty() {
            failed.insert((it.kind, id.clone()));
            refusal.entity(&it.path, Value::Object(it.ref_errors.clone()), |errs| flattened(&it, errs));
            continue;
        }
        // A valid child of an entity that failed is left out without an error of its own.
        let orphan = it.parent.as_ref().is_some_and(|p| failed.contains(p))
            || it.kind.foreign_keys().iter().any(|fk| {
                super::store::fk_id(&it.data, fk.field).is_some_and(|pid| failed.contains(&(fk.parent, pid.to_owned())))
            });
        let mut path = it.path.clone();
        let result = load_item(&ctx.inner.env, &store, &it, &id, orphan, &mut path).map(|loaded| match loaded {
            Some((row, snis)) if !transform => Some((untransformed(row, &it), snis)),
            other => other,
        });
        match result {
            Ok(None) => {
                failed.insert((it.kind, id.clone()));
            }
            Ok(Some((row, snis))) => {
                let mut changes = vec![Change::Put(it.kind, row)];
                changes.extend(snis.unwrap_or_default().iter().map(|n| sni_row(&id, n)));
                store.apply(&changes);
            }
            Err(e) => {
                failed.insert((it.kind, id.clone()));
                let body = e.body.unwrap_or(Value::Null);
                let err =
                    body.get("fields").cloned().unwrap_or_else(|| body.get("message").cloned().unwrap_or(Value::Null));
                refusal.entity(&path, err, |errs| flattened(&it, errs));
            }
        }
    }
    store
}

/// Consumer-group memberships stated in the document, between a group and a consumer
/// that were both loaded.
fn load_memberships(
    store: &mut Store,
    memberships: Vec<(Value, Value, Vec<Value>)>,
    by_key: &HashMap<(KongKind, String), String>,
    refusal: &mut Refusal,
) {
    for (group, consumer, path) in memberships {
        let g = group.as_str().and_then(|s| by_key.get(&(KongKind::ConsumerGroup, s.to_owned()))).cloned();
        let c = consumer.as_str().and_then(|s| by_key.get(&(KongKind::Consumer, s.to_owned()))).cloned();
        match (g, c) {
            (Some(g), Some(c))
                if store.get(KongKind::ConsumerGroup, &g).is_some() && store.get(KongKind::Consumer, &c).is_some() =>
            {
                let mut d = Map::new();
                d.insert("id".into(), json!(crate::kong::membership_id(&g, &c)));
                d.insert("created_at".into(), json!(entity::now_secs()));
                d.insert("consumer_group".into(), json!({"id": g}));
                d.insert("consumer".into(), json!({"id": c}));
                store.apply(&[Change::Put(KongKind::ConsumerGroupConsumer, Arc::new(Row { data: d, expires: None }))]);
            }
            _ => {
                refusal.at(&path, json!(format!("consumer group membership cannot be resolved ({group} / {consumer})")))
            }
        }
    }
}

/// Checks and prepares one declarative entity against what is loaded so far: `None` for a
/// valid child of an entity that failed (`orphan`). Uniqueness errors follow Kong's wording;
/// a violation of a unique field other than the endpoint key moves to the endpoint key in
/// `path` (`consumers.bar`).
fn load_item(
    env: &entity::Env,
    store: &Store,
    it: &Item,
    id: &str,
    orphan: bool,
    path: &mut [Value],
) -> ApiResult<Option<Loaded>> {
    let unique = |data: &Map<String, Value>, f: &str| {
        let v = crate::kong::schema::lua_value(data.get(f).unwrap_or(&Value::Null));
        ApiError::bad_request(format!(
            "uniqueness violation: '{}' entity with {f} set to '{v}' already declared",
            it.kind.table()
        ))
    };
    let ek = it.kind.endpoint_key();
    if store.get(it.kind, id).is_some() {
        // An id derived from the endpoint key collides because the key does.
        return Err(match ek.filter(|_| !it.id_given) {
            Some(k) => unique(&it.data, k),
            None => ApiError::bad_request(format!(
                "uniqueness violation: '{}' entity with primary key set to '{id}' already declared",
                it.kind.table()
            )),
        });
    }
    let p = entity::prepare(env, store, it.kind, Mode::Insert, it.data.clone(), None)?;
    if orphan {
        return Ok(None);
    }
    if let Some((fields, _)) = store.unique_conflict(it.kind, &p.row.data, id) {
        let f = fields[0];
        // Kong keys a violation of another unique field by the entity's endpoint key.
        if Some(f) != ek
            && let Some(Value::String(name)) = ek.and_then(|k| it.data.get(k))
            && let Some(last) = path.last_mut()
        {
            *last = json!(name);
        }
        return Err(unique(&p.row.data, f));
    }
    super::db_checks::check_db(env, store, it.kind, &p.row.data, true)?;
    Ok(Some((Arc::new(p.row), p.snis)))
}

/// A row loaded with `_transform: false`: the values Kong transforms on write (a basic-auth
/// `password`, a hashed OAuth2 `client_secret`) are stored as the document gives them, as
/// Kong's own `GET /config` export expects when it is loaded again.
fn untransformed(row: Arc<Row>, it: &Item) -> Arc<Row> {
    let field = match it.kind {
        KongKind::BasicauthCredential => "password",
        KongKind::Oauth2Credential => "client_secret",
        _ => return row,
    };
    let Some(given) = it.data.get(field) else { return row };
    let mut row = Arc::unwrap_or_clone(row);
    row.data.insert(field.into(), given.clone());
    Arc::new(row)
}

/// The SNI row a declarative certificate's `snis` entry becomes.
fn sni_row(cert_id: &str, name: &str) -> Change {
    let mut d = Map::new();
    d.insert("name".into(), json!(name));
    d.insert("certificate".into(), json!({"id": cert_id}));
    d.insert("id".into(), json!(det_id(KongKind::Sni, &format!("{name}:*"))));
    d.insert("created_at".into(), json!(entity::now_secs()));
    d.insert("updated_at".into(), json!(entity::now_secs()));
    d.insert("tags".into(), Value::Null);
    Change::Put(KongKind::Sni, Arc::new(Row { data: d, expires: None }))
}

/// One `flattened_errors` entry (`kong/db/errors.lua`, `add_entity_errors`): the entity as
/// given, `entity_name` only from a non-empty `name`, `entity_id` only when a valid UUID,
/// `entity_tags` only when an array of strings.
fn flattened(it: &Item, errs: Vec<Value>) -> Value {
    let mut fe = json!({"entity_type": it.kind.singular(), "entity": Value::Object(it.orig.clone()), "errors": errs});
    if let Some(Value::String(n)) = it.orig.get("name").filter(|n| n.as_str().is_some_and(|s| !s.is_empty())) {
        fe["entity_name"] = json!(n);
    }
    if let Some(Value::String(id)) = it.orig.get("id").filter(|v| v.as_str().is_some_and(is_uuid)) {
        fe["entity_id"] = json!(id);
    }
    if let Some(t) = it.orig.get("tags").filter(|v| v.as_array().is_some_and(|a| a.iter().all(Value::is_string))) {
        fe["entity_tags"] = t.clone();
    }
    fe
}

/// Flattens one document entity (and its nested children) into items with ids.
impl Collector {
    /// Returns the entity's id (`None` when `v` is not an object).
    fn collect(&mut self, kind: KongKind, v: &Value, path: Vec<Value>, parent: Option<Parent>) -> Option<String> {
        let enterprise = self.enterprise;
        let Value::Object(o) = v else {
            self.bad.push((path, json!("expected a record")));
            return None;
        };
        let mut data = o.clone();
        data.remove("_comment");
        let nested: Vec<(String, KongKind)> =
            nested_keys(kind).into_iter().filter(|(_, k)| enterprise || !k.is_enterprise()).collect();
        let mut children: Vec<(KongKind, String, Vec<Value>)> = Vec::new();
        for (key, ck) in &nested {
            if let Some(Value::Array(list)) = data.remove(key) {
                children.push((*ck, key.clone(), list));
            }
        }
        let groups = if kind == KongKind::Consumer && enterprise { data.remove("groups") } else { None };
        let group_consumers = if kind == KongKind::ConsumerGroup { data.remove("consumers") } else { None };
        // A certificate given inline (`client_certificate: {cert, key}`) is an entity of its
        // own, reported as one (`15-off_spec.lua`, flattened errors).
        for fk in kind.foreign_keys().iter().filter(|f| f.parent == KongKind::Certificate) {
            if let Some(Value::Object(c)) = data.get(fk.field)
                && (c.contains_key("cert") || c.contains_key("key"))
            {
                let c = Value::Object(c.clone());
                let mut p = path.clone();
                p.push(json!(fk.field));
                if let Some(cid) = self.collect(KongKind::Certificate, &c, p, None) {
                    data.insert(fk.field.into(), json!({ "id": cid }));
                }
            }
        }
        let mut orig = data.clone();
        if let Some(p) = &parent {
            data.insert(p.field.into(), json!({"id": p.id}));
            if p.id_given {
                orig.entry(p.field).or_insert_with(|| json!({"id": p.id}));
            }
        }
        let id_given = data.get("id").and_then(Value::as_str).is_some_and(is_uuid);
        let id = document_id(kind, &data, parent.as_ref());
        data.insert("id".into(), json!(id));
        self.memberships(groups, group_consumers, &data, &path);
        let parent_ref = parent.map(|p| (p.kind, p.id));
        self.items.push(Item {
            kind,
            data,
            orig,
            id_given,
            parent: parent_ref,
            path: path.clone(),
            ref_errors: Map::new(),
        });
        for (ck, key, list) in children {
            let Some(fk) = ck.foreign_keys().iter().find(|f| f.parent == kind) else {
                continue;
            };
            for (i, child) in list.iter().enumerate() {
                let mut p = path.clone();
                p.push(json!(key));
                p.push(json!(i));
                self.collect(ck, child, p, Some(Parent { kind, field: fk.field, id: id.clone(), id_given }));
            }
        }
        Some(id)
    }

    /// The memberships a consumer's `groups` or a consumer group's `consumers` state, as
    /// (group, consumer, path) to resolve once every entity is collected.
    fn memberships(
        &mut self,
        groups: Option<Value>,
        group_consumers: Option<Value>,
        data: &Map<String, Value>,
        path: &[Value],
    ) {
        if let Some(Value::Array(gs)) = groups {
            let me = data.get("username").or_else(|| data.get("id")).cloned().unwrap_or(Value::Null);
            for g in gs {
                let name = g.get("name").or_else(|| g.get("id")).cloned().unwrap_or(g.clone());
                self.members.push((name, me.clone(), path.to_vec()));
            }
        }
        if let Some(Value::Array(cs)) = group_consumers {
            let me = data.get("name").cloned().unwrap_or(Value::Null);
            for c in cs {
                let name = c
                    .get("username")
                    .or_else(|| c.get("id"))
                    .or_else(|| c.get("custom_id"))
                    .cloned()
                    .unwrap_or(c.clone());
                self.members.push((me.clone(), name, path.to_vec()));
            }
        }
    }
}

/// The id of a document entity: its own when it gives a UUID, else Kong's deterministic
/// UUIDv5 of its endpoint key (a target's within its upstream; a plugin's of its name and
/// the entities it is scoped to), else a random one.
fn document_id(kind: KongKind, data: &Map<String, Value>, parent: Option<&Parent>) -> String {
    match data.get("id").and_then(Value::as_str) {
        Some(s) if is_uuid(s) => s.to_ascii_lowercase(),
        _ => {
            let key = kind.endpoint_key().and_then(|k| data.get(k)).and_then(Value::as_str).map(|s| match parent {
                Some(p) if kind == KongKind::Target => format!("{s}:{}", p.id),
                _ => format!("{s}:*"),
            });
            let key = key.or_else(|| {
                (kind == KongKind::Plugin).then(|| {
                    let part = |f: &str| {
                        data.get(f)
                            .map(|v| v.get("id").and_then(Value::as_str).or(v.as_str()).unwrap_or("").to_owned())
                            .unwrap_or_default()
                    };
                    format!(
                        "plugins:*:{}:{}:{}:{}",
                        data.get("name").and_then(Value::as_str).unwrap_or(""),
                        part("route"),
                        part("service"),
                        part("consumer")
                    )
                })
            });
            key.map_or_else(|| Uuid::new_v4().to_string(), |k| det_id(kind, &k))
        }
    }
}
