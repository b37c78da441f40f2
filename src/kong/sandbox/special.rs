//! Endpoints that differ from the generic ones: targets (§2.5), certificates addressed by
//! SNI name (§2.6), ACLs addressed by group (§2.10) and consumer groups (§2.11).

use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::error::{ApiError, ApiResult};
use super::ops::{self, Ctx, Resp};
use super::store::{Change, Row, Store};
use crate::kong::schema::is_uuid;
use crate::kong::{KongKind, normalize_target};

/// The upstream id for `/upstreams/{u}/...` (404 when missing).
pub fn upstream_id(ctx: &Ctx<'_>, key: &str) -> ApiResult<String> {
    let store = ctx.inner.store.read().map_err(|_| ApiError::internal())?;
    ops::lookup(&store, KongKind::Upstream, key, None)?.map(|r| r.id().to_owned()).ok_or_else(ApiError::not_found)
}

fn find_target(store: &Store, upstream: &str, key: &str) -> Option<Arc<Row>> {
    if is_uuid(key) {
        return store
            .get(KongKind::Target, &key.to_ascii_lowercase())
            .filter(|r| r.fk("upstream") == Some(upstream))
            .cloned();
    }
    let mut probe = Map::new();
    probe.insert("upstream".into(), json!({"id": upstream}));
    probe.insert("target".into(), json!(normalize_target(key)));
    let id = store.find_unique(KongKind::Target, &["upstream", "target"], &probe)?;
    store.get(KongKind::Target, id).cloned()
}

/// `GET /upstreams/{u}/targets`: newest first, numeric offsets (§2.5).
pub fn list_targets(ctx: &Ctx<'_>, upstream: &str) -> ApiResult<Resp> {
    let size = super::page::parse_size(ctx.query.get("size").map(String::as_str))?;
    let start: usize = match ctx.query.get("offset") {
        None => 0,
        Some(o) => o.parse().map_err(|_| {
            ApiError::dao(
                StatusCode::BAD_REQUEST,
                7,
                "invalid offset",
                format!("'{o}' is not a valid offset: bad base64 encoding"),
                None,
            )
        })?,
    };
    let store = ctx.inner.store.read().map_err(|_| ApiError::internal())?;
    let mut rows: Vec<&Arc<Row>> = store
        .children_of_kind(KongKind::Upstream, upstream, KongKind::Target)
        .filter_map(|id| store.get(KongKind::Target, id))
        .collect();
    rows.sort_by(|a, b| {
        let ca = a.data.get("created_at").and_then(Value::as_f64).unwrap_or(0.0);
        let cb = b.data.get("created_at").and_then(Value::as_f64).unwrap_or(0.0);
        cb.total_cmp(&ca).then_with(|| b.id().cmp(a.id()))
    });
    let page: Vec<Value> = rows.iter().skip(start).take(size).map(|r| Value::Object(r.data.clone())).collect();
    let end = start + page.len();
    let mut body = json!({"data": page, "next": null});
    if end < rows.len() {
        body["offset"] = json!(end.to_string());
        body["next"] = json!(format!("{}?offset={end}", ctx.path));
    }
    Ok((StatusCode::OK, Some(body)))
}

/// `GET|PATCH|PUT|DELETE /upstreams/{u}/targets/{t}`: 404 for all verbs when missing.
pub fn target(
    ctx: &Ctx<'_>,
    method: &str,
    upstream: &str,
    key: &str,
    input: Option<Map<String, Value>>,
) -> ApiResult<Resp> {
    let row = {
        let store = ctx.inner.store.read().map_err(|_| ApiError::internal())?;
        find_target(&store, upstream, key).ok_or_else(ApiError::not_found)?
    };
    let id = row.id().to_owned();
    let scope = Some(("upstream", upstream));
    match method {
        "GET" => Ok((StatusCode::OK, Some(Value::Object(row.data.clone())))),
        "PATCH" | "PUT" => ops::update(ctx, KongKind::Target, &id, input.unwrap_or_default(), scope),
        "DELETE" => ops::delete(ctx, KongKind::Target, &id, scope),
        _ => Err(ApiError::method_not_allowed()),
    }
}

