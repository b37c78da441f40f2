//! The last steps of loading: `_info.defaults`, `_info.select_tags`, duplicate detection.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::build::Builder;
use crate::kong::secrets::is_sensitive;
use crate::kong::{KongEntity, KongKind, natural_key};
use crate::model::Ref;
use crate::secrets::SENSITIVE;
use crate::source::diag::Diagnostic;

/// `_info.defaults` for one kind: the values, and which of their paths came from variables.
pub(crate) struct Defaults {
    pub kind: KongKind,
    pub values: Map<String, Value>,
    pub env_paths: Vec<String>,
}

/// Fills absent fields of services, routes, upstreams and targets from `_info.defaults`
/// (a file's own value wins; decK's `defaulter`). A service given as `url` takes no
/// `protocol`, `host`, `port` or `path` default: its URL sets them.
pub(crate) fn apply_defaults(b: &mut Builder<'_>, defaults: &[Defaults]) {
    for d in defaults {
        for (i, e) in b.entities.iter_mut().enumerate() {
            if e.kong() != d.kind {
                continue;
            }
            let has_url = e.kong() == KongKind::Service && e.fields.get("url").is_some_and(|u| !u.is_null());
            for (k, v) in &d.values {
                if e.fields.contains_key(k) || (has_url && matches!(k.as_str(), "protocol" | "host" | "port" | "path"))
                {
                    continue;
                }
                e.fields.insert(k.clone(), v.clone());
                for p in d.env_paths.iter().filter(|p| *p == k || p.starts_with(&format!("{k}."))) {
                    b.env_fields.insert((i, p.clone()));
                }
            }
        }
    }
}

/// Adds every select tag an entity lacks to its `tags` (kinds that have tags), after
/// the tags it has (decK's `MergeTags`).
pub(crate) fn apply_select_tags(b: &mut Builder<'_>, tags: &[String]) {
    add_tags(&mut b.entities, tags);
}

/// Adds every tag of `tags` an entity lacks to its `tags`, after the tags it has, for every
/// kind that has tags (decK's `MergeTags`). Used for `_info.select_tags` and `--select-tag`.
pub fn add_tags(entities: &mut [crate::model::Entity], tags: &[String]) {
    if tags.is_empty() {
        return;
    }
    for e in entities.iter_mut().filter(|e| e.kong().has_tags()) {
        let slot = e.fields.entry("tags").or_insert(Value::Null);
        if !slot.is_array() {
            *slot = Value::Array(Vec::new());
        }
        if let Value::Array(own) = slot {
            for t in tags {
                if !own.iter().any(|v| v.as_str() == Some(t)) {
                    own.push(Value::String(t.clone()));
                }
            }
        }
    }
}

/// Reports entities of one kind that share an id, a natural key (`deck.md` table a.3) or a
/// unique field: an error at the second one, naming the first.
pub(crate) fn duplicates(b: &mut Builder<'_>) {
    let mut seen: HashMap<(KongKind, String, String), usize> = HashMap::new();
    // Unique fields whose values messages must not quote: secrets, values from variables.
    let mut hidden: HashSet<(usize, String)> = HashSet::new();
    let mut errors = Vec::new();
    for (i, e) in b.entities.iter().enumerate() {
        if e.kong() == KongKind::ConsumerGroupConsumer {
            continue;
        }
        let parent = |field: &str| -> Option<String> {
            e.refs.get(field).map(|r| match r {
                Ref::Local(j) => format!("#{j}"),
                Ref::Id(id) => id.clone(),
                Ref::Key(k) => format!("key:{k}"),
            })
        };
        let mut keys: Vec<(String, String)> = Vec::new();
        if let Some(id) = &e.id {
            keys.push(("id".into(), id.clone()));
        }
        if let Some(k) = natural_key(e.kong(), &e.fields, &parent) {
            keys.push(("".into(), k));
        }
        if let Some(schema) = b.schemas.entity(e.kong().table()) {
            for (name, field) in &schema.fields {
                if field.unique
                    && name != "id"
                    && let Some(v) = e.fields.get(name).and_then(Value::as_str)
                {
                    keys.push((name.clone(), v.to_owned()));
                    if is_sensitive(e.kong(), name, Some(schema)) || b.env_fields.contains(&(i, name.clone())) {
                        hidden.insert((i, name.clone()));
                    }
                }
            }
        }
        for (what, key) in keys {
            let slot = (e.kong(), what.clone(), key.clone());
            match seen.get(&slot) {
                Some(&first) => {
                    errors.push((i, first, what, key));
                    break;
                }
                None => {
                    seen.insert(slot, i);
                }
            }
        }
    }
    for (i, first, what, key) in errors {
        let desc = b.info[i].desc.clone();
        let first_desc = &b.info[first].desc;
        let at = b.entities[first].origin.as_ref().map(ToString::to_string).unwrap_or_default();
        let message = match what.as_str() {
            "" if *first_desc == desc => format!("{desc} is already defined at {at}"),
            "" if b.entities[i].kind == KongKind::Plugin => {
                format!("{desc} has the same name and scope as {first_desc}, defined at {at}")
            }
            "" => format!("{desc} is the same entity as {first_desc}, defined at {at}"),
            "id" => format!("{desc}: id {key} is already used by {first_desc} at {at}"),
            field if hidden.contains(&(i, field.to_owned())) => {
                format!("{desc}: its {field} {SENSITIVE} is already used by {first_desc} at {at}")
            }
            field => format!("{desc}: {field} \"{key}\" is already used by {first_desc} at {at}"),
        };
        let origin = b.entities[i].origin.clone();
        b.diags.push(Diagnostic::error(origin, message).about(desc));
    }
}
