//! gateform's ownership marker in Tyk objects, and the secret references it remembers
//! (`tyk.md` §7.3, §2.3 #1).
//!
//! Tyk has no labels a reconciler may use for itself: `tags` decide which gateways load an
//! API (sharding). The marker is an object under the key `gateform` in the object's own
//! free-form data: a classic API's `config_data`, a Tyk OAS API's
//! `x-tyk-api-gateway.middleware.global.pluginConfig.data.value` (the OAS form of
//! `config_data`; created with `enabled: false` when the document has none) and a policy's
//! `meta_data`:
//!
//! ```json
//! "config_data": {"gateform": {"owner": ["team-a"], "refs": {"/proxy/target_url": "c2VjcmV0czovL3RhcmdldA=="}}}
//! ```
//!
//! * `owner`: the ownership scope that wrote the object (the select tags of the run, sorted;
//!   empty without a scope). An object belongs to a scope when it carries a marker whose
//!   `owner` holds every tag of the scope; an object without a marker belongs to no one and
//!   gateform never deletes it.
//! * `refs`: the secret references (`env://`, `secrets://`, `vault://`, `consul://`,
//!   `file://`, `kv://`, `$kv{...}`) the configuration wrote, by JSON pointer, each
//!   base64-encoded so that the gateway, which replaces references anywhere in a definition
//!   file's text, leaves them alone. Tyk answers with the resolved values; reading puts the
//!   references back, so resolved values are never compared with the configuration, never
//!   shown and never dumped.

use std::collections::BTreeMap;

use base64::Engine;
use serde_json::{Map, Value, json};

use super::files::secrets::is_reference;
use super::kind::TykKind;

/// The key of the marker object.
pub const KEY: &str = "gateform";

/// The JSON pointer of the object holding the marker in a body of `kind`, and, for OAS, the
/// `pluginConfig.data` object around it.
pub fn container(kind: TykKind) -> Option<&'static str> {
    match kind {
        TykKind::Api => Some("/config_data"),
        TykKind::OasApi => Some("/x-tyk-api-gateway/middleware/global/pluginConfig/data/value"),
        TykKind::Policy => Some("/meta_data"),
        TykKind::Certificate => None,
    }
}

/// A marker as read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Marker {
    /// The scope's tags, sorted.
    pub owner: Vec<String>,
    /// Secret references by JSON pointer (decoded).
    pub refs: BTreeMap<String, String>,
}

impl Marker {
    /// Whether an object with this marker belongs to the scope of `select_tags`.
    pub fn owned_by(&self, select_tags: &[String]) -> bool {
        select_tags.iter().all(|t| self.owner.contains(t))
    }

    fn to_json(&self) -> Value {
        let mut m = json!({"owner": self.owner});
        if !self.refs.is_empty() {
            let b64 = base64::engine::general_purpose::STANDARD;
            let refs: Map<String, Value> =
                self.refs.iter().map(|(p, r)| (p.clone(), Value::String(b64.encode(r.as_bytes())))).collect();
            m["refs"] = Value::Object(refs);
        }
        m
    }

    fn from_json(v: &Value) -> Option<Marker> {
        let o = v.as_object()?;
        let mut owner: Vec<String> = match o.get("owner") {
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
            Some(Value::String(s)) => vec![s.clone()],
            _ => Vec::new(),
        };
        owner.sort();
        owner.dedup();
        let b64 = base64::engine::general_purpose::STANDARD;
        let refs = o
            .get("refs")
            .and_then(Value::as_object)
            .map(|r| {
                r.iter()
                    .filter_map(|(p, v)| {
                        let bytes = b64.decode(v.as_str()?).ok()?;
                        Some((p.clone(), String::from_utf8(bytes).ok()?))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Some(Marker { owner, refs })
    }
}

/// The marker of a body, if it carries one.
pub fn read(kind: TykKind, body: &Map<String, Value>) -> Option<Marker> {
    let ptr = container(kind)?;
    let holder = pointer(body, ptr)?;
    Marker::from_json(holder.get(KEY)?)
}

fn pointer<'a>(body: &'a Map<String, Value>, ptr: &str) -> Option<&'a Value> {
    let mut parts = ptr.split('/').skip(1);
    let first = body.get(parts.next()?)?;
    parts.try_fold(first, |v, p| v.get(p))
}

/// The object at `ptr`, created (with every object on the way) when missing or not an
/// object. For OAS, a `pluginConfig.data` created here gets `enabled: false`.
fn holder<'a>(kind: TykKind, body: &'a mut Map<String, Value>, ptr: &str) -> &'a mut Map<String, Value> {
    let parts: Vec<&str> = ptr.split('/').skip(1).collect();
    let mut cur = body;
    for (i, part) in parts.iter().enumerate() {
        let slot = cur.entry((*part).to_owned()).or_insert(Value::Null);
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        let Value::Object(next) = slot else { unreachable!("made an object above") };
        if kind == TykKind::OasApi && *part == "data" && i + 2 == parts.len() && !next.contains_key("enabled") {
            next.insert("enabled".into(), Value::Bool(false));
        }
        cur = next;
    }
    cur
}

/// Writes `marker` into `body` (replacing any marker there).
pub fn write(kind: TykKind, body: &mut Map<String, Value>, marker: &Marker) {
    let Some(ptr) = container(kind) else { return };
    holder(kind, body, ptr).insert(KEY.to_owned(), marker.to_json());
}

/// Removes the marker, and the objects that held only it (for a dump).
pub fn remove(kind: TykKind, body: &mut Map<String, Value>) {
    let Some(ptr) = container(kind) else { return };
    let parts: Vec<&str> = ptr.split('/').skip(1).collect();
    remove_at(body, &parts, kind == TykKind::OasApi);
}

