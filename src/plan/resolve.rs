//! Matching desired entities to live ones and giving every desired entity its id.
//!
//! A desired entity matches a live one by its explicit `id`, else by its natural key
//! (`deck.md` table a.3, [`natural_key`]), else by the deterministic id gateform derives
//! for it. Unmatched entities get that deterministic id (UUIDv5 of the kind and natural key,
//! or of the content when there is no natural key), so the same files against the same
//! gateway always give the same plan. References are resolved to ids, parents first.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::gateway::Dialect;
use crate::model::{Entity, Kind, Origin, Ref, State};

/// Namespace of gateform's deterministic ids.
const ID_NAMESPACE: Uuid = Uuid::from_u128(0x6761_7465_666f_726d_8000_0000_0000_0001);

/// A desired entity with its id decided and its references resolved to ids.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved<'a> {
    /// The kind.
    pub kind: Kind,
    /// The id it has (matched live entity's) or will have (explicit or deterministic).
    pub id: String,
    /// Fields as the files give them (foreign keys excluded), borrowed from the desired state.
    pub fields: &'a Map<String, Value>,
    /// Foreign keys: field name → parent id.
    pub parents: BTreeMap<&'static str, String>,
    /// Where it was written.
    pub origin: Option<Origin>,
    /// Index of the matched entity in the live state.
    pub live: Option<usize>,
    /// Index in the desired state.
    pub desired: usize,
}

/// A reference or match that cannot be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", origin.as_ref().map(|o| format!("{o}: ")).unwrap_or_default())]
pub struct ResolveError {
    /// Where the entity concerned was written.
    pub origin: Option<Origin>,
    /// What is wrong.
    pub message: String,
}

/// Indexes of live entities by id and by natural key.
pub struct LiveIndex<'a> {
    live: &'a State,
    by_id: HashMap<(Kind, &'a str), usize>,
    by_key: HashMap<(Kind, String), usize>,
    keys: Vec<(Option<String>, Option<String>)>,
    by_secondary: HashMap<(Kind, String), usize>,
}

impl<'a> LiveIndex<'a> {
    /// Indexes `live` with the keys `dialect` gives; its references must be [`Ref::Id`].
    pub fn new(live: &'a State, dialect: &dyn Dialect) -> Self {
        let mut by_id = HashMap::new();
        let mut by_key = HashMap::new();
        let mut by_secondary = HashMap::new();
        let mut keys = Vec::with_capacity(live.entities.len());
        for (i, e) in live.entities.iter().enumerate() {
            if let Some(id) = &e.id {
                by_id.insert((e.kind, id.as_str()), i);
            }
            let parent = |f: &str| match e.refs.get(f) {
                Some(Ref::Id(id)) => Some(id.clone()),
                _ => None,
            };
            let key = dialect.natural_key(e.kind, &e.fields, &parent);
            if let Some(key) = &key {
                by_key.entry((e.kind, key.clone())).or_insert(i);
            }
            let second = dialect.secondary_key(e.kind, &e.fields);
            if let Some(second) = &second {
                by_secondary.entry((e.kind, second.clone())).or_insert(i);
            }
            keys.push((key, second));
        }
        LiveIndex { live, by_id, by_key, keys, by_secondary }
    }

    /// The live entity of `kind` with this id.
    pub fn by_id(&self, kind: Kind, id: &str) -> Option<usize> {
        self.by_id.get(&(kind, id)).copied()
    }

    /// The live entity of `kind` with this natural key.
    pub fn by_key(&self, kind: Kind, key: &str) -> Option<usize> {
        self.by_key.get(&(kind, key.to_owned())).copied()
    }

    /// The live state indexed.
    pub fn state(&self) -> &'a State {
        self.live
    }
}

