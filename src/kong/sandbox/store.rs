//! The in-memory store: one ordered map per kind (id → row) plus indexes for unique fields
//! and cache keys, and for children by parent (foreign keys), so that lookups are O(1) /
//! O(log n) and cascades O(children). Mutations are applied as whole change sets
//! ([`Change`]), computed and checked beforehand, so a failed request never leaves partial
//! state.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::kong::KongKind;

/// One stored entity: its wire fields (foreign keys as `{"id": ...}`) and, for entities with
/// `ttl`, the absolute expiry in Unix seconds (§1.4).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Every schema field, nulls included.
    pub data: Map<String, Value>,
    /// Absolute expiry (Unix seconds), if any.
    pub expires: Option<i64>,
}

impl Row {
    /// The row's id.
    pub fn id(&self) -> &str {
        self.data.get("id").and_then(Value::as_str).unwrap_or("")
    }

    /// The id held by foreign-key field `field`, if set.
    pub fn fk(&self, field: &str) -> Option<&str> {
        fk_id(&self.data, field)
    }

    /// Whether the row has expired at `now`.
    pub fn expired(&self, now: i64) -> bool {
        self.expires.is_some_and(|e| e <= now)
    }
}

/// The id inside a foreign-key value `{"id": ...}`.
pub fn fk_id<'a>(data: &'a Map<String, Value>, field: &str) -> Option<&'a str> {
    data.get(field)?.get("id")?.as_str()
}

/// A mutation of the store.
#[derive(Debug, Clone)]
pub enum Change {
    /// Insert or replace the row of this kind with the row's id.
    Put(KongKind, Arc<Row>),
    /// Delete the row of this kind with this id.
    Delete(KongKind, String),
}

/// The unique constraints of a kind: single fields (null values never collide) and
/// composite cache keys (nulls take part), `kong-admin-api.md` §1.6, §2.
pub fn unique_constraints(kind: KongKind) -> &'static [&'static [&'static str]] {
    match kind {
        KongKind::Service
        | KongKind::Route
        | KongKind::Upstream
        | KongKind::Sni
        | KongKind::KeySet
        | KongKind::ConsumerGroup => &[&["name"]],
        KongKind::Consumer => &[&["username"], &["custom_id"]],
        KongKind::Plugin => &[&["instance_name"], &["name", "route", "service", "consumer", "consumer_group"]],
        KongKind::Target => &[&["upstream", "target"]],
        KongKind::CaCertificate => &[&["cert_digest"]],
        KongKind::Vault => &[&["prefix"]],
        KongKind::Key => &[&["name"], &["kid", "set"]],
        KongKind::KeyauthCredential | KongKind::JwtSecret => &[&["key"]],
        KongKind::BasicauthCredential | KongKind::HmacauthCredential => &[&["username"]],
        KongKind::Oauth2Credential => &[&["client_id"]],
        KongKind::Acl => &[&["consumer", "group"]],
        KongKind::ConsumerGroupConsumer => &[&["consumer_group", "consumer"]],
        KongKind::Certificate | KongKind::MtlsAuthCredential => &[],
    }
}

/// The index key of a constraint for `data`, or `None` when a single-field constraint's
/// value is null.
pub fn constraint_key(fields: &[&str], data: &Map<String, Value>) -> Option<String> {
    let mut key = String::new();
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            key.push('\u{1f}');
        }
        match data.get(*f) {
            None | Some(Value::Null) => {
                if fields.len() == 1 {
                    return None;
                }
                key.push('\u{0}');
            }
            Some(Value::String(s)) => key.push_str(s),
            Some(Value::Object(o)) => key.push_str(o.get("id").and_then(Value::as_str).unwrap_or("")),
            Some(other) => key.push_str(&other.to_string()),
        }
    }
    Some(key)
}

/// The store. See the module docs.
#[derive(Debug, Default, Clone)]
pub struct Store {
    tables: HashMap<KongKind, BTreeMap<String, Arc<Row>>>,
    uniques: HashMap<(KongKind, usize), HashMap<String, String>>,
    children: HashMap<(KongKind, String), BTreeSet<(KongKind, String)>>,
    expiring: BTreeSet<(i64, KongKind, String)>,
}

static EMPTY: BTreeMap<String, Arc<Row>> = BTreeMap::new();

impl Store {
    /// An empty store.
    pub fn new() -> Self {
        Store::default()
    }

    /// The rows of `kind`, ordered by id.
    pub fn table(&self, kind: KongKind) -> &BTreeMap<String, Arc<Row>> {
        self.tables.get(&kind).unwrap_or(&EMPTY)
    }

    /// A row by id (expired rows included).
    pub fn get(&self, kind: KongKind, id: &str) -> Option<&Arc<Row>> {
        self.tables.get(&kind)?.get(id)
    }

    /// The id of the row of `kind` whose constraint `fields` has the value(s) of `probe`.
    pub fn find_unique(&self, kind: KongKind, fields: &[&str], probe: &Map<String, Value>) -> Option<&str> {
        let idx = unique_constraints(kind).iter().position(|c| *c == fields)?;
        let key = constraint_key(fields, probe)?;
        self.uniques.get(&(kind, idx))?.get(&key).map(String::as_str)
    }

    /// The row of `kind` whose single unique field `field` equals `value`.
    pub fn find_by(&self, kind: KongKind, field: &str, value: &str) -> Option<&Arc<Row>> {
        let mut probe = Map::new();
        probe.insert(field.to_owned(), Value::String(value.to_owned()));
        let id = self.find_unique(kind, &[field], &probe)?;
        self.get(kind, id)
    }

