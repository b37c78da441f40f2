//! Writing live state as a decK file, in the nested form `deck gateway dump` writes
//! (go-database-reconciler's `pkg/file/writer.go`):
//!
//! * `_format_version: "3.0"` first, `_info.select_tags` when given, then one collection per
//!   kind; every mapping's keys sorted, so the output is deterministic;
//! * routes and plugins under their service, plugins under their route, consumer or consumer
//!   group when scoped to exactly that one parent (global and multi-scoped plugins stay
//!   top-level), credentials and `groups` (membership) under consumers, targets under
//!   upstreams, SNIs under certificates;
//! * entities sorted by natural key, then id;
//! * foreign keys by name where the parent has one (plugins use bare strings, as decK
//!   writes them; other kinds `{name: ..}` / `{username: ..}`), by id otherwise;
//! * `created_at`/`updated_at` and fields that are null dropped;
//! * ids written with `with_ids`, for entities without a natural key (an unnamed route), for
//!   certificates and CA certificates (referred to by id), and for any entity a written
//!   reference names by id.
//!
//! What it writes reads back through [`super::read::load`] to the same entities.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Map, Value};

use super::shape::{Nest, nested_keys};
use super::yaml_out::{sorted, to_yaml};
use crate::kong::{KongEntity, KongKind, natural_key};
use crate::model::{Entity, Ref, State};

/// The output syntax.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DumpFormat {
    /// YAML (decK's default).
    #[default]
    Yaml,
    /// JSON, two-space indented.
    Json,
}

/// How to dump.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DumpOptions {
    /// YAML or JSON.
    pub format: DumpFormat,
    /// Write every entity's id (`deck gateway dump --with-id`).
    pub with_ids: bool,
    /// Written as `_info.select_tags`; the state is expected to hold only entities in that
    /// scope already (the live reader filters by them).
    pub select_tags: Vec<String>,
}

/// Why a state cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    /// A reference by natural key: dump needs references by id or index.
    #[error("{kind} {id} refers to its {field} by key `{key}`; dump needs references by id")]
    KeyReference {
        /// The referring entity's kind.
        kind: KongKind,
        /// Its id (or `?`).
        id: String,
        /// The foreign-key field.
        field: &'static str,
        /// The key.
        key: String,
    },
    /// A [`Ref::Local`] index out of range.
    #[error("{kind} {id} refers to entity #{index}, which is not in the state")]
    BadIndex {
        /// The referring entity's kind.
        kind: KongKind,
        /// Its id (or `?`).
        id: String,
        /// The index.
        index: usize,
    },
    /// JSON serialisation failed.
    #[error("cannot write JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// A parent as the writer sees it: an entity of the state, or an id it does not hold.
#[derive(Debug, Clone, PartialEq)]
enum Parent {
    Entity(usize),
    Missing(String),
}

/// Writes `state` as a decK file.
pub fn dump(state: &State, opts: &DumpOptions) -> Result<String, DumpError> {
    let w = Writer::new(state, opts)?;
    let doc = w.document();
    Ok(match opts.format {
        DumpFormat::Yaml => to_yaml(&doc),
        DumpFormat::Json => {
            let mut s = serde_json::to_string_pretty(&sorted(&doc))?;
            s.push('\n');
            s
        }
    })
}

struct Writer<'s> {
    state: &'s State,
    opts: &'s DumpOptions,
    parents: Vec<BTreeMap<&'static str, Parent>>,
    /// Children by (parent index, collection key).
    children: HashMap<(usize, &'static str), Vec<usize>>,
    top: BTreeMap<&'static str, Vec<usize>>,
    needs_id: BTreeSet<usize>,
}

