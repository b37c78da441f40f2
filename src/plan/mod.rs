//! Matching desired to live entities, normalising both through the dialect, diffing them
//! field by field, and the resulting plan: a list of create / update / delete changes.

mod diff;
pub mod file;
pub mod guard;
mod label;
mod resolve;
pub mod select;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use crate::model::Action;
pub use crate::secrets::SENSITIVE;
pub use diff::{DiffContext, FieldChange, diff};
pub use label::Labels;
pub use resolve::{LiveIndex, ResolveError, Resolved, resolve};
pub use select::{Selection, Selector};

use crate::gateway::Dialect;
use crate::model::{Kind, Origin, Ref, State};

/// One planned change of one entity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// Create, update or delete.
    pub action: Action,
    /// The entity kind.
    pub kind: Kind,
    /// A human label: `"svc-a"`, `"cors" (service "svc-a")`. Never holds a secret. Serialised
    /// without the quoting ([`plain_key`]: `svc-a`, `cors (service svc-a)`).
    #[serde(serialize_with = "serialize_plain_key")]
    pub key: String,
    /// The entity's id (existing, or the one it will be created with).
    pub id: String,
    /// For updates, the changed fields; for creates, the fields that differ from the
    /// gateway's defaults; empty for deletes. Sensitive values are masked.
    pub fields: Vec<FieldChange>,
    /// The live entity, normalised, sensitive values masked (updates and deletes).
    pub before: Option<Map<String, Value>>,
    /// The desired entity, normalised, sensitive values masked (creates and updates).
    pub after: Option<Map<String, Value>>,
    /// Where the desired entity was written.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub origin: Option<Origin>,
    /// The body to send (creates and updates), unmasked. Never serialised.
    #[serde(skip)]
    pub body: Option<Map<String, Value>>,
    /// Parent ids of the desired entity (creates and updates), by foreign-key field.
    #[serde(skip)]
    pub parents: BTreeMap<&'static str, String>,
    /// Parent ids of the live entity (updates and deletes), by foreign-key field.
    #[serde(skip)]
    pub live_parents: BTreeMap<&'static str, String>,
}

/// A label as the plan JSON's `key` holds it (format 2): the quoting of each name taken
/// away, so `"cors" (service "svc-a")` is `cors (service svc-a)` and `"svc-a"` is `svc-a`.
/// Names are quoted as Rust strings are (`{:?}`); their escapes are undone.
pub fn plain_key(label: &str) -> String {
    let mut out = String::with_capacity(label.len());
    let mut chars = label.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            out.push(c);
            continue;
        }
        while let Some(c) = chars.next() {
            match c {
                '"' => break,
                '\\' => match chars.next() {
                    Some('n') => out.push('\n'),
                    Some('t') => out.push('\t'),
                    Some('r') => out.push('\r'),
                    Some('0') => out.push('\0'),
                    Some('u') => {
                        let hex: String = chars.by_ref().skip(1).take_while(|c| *c != '}').collect();
                        out.extend(u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32));
                    }
                    Some(other) => out.push(other),
                    None => {}
                },
                other => out.push(other),
            }
        }
    }
    out
}

fn serialize_plain_key<S: serde::Serializer>(key: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&plain_key(key))
}

/// A plan: every change needed to make the gateway match the configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Plan {
    /// The changes, ordered by kind (parents first), then label.
    pub changes: Vec<Change>,
    /// Labels of the entities the changes refer to (`service "svc-a"`), by id; used to show
    /// foreign keys readably. Not serialised.
    #[serde(skip)]
    pub names: BTreeMap<String, String>,
}

/// Counts of a plan, in Terraform's terms.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Entities to create.
    pub add: usize,
    /// Entities to update.
    pub change: usize,
    /// Entities to delete.
    pub destroy: usize,
}

impl Plan {
    /// Counts per action.
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.changes {
            match c.action {
                Action::Create => s.add += 1,
                Action::Update => s.change += 1,
                Action::Delete => s.destroy += 1,
            }
        }
        s
    }

    /// Whether the plan changes nothing.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