/// `PUT /upstreams/{u}/targets/{t}/healthy|unhealthy` → 204.
pub fn target_health(ctx: &Ctx<'_>, upstream: &str, key: &str) -> ApiResult<Resp> {
    let store = ctx.inner.store.read().map_err(|_| ApiError::internal())?;
    find_target(&store, upstream, key).ok_or_else(ApiError::not_found)?;
    Ok((StatusCode::NO_CONTENT, None))
}

/// `GET /upstreams/{u}/health`.
pub fn upstream_health(ctx: &Ctx<'_>, upstream: &str) -> ApiResult<Resp> {
    let store = ctx.inner.store.read().map_err(|_| ApiError::internal())?;
    let data: Vec<Value> = store
        .children_of_kind(KongKind::Upstream, upstream, KongKind::Target)
        .filter_map(|id| store.get(KongKind::Target, id))
        .map(|r| {
            let mut d = r.data.clone();
            d.insert("health".into(), json!("HEALTHCHECKS_OFF"));
            d.insert("data".into(), json!({"weight": {"total": d.get("weight").cloned().unwrap_or(json!(100)), "available": d.get("weight").cloned().unwrap_or(json!(100)), "unavailable": 0}, "addresses": []}));
            Value::Object(d)
        })
        .collect();
    Ok((StatusCode::OK, Some(json!({"data": data, "next": null, "node_id": ctx.inner.node_id}))))
}

/// `/certificates/{x}` where `x` is not a UUID: addressed through the SNI named `x` (§2.6).
pub fn certificate_by_sni(
    ctx: &Ctx<'_>,
    method: &str,
    name: &str,
    input: Option<Map<String, Value>>,
) -> ApiResult<Resp> {
    let cert_id = {
        let store = ctx.inner.store.read().map_err(|_| ApiError::internal())?;
        store.find_by(KongKind::Sni, "name", name).and_then(|r| r.fk("certificate").map(str::to_owned))
    };
    match (cert_id, method) {
        (Some(id), "GET") => ops::get(ctx, KongKind::Certificate, &id, None),
        (Some(id), "PATCH") => ops::update(ctx, KongKind::Certificate, &id, input.unwrap_or_default(), None),
        (Some(id), "PUT") => ops::upsert(ctx, KongKind::Certificate, &id, input.unwrap_or_default(), None),
        (Some(id), _) => ops::delete(ctx, KongKind::Certificate, &id, None),
        (None, "PUT") => {
            let mut input = input.unwrap_or_default();
            let mut names: Vec<Value> = input.get("snis").and_then(Value::as_array).cloned().unwrap_or_default();
            if !names.iter().any(|n| n.as_str() == Some(name)) {
                names.push(json!(name));
            }
            input.insert("snis".into(), Value::Array(names));
            let id = uuid::Uuid::new_v4().to_string();
            ops::upsert(ctx, KongKind::Certificate, &id, input, None)
        }
        (None, _) => Err(ApiError::message(StatusCode::NOT_FOUND, "SNI not found")),
    }
}