fn remove_at(obj: &mut Map<String, Value>, parts: &[&str], oas: bool) -> bool {
    let Some((first, rest)) = parts.split_first() else {
        obj.remove(KEY);
        return obj.is_empty();
    };
    let Some(Value::Object(child)) = obj.get_mut(*first) else { return false };
    let mut empty = remove_at(child, rest, oas);
    // The `pluginConfig.data` gateform created: `{"enabled": false}` once its value is gone.
    if oas && rest.len() == 1 && child.get("enabled") == Some(&Value::Bool(false)) && child.len() <= 2 {
        let value_empty = child.get("value").is_none_or(|v| v.as_object().is_some_and(Map::is_empty));
        if value_empty {
            child.clear();
            empty = true;
        }
    }
    if empty {
        obj.remove(*first);
    }
    obj.is_empty()
}

/// The secret references of a body by JSON pointer (API kinds only: policies and
/// certificates are not read through the gateway's secret replacement).
pub fn references(kind: TykKind, body: &Map<String, Value>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if kind.is_api() {
        for (k, v) in body {
            walk(v, format!("/{}", escape(k)), &mut out);
        }
    }
    out
}

fn escape(k: &str) -> String {
    k.replace('~', "~0").replace('/', "~1")
}

fn walk(v: &Value, at: String, out: &mut BTreeMap<String, String>) {
    match v {
        Value::String(s) if is_reference(s) => {
            out.insert(at, s.clone());
        }
        Value::Object(m) => {
            for (k, c) in m {
                if k == KEY && c.get("owner").is_some() {
                    continue;
                }
                walk(c, format!("{at}/{}", escape(k)), out);
            }
        }
        Value::Array(a) => a.iter().enumerate().for_each(|(i, c)| walk(c, format!("{at}/{i}"), out)),
        _ => {}
    }
}

/// Marks a desired body: its marker (kept when [`own`] wrote one, else an empty owner) with
/// the references the body holds now.
pub fn mark(kind: TykKind, body: &mut Map<String, Value>) {
    if container(kind).is_none() {
        return;
    }
    let owner = read(kind, body).map(|m| m.owner).unwrap_or_default();
    let refs = references(kind, body);
    write(kind, body, &Marker { owner, refs });
}

/// Gives a desired body to the scope of `select_tags`.
pub fn own(kind: TykKind, body: &mut Map<String, Value>, select_tags: &[String]) {
    if container(kind).is_none() {
        return;
    }
    let mut owner = select_tags.to_vec();
    owner.sort();
    owner.dedup();
    write(kind, body, &Marker { owner, refs: references(kind, body) });
}

/// Puts the references of a live body's marker back in place of the values the gateway
/// resolved them to.
pub fn restore(kind: TykKind, body: &mut Map<String, Value>) {
    let Some(marker) = read(kind, body) else { return };
    if marker.refs.is_empty() {
        return;
    }
    let mut v = Value::Object(std::mem::take(body));
    for (ptr, reference) in marker.refs {
        if let Some(slot) = v.pointer_mut(&ptr).filter(|s| s.is_string()) {
            *slot = Value::String(reference);
        }
    }
    if let Value::Object(m) = v {
        *body = m;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn markers_hold_the_owner_and_encoded_references() {
        let mut body = obj(json!({"proxy": {"target_url": "secrets://target", "listen_path": "/a"}}));
        own(TykKind::Api, &mut body, &["b".into(), "a".into()]);
        let text = Value::Object(body.clone()).to_string();
        assert!(!text.contains("secrets://target\"}}"), "only the field holds the reference in clear: {text}");
        assert_eq!(text.matches("secrets://").count(), 1, "{text}");
        let m = read(TykKind::Api, &body).unwrap();
        assert_eq!(m.owner, vec!["a", "b"]);
        assert!(m.owned_by(&["a".into()]) && m.owned_by(&[]) && !m.owned_by(&["c".into()]));
        // The gateway resolves the reference; reading puts it back.
        body["proxy"]["target_url"] = json!("http://resolved.internal");
        restore(TykKind::Api, &mut body);
        assert_eq!(body["proxy"]["target_url"], "secrets://target");
        remove(TykKind::Api, &mut body);
        assert!(!body.contains_key("config_data"));
    }

    #[test]
    fn oas_markers_live_in_plugin_config_data() {
        let mut doc = obj(json!({"x-tyk-api-gateway": {"info": {"id": "x"}}}));
        mark(TykKind::OasApi, &mut doc);
        assert_eq!(
            doc["x-tyk-api-gateway"]["middleware"]["global"]["pluginConfig"]["data"],
            json!({"enabled": false, "value": {"gateform": {"owner": []}}})
        );
        assert_eq!(read(TykKind::OasApi, &doc), Some(Marker::default()));
        remove(TykKind::OasApi, &mut doc);
        assert_eq!(Value::Object(doc), json!({"x-tyk-api-gateway": {"info": {"id": "x"}}}));
        let mut kept = obj(
            json!({"x-tyk-api-gateway": {"middleware": {"global": {"pluginConfig": {"data": {"enabled": true, "value": {"k": 1}}}}}}}),
        );
        mark(TykKind::OasApi, &mut kept);
        remove(TykKind::OasApi, &mut kept);
        assert_eq!(
            kept["x-tyk-api-gateway"]["middleware"]["global"]["pluginConfig"]["data"],
            json!({"enabled": true, "value": {"k": 1}})
        );
    }

    #[test]
    fn unmarked_bodies_have_no_marker() {
        assert_eq!(read(TykKind::Policy, &obj(json!({"meta_data": {"x": 1}}))), None);
        assert_eq!(read(TykKind::Certificate, &obj(json!({}))), None);
    }
}