/// Everything a plan is computed from.
pub struct PlanInput<'a> {
    /// The desired state (from files), references local or by id/key.
    pub desired: &'a State,
    /// The live state in scope (from the gateway), references by id.
    pub live: &'a State,
    /// Live entities read only to resolve references (`_info.default_lookup_tags`).
    pub lookup: &'a State,
    /// The dialect, with the gateway's schema knowledge (or the bundled one).
    pub dialect: &'a dyn Dialect,
    /// Fields of desired entities that are secret whatever the schema says (values that
    /// came from template variables): `(desired index, dotted path)`.
    pub secret_fields: &'a BTreeSet<(usize, String)>,
}

/// The verdict of a fresh plan computed after an apply (a replay's verification).
#[derive(Debug, Clone)]
pub enum Verification {
    /// The fresh plan is empty: the gateway matches the configuration.
    Holds,
    /// The fresh plan still has changes (shown to the user).
    Fails(Plan),
    /// The fresh plan could not be computed.
    Error(String),
}

impl Verification {
    /// Whether the gateway was shown to match.
    pub fn holds(&self) -> bool {
        matches!(self, Verification::Holds)
    }
}

/// How a run narrows and guards its plan: `--target` / `--exclude` ([`select`]) and the
/// destroy guards ([`guard`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanOptions {
    /// The changes kept (all of them when empty).
    pub selection: Selection,
    /// The guards the plan must pass.
    pub guards: guard::Guards,
}

/// Why a plan could not be computed: every reference or match problem found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
pub struct PlanError(pub Vec<ResolveError>);

