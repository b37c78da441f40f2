//! Reading the live state of a gateway: `GET /` for its version, then every kind through its
//! paginated collection (`size=1000`, following `offset`, `kong-admin-api.md` §3.4), kinds
//! read concurrently, filtered by `select_tags` (§3.5).

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use serde_json::{Map, Value};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::KongKind as Kind;
use super::key::membership_id;
use crate::gateway::{Client as KongClient, HttpError as KongError};
use crate::model::{Entity, Ref, State};

/// What a gateway told us about itself.
#[derive(Debug, Clone, PartialEq)]
pub struct KongInfo {
    /// `version` of `GET /` (e.g. `3.9.3`).
    pub version: String,
    /// `configuration.database` (`postgres`, `off`, ...).
    pub database: String,
    /// Whether the gateway runs without a database (entity writes are refused; whole
    /// configurations are loaded through `POST /config`).
    pub db_less: bool,
    /// Whether the node is a data plane of a hybrid deployment (`configuration.role =
    /// "data_plane"`): it takes its configuration from its control plane only.
    pub data_plane: bool,
    /// Plugin names the node can load (`plugins.available_on_server`).
    pub available_plugins: Vec<String>,
}

/// The live state in scope, and how it was read.
#[derive(Debug, Clone)]
pub struct KongLive {
    /// Gateway facts.
    pub info: KongInfo,
    /// Entities in scope, with `id` set and foreign keys as [`Ref::Id`].
    pub state: State,
}

/// Reads `GET /`; an answer that is no Kong Admin API's is [`KongError::NotGateway`]
/// ([`super::probe::admin_root`]).
pub async fn gateway_info(client: &KongClient) -> Result<KongInfo, KongError> {
    let root = super::probe::admin_root(client.base_url(), client.get("/").await)?;
    let version = root.get("version").and_then(Value::as_str).unwrap_or("unknown").to_owned();
    let database = root.pointer("/configuration/database").and_then(Value::as_str).unwrap_or("postgres").to_owned();
    let available_plugins = root
        .pointer("/plugins/available_on_server")
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let data_plane = root.pointer("/configuration/role").and_then(Value::as_str) == Some("data_plane");
    Ok(KongInfo { db_less: database == "off", data_plane, version, database, available_plugins })
}

/// Reads every entity in scope: those carrying all `select_tags` (every entity when empty).
/// Consumer-group membership is in scope when its consumer is. Collections a gateway does
/// not serve (Enterprise ones on Kong OSS: 404) read as empty.
pub async fn read_live(client: &KongClient, select_tags: &[String]) -> Result<KongLive, KongError> {
    let info = gateway_info(client).await?;
    let mut tasks: JoinSet<Result<(Kind, Vec<Value>), KongError>> = JoinSet::new();
    for &kind in Kind::ALL {
        if matches!(kind, Kind::Target | Kind::ConsumerGroupConsumer) {
            continue;
        }
        let client = client.clone();
        let tags = select_tags.to_vec();
        tasks.spawn(async move {
            let path = format!("/{}", kind.collection());
            let rows = match list_all(&client, &path, &tags).await {
                Err(KongError::Api { status: 404, .. }) if kind.is_enterprise() => Vec::new(),
                other => other?,
            };
            Ok((kind, rows))
        });
    }
    let mut by_kind: BTreeMap<Kind, Vec<Value>> = BTreeMap::new();
    while let Some(joined) = tasks.join_next().await {
        let (kind, rows) = joined.map_err(|e| KongError::Config(format!("reader task failed: {e}")))??;
        by_kind.insert(kind, rows);
    }

    let limit = Arc::new(Semaphore::new(16));
    let mut nested: JoinSet<Result<Vec<Entity>, KongError>> = JoinSet::new();
    for upstream in by_kind.get(&Kind::Upstream).into_iter().flatten() {
        let Some(id) = upstream.get("id").and_then(Value::as_str).map(str::to_owned) else { continue };
        let (client, limit, tags) = (client.clone(), limit.clone(), select_tags.to_vec());
        nested.spawn(async move {
            let _permit = limit.acquire_owned().await.map_err(|e| KongError::Config(e.to_string()))?;
            let rows = list_all(&client, &format!("/upstreams/{id}/targets"), &[]).await?;
            Ok(rows
                .into_iter()
                .map(|row| entity_from_json(Kind::Target, row))
                .filter(|e| e.has_all_tags(&tags))
                .collect())
        });
    }
    let consumers_in_scope: HashSet<String> = ids_of(by_kind.get(&Kind::Consumer));
    let groups: Vec<String> = ids_of(by_kind.get(&Kind::ConsumerGroup)).into_iter().collect();
    let memberships = read_memberships(client, &groups, &consumers_in_scope);

    let mut entities = Vec::new();
    for (kind, rows) in by_kind {
        entities.extend(rows.into_iter().map(|row| entity_from_json(kind, row)));
    }
    while let Some(joined) = nested.join_next().await {
        entities.extend(joined.map_err(|e| KongError::Config(format!("reader task failed: {e}")))??);
    }
    entities.extend(memberships.await?);
    entities.sort_by(|a, b| (a.kind, &a.id).cmp(&(b.kind, &b.id)));
    Ok(KongLive { info, state: State { entities } })
}

