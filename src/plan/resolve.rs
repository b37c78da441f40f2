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
pub struct Resolved {
    /// The kind.
    pub kind: Kind,
    /// The id it has (matched live entity's) or will have (explicit or deterministic).
    pub id: String,
    /// Fields as the files give them (foreign keys excluded).
    pub fields: Map<String, Value>,
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
pub fn resolve(
    dialect: &dyn Dialect,
    desired: &State,
    live: &State,
    lookup: &State,
) -> Result<Vec<Resolved>, Vec<ResolveError>> {
    let index = LiveIndex::new(live, dialect);
    let lookup_index = LiveIndex::new(lookup, dialect);
    let mut order: Vec<usize> = (0..desired.entities.len()).collect();
    order.sort_by_key(|&i| desired.entities[i].kind.rank());

    let mut ids: Vec<Option<String>> = vec![None; desired.entities.len()];
    let mut out: Vec<Option<Resolved>> = vec![None; desired.entities.len()];
    let mut claimed: HashMap<usize, usize> = HashMap::new();
    let mut taken: HashSet<(Kind, String)> = HashSet::new();
    let mut seen_content: HashMap<String, usize> = HashMap::new();
    let mut errors = Vec::new();
    let desired_ids: HashSet<(Kind, &str)> =
        desired.entities.iter().filter_map(|e| e.id.as_deref().map(|id| (e.kind, id))).collect();

    for i in order {
        let e = &desired.entities[i];
        let err = |message: String| ResolveError { origin: e.origin.clone(), message };
        let mut parents = BTreeMap::new();
        let mut ok = true;
        for (field, r) in &e.refs {
            let Some(fk) = e.kind.foreign_key(field) else {
                errors.push(err(format!("{} has no foreign key `{field}`", e.kind.singular())));
                ok = false;
                continue;
            };
            let parent = match r {
                Ref::Local(j) => ids.get(*j).cloned().flatten(),
                Ref::Id(id) => {
                    let known = desired_ids.contains(&(fk.parent, id.as_str()))
                        || index.by_id(fk.parent, id).is_some()
                        || lookup_index.by_id(fk.parent, id).is_some();
                    if known {
                        Some(id.clone())
                    } else {
                        errors.push(err(format!(
                            "{} refers to {} with id {id}, which is neither in the configuration nor on the gateway",
                            e.kind.singular(),
                            fk.parent.singular()
                        )));
                        ok = false;
                        continue;
                    }
                }
                Ref::Key(key) => {
                    let found = index.by_key(fk.parent, key).or_else(|| lookup_index.by_key(fk.parent, key));
                    match found {
                        Some(j) => {
                            let state = if index.by_key(fk.parent, key).is_some() { live } else { lookup };
                            state.entities[j].id.clone()
                        }
                        None => {
                            errors.push(err(format!(
                                "{} refers to {} `{key}`, which is not on the gateway",
                                e.kind.singular(),
                                fk.parent.singular()
                            )));
                            ok = false;
                            continue;
                        }
                    }
                }
            };
            match parent {
                Some(id) => {
                    parents.insert(*field, id);
                }
                None => {
                    errors.push(err(format!("{} refers to an entity that could not be resolved", e.kind.singular())));
                    ok = false;
                }
            }
        }
        if !ok {
            continue;
        }
        let parent_of = |f: &str| parents.get(f).cloned();
        let key = dialect.natural_key(e.kind, &e.fields, &parent_of);

        let mut matched = match &e.id {
            Some(id) => index.by_id(e.kind, id),
            None => key.as_deref().and_then(|k| index.by_key(e.kind, k)).or_else(|| {
                // The live entity has no primary key of its own (its natural key is its
                // secondary one), or the same one.
                let second = dialect.secondary_key(e.kind, &e.fields).filter(|s| Some(s) != key.as_ref())?;
                let j = index.by_secondary.get(&(e.kind, second)).copied()?;
                let (live_key, live_second) = &index.keys[j];
                (live_key.is_none() || *live_key == key || live_key == live_second).then_some(j)
            }),
        };
        let derived = if e.id.is_none() { dialect.derived_id(e.kind, &parents) } else { None };
        let id = match (&e.id, matched) {
            (Some(id), _) => id.clone(),
            (None, _) if derived.is_some() => derived.unwrap_or_default(),
            (None, Some(j)) => live.entities[j].id.clone().unwrap_or_default(),
            (None, None) => {
                let seed = match &key {
                    Some(k) => format!("{}:{k}", e.kind.table()),
                    None => {
                        let content = content_seed(e, &parents);
                        let n = seen_content.entry(content.clone()).or_insert(0);
                        *n += 1;
                        format!("{}:{content}#{n}", e.kind.table())
                    }
                };
                let mut candidate = Uuid::new_v5(&ID_NAMESPACE, seed.as_bytes()).to_string();
                let mut salt = 1;
                loop {
                    if let Some(j) = index.by_id(e.kind, &candidate) {
                        if !claimed.contains_key(&j) && key.is_none() {
                            matched = Some(j);
                            break;
                        }
                    } else if !taken.contains(&(e.kind, candidate.clone())) {
                        break;
                    }
                    salt += 1;
                    candidate = Uuid::new_v5(&ID_NAMESPACE, format!("{seed}/{salt}").as_bytes()).to_string();
                }
                candidate
            }
        };
        if !taken.insert((e.kind, id.clone())) {
            errors.push(err(format!("{} id {id} is declared twice", e.kind.singular())));
            continue;
        }
        if let Some(j) = matched {
            if let Some(&other) = claimed.get(&j) {
                let first = desired.entities[other]
                    .origin
                    .as_ref()
                    .map(|o| format!(" (also matched by {o})"))
                    .unwrap_or_default();
                errors.push(err(format!(
                    "{} matches the same gateway entity as another entity of the configuration{first}",
                    e.kind.singular()
                )));
                continue;
            }
            claimed.insert(j, i);
        }
        ids[i] = Some(id.clone());
        out[i] = Some(Resolved {
            kind: e.kind,
            id,
            fields: e.fields.clone(),
            parents,
            origin: e.origin.clone(),
            live: matched,
            desired: i,
        });
    }
    if errors.is_empty() { Ok(out.into_iter().flatten().collect()) } else { Err(errors) }
}

/// A stable text for an entity without natural key: its fields and parents as JSON.
fn content_seed(e: &Entity, parents: &BTreeMap<&'static str, String>) -> String {
    let mut sorted: BTreeMap<&str, &Value> = BTreeMap::new();
    for (k, v) in &e.fields {
        sorted.insert(k, v);
    }
    format!("{}|{:?}", serde_json::to_string(&sorted).unwrap_or_default(), parents)
}
