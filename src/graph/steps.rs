//! The Admin API request that carries out each change (`kong-admin-api.md` §1.7, §3).
//!
//! Creates and updates use `PUT /{collection}/{id}`: an idempotent upsert by id that
//! replaces the whole entity, so a retried request is harmless and nothing stale survives.
//! Exceptions follow Kong: targets are created with `POST /upstreams/{u}/targets` and
//! updated with `PATCH` (their `PUT` never creates, §2.5); certificates are updated with
//! `PATCH` (a `PUT` without `snis` would drop their SNIs, §2.6); consumer-group membership
//! is added with `POST /consumer_groups/{g}/consumers` and removed with `DELETE` (§2.11).

use serde_json::{Value, json};

use crate::model::Kind;
use crate::plan::{Action, Change};

/// One HTTP request: method, path (with leading `/`) and JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `GET`, `PUT`, `PATCH`, `POST` or `DELETE`.
    pub method: String,
    /// The path, e.g. `/services/<id>`.
    pub path: String,
    /// The JSON body, if any.
    pub body: Option<Value>,
}

impl Request {
    fn new(method: &str, path: String, body: Option<Value>) -> Self {
        Request { method: method.to_owned(), path, body }
    }
}

fn parent<'a>(c: &'a Change, field: &str) -> &'a str {
    let map = if c.action == Action::Delete { &c.live_parents } else { &c.parents };
    map.get(field).or_else(|| c.live_parents.get(field)).map(String::as_str).unwrap_or_default()
}

/// The request for a change.
pub fn request_for(c: &Change) -> Request {
    let body = || {
        let mut b = c.body.clone().unwrap_or_default();
        b.insert("id".into(), Value::String(c.id.clone()));
        Value::Object(b)
    };
    let coll = c.kind.collection();
    match (c.kind, c.action) {
        (Kind::Target, Action::Create) => {
            Request::new("POST", format!("/upstreams/{}/targets", parent(c, "upstream")), Some(body()))
        }
        (Kind::Target, Action::Update) => {
            let mut b = body();
            if let Some(o) = b.as_object_mut() {
                o.remove("id");
            }
            Request::new("PATCH", format!("/upstreams/{}/targets/{}", parent(c, "upstream"), c.id), Some(b))
        }
        (Kind::Target, Action::Delete) => {
            Request::new("DELETE", format!("/upstreams/{}/targets/{}", parent(c, "upstream"), c.id), None)
        }
        (Kind::ConsumerGroupConsumer, Action::Delete) => Request::new(
            "DELETE",
            format!("/consumer_groups/{}/consumers/{}", parent(c, "consumer_group"), parent(c, "consumer")),
            None,
        ),
        (Kind::ConsumerGroupConsumer, _) => Request::new(
            "POST",
            format!("/consumer_groups/{}/consumers", parent(c, "consumer_group")),
            Some(json!({ "consumer": parent(c, "consumer") })),
        ),
        (Kind::Certificate, Action::Update) => {
            let mut b = body();
            if let Some(o) = b.as_object_mut() {
                o.remove("id");
            }
            Request::new("PATCH", format!("/certificates/{}", c.id), Some(b))
        }
        (_, Action::Create | Action::Update) => Request::new("PUT", format!("/{coll}/{}", c.id), Some(body())),
        (_, Action::Delete) => Request::new("DELETE", format!("/{coll}/{}", c.id), None),
    }
}

/// The `PATCH` that sets the real unique values after a step wrote temporary ones; its body
/// starts empty and is filled by the caller.
pub fn finalize_request(c: &Change) -> Request {
    Request::new("PATCH", format!("/{}/{}", c.kind.collection(), c.id), Some(json!({})))
}
