//! A DB-less node's whole configuration as rows, the plan's steps carried out on it, and
//! the declarative document (`_format_version: "3.0"`, `kong-admin-api.md` §3.7) that
//! `POST /config` loads.
//!
//! The rows start from the node's live state (Admin API rows, foreign keys `{"id": ...}`);
//! each recorded request is applied to them exactly as Kong would apply it in DB mode
//! (`PUT` replaces, `PATCH` merges the fields it names, `DELETE` removes the entity and the
//! children its foreign keys delete with it, targets and consumer-group membership on their
//! nested paths, as [`crate::kong::steps`] sends them). The document is written flat, every
//! entity at the top level with its foreign keys as ids, keys sorted, entities by kind then
//! id, so one configuration always gives the same text, hence the same configuration hash,
//! on every node. It says `_transform: false` (what Kong's own `GET /config` export says):
//! the basic-auth passwords of live rows are already hashed, so the new ones are hashed here
//! as Kong would (`sha1(password .. consumer_id)`, §2.10), and so are the OAuth2 client
//! secrets of credentials with `hash_secret: true`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};
use sha1::{Digest, Sha1};

use crate::gateway::{HttpError, Request};
use crate::kong::KongKind;
use crate::kong::key::membership_id;
use crate::model::{OnDelete, Ref, State};

/// Every entity of a node: `(kind, id)` → its row, foreign keys as `{"id": ...}`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rows {
    rows: BTreeMap<(KongKind, String), Map<String, Value>>,
}

/// The ids of the entities of a posted document by table, in document order, to name the
/// entity behind an error Kong reports by position (`fields.services[3]`).
pub type Positions = BTreeMap<String, Vec<String>>;

impl Rows {
    /// The rows of a live state read from the node.
    pub fn from_state(state: &State) -> Rows {
        let mut rows = BTreeMap::new();
        for e in &state.entities {
            let (Some(kind), Some(id)) = (KongKind::of(e.kind), e.id.clone()) else { continue };
            let mut row = e.fields.clone();
            row.insert("id".into(), json!(id));
            for (field, r) in &e.refs {
                if let Ref::Id(pid) = r {
                    row.insert((*field).to_owned(), json!({ "id": pid }));
                }
            }
            rows.insert((kind, id), row);
        }
        Rows { rows }
    }

    /// How many entities there are.
    pub fn count(&self) -> usize {
        self.rows.len()
    }

    /// Carries out one request of [`crate::kong::steps`] on the rows. A request those steps
    /// never send is an error naming it.
    pub fn apply(&mut self, req: &Request) -> Result<(), HttpError> {
        let path = req.path.split('?').next().unwrap_or_default();
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let body = || req.body.as_ref().and_then(Value::as_object).cloned().unwrap_or_default();
        match (req.method.as_str(), segments.as_slice()) {
            ("POST", ["upstreams", upstream, "targets"]) => {
                let mut row = body();
                row.insert("upstream".into(), json!({ "id": upstream }));
                let id = row.get("id").and_then(Value::as_str).map(str::to_owned).ok_or_else(|| unsupported(req))?;
                self.rows.insert((KongKind::Target, id), row);
            }
            ("PATCH", ["upstreams", _, "targets", id]) => self.merge(KongKind::Target, id, body()),
            ("DELETE", ["upstreams", _, "targets", id]) => self.delete(KongKind::Target, id),
            ("POST", ["consumer_groups", group, "consumers"]) => {
                let consumer = body().get("consumer").and_then(Value::as_str).map(str::to_owned);
                let consumer = consumer.ok_or_else(|| unsupported(req))?;
                let mut row = Map::new();
                row.insert("id".into(), json!(membership_id(group, &consumer)));
                row.insert("consumer_group".into(), json!({ "id": group }));
                row.insert("consumer".into(), json!({ "id": consumer }));
                self.rows.insert((KongKind::ConsumerGroupConsumer, membership_id(group, &consumer)), row);
            }
            ("DELETE", ["consumer_groups", group, "consumers", consumer]) => {
                self.rows.remove(&(KongKind::ConsumerGroupConsumer, membership_id(group, consumer)));
            }
            (method, [collection, id]) => {
                let kind = kind_of(collection).ok_or_else(|| unsupported(req))?;
                match method {
                    "PUT" => {
                        let mut row = body();
                        row.insert("id".into(), json!(id));
                        hash_secrets(kind, &mut row);
                        self.rows.insert((kind, (*id).to_owned()), row);
                    }
                    "PATCH" => self.merge(kind, id, body()),
                    "DELETE" => self.delete(kind, id),
                    _ => return Err(unsupported(req)),
                }
            }
            _ => return Err(unsupported(req)),
        }
        Ok(())
    }