/// `/consumers/{c}/acls/{x}`: `x` is an id or a group name of that consumer (§2.10).
pub fn acl_by_group(
    ctx: &Ctx<'_>,
    method: &str,
    consumer: &str,
    key: &str,
    input: Option<Map<String, Value>>,
) -> ApiResult<Resp> {
    let scope = Some(("consumer", consumer));
    if is_uuid(key) {
        return match method {
            "GET" => ops::get(ctx, KongKind::Acl, key, scope),
            "PATCH" => ops::update(ctx, KongKind::Acl, key, input.unwrap_or_default(), scope),
            "PUT" => ops::upsert(ctx, KongKind::Acl, key, input.unwrap_or_default(), scope),
            _ => ops::delete(ctx, KongKind::Acl, key, scope),
        };
    }
    let id = {
        let store = ctx.inner.store.read().map_err(|_| ApiError::internal())?;
        let mut probe = Map::new();
        probe.insert("consumer".into(), json!({"id": consumer}));
        probe.insert("group".into(), json!(key));
        store.find_unique(KongKind::Acl, &["consumer", "group"], &probe).map(str::to_owned)
    };
    match (id, method) {
        (Some(id), "GET") => ops::get(ctx, KongKind::Acl, &id, scope),
        (Some(id), "PATCH") => ops::update(ctx, KongKind::Acl, &id, input.unwrap_or_default(), scope),
        (Some(id), "PUT") => {
            let mut input = input.unwrap_or_default();
            input.entry("group").or_insert_with(|| json!(key));
            ops::upsert(ctx, KongKind::Acl, &id, input, scope)
        }
        (Some(id), _) => ops::delete(ctx, KongKind::Acl, &id, scope),
        (None, "PUT") => {
            // Kong's acl `before` handler (`kong/plugins/acl/api.lua`): a new group gets a new
            // id and the PUT upserts it (200, like every PUT).
            let mut input = input.unwrap_or_default();
            input.insert("group".into(), json!(key));
            ops::upsert(ctx, KongKind::Acl, &uuid::Uuid::new_v4().to_string(), input, scope)
        }
        (None, _) => Err(ApiError::not_found()),
    }
}

fn render_many(ctx: &Ctx<'_>, store: &Store, kind: KongKind, ids: impl Iterator<Item = String>) -> Vec<Value> {
    ids.filter_map(|id| {
        store.get(kind, &id).map(|r| super::entity::render(&ctx.inner.env, store, kind, r, super::entity::now_secs()))
    })
    .collect()
}

fn members(store: &Store, group: &str) -> Vec<String> {
    store
        .children_of_kind(KongKind::ConsumerGroup, group, KongKind::ConsumerGroupConsumer)
        .filter_map(|m| store.get(KongKind::ConsumerGroupConsumer, m))
        .filter_map(|r| r.fk("consumer").map(str::to_owned))
        .collect()
}

fn groups_of(store: &Store, consumer: &str) -> Vec<String> {
    store
        .children_of_kind(KongKind::Consumer, consumer, KongKind::ConsumerGroupConsumer)
        .filter_map(|m| store.get(KongKind::ConsumerGroupConsumer, m))
        .filter_map(|r| r.fk("consumer_group").map(str::to_owned))
        .collect()
}

/// `GET /consumer_groups/{g}`: `{consumer_group, consumers, plugins}` (§2.11, EE, unverified).
pub fn consumer_group(ctx: &Ctx<'_>, key: &str) -> ApiResult<Resp> {
    let store = ctx.inner.store.read().map_err(|_| ApiError::internal())?;
    let g = ops::lookup(&store, KongKind::ConsumerGroup, key, None)?.ok_or_else(ApiError::not_found)?;
    let gid = g.id().to_owned();
    let mut body = json!({"consumer_group": Value::Object(g.data.clone())});
    if ctx.query.get("list_consumers").map(String::as_str) != Some("false") {
        body["consumers"] = json!(render_many(ctx, &store, KongKind::Consumer, members(&store, &gid).into_iter()));
    }
    let plugins: Vec<String> =
        store.children_of_kind(KongKind::ConsumerGroup, &gid, KongKind::Plugin).map(str::to_owned).collect();
    body["plugins"] = json!(render_many(ctx, &store, KongKind::Plugin, plugins.into_iter()));
    Ok((StatusCode::OK, Some(body)))
}

fn member_row(group: &str, consumer: &str) -> Arc<Row> {
    let id = crate::kong::membership_id(group, consumer);
    let mut d = Map::new();
    d.insert("id".into(), json!(id));
    d.insert("created_at".into(), json!(super::entity::now_secs()));
    d.insert("consumer_group".into(), json!({"id": group}));
    d.insert("consumer".into(), json!({"id": consumer}));
    Arc::new(Row { data: d, expires: None })
}