/// Computes the plan.
pub fn build(input: &PlanInput<'_>) -> Result<Plan, PlanError> {
    let dialect = input.dialect;
    let resolved = resolve(dialect, input.desired, input.live, input.lookup).map_err(PlanError)?;
    let mut labels = Labels::new(dialect);
    for e in input.live.entities.iter().chain(&input.lookup.entities) {
        if let Some(id) = &e.id {
            labels.insert(e.kind, id, &e.fields);
        }
    }
    for r in &resolved {
        labels.insert(r.kind, &r.id, r.fields);
    }

    let mut matched = vec![false; input.live.entities.len()];
    for r in &resolved {
        if let Some(j) = r.live {
            matched[j] = true;
        }
    }
    // Desired entities are compared independently: split them over the machine's cores.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8);
    let chunk = resolved.len().div_ceil(threads).max(1);
    let mut changes: Vec<Change> = std::thread::scope(|scope| {
        let handles: Vec<_> = resolved
            .chunks(chunk)
            .map(|part| {
                let labels = &labels;
                scope.spawn(move || {
                    let mut defaults = DefaultsCache::default();
                    part.iter().filter_map(|r| change_for(input, labels, &mut defaults, r)).collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    });
    for (j, e) in input.live.entities.iter().enumerate() {
        if matched[j] {
            continue;
        }
        let Some(id) = e.id.clone() else { continue };
        let body = dialect.live_body(e);
        let sensitive = dialect.sensitivity(e.kind, &body);
        let mut before = dialect.comparable_owned(e.kind, body);
        mask_in_place(&mut before, &*sensitive);
        let parents = ref_ids(&e.refs);
        changes.push(Change {
            action: Action::Delete,
            kind: e.kind,
            key: labels.label(e.kind, &id, &e.fields, &parents),
            id,
            fields: Vec::new(),
            before: Some(before),
            after: None,
            origin: None,
            body: None,
            parents: BTreeMap::new(),
            live_parents: parents,
        });
    }
    changes.sort_by(|a, b| (a.kind, &a.key, &a.id, a.action).cmp(&(b.kind, &b.key, &b.id, b.action)));
    let mut names = BTreeMap::new();
    for c in &changes {
        for (field, id) in c.parents.iter().chain(&c.live_parents) {
            if let Some(fk) = c.kind.foreign_key(field) {
                names.entry(id.clone()).or_insert_with(|| labels.parent(fk.parent, id));
            }
        }
    }
    Ok(Plan { changes, names })
}

/// The comparable body of each kind's defaults (per schema-selecting fields, such as a
/// plugin's name), to show only the fields of a create that differ from them.
#[derive(Default)]
struct DefaultsCache(std::collections::HashMap<(Kind, String), Map<String, Value>>);

impl DefaultsCache {
    fn get(&mut self, dialect: &dyn Dialect, kind: Kind, fields: &Map<String, Value>) -> &Map<String, Value> {
        let minimal = dialect.minimal(kind, fields);
        let key = serde_json::to_string(&minimal).unwrap_or_default();
        self.0
            .entry((kind, key))
            .or_insert_with(|| dialect.comparable(kind, &dialect.desired_body(kind, &minimal, &BTreeMap::new())))
    }
}

/// The change one desired entity needs, if any.
fn change_for(
    input: &PlanInput<'_>,
    labels: &Labels,
    defaults: &mut DefaultsCache,
    r: &Resolved<'_>,
) -> Option<Change> {
    let dialect = input.dialect;
    let body = dialect.desired_body(r.kind, r.fields, &r.parents);
    let schema_sensitive = dialect.sensitivity(r.kind, &body);
    let shape = dialect.shape(r.kind, &body);
    // A matched entity seldom changes: its body becomes its comparable form, and is made
    // again only when it differs.
    let (after, body) = match r.live {
        Some(_) => (dialect.comparable_owned(r.kind, body), None),
        None => (dialect.comparable(r.kind, &body), Some(body)),
    };
    let secret_paths: Vec<&str> = input
        .secret_fields
        .range((r.desired, String::new())..)
        .take_while(|(i, _)| *i == r.desired)
        .map(|(_, p)| p.as_str())
        .collect();
    let sensitive = |path: &str| {
        schema_sensitive(path)
            || secret_paths
                .iter()
                .any(|p| path == *p || path.starts_with(&format!("{p}.")) || p.starts_with(&format!("{path}.")))
    };
    let equal = |path: &str, d: &Value, l: &Value| dialect.equal(r.kind, path, d, l, &r.parents);
    let ctx = DiffContext { shape, sensitive: &sensitive, equal: &equal };
    match r.live {
        Some(j) => {
            let live_e = &input.live.entities[j];
            let mut before = dialect.comparable_owned(r.kind, dialect.live_body(live_e));
            let fields = diff(&after, &before, &ctx);
            if fields.is_empty() {
                return None;
            }
            let body = body.unwrap_or_else(|| dialect.desired_body(r.kind, r.fields, &r.parents));
            let mut after = after;
            mask_in_place(&mut before, &sensitive);
            mask_in_place(&mut after, &sensitive);
            Some(Change {
                action: Action::Update,
                kind: r.kind,
                key: labels.label(r.kind, &r.id, r.fields, &r.parents),
                id: r.id.clone(),
                fields: fields.into_iter().map(mask_field).collect(),
                before: Some(before),
                after: Some(after),
                origin: r.origin.clone(),
                body: Some(body),
                parents: r.parents.clone(),
                live_parents: ref_ids(&live_e.refs),
            })
        }
        None => {
            let mut fields = diff(&after, defaults.get(dialect, r.kind, r.fields), &ctx);
            for f in &mut fields {
                f.before = None;
            }
            let mut after = after;
            mask_in_place(&mut after, &sensitive);
            Some(Change {
                action: Action::Create,
                kind: r.kind,
                key: labels.label(r.kind, &r.id, r.fields, &r.parents),
                id: r.id.clone(),
                fields: fields.into_iter().map(mask_field).collect(),
                before: None,
                after: Some(after),
                origin: r.origin.clone(),
                body,
                parents: r.parents.clone(),
                live_parents: BTreeMap::new(),
            })
        }
    }
}

fn ref_ids(refs: &BTreeMap<&'static str, Ref>) -> BTreeMap<&'static str, String> {
    refs.iter()
        .filter_map(|(f, r)| match r {
            Ref::Id(id) => Some((*f, id.clone())),
            _ => None,
        })
        .collect()
}

fn mask_field(mut f: FieldChange) -> FieldChange {
    if f.sensitive {
        f.before = f.before.map(|_| Value::String(SENSITIVE.into()));
        f.after = f.after.map(|_| Value::String(SENSITIVE.into()));
    }
    f
}

/// A copy of `map` with the values at sensitive paths replaced by [`SENSITIVE`]
/// ([`mask_in_place`]); paths below `prefix` (`config.redis` → `config.redis.password`).
pub fn mask_map(map: &Map<String, Value>, prefix: &str, sensitive: &dyn Fn(&str) -> bool) -> Map<String, Value> {
    let mut out = map.clone();
    let mut path = prefix.to_owned();
    mask_at(&mut out, &mut path, sensitive);
    out
}

/// Replaces the values at sensitive paths of `map` by [`SENSITIVE`]: a non-null value that
/// is not an object, at a dotted path (`config.password`) `sensitive` holds. Objects are
/// masked field by field; `null` stays `null`, so an unset secret shows as unset.
pub fn mask_in_place(map: &mut Map<String, Value>, sensitive: &dyn Fn(&str) -> bool) {
    mask_at(map, &mut String::new(), sensitive);
}

fn mask_at(map: &mut Map<String, Value>, path: &mut String, sensitive: &dyn Fn(&str) -> bool) {
    for (k, v) in map.iter_mut() {
        let len = path.len();
        if len > 0 {
            path.push('.');
        }
        path.push_str(k);
        match v {
            Value::Null => {}
            Value::Object(inner) => mask_at(inner, path, sensitive),
            _ if sensitive(path) => *v = Value::String(SENSITIVE.into()),
            _ => {}
        }
        path.truncate(len);
    }
}

#[cfg(test)]
pub(crate) mod tests_support {
    //! Plans for core unit tests, over a kind of no gateway.

    use super::*;
    use crate::model::KindSpec;

    /// A kind for tests.
    pub static THINGS: KindSpec =
        KindSpec { dialect: "test", name: "things", singular: "thing", rank: 0, foreign_keys: &[] };

    /// A create of one thing.
    pub fn change() -> Change {
        Change {
            action: Action::Create,
            kind: Kind::of(&THINGS),
            key: "\"t\"".into(),
            id: "t".into(),
            fields: Vec::new(),
            before: None,
            after: None,
            origin: None,
            body: None,
            parents: BTreeMap::new(),
            live_parents: BTreeMap::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn masking_replaces_set_values_at_sensitive_paths_only() {
        let Value::Object(mut map) = json!({
            "name": "p",
            "config": {"password": "hunter2", "redis": {"password": null, "host": "r"}, "keys": ["a", "b"]},
            "password": 5
        }) else {
            unreachable!()
        };
        let sensitive = |p: &str| matches!(p, "config.password" | "config.redis.password" | "config.keys" | "password");
        let copy = mask_map(&map, "", &sensitive);
        mask_in_place(&mut map, &sensitive);
        let want = json!({
            "name": "p",
            "config": {"password": SENSITIVE, "redis": {"password": null, "host": "r"}, "keys": SENSITIVE},
            "password": SENSITIVE
        });
        assert_eq!(Value::Object(map), want);
        assert_eq!(Value::Object(copy), want);
        let Value::Object(inner) = json!({"password": "x", "user": "u"}) else { unreachable!() };
        let under = mask_map(&inner, "config", &sensitive);
        assert_eq!(Value::Object(under), json!({"password": SENSITIVE, "user": "u"}), "paths below the prefix");
    }
}
