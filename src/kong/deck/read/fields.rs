//! One entity's entries read into its fields: its id, its foreign keys (as pending
//! references), the collections nested in it, decK's extra keys and the schema's fields, each
//! value checked where it was written.

use super::check::Checker;
use super::refs::{Target, parse_ref};
use crate::kong::KongKind;
use crate::kong::deck::shape::{Extra, Nest, extra, is_uuid, nested, nested_keys};
use crate::kong::schema::Schema;
use crate::model::{Entity, Origin};
use crate::source::yaml::{Node, NodeValue};

/// A foreign key waiting for resolution.
pub(crate) struct Pending {
    pub field: &'static str,
    pub parent: KongKind,
    pub target: Target,
    pub origin: Origin,
    /// Set when the entity is nested under `parent` and also names it explicitly: both must agree.
    pub nested_in: Option<usize>,
    /// The reference came (wholly or partly) from a `DECK_*` variable: messages do not quote it.
    pub from_env: bool,
}

/// The entity whose entries are read.
pub(super) struct Owner<'s> {
    /// Its kind.
    pub kind: KongKind,
    /// The entity it is nested under (index, foreign-key field), if any.
    pub parent: Option<(usize, &'static str)>,
    /// Its schema, when Kong has one for it.
    pub schema: Option<&'s Schema>,
    /// A plugin Kong's schemas do not know: its `config` is taken as written.
    pub custom_plugin: bool,
}

/// What an entity's entries gave: the entity, its foreign keys, and the collections nested
/// in it (read after it, with their key).
pub(super) struct Fields<'n> {
    pub entity: Entity,
    pub refs: Vec<Pending>,
    pub nested: Vec<(String, Nest, &'n Node)>,
}

impl<'n> Fields<'n> {
    /// Reads every entry of `owner`'s mapping `node` (at `path`, its entries as
    /// `entries`); problems go to `checker`. An entity nested under another refers to it.
    pub fn read(
        owner: &Owner<'_>,
        checker: &mut Checker<'_>,
        (node, entries): (&Node, &'n [(Node, Node)]),
        path: &str,
    ) -> Self {
        let mut fields = Fields { entity: Entity::new(owner.kind), refs: Vec::new(), nested: Vec::new() };
        for (k, v) in entries {
            fields.entry(owner, checker, k, v, path);
        }
        let kind = owner.kind;
        if kind == KongKind::Plugin && node.get("name").and_then(Node::as_str).is_none() {
            checker.problem(node, path, "a plugin needs a `name`");
        }
        if let Some((p, field)) = owner.parent
            && !fields.refs.iter().any(|r| r.field == field)
        {
            let parent = kind.foreign_key(field).map(|f| f.parent).unwrap_or(kind);
            let origin = checker.file.origin(node.pos);
            let target = Target::Local(p);
            fields.refs.push(Pending { field, parent, target, origin, nested_in: None, from_env: false });
        }
        fields
    }

    fn entry(&mut self, owner: &Owner<'_>, checker: &mut Checker<'_>, k: &Node, v: &'n Node, path: &str) {
        let (kind, key) = (owner.kind, k.key_text());
        let kpath = format!("{path}.{key}");
        if key == "id" {
            match &v.value {
                NodeValue::Str(s) if is_uuid(s) => self.entity.id = Some(s.clone()),
                NodeValue::Null => {}
                _ => checker.problem(v, &kpath, "expected a valid UUID"),
            }
        } else if let Some(nest) = nested(kind, &key) {
            self.nested.push((key, nest, v));
        } else if let Some(fk) = kind.foreign_key(&key) {
            let nested_in = owner.parent.filter(|(_, f)| *f == fk.field).map(|(p, _)| p);
            if let Some(target) = parse_ref(checker, fk.parent, v, &kpath, false) {
                let (origin, from_env) = (checker.file.origin(v.pos), checker.file.holds_env(v));
                self.refs.push(Pending { field: fk.field, parent: fk.parent, target, origin, nested_in, from_env });
            }
        } else if let Some(x) = extra(kind, &key) {
            self.extra(x, kind, checker, v, key, &kpath);
        } else if let Some(field) = owner.schema.and_then(|s| s.field(&key)) {
            let value = if owner.custom_plugin && key == "config" {
                if !matches!(v.value, NodeValue::Map(_) | NodeValue::Null) {
                    checker.problem(v, &kpath, "expected a record");
                }
                checker.any(v, &key)
            } else {
                checker.typed(field, v, &kpath, &key)
            };
            self.entity.fields.insert(key, value);
        } else if owner.schema.is_none() {
            let value = checker.any(v, &key);
            self.entity.fields.insert(key, value);
        } else {
            let known = owner.schema.into_iter().flat_map(|s| s.fields.iter().map(|(n, _)| n.as_str()));
            let nested = nested_keys(kind).iter().map(|(n, _)| *n);
            let fks = kind.foreign_keys().iter().map(|fk| fk.field);
            checker.unknown_field(k, &kpath, known.chain(nested).chain(fks));
        }
    }

    /// A key decK adds to Kong's fields (`url` of a service, ...): checked by its type and kept.
    fn extra(&mut self, x: Extra, kind: KongKind, checker: &mut Checker<'_>, v: &Node, key: String, kpath: &str) {
        match x {
            Extra::Ignored | Extra::ConfigSource => {}
            Extra::Str if kind == KongKind::Service && key == "url" && !has_scheme(v) => {
                let file = checker.file;
                let value = v.as_str().filter(|_| !file.holds_env(v)).map(|u| format!(" `{u}`")).unwrap_or_default();
                checker.problem(
                    v,
                    kpath,
                    format!("the URL{value} has no scheme; write it as http://... or https://..."),
                );
                let value = checker.any(v, &key);
                self.entity.fields.insert(key, value);
            }
            Extra::Str if !matches!(v.value, NodeValue::Str(_) | NodeValue::Null) => {
                checker.problem(v, kpath, "expected a string")
            }
            Extra::Int if !matches!(v.value, NodeValue::Int(_) | NodeValue::Null) => {
                checker.problem(v, kpath, "expected an integer")
            }
            Extra::Str | Extra::Int | Extra::Enterprise => {
                let value = checker.any(v, &key);
                self.entity.fields.insert(key, value);
            }
        }
    }
}

/// Whether a `url` names its scheme (`http://...`); a value from elsewhere (not a string) counts.
fn has_scheme(node: &Node) -> bool {
    node.as_str().is_none_or(|u| u.contains("://"))
}