    /// Rows that violate a unique constraint of `kind` if `data` were stored (ignoring the row
    /// with id `self_id`): `(constraint fields, other id)` of the first collision.
    pub fn unique_conflict(
        &self,
        kind: KongKind,
        data: &Map<String, Value>,
        self_id: &str,
    ) -> Option<(&'static [&'static str], String)> {
        for (i, c) in unique_constraints(kind).iter().enumerate() {
            let Some(key) = constraint_key(c, data) else {
                continue;
            };
            if let Some(other) = self.uniques.get(&(kind, i)).and_then(|m| m.get(&key))
                && other != self_id
            {
                return Some((c, other.clone()));
            }
        }
        None
    }

    /// Children referencing `(parent kind, parent id)` through any foreign key, ordered by
    /// (kind, id).
    pub fn children(&self, parent: KongKind, id: &str) -> impl Iterator<Item = &(KongKind, String)> {
        self.children.get(&(parent, id.to_owned())).into_iter().flatten()
    }

    /// Children of one kind, ordered by id.
    pub fn children_of_kind(&self, parent: KongKind, id: &str, kind: KongKind) -> impl Iterator<Item = &str> {
        self.children(parent, id).filter(move |(k, _)| *k == kind).map(|(_, id)| id.as_str())
    }

    /// Number of rows of every kind.
    pub fn len(&self) -> usize {
        self.tables.values().map(BTreeMap::len).sum()
    }

    /// Whether the store holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Rows whose ttl has passed at `now`, as deletions.
    pub fn expired_changes(&self, now: i64) -> Vec<Change> {
        self.expiring
            .range(..(now + 1, KongKind::ALL[0], String::new()))
            .map(|(_, k, id)| Change::Delete(*k, id.clone()))
            .collect()
    }

    fn index(&mut self, kind: KongKind, row: &Arc<Row>) {
        let id = row.id().to_owned();
        for (i, c) in unique_constraints(kind).iter().enumerate() {
            if let Some(key) = constraint_key(c, &row.data) {
                self.uniques.entry((kind, i)).or_default().insert(key, id.clone());
            }
        }
        for fk in kind.foreign_keys() {
            if let Some(pid) = row.fk(fk.field) {
                self.children.entry((fk.parent, pid.to_owned())).or_default().insert((kind, id.clone()));
            }
        }
        if let Some(e) = row.expires {
            self.expiring.insert((e, kind, id));
        }
    }

    fn unindex(&mut self, kind: KongKind, row: &Arc<Row>) {
        let id = row.id();
        for (i, c) in unique_constraints(kind).iter().enumerate() {
            if let Some(key) = constraint_key(c, &row.data)
                && let Some(m) = self.uniques.get_mut(&(kind, i))
                && m.get(&key).map(String::as_str) == Some(id)
            {
                m.remove(&key);
            }
        }
        for fk in kind.foreign_keys() {
            if let Some(pid) = row.fk(fk.field) {
                let k = (fk.parent, pid.to_owned());
                if let Some(set) = self.children.get_mut(&k) {
                    set.remove(&(kind, id.to_owned()));
                    if set.is_empty() {
                        self.children.remove(&k);
                    }
                }
            }
        }
        if let Some(e) = row.expires {
            self.expiring.remove(&(e, kind, id.to_owned()));
        }
    }

    /// Applies a change set in order.
    pub fn apply(&mut self, changes: &[Change]) {
        for c in changes {
            match c {
                Change::Put(kind, row) => {
                    let id = row.id().to_owned();
                    if let Some(old) = self.tables.get(kind).and_then(|t| t.get(&id)).cloned() {
                        self.unindex(*kind, &old);
                    }
                    self.index(*kind, row);
                    self.tables.entry(*kind).or_default().insert(id, row.clone());
                }
                Change::Delete(kind, id) => {
                    if let Some(old) = self.tables.get_mut(kind).and_then(|t| t.remove(id)) {
                        self.unindex(*kind, &old);
                    }
                }
            }
        }
    }

    /// Every row of every kind, parents before children.
    pub fn all_rows(&self) -> impl Iterator<Item = (KongKind, &Arc<Row>)> {
        KongKind::ALL.iter().flat_map(move |k| self.table(*k).values().map(move |r| (*k, r)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(v: Value) -> Arc<Row> {
        Arc::new(Row { data: v.as_object().cloned().unwrap(), expires: None })
    }

    #[test]
    fn indexes_follow_changes() {
        let mut s = Store::new();
        s.apply(&[
            Change::Put(KongKind::Service, row(json!({"id": "s1", "name": "a"}))),
            Change::Put(KongKind::Route, row(json!({"id": "r1", "name": "r", "service": {"id": "s1"}}))),
        ]);
        assert_eq!(s.find_by(KongKind::Service, "name", "a").unwrap().id(), "s1");
        assert_eq!(s.children_of_kind(KongKind::Service, "s1", KongKind::Route).collect::<Vec<_>>(), vec!["r1"]);
        s.apply(&[Change::Put(KongKind::Service, row(json!({"id": "s1", "name": "b"})))]);
        assert!(s.find_by(KongKind::Service, "name", "a").is_none());
        s.apply(&[Change::Delete(KongKind::Route, "r1".into())]);
        assert_eq!(s.children(KongKind::Service, "s1").count(), 0);
        let conflict = s.unique_conflict(KongKind::Service, json!({"name": "b"}).as_object().unwrap(), "other");
        assert_eq!(conflict.map(|c| c.1), Some("s1".into()));
    }

    #[test]
    fn composite_keys_include_nulls() {
        let d = json!({"name": "cors", "route": null, "service": {"id": "S"}}).as_object().cloned().unwrap();
        assert!(constraint_key(&["name", "route", "service", "consumer"], &d).is_some());
        assert!(constraint_key(&["instance_name"], &d).is_none());
    }
}