fn key_values(input: &Map<String, Value>, field: &str) -> Vec<String> {
    match input.get(field) {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        Some(Value::Object(o)) => o
            .get("id")
            .or_else(|| o.get("username"))
            .or_else(|| o.get("name"))
            .and_then(Value::as_str)
            .map(|s| vec![s.to_owned()])
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// Membership: `GET|POST|DELETE /consumer_groups/{g}/consumers[/{c}]` and
/// `GET|POST|DELETE /consumers/{c}/consumer_groups[/{g}]`.
pub fn membership(
    ctx: &Ctx<'_>,
    method: &str,
    from_group: bool,
    key: &str,
    other: Option<&str>,
    input: Option<Map<String, Value>>,
) -> ApiResult<Resp> {
    let (own_kind, other_kind, other_field) = if from_group {
        (KongKind::ConsumerGroup, KongKind::Consumer, "consumer")
    } else {
        (KongKind::Consumer, KongKind::ConsumerGroup, "group")
    };
    let mut store = ctx.inner.store.write().map_err(|_| ApiError::internal())?;
    let own = ops::lookup(&store, own_kind, key, None)?.ok_or_else(ApiError::not_found)?;
    let own_id = own.id().to_owned();
    let pair = |o: &str, x: &str| {
        if from_group { (o.to_owned(), x.to_owned()) } else { (x.to_owned(), o.to_owned()) }
    };
    let listing = |store: &Store| {
        if from_group { members(store, &own_id) } else { groups_of(store, &own_id) }
    };
    match (method, other) {
        ("GET", None) => {
            let data = render_many(ctx, &store, other_kind, listing(&store).into_iter());
            Ok((StatusCode::OK, Some(json!({"data": data, "next": null}))))
        }
        ("POST", None) => {
            let input = input.unwrap_or_default();
            let keys = key_values(&input, other_field);
            if keys.is_empty() {
                return Err(ApiError::bad_request(format!("must provide {other_field}")));
            }
            let mut changes = Vec::new();
            for k in keys {
                let o = ops::lookup(&store, other_kind, &k, None)?.ok_or_else(ApiError::not_found)?;
                let (g, c) = pair(&own_id, o.id());
                let row = member_row(&g, &c);
                if store.get(KongKind::ConsumerGroupConsumer, row.id()).is_some() {
                    return Err(ApiError::dao(
                        StatusCode::CONFLICT,
                        5,
                        "unique constraint violation",
                        "consumer is already in the consumer group",
                        None,
                    ));
                }
                changes.push(Change::Put(KongKind::ConsumerGroupConsumer, row));
            }
            ops::commit(ctx.inner, &mut store, changes)?;
            let own_body = super::entity::render(&ctx.inner.env, &store, own_kind, &own, super::entity::now_secs());
            let list = render_many(ctx, &store, other_kind, listing(&store).into_iter());
            let body = if from_group {
                json!({"consumer_group": own_body, "consumers": list})
            } else {
                json!({"consumer": own_body, "consumer_groups": list})
            };
            Ok((StatusCode::CREATED, Some(body)))
        }
        ("DELETE", None) => {
            let changes = listing(&store)
                .into_iter()
                .map(|x| {
                    let (g, c) = pair(&own_id, &x);
                    Change::Delete(KongKind::ConsumerGroupConsumer, member_row(&g, &c).id().to_owned())
                })
                .collect();
            ops::commit(ctx.inner, &mut store, changes)?;
            Ok((StatusCode::NO_CONTENT, None))
        }
        ("GET" | "DELETE", Some(x)) => {
            let o = ops::lookup(&store, other_kind, x, None)?.ok_or_else(ApiError::not_found)?;
            let (g, c) = pair(&own_id, o.id());
            let mid = member_row(&g, &c).id().to_owned();
            if store.get(KongKind::ConsumerGroupConsumer, &mid).is_none() {
                return Err(ApiError::not_found());
            }
            if method == "GET" {
                let body = super::entity::render(&ctx.inner.env, &store, other_kind, &o, super::entity::now_secs());
                return Ok((StatusCode::OK, Some(body)));
            }
            ops::commit(ctx.inner, &mut store, vec![Change::Delete(KongKind::ConsumerGroupConsumer, mid)])?;
            Ok((StatusCode::NO_CONTENT, None))
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}