    fn merge(&mut self, kind: KongKind, id: &str, fields: Map<String, Value>) {
        let row = self.rows.entry((kind, id.to_owned())).or_insert_with(|| {
            let mut row = Map::new();
            row.insert("id".into(), json!(id));
            row
        });
        let password_written = fields.contains_key("password") || fields.contains_key("client_secret");
        row.extend(fields);
        if password_written {
            hash_secrets(kind, row);
        }
    }

    /// Removes an entity and, as Kong's cascades do, every entity that a foreign key with
    /// `on_delete: cascade` ties to it (transitively).
    fn delete(&mut self, kind: KongKind, id: &str) {
        let mut pending = vec![(kind, id.to_owned())];
        while let Some(gone) = pending.pop() {
            if self.rows.remove(&gone).is_none() {
                continue;
            }
            for ((k, child), row) in &self.rows {
                let tied = k.foreign_keys().iter().any(|fk| {
                    fk.parent == gone.0
                        && fk.on_delete == OnDelete::Cascade
                        && row.get(fk.field).and_then(|v| v.get("id")).and_then(Value::as_str) == Some(gone.1.as_str())
                });
                if tied {
                    pending.push((*k, child.clone()));
                }
            }
        }
    }

    /// The declarative document of these rows, and the position of every entity in it.
    pub fn document(&self) -> (Value, Positions) {
        let mut members: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for ((kind, _), row) in &self.rows {
            if *kind == KongKind::ConsumerGroupConsumer
                && let (Some(g), Some(c)) = (fk(row, "consumer_group"), fk(row, "consumer"))
            {
                members.entry(g).or_default().insert(c);
            }
        }
        let mut doc = Map::new();
        doc.insert("_format_version".into(), json!("3.0"));
        doc.insert("_transform".into(), json!(false));
        let mut positions = Positions::new();
        for ((kind, id), row) in &self.rows {
            if *kind == KongKind::ConsumerGroupConsumer {
                continue;
            }
            let mut out = row.clone();
            for f in kind.foreign_keys() {
                if let Some(pid) = fk(row, f.field) {
                    out.insert(f.field.into(), json!(pid));
                }
            }
            if *kind == KongKind::ConsumerGroup
                && let Some(consumers) = members.get(id.as_str())
            {
                out.insert("consumers".into(), consumers.iter().map(|c| json!({ "id": c })).collect());
            }
            let list = doc.entry(kind.table()).or_insert_with(|| json!([]));
            if let Value::Array(a) = list {
                a.push(sorted(Value::Object(out)));
            }
            positions.entry(kind.table().to_owned()).or_default().push(id.clone());
        }
        (Value::Object(doc), positions)
    }
}

/// The id behind a foreign-key field of a row (`{"id": ...}`, or the id itself).
fn fk<'a>(row: &'a Map<String, Value>, field: &str) -> Option<&'a str> {
    match row.get(field)? {
        Value::Object(o) => o.get("id").and_then(Value::as_str),
        Value::String(s) => Some(s),
        _ => None,
    }
}

/// The kind whose top-level collection is `collection` (`key-auths` → keyauth_credentials).
fn kind_of(collection: &str) -> Option<KongKind> {
    KongKind::ALL.iter().copied().find(|k| *k != KongKind::ConsumerGroupConsumer && k.collection() == collection)
}

fn unsupported(req: &Request) -> HttpError {
    HttpError::Config(format!(
        "{} {} cannot be carried out on a DB-less configuration (gateform sends no such request)",
        req.method, req.path
    ))
}

/// Hashes what Kong hashes on write, since the document is loaded with `_transform: false`:
/// a basic-auth `password` (hex SHA-1 of `password .. consumer_id`, §2.10) and an OAuth2
/// `client_secret` with `hash_secret: true` (PBKDF2, as the sandbox and every Kong build
/// verify it), unless the value is already a hash.
fn hash_secrets(kind: KongKind, row: &mut Map<String, Value>) {
    match kind {
        KongKind::BasicauthCredential => {
            let consumer = fk(row, "consumer").unwrap_or_default().to_owned();
            if let Some(Value::String(p)) = row.get("password") {
                let hashed = hex::encode(Sha1::digest(format!("{p}{consumer}").as_bytes()));
                row.insert("password".into(), json!(hashed));
            }
        }
        KongKind::Oauth2Credential => {
            let hashed = row.get("client_secret").and_then(Value::as_str).is_some_and(|s| s.starts_with('$'));
            if !hashed {
                crate::kong::sandbox::credentials::hash_client_secret(row);
            }
        }
        _ => {}
    }
}

