//! The Admin API request that carries out each change (`kong-admin-api.md` §1.7, §3), and
//! the unique values Kong enforces (unique fields and composite cache keys, §1.6).
//!
//! Creates and updates use `PUT /{collection}/{id}`: an idempotent upsert by id that
//! replaces the whole entity, so a retried request is harmless and nothing stale survives.
//! Exceptions follow Kong: targets are created with `POST /upstreams/{u}/targets` and
//! updated with `PATCH` (their `PUT` never creates, §2.5); certificates are updated with
//! `PATCH` (a `PUT` without `snis` would drop their SNIs, §2.6); consumer-group membership
//! is added with `POST /consumer_groups/{g}/consumers` and removed with `DELETE` (§2.11).

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::KongKind as Kind;
use super::normalize::schema_for;
use super::schema::Schemas;
use crate::gateway::{Request, Write};
use crate::model::Action;

fn parent<'a>(parents: &'a BTreeMap<&'static str, String>, field: &str) -> &'a str {
    parents.get(field).map(String::as_str).unwrap_or_default()
}

/// The request for a change.
pub fn request_for(kind: Kind, w: Write<'_>) -> Request {
    let Write { action, id, parents, body, .. } = w;
    let body = body.map(Cow::into_owned).unwrap_or_default();
    let with_id = |mut b: Map<String, Value>| {
        b.insert("id".into(), Value::String(id.to_owned()));
        if kind == Kind::Upstream {
            keep_consistent_hashing(&mut b);
        }
        Some(Value::Object(b))
    };
    let without_id = |mut b: Map<String, Value>| {
        b.remove("id");
        Some(Value::Object(b))
    };
    let coll = kind.collection();
    match (kind, action) {
        (Kind::Target, Action::Create) => {
            Request::new("POST", format!("/upstreams/{}/targets", parent(parents, "upstream")), with_id(body))
        }
        (Kind::Target, Action::Update) => {
            Request::new("PATCH", format!("/upstreams/{}/targets/{id}", parent(parents, "upstream")), without_id(body))
        }
        (Kind::Target, Action::Delete) => {
            Request::new("DELETE", format!("/upstreams/{}/targets/{id}", parent(parents, "upstream")), None)
        }
        (Kind::ConsumerGroupConsumer, Action::Delete) => Request::new(
            "DELETE",
            format!("/consumer_groups/{}/consumers/{}", parent(parents, "consumer_group"), parent(parents, "consumer")),
            None,
        ),
        (Kind::ConsumerGroupConsumer, _) => Request::new(
            "POST",
            format!("/consumer_groups/{}/consumers", parent(parents, "consumer_group")),
            Some(json!({ "consumer": parent(parents, "consumer") })),
        ),
        (Kind::Certificate, Action::Update) => Request::new("PATCH", format!("/certificates/{id}"), without_id(body)),
        (_, Action::Create | Action::Update) => Request::new("PUT", format!("/{coll}/{id}"), with_id(body)),
        (_, Action::Delete) => Request::new("DELETE", format!("/{coll}/{id}"), None),
    }
}

/// Kong's input coupling turns an upstream's `consistent-hashing` back into `round-robin`
/// when the request says `hash_on: none` (`kong-admin-api.md` §2.5), yet `none` is also
/// `hash_on`'s default: a consistent-hashing upstream whose configuration leaves `hash_on`
/// out is sent without it, so Kong stores what the configuration says.
fn keep_consistent_hashing(body: &mut Map<String, Value>) {
    let consistent = body.get("algorithm").and_then(Value::as_str) == Some("consistent-hashing");
    if consistent && body.get("hash_on").and_then(Value::as_str) == Some("none") {
        body.remove("hash_on");
    }
}

/// The `PATCH` that sets the real unique values after a step wrote temporary ones; its body
/// starts empty and is filled by the caller.
pub fn finalize_request(kind: Kind, w: Write<'_>) -> Request {
    Request::new("PATCH", format!("/{}/{}", kind.collection(), w.id), Some(json!({})))
}

/// The unique values an entity of `kind` with this body holds: `(constraint, value)` pairs,
/// where a constraint is `<table>.<field>` for a unique field, or `<table>.cache_key` for a
/// composite cache key (plugins, targets, acls, keys). Null fields hold nothing.
pub fn unique_values(schemas: &Schemas, kind: Kind, body: &Map<String, Value>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(schema) = schema_for(schemas, kind, body) {
        for (name, field) in &schema.fields {
            if !field.unique || name == "id" || name == "cert_digest" {
                continue;
            }
            match body.get(name) {
                Some(Value::String(s)) => out.push((format!("{}.{name}", kind.table()), s.clone())),
                Some(Value::Number(n)) => out.push((format!("{}.{name}", kind.table()), n.to_string())),
                _ => {}
            }
        }
    }
    let id = |f: &str| body.get(f).and_then(|v| v.get("id")).and_then(Value::as_str).unwrap_or("").to_owned();
    let s = |f: &str| body.get(f).and_then(Value::as_str).unwrap_or("").to_owned();
    let composite = match kind {
        Kind::Plugin => Some(format!(
            "{}|route={}|service={}|consumer={}|consumer_group={}",
            s("name"),
            id("route"),
            id("service"),
            id("consumer"),
            id("consumer_group")
        )),
        Kind::Target => Some(format!("{}|{}", id("upstream"), s("target"))),
        Kind::Acl => Some(format!("{}|{}", id("consumer"), s("group"))),
        Kind::Key => body.get("kid").and_then(Value::as_str).map(|kid| format!("{kid}|{}", id("set"))),
        _ => None,
    };
    if let Some(v) = composite {
        out.push((format!("{}.cache_key", kind.table()), v));
    }
    out
}

/// A temporary value for the unique field behind `constraint` while its real value is still
/// held elsewhere; composite cache keys have none.
pub fn temporary_value(kind: Kind, constraint: &str, real: &Value, id: &str) -> Option<(String, Value)> {
    if constraint.ends_with(".cache_key") {
        return None;
    }
    let field = constraint.rsplit('.').next().unwrap_or_default().to_owned();
    let short: String = id.chars().filter(|c| c.is_ascii_hexdigit()).take(8).collect();
    let value = match real {
        Value::String(s) if kind == Kind::Sni => Value::String(format!("tmp-{short}.{}", s.trim_start_matches("*."))),
        Value::String(s) => Value::String(format!("{s}-tmp-{short}")),
        _ => Value::Null,
    };
    Some((field, value))
}