fn ids_of(rows: Option<&Vec<Value>>) -> HashSet<String> {
    rows.into_iter().flatten().filter_map(|r| r.get("id").and_then(Value::as_str).map(str::to_owned)).collect()
}

/// Reads the members of each consumer group of `group_ids` (`GET /consumer_groups/{id}`,
/// 16 at a time) and keeps the memberships of the consumers in `consumers`.
pub async fn read_memberships(
    client: &KongClient,
    group_ids: &[String],
    consumers: &HashSet<String>,
) -> Result<Vec<Entity>, KongError> {
    let limit = Arc::new(Semaphore::new(16));
    let consumers = Arc::new(consumers.clone());
    let mut tasks: JoinSet<Result<Vec<Entity>, KongError>> = JoinSet::new();
    for id in group_ids {
        let (client, limit, scope, id) = (client.clone(), limit.clone(), consumers.clone(), id.clone());
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await.map_err(|e| KongError::Config(e.to_string()))?;
            let body = client.get(&format!("/consumer_groups/{id}")).await?;
            let members = body.get("consumers").and_then(Value::as_array).cloned().unwrap_or_default();
            Ok(members
                .iter()
                .filter_map(|c| c.get("id").and_then(Value::as_str))
                .filter(|cid| scope.contains(*cid))
                .map(|cid| membership(&id, cid))
                .collect())
        });
    }
    let mut out = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        out.extend(joined.map_err(|e| KongError::Config(format!("reader task failed: {e}")))??);
    }
    Ok(out)
}

/// A membership row as an entity: refs to both sides and a deterministic id derived from
/// them (Kong gives membership no id of its own).
pub fn membership(group_id: &str, consumer_id: &str) -> Entity {
    let mut e = Entity::new(Kind::ConsumerGroupConsumer);
    e.id = Some(membership_id(group_id, consumer_id));
    e.refs.insert("consumer_group", Ref::Id(group_id.to_owned()));
    e.refs.insert("consumer", Ref::Id(consumer_id.to_owned()));
    e
}

/// Reads every page of a collection (`size=1000`, `offset` until absent).
pub async fn list_all(client: &KongClient, path: &str, tags: &[String]) -> Result<Vec<Value>, KongError> {
    let mut out = Vec::new();
    let mut offset: Option<String> = None;
    loop {
        let mut query = vec![("size".to_owned(), "1000".to_owned())];
        if !tags.is_empty() {
            query.push(("tags".to_owned(), tags.join(",")));
        }
        if let Some(o) = &offset {
            query.push(("offset".to_owned(), o.clone()));
        }
        let qs: String = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(&query).finish();
        let page = client.get(&format!("{path}?{qs}")).await?;
        let Value::Object(mut page) = page else { break };
        if let Some(Value::Array(data)) = page.remove("data") {
            out.extend(data);
        }
        match page.get("offset").and_then(Value::as_str) {
            Some(next) if offset.as_deref() != Some(next) => offset = Some(next.to_owned()),
            _ => break,
        }
    }
    Ok(out)
}

/// Converts one Admin API row into an [`Entity`]: `id` taken out, foreign keys
/// (`{"id": ...}`) turned into [`Ref::Id`], server-owned fields (`created_at`,
/// `updated_at`, a certificate's `snis` list) dropped.
pub fn entity_from_json(kind: Kind, row: Value) -> Entity {
    let mut fields = match row {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    let mut e = Entity::new(kind);
    e.id = fields.remove("id").and_then(|v| v.as_str().map(str::to_owned));
    for fk in kind.foreign_keys() {
        if let Some(value) = fields.remove(fk.field)
            && let Some(id) = value.get("id").and_then(Value::as_str)
        {
            e.refs.insert(fk.field, Ref::Id(id.to_owned()));
        }
    }
    fields.remove("created_at");
    fields.remove("updated_at");
    if kind == Kind::Certificate {
        fields.remove("snis");
    }
    e.fields = fields;
    e
}