/// `v` with the keys of every object sorted, recursively.
fn sorted(v: Value) -> Value {
    match v {
        Value::Object(o) => {
            let mut entries: Vec<(String, Value)> = o.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(a) => Value::Array(a.into_iter().map(sorted).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Entity;

    fn live() -> State {
        let mut svc = Entity::new(KongKind::Service);
        svc.id = Some("s1".into());
        svc.fields.insert("name".into(), json!("orders"));
        let mut route = Entity::new(KongKind::Route);
        route.id = Some("r1".into());
        route.refs.insert("service", Ref::Id("s1".into()));
        let mut consumer = Entity::new(KongKind::Consumer);
        consumer.id = Some("c1".into());
        let mut key = Entity::new(KongKind::KeyauthCredential);
        key.id = Some("k1".into());
        key.refs.insert("consumer", Ref::Id("c1".into()));
        State { entities: vec![svc, route, consumer, key] }
    }

    fn req(method: &str, path: &str, body: Option<Value>) -> Request {
        Request::new(method, path.to_owned(), body)
    }

    #[test]
    fn steps_are_applied_as_kong_applies_them() {
        let mut rows = Rows::from_state(&live());
        rows.apply(&req("PUT", "/services/s2", Some(json!({"name": "billing", "id": "s2"})))).unwrap();
        rows.apply(&req("PATCH", "/services/s1", Some(json!({"name": "orders-v2"})))).unwrap();
        rows.apply(&req("DELETE", "/consumers/c1", None)).unwrap();
        rows.apply(&req("POST", "/upstreams/u1/targets", Some(json!({"id": "t1", "target": "a:80"})))).unwrap();
        rows.apply(&req("POST", "/consumer_groups/g1/consumers", Some(json!({"consumer": "c9"})))).unwrap();
        let basic = json!({"id": "b1", "username": "u", "password": "pw", "consumer": {"id": "c9"}});
        rows.apply(&req("PUT", "/basic-auths/b1", Some(basic))).unwrap();
        let (doc, positions) = rows.document();
        assert_eq!(doc["services"][0], json!({"id": "s1", "name": "orders-v2"}));
        assert_eq!(doc["services"][1]["name"], "billing");
        assert_eq!(doc["routes"][0], json!({"id": "r1", "service": "s1"}));
        assert!(doc.get("consumers").is_none() && doc.get("keyauth_credentials").is_none(), "{doc}");
        assert_eq!(doc["targets"][0]["upstream"], "u1");
        assert_eq!(doc["_transform"], false);
        let hashed = hex::encode(Sha1::digest(b"pwc9"));
        assert_eq!(doc["basicauth_credentials"][0]["password"], json!(hashed));
        assert_eq!(positions["services"], vec!["s1", "s2"]);
        assert!(doc.get("consumer_group_consumers").is_none());
        rows.apply(&req("PUT", "/consumer_groups/g1", Some(json!({"id": "g1", "name": "gold"})))).unwrap();
        assert_eq!(rows.document().0["consumer_groups"][0]["consumers"], json!([{"id": "c9"}]));
        rows.apply(&req("DELETE", "/consumer_groups/g1/consumers/c9", None)).unwrap();
        assert!(rows.document().0["consumer_groups"][0].get("consumers").is_none());
    }

    #[test]
    fn unknown_requests_are_refused_by_name() {
        let mut rows = Rows::default();
        let err = rows.apply(&req("POST", "/services", Some(json!({})))).unwrap_err().to_string();
        assert_eq!(
            err,
            "POST /services cannot be carried out on a DB-less configuration (gateform sends no such request)"
        );
        assert!(rows.apply(&req("PUT", "/nothing/x", None)).is_err());
    }

    #[test]
    fn documents_do_not_depend_on_the_order_of_fields() {
        let mut a = Rows::default();
        a.apply(&req("PUT", "/services/s", Some(json!({"name": "n", "host": "h", "id": "s"})))).unwrap();
        let mut b = Rows::default();
        b.apply(&req("PUT", "/services/s", Some(json!({"host": "h", "id": "s", "name": "n"})))).unwrap();
        assert_eq!(a.document().0.to_string(), b.document().0.to_string());
    }
}