/// Resolves every desired entity against the live state. `lookup` holds live entities read
/// only for reference resolution (`_info.default_lookup_tags`), never owned. All errors are
/// collected, in desired order.
pub fn resolve<'d>(
    dialect: &dyn Dialect,
    desired: &'d State,
    live: &State,
    lookup: &State,
) -> Result<Vec<Resolved<'d>>, Vec<ResolveError>> {
    let mut r = Resolver {
        dialect,
        desired,
        index: LiveIndex::new(live, dialect),
        lookup_index: LiveIndex::new(lookup, dialect),
        desired_ids: desired.entities.iter().filter_map(|e| e.id.as_deref().map(|id| (e.kind, id))).collect(),
        ids: vec![None; desired.entities.len()],
        claimed: HashMap::new(),
        taken: HashSet::new(),
        seen_content: HashMap::new(),
    };
    let mut order: Vec<usize> = (0..desired.entities.len()).collect();
    order.sort_by_key(|&i| desired.entities[i].kind.rank());
    let mut out: Vec<Option<Resolved>> = vec![None; desired.entities.len()];
    let mut errors = Vec::new();
    for i in order {
        let e = &desired.entities[i];
        match r.one(i) {
            Ok(resolved) => out[i] = Some(resolved),
            Err(messages) => {
                errors.extend(messages.into_iter().map(|message| ResolveError { origin: e.origin.clone(), message }))
            }
        }
    }
    if errors.is_empty() { Ok(out.into_iter().flatten().collect()) } else { Err(errors) }
}

