//! Tyk as a [`Dialect`]: its kinds, identities, labels, comparable forms, secret fields,
//! references, requests, ownership marker, and its file formats (read and dump).
//!
//! A value remembers the documents of its last [`Dialect::load`], so that the checks
//! against the gateway ([`Dialect::check_live`]) place every problem at the field that
//! causes it.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};

use super::check;
use super::compare::{self, EXTENSION};
use super::kind::{TykKind, tyk};
use super::load::{self, Documents};
use super::refs::{self, Target};
use super::{marker, sensitive};
use crate::gateway::{Dialect, DumpOptions, DumpOutput, FieldShape, Live, Request, Write, path_segment};
use crate::model::{Action, Entity, Kind, State};
use crate::source::{Desired, Diagnostic, Diagnostics, Input};

/// The Tyk dialect.
#[derive(Debug, Clone, Default)]
pub struct TykDialect {
    docs: Arc<Mutex<Documents>>,
}

impl TykDialect {
    /// A dialect that has loaded nothing yet.
    pub fn new() -> Self {
        TykDialect::default()
    }

    /// The documents of the last load.
    pub(crate) fn documents(&self) -> std::sync::MutexGuard<'_, Documents> {
        self.docs.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The id a body of `kind` carries (`api_id`, `x-tyk-api-gateway.info.id`, policy `id`).
pub fn body_id(kind: TykKind, body: &Map<String, Value>) -> Option<&str> {
    let v = match kind {
        TykKind::Api => body.get("api_id"),
        TykKind::OasApi => body.get(EXTENSION).and_then(|e| e.pointer("/info/id")),
        TykKind::Policy => body.get("id"),
        TykKind::Certificate => body.get("id"),
    };
    v.and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// Sets the id field of a body of `kind`.
fn set_id(kind: TykKind, body: &mut Map<String, Value>, id: &str) {
    let id = Value::String(id.to_owned());
    match kind {
        TykKind::Api => {
            body.insert("api_id".into(), id);
        }
        TykKind::Policy => {
            body.insert("id".into(), id);
        }
        TykKind::OasApi => {
            let ext = body.entry(EXTENSION).or_insert_with(|| Value::Object(Map::new()));
            if let Some(ext) = ext.as_object_mut() {
                let info = ext.entry("info").or_insert_with(|| Value::Object(Map::new()));
                if let Some(info) = info.as_object_mut() {
                    info.insert("id".into(), id);
                }
            }
        }
        TykKind::Certificate => {}
    }
}

/// The name-like field of a body.
fn name_of(kind: TykKind, fields: &Map<String, Value>) -> Option<&str> {
    let v = match kind {
        TykKind::Api | TykKind::Policy => fields.get("name"),
        TykKind::OasApi => fields
            .get(EXTENSION)
            .and_then(|e| e.pointer("/info/name"))
            .or_else(|| fields.get("info").and_then(|i| i.get("title"))),
        TykKind::Certificate => None,
    };
    v.and_then(Value::as_str).filter(|s| !s.is_empty())
}

impl Dialect for TykDialect {
    fn name(&self) -> &'static str {
        super::kind::DIALECT
    }

    fn product(&self) -> &'static str {
        "Tyk"
    }