impl<'s> Writer<'s> {
    fn new(state: &'s State, opts: &'s DumpOptions) -> Result<Self, DumpError> {
        let by_id: HashMap<(KongKind, &str), usize> = state
            .entities
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.id.as_deref().map(|id| ((e.kong(), id), i)))
            .collect();
        let mut parents = Vec::with_capacity(state.entities.len());
        for e in &state.entities {
            let mut p = BTreeMap::new();
            for (field, r) in &e.refs {
                let Some(fk) = e.kong().foreign_key(field) else {
                    continue;
                };
                let id = || e.id.clone().unwrap_or_else(|| "?".into());
                let parent = match r {
                    Ref::Local(i) if *i < state.entities.len() => Parent::Entity(*i),
                    Ref::Local(i) => {
                        return Err(DumpError::BadIndex { kind: e.kong(), id: id(), index: *i });
                    }
                    Ref::Id(pid) => match by_id.get(&(fk.parent, pid.as_str())) {
                        Some(i) => Parent::Entity(*i),
                        None => Parent::Missing(pid.clone()),
                    },
                    Ref::Key(key) => {
                        return Err(DumpError::KeyReference {
                            kind: e.kong(),
                            id: id(),
                            field: fk.field,
                            key: key.clone(),
                        });
                    }
                };
                p.insert(fk.field, parent);
            }
            parents.push(p);
        }
        let mut w =
            Writer { state, opts, parents, children: HashMap::new(), top: BTreeMap::new(), needs_id: BTreeSet::new() };
        w.place();
        Ok(w)
    }

    /// Decides where every entity is written.
    fn place(&mut self) {
        for (i, e) in self.state.entities.iter().enumerate() {
            let home = self.home(i, e);
            match home {
                Some(slot) => self.children.entry(slot).or_default().push(i),
                // A membership whose consumer and group are both outside the state has no
                // place in a decK file.
                None if e.kong() == KongKind::ConsumerGroupConsumer => {}
                None => self.top.entry(e.kong().table()).or_default().push(i),
            }
        }
        let mut needs = BTreeSet::new();
        for (i, e) in self.state.entities.iter().enumerate() {
            if self.opts.with_ids
                || matches!(e.kong(), KongKind::Certificate | KongKind::CaCertificate)
                || natural_key(e.kong(), &e.fields, &|f| self.parent_id(i, f)).is_none()
            {
                needs.insert(i);
            }
            for parent in self.parents[i].values() {
                if let Parent::Entity(p) = parent
                    && self.name_of(*p).is_none()
                {
                    needs.insert(*p);
                }
            }
        }
        self.needs_id = needs;
    }

    /// The (parent, collection key) an entity nests under, or `None` for top level.
    fn home(&self, i: usize, e: &Entity) -> Option<(usize, &'static str)> {
        let parents = &self.parents[i];
        if e.kong() == KongKind::ConsumerGroupConsumer {
            return match (parents.get("consumer"), parents.get("consumer_group")) {
                (Some(Parent::Entity(c)), _) => Some((*c, "groups")),
                (_, Some(Parent::Entity(g))) => Some((*g, "consumers")),
                _ => None,
            };
        }
        if e.kong() == KongKind::Plugin && parents.len() != 1 {
            return None;
        }
        for (field, parent) in parents {
            let Parent::Entity(p) = parent else { continue };
            let parent_kind = self.state.entities[*p].kong();
            for (key, nest) in nested_keys(parent_kind) {
                if let Nest::Child { kind, field: f } = nest
                    && *kind == e.kong()
                    && f == field
                    && e.kong() != KongKind::Key
                {
                    return Some((*p, key));
                }
            }
        }
        None
    }

    fn parent_id(&self, i: usize, field: &str) -> Option<String> {
        match self.parents[i].get(field)? {
            Parent::Entity(p) => Some(self.state.entities[*p].id.clone().unwrap_or_else(|| format!("#{p}"))),
            Parent::Missing(id) => Some(id.clone()),
        }
    }

    /// The field and value that name entity `p` in references, if it has a name.
    fn name_of(&self, p: usize) -> Option<(&'static str, String)> {
        let e = &self.state.entities[p];
        let s = |f: &'static str| e.fields.get(f).and_then(Value::as_str).map(|v| (f, v.to_owned()));
        match e.kong() {
            KongKind::Consumer => s("username"),
            KongKind::Service | KongKind::Route | KongKind::Upstream | KongKind::ConsumerGroup | KongKind::KeySet => {
                s("name")
            }
            _ => None,
        }
        .filter(|(_, v)| !super::shape::is_uuid(v))
    }

    fn sort_key(&self, i: usize) -> (bool, String, String) {
        let e = &self.state.entities[i];
        let key = natural_key(e.kong(), &e.fields, &|f| self.parent_id(i, f));
        (key.is_none(), key.unwrap_or_default(), e.id.clone().unwrap_or_default())
    }

    fn sorted_indexes(&self, mut list: Vec<usize>) -> Vec<usize> {
        list.sort_by_cached_key(|&i| self.sort_key(i));
        list
    }

    fn document(&self) -> Value {
        let mut doc = Map::new();
        doc.insert("_format_version".into(), Value::String("3.0".into()));
        if !self.opts.select_tags.is_empty() {
            let tags = self.opts.select_tags.iter().cloned().map(Value::String).collect();
            doc.insert("_info".into(), Value::Object(Map::from_iter([("select_tags".to_owned(), Value::Array(tags))])));
        }
        for (table, list) in &self.top {
            let items: Vec<Value> =
                self.sorted_indexes(list.clone()).into_iter().map(|i| self.entity(i, None)).collect();
            doc.insert((*table).to_owned(), Value::Array(items));
        }
        Value::Object(doc)
    }

    /// One entity as written, without the foreign key `nested_field` (its enclosing parent).
    fn entity(&self, i: usize, nested_field: Option<&str>) -> Value {
        let e = &self.state.entities[i];
        if e.kong() == KongKind::ConsumerGroupConsumer {
            return self.membership(i, nested_field);
        }
        let mut out = Map::new();
        for (k, v) in &e.fields {
            if v.is_null() || matches!(k.as_str(), "created_at" | "updated_at" | "id") {
                continue;
            }
            out.insert(k.clone(), v.clone());
        }
        if self.needs_id.contains(&i)
            && let Some(id) = &e.id
        {
            out.insert("id".into(), Value::String(id.clone()));
        }
        for (field, parent) in &self.parents[i] {
            if Some(*field) == nested_field {
                continue;
            }
            out.insert((*field).to_owned(), self.reference(e.kong(), parent));
        }
        for (key, _) in nested_keys(e.kong()) {
            let Some(list) = self.children.get(&(i, *key)) else {
                continue;
            };
            let field = match super::shape::nested(e.kong(), key) {
                Some(Nest::Child { field, .. }) => Some(field),
                _ => None,
            };
            let items: Vec<Value> =
                self.sorted_indexes(list.clone()).into_iter().map(|c| self.entity(c, field.or(Some("")))).collect();
            out.insert((*key).to_owned(), Value::Array(items));
        }
        Value::Object(out)
    }

    /// A reference to `parent` from an entity of `kind`.
    fn reference(&self, kind: KongKind, parent: &Parent) -> Value {
        let (field, value) = match parent {
            Parent::Entity(p) => match self.name_of(*p) {
                Some(named) => named,
                None => ("id", self.state.entities[*p].id.clone().unwrap_or_default()),
            },
            Parent::Missing(id) => ("id", id.clone()),
        };
        if kind == KongKind::Plugin && matches!(field, "id" | "name" | "username") {
            return Value::String(value);
        }
        Value::Object(Map::from_iter([(field.to_owned(), Value::String(value))]))
    }

    /// A membership under its consumer (`groups: [{name}]`) or its group (`consumers: [{username}]`).
    fn membership(&self, i: usize, nested_field: Option<&str>) -> Value {
        let parents = &self.parents[i];
        let under_consumer = nested_field.is_some() && matches!(parents.get("consumer"), Some(Parent::Entity(_)));
        let other = if under_consumer { parents.get("consumer_group") } else { parents.get("consumer") };
        let mut out = Map::new();
        match other {
            Some(Parent::Entity(p)) => {
                let e = &self.state.entities[*p];
                if let Some((field, value)) = self.name_of(*p) {
                    out.insert(field.to_owned(), Value::String(value));
                }
                if (self.opts.with_ids || out.is_empty()) && e.id.is_some() {
                    out.insert("id".into(), Value::String(e.id.clone().unwrap_or_default()));
                }
            }
            Some(Parent::Missing(id)) => {
                out.insert("id".into(), Value::String(id.clone()));
            }
            None => {}
        }
        Value::Object(out)
    }
}

#[cfg(test)]
#[path = "write_tests.rs"]
mod tests;