/// The state of one resolution, entity after entity (parents first).
struct Resolver<'d, 'l> {
    dialect: &'l dyn Dialect,
    desired: &'d State,
    index: LiveIndex<'l>,
    lookup_index: LiveIndex<'l>,
    desired_ids: HashSet<(Kind, &'d str)>,
    /// The id given to each desired entity so far.
    ids: Vec<Option<String>>,
    /// Live entity → the desired entity that matched it.
    claimed: HashMap<usize, usize>,
    /// Ids given out, per kind.
    taken: HashSet<(Kind, String)>,
    /// How many entities without natural key had each content so far.
    seen_content: HashMap<String, usize>,
}

impl<'d> Resolver<'d, '_> {
    /// Resolves desired entity `i`: its parents, its match, its id.
    fn one(&mut self, i: usize) -> Result<Resolved<'d>, Vec<String>> {
        let e: &'d Entity = &self.desired.entities[i];
        let parents = self.parents(e)?;
        let parent_of = |f: &str| parents.get(f).cloned();
        let key = self.dialect.natural_key(e.kind, &e.fields, &parent_of);
        let mut matched = match &e.id {
            Some(id) => self.index.by_id(e.kind, id),
            None => key.as_deref().and_then(|k| self.index.by_key(e.kind, k)).or_else(|| self.by_secondary(e, &key)),
        };
        let derived = if e.id.is_none() { self.dialect.derived_id(e.kind, &parents) } else { None };
        let id = match (&e.id, matched, derived) {
            (Some(id), _, _) => id.clone(),
            (None, _, Some(derived)) => derived,
            (None, Some(j), None) => self.index.live.entities[j].id.clone().unwrap_or_default(),
            (None, None, None) => self.fresh_id(e, &key, &parents, &mut matched),
        };
        if !self.taken.insert((e.kind, id.clone())) {
            return Err(vec![format!("{} id {id} is declared twice", e.kind.singular())]);
        }
        if let Some(j) = matched {
            if let Some(&other) = self.claimed.get(&j) {
                let first = self.desired.entities[other]
                    .origin
                    .as_ref()
                    .map(|o| format!(" (also matched by {o})"))
                    .unwrap_or_default();
                return Err(vec![format!(
                    "{} matches the same gateway entity as another entity of the configuration{first}",
                    e.kind.singular()
                )]);
            }
            self.claimed.insert(j, i);
        }
        self.ids[i] = Some(id.clone());
        Ok(Resolved {
            kind: e.kind,
            id,
            fields: &e.fields,
            parents,
            origin: e.origin.clone(),
            live: matched,
            desired: i,
        })
    }

    /// The ids of `e`'s parents by foreign-key field; every reference that does not resolve.
    fn parents(&self, e: &Entity) -> Result<BTreeMap<&'static str, String>, Vec<String>> {
        let mut parents = BTreeMap::new();
        let mut errors = Vec::new();
        for (field, r) in &e.refs {
            let Some(fk) = e.kind.foreign_key(field) else {
                errors.push(format!("{} has no foreign key `{field}`", e.kind.singular()));
                continue;
            };
            match self.parent(e.kind, fk.parent, r) {
                Ok(id) => {
                    parents.insert(*field, id);
                }
                Err(message) => errors.push(message),
            }
        }
        if errors.is_empty() { Ok(parents) } else { Err(errors) }
    }

    /// The id of the parent of kind `parent` that `r` names.
    fn parent(&self, kind: Kind, parent: Kind, r: &Ref) -> Result<String, String> {
        match r {
            Ref::Local(j) => self
                .ids
                .get(*j)
                .cloned()
                .flatten()
                .ok_or_else(|| format!("{} refers to an entity that could not be resolved", kind.singular())),
            Ref::Id(id) => {
                let known = self.desired_ids.contains(&(parent, id.as_str()))
                    || self.index.by_id(parent, id).is_some()
                    || self.lookup_index.by_id(parent, id).is_some();
                known.then(|| id.clone()).ok_or_else(|| {
                    format!(
                        "{} refers to {} with id {id}, which is neither in the configuration nor on the gateway",
                        kind.singular(),
                        parent.singular()
                    )
                })
            }
            Ref::Key(key) => {
                let found = match self.index.by_key(parent, key) {
                    Some(j) => self.index.live.entities[j].id.clone(),
                    None => self
                        .lookup_index
                        .by_key(parent, key)
                        .and_then(|j| self.lookup_index.live.entities[j].id.clone()),
                };
                found.ok_or_else(|| {
                    format!("{} refers to {} `{key}`, which is not on the gateway", kind.singular(), parent.singular())
                })
            }
        }
    }

    /// A live entity matched by `e`'s secondary key, accepted when it has no primary key of
    /// its own (its natural key is its secondary one) or the same one.
    fn by_secondary(&self, e: &Entity, key: &Option<String>) -> Option<usize> {
        let second = self.dialect.secondary_key(e.kind, &e.fields).filter(|s| Some(s) != key.as_ref())?;
        let j = self.index.by_secondary.get(&(e.kind, second)).copied()?;
        let (live_key, live_second) = &self.index.keys[j];
        (live_key.is_none() || live_key == key || live_key == live_second).then_some(j)
    }

    /// A deterministic id for an unmatched entity: UUIDv5 of its kind and natural key, or of
    /// its content (numbered among identical ones). A live entity without natural key that
    /// already has that id is matched by it.
    fn fresh_id(
        &mut self,
        e: &Entity,
        key: &Option<String>,
        parents: &BTreeMap<&'static str, String>,
        matched: &mut Option<usize>,
    ) -> String {
        // A natural key made of a secret (a key-auth `key`) never seeds an id: ids are shown
        // in plans, comments and dumps, and a digest of the key would let anyone confirm a
        // guessed key. Nor do secret fields seed a content id.
        let key = key.as_ref().filter(|_| !self.dialect.secret_key(e.kind));
        let seed = match key {
            Some(k) => format!("{}:{k}", e.kind.table()),
            None => {
                let content = content_seed(self.dialect, e, parents);
                let n = self.seen_content.entry(content.clone()).or_insert(0);
                *n += 1;
                format!("{}:{content}#{n}", e.kind.table())
            }
        };
        let mut candidate = Uuid::new_v5(&ID_NAMESPACE, seed.as_bytes()).to_string();
        let mut salt = 1;
        loop {
            if let Some(j) = self.index.by_id(e.kind, &candidate) {
                if !self.claimed.contains_key(&j) && key.is_none() {
                    *matched = Some(j);
                    return candidate;
                }
            } else if !self.taken.contains(&(e.kind, candidate.clone())) {
                return candidate;
            }
            salt += 1;
            candidate = Uuid::new_v5(&ID_NAMESPACE, format!("{seed}/{salt}").as_bytes()).to_string();
        }
    }
}

/// A stable text for an entity without natural key: its fields but the secret ones, and its
/// parents, as JSON.
fn content_seed(dialect: &dyn Dialect, e: &Entity, parents: &BTreeMap<&'static str, String>) -> String {
    let sensitive = dialect.sensitivity(e.kind, &e.fields);
    let mut sorted: BTreeMap<&str, &Value> = BTreeMap::new();
    for (k, v) in &e.fields {
        if !sensitive(k) {
            sorted.insert(k, v);
        }
    }
    format!("{}|{:?}", serde_json::to_string(&sorted).unwrap_or_default(), parents)
}