    fn kinds(&self) -> &'static [Kind] {
        TykKind::all_kinds()
    }

    /// The id itself: Tyk objects have no other identity.
    fn natural_key(
        &self,
        kind: Kind,
        fields: &Map<String, Value>,
        _parent: &dyn Fn(&str) -> Option<String>,
    ) -> Option<String> {
        body_id(tyk(kind), fields).map(str::to_owned)
    }

    /// `"name" (id)`, or the id quoted when the object has no name.
    fn short_name(&self, kind: Kind, id: &str, fields: &Map<String, Value>) -> String {
        match name_of(tyk(kind), fields) {
            Some(name) if name != id => format!("{name:?} ({id})"),
            _ => format!("{id:?}"),
        }
    }

    fn label(&self, _kind: Kind, name: String, _scope: &[(&'static str, String)]) -> String {
        name
    }

    /// The fields with the id set and the ownership marker (see [`marker`]) written.
    fn desired_body(
        &self,
        kind: Kind,
        fields: &Map<String, Value>,
        _parents: &BTreeMap<&'static str, String>,
    ) -> Map<String, Value> {
        let k = tyk(kind);
        let mut body = fields.clone();
        marker::mark(k, &mut body);
        body
    }

    fn live_body(&self, entity: &Entity) -> Map<String, Value> {
        entity.fields.clone()
    }

    fn comparable(&self, kind: Kind, body: &Map<String, Value>) -> Map<String, Value> {
        compare::comparable(tyk(kind), body)
    }

    fn shape<'a>(&'a self, _kind: Kind, _body: &Map<String, Value>) -> Option<&'a dyn FieldShape> {
        None
    }

    fn sensitivity<'a>(&'a self, kind: Kind, _body: &Map<String, Value>) -> Box<dyn Fn(&str) -> bool + 'a> {
        let k = tyk(kind);
        Box::new(move |path: &str| sensitive::is_sensitive(k, path))
    }

    fn may_hold_secrets(&self, kind: Kind, _body: &Map<String, Value>) -> bool {
        sensitive::may_hold_secrets(tyk(kind))
    }

    /// The references that order an apply (`tyk.md` §2.4): a policy after the APIs it
    /// grants, an API after its certificates and its child versions. An API's references to
    /// policies (JWT defaults, OIDC clients) are checked like the others but order nothing:
    /// a policy granting an API that names it by default would make a cycle, and within
    /// one reload any order works.
    fn body_refs(&self, kind: Kind, body: &Map<String, Value>) -> Vec<(Kind, String)> {
        let mut out = Vec::new();
        for r in refs::references(tyk(kind), body) {
            match r.target {
                Target::Api => {
                    out.push((TykKind::Api.kind(), r.id.clone()));
                    out.push((TykKind::OasApi.kind(), r.id));
                }
                Target::Certificate => out.push((TykKind::Certificate.kind(), r.id)),
                Target::Policy => {}
            }
        }
        out
    }

    /// An `api_id` is one file name for classic and OAS APIs alike: a classic API turned
    /// into an OAS one (or back) is deleted before the other is written.
    fn unique_values(&self, kind: Kind, body: &Map<String, Value>) -> Vec<(String, String)> {
        let k = tyk(kind);
        match body_id(k, body) {
            Some(id) if k.is_api() => vec![("apis.api_id".to_owned(), id.to_owned())],
            _ => Vec::new(),
        }
    }

    fn temporary_value(&self, _kind: Kind, _constraint: &str, _real: &Value, _id: &str) -> Option<(String, Value)> {
        None
    }

    fn addresses(&self, _kind: Kind, id: &str, _body: &Map<String, Value>) -> Vec<String> {
        vec![id.to_owned()]
    }

    fn request(&self, w: Write<'_>) -> Request {
        let k = tyk(w.kind);
        let id = path_segment(w.id);
        let given = w.body.map(Cow::into_owned).unwrap_or_default();
        let body = |mut b: Map<String, Value>| {
            set_id(k, &mut b, w.id);
            Some(Value::Object(b))
        };
        let coll = k.collection();
        match (k, w.action) {
            (TykKind::Certificate, Action::Delete) => Request::new("DELETE", format!("{coll}/{id}"), None),
            (TykKind::Certificate, _) => {
                let b = given;
                let org = b.get("org_id").and_then(Value::as_str).unwrap_or("");
                let path =
                    if org.is_empty() { coll.to_owned() } else { format!("{coll}?org_id={}", path_segment(org)) };
                Request::new("POST", path, Some(Value::Object(b)))
            }
            (_, Action::Create) => Request::new("POST", coll.to_owned(), body(given)),
            (_, Action::Update) => Request::new("PUT", format!("{coll}/{id}"), body(given)),
            (_, Action::Delete) => Request::new("DELETE", format!("{coll}/{id}"), None),
        }
    }

    fn finalize_request(&self, _w: Write<'_>) -> Request {
        // Tyk needs no temporary values (writes take effect together, at the reload).
        Request::new("GET", "/hello".to_owned(), None)
    }

    fn own(&self, entities: &mut [Entity], select_tags: &[String]) {
        for e in entities {
            marker::own(tyk(e.kind), &mut e.fields, select_tags);
        }
    }

    fn load(&self, inputs: &[Input], env: &BTreeMap<String, String>) -> Result<Desired, Diagnostics> {
        let loaded = load::load(inputs, env)?;
        *self.documents() = loaded.docs;
        Ok(loaded.desired)
    }

    fn validate(&self, _desired: &Desired) -> Vec<Diagnostic> {
        // Everything that can be checked without the gateway is checked by `load`.
        Vec::new()
    }

    fn dump(&self, state: State, opts: &DumpOptions) -> Result<DumpOutput, String> {
        Ok(super::dump::dump(state, opts))
    }

    fn check_live(&self, desired: &State, live: &Live) -> Vec<Diagnostic> {
        check::check(&self.documents(), desired, live)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn requests_follow_the_gateway_api() {
        let d = TykDialect::new();
        let body = json!({"name": "A"}).as_object().cloned().unwrap();
        let parents = BTreeMap::new();
        fn w<'a>(
            kind: TykKind,
            action: Action,
            body: Option<&'a Map<String, Value>>,
            parents: &'a BTreeMap<&'static str, String>,
        ) -> Write<'a> {
            Write { action, kind: kind.kind(), id: "a1", body: body.map(Cow::Borrowed), parents }
        }
        let r = d.request(w(TykKind::Api, Action::Create, Some(&body), &parents));
        assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/tyk/apis"));
        assert_eq!(r.body.unwrap()["api_id"], "a1");
        let r = d.request(w(TykKind::OasApi, Action::Update, Some(&body), &parents));
        assert_eq!((r.method.as_str(), r.path.as_str()), ("PUT", "/tyk/apis/oas/a1"));
        assert_eq!(r.body.unwrap()[EXTENSION]["info"]["id"], "a1");
        let r = d.request(w(TykKind::Policy, Action::Delete, None, &parents));
        assert_eq!((r.method.as_str(), r.path.as_str(), r.body), ("DELETE", "/tyk/policies/a1", None));
        let cert = json!({"org_id": "o1", "pem": "x"}).as_object().cloned().unwrap();
        let r = d.request(w(TykKind::Certificate, Action::Create, Some(&cert), &parents));
        assert_eq!(r.path, "/tyk/certs?org_id=o1");
    }

    /// A classic API replaced by a Tyk OAS API of the same `api_id`: both are the one file
    /// `<api_id>.json` on the gateway, so the delete must come before the create.
    #[test]
    fn a_classic_api_is_deleted_before_the_oas_api_of_its_api_id_is_created() {
        use crate::graph::{EdgeKind, schedule};
        use crate::model::{State, test_entity};
        use crate::plan::{PlanInput, build};

        let d = TykDialect::new();
        let classic = json!({"name": "A", "api_id": "a", "org_id": "default", "use_keyless": true,
            "proxy": {"listen_path": "/a/", "target_url": "http://upstream.test/"}});
        let oas = json!({"openapi": "3.0.3", "info": {"title": "A", "version": "1"}, "paths": {},
            EXTENSION: {"info": {"id": "a", "name": "A", "state": {"active": true}},
                "upstream": {"url": "http://upstream.test/"}, "server": {"listenPath": {"value": "/a/"}}}});
        let live = State { entities: vec![test_entity(TykKind::Api.kind(), Some("a"), classic, &[])] };
        let desired = State { entities: vec![test_entity(TykKind::OasApi.kind(), Some("a"), oas, &[])] };
        let secret = std::collections::BTreeSet::new();
        let input = PlanInput {
            desired: &desired,
            live: &live,
            lookup: &State::default(),
            dialect: &d,
            secret_fields: &secret,
        };
        let plan = build(&input).unwrap();
        let step = |kind: TykKind, action: Action| {
            plan.changes.iter().position(|c| c.kind == kind.kind() && c.action == action)
        };
        let (Some(del), Some(create)) = (step(TykKind::Api, Action::Delete), step(TykKind::OasApi, Action::Create))
        else {
            panic!(
                "expected a delete and a create: {:?}",
                plan.changes.iter().map(|c| (c.kind, c.action)).collect::<Vec<_>>()
            )
        };
        let sched = schedule(&plan, &live, &d).unwrap();
        let unique = EdgeKind::Unique("apis.api_id".into(), "a".into());
        assert!(
            sched
                .edges
                .iter()
                .any(|(a, b, k)| sched.steps[*a].change == del && sched.steps[*b].change == create && *k == unique),
            "{:?}",
            sched.edges
        );
    }

    #[test]
    fn labels_name_the_object_and_its_id() {
        let d = TykDialect::new();
        let f = json!({"name": "httpbin"}).as_object().cloned().unwrap();
        assert_eq!(d.short_name(TykKind::Api.kind(), "1", &f), "\"httpbin\" (1)");
        assert_eq!(d.short_name(TykKind::Policy.kind(), "p", &Map::new()), "\"p\"");
    }
}
