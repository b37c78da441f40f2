//! Reading what a Tyk gateway serves (`tyk.md` §1.2): `GET /tyk/apis` (every loaded API in
//! classic form, OAS ones with `is_oas: true`), `GET /tyk/apis/oas` for the Tyk OAS
//! documents (asked only when there are OAS APIs), `GET /tyk/policies` and `GET
//! /tyk/certs`, as entities whose secret references are put back from gateform's marker
//! ([`crate::tyk::marker::restore`]).

use std::collections::HashMap;

use serde_json::Value;

use super::compare::EXTENSION;
use super::kind::TykKind;
use super::marker;
use crate::gateway::{Client, HttpError};
use crate::model::Entity;

/// Everything the gateway serves, as entities with ids.
pub async fn read_all(client: &Client) -> Result<Vec<Entity>, HttpError> {
    let (apis, policies, certs) = tokio::try_join!(
        client.get(TykKind::Api.collection()),
        client.get(TykKind::Policy.collection()),
        client.get(TykKind::Certificate.collection()),
    )?;
    let apis = as_array(apis, TykKind::Api)?;
    let any_oas = apis.iter().any(|a| a.get("is_oas") == Some(&Value::Bool(true)));
    let mut oas: HashMap<String, Value> = HashMap::new();
    if any_oas {
        for doc in as_array(client.get(TykKind::OasApi.collection()).await?, TykKind::OasApi)? {
            if let Some(id) = doc.pointer(&format!("/{EXTENSION}/info/id")).and_then(Value::as_str) {
                oas.insert(id.to_owned(), doc);
            }
        }
    }
    let mut out = Vec::with_capacity(apis.len());
    for def in apis {
        let Some(id) = def.get("api_id").and_then(Value::as_str).map(str::to_owned) else { continue };
        if def.get("is_oas") == Some(&Value::Bool(true)) {
            match oas.remove(&id) {
                Some(doc) => out.push(entity(TykKind::OasApi, id, doc)),
                None => tracing::warn!("the gateway lists OAS API {id} but serves no Tyk OAS document for it"),
            }
        } else {
            out.push(entity(TykKind::Api, id, def));
        }
    }
    for pol in as_array(policies, TykKind::Policy)? {
        let Some(id) = pol.get("id").and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned) else {
            continue;
        };
        out.push(entity(TykKind::Policy, id, pol));
    }
    let ids = certs.get("certs").and_then(Value::as_array).cloned().unwrap_or_default();
    for id in ids.iter().filter_map(Value::as_str) {
        out.push(entity(TykKind::Certificate, id.to_owned(), Value::Object(Default::default())));
    }
    out.sort_by(|a, b| (a.kind, &a.id).cmp(&(b.kind, &b.id)));
    Ok(out)
}

fn as_array(v: Value, kind: TykKind) -> Result<Vec<Value>, HttpError> {
    match v {
        Value::Array(a) => Ok(a),
        Value::Null => Ok(Vec::new()),
        other => Err(HttpError::Config(format!(
            "GET {} answered {}, not a list: is this a Tyk gateway?",
            kind.collection(),
            short(&other)
        ))),
    }
}

fn short(v: &Value) -> String {
    let t = v.to_string();
    if t.chars().count() > 120 { format!("{}...", t.chars().take(120).collect::<String>()) } else { t }
}

/// One object the gateway serves, as an entity, its references restored.
pub fn entity(kind: TykKind, id: String, body: Value) -> Entity {
    let mut e = Entity::new(kind.kind());
    e.id = Some(id);
    e.fields = match body {
        Value::Object(m) => m,
        _ => Default::default(),
    };
    marker::restore(kind, &mut e.fields);
    e
}

/// One object by id, whatever its scope; `None` when the gateway does not serve it.
pub async fn read_one(client: &Client, kind: TykKind, id: &str) -> Result<Option<Entity>, HttpError> {
    let path = format!("{}/{}", kind.collection(), crate::gateway::path_segment(id));
    match client.get(&path).await {
        Ok(body) if kind == TykKind::Certificate => {
            Ok(body.get("id").is_some().then(|| entity(kind, id.to_owned(), Value::Object(Default::default()))))
        }
        Ok(body) if kind == TykKind::Api && body.get("is_oas") == Some(&Value::Bool(true)) => Ok(None),
        Ok(body) => Ok(Some(entity(kind, id.to_owned(), body))),
        Err(HttpError::Api { status: 404 | 400, .. }) => Ok(None),
        Err(e) => Err(e),
    }
}
