//! Walking a file's collections into entities: nested and flat forms, foreign keys as
//! pending references (resolved once every file is read), consumer-group membership from
//! either side.

use std::collections::{BTreeMap, BTreeSet};

use super::check::{Checker, full_validation};
use super::fields::{Fields, Owner, Pending};
use super::file::{HEADER_KEYS, SourceFile, UNSUPPORTED_COLLECTIONS};
use super::refs::{Target, parse_ref};
use crate::kong::KongKind;
use crate::kong::deck::convert::{looks_unconverted, upgrade_path};
use crate::kong::deck::shape::{Nest, describe, label};
use crate::kong::schema::{Schema, Schemas};
use crate::model::{Entity, Origin};
use crate::source::diag::Diagnostic;
use crate::source::suggest::did_you_mean;
use crate::source::yaml::{Node, NodeValue};
use serde_json::Value;

/// Facts about an entity kept for messages and resolution.
pub(crate) struct Info {
    pub path: String,
    pub desc: String,
    pub refs: Vec<Pending>,
}

/// A consumer-group membership stated in a file.
pub(crate) struct Member {
    pub file: usize,
    pub group: Target,
    pub consumer: Target,
    pub origin: Origin,
    /// The entity whose collection states it (for messages).
    pub owner: usize,
    /// For `consumer_groups[].consumers` items: the item, from which decK defines the
    /// consumer when no file does, and its path.
    pub item: Option<(Node, String)>,
    /// The item came (wholly or partly) from a `DECK_*` variable: messages do not quote it.
    pub from_env: bool,
}

/// Everything read so far.
pub(crate) struct Builder<'a> {
    pub schemas: &'a Schemas,
    pub files: &'a [SourceFile],
    pub diags: Vec<Diagnostic>,
    pub entities: Vec<Entity>,
    pub info: Vec<Info>,
    pub members: Vec<Member>,
    pub env_fields: BTreeSet<(usize, String)>,
    pub plugin_configs: BTreeMap<String, (usize, Node)>,
    /// Per file: route paths the 3.0 conversion changed, as message fragments.
    pub conversions: Vec<Vec<String>>,
    /// Entities with an error of their own (a type, an unknown field): not validated
    /// against the schemas, which would only repeat it.
    pub invalid: BTreeSet<usize>,
    /// The plugin names the configuration may use.
    pub plugins: crate::kong::plugins::PluginNames,
}

impl<'a> Builder<'a> {
    pub fn new(schemas: &'a Schemas, files: &'a [SourceFile]) -> Self {
        Builder {
            schemas,
            files,
            diags: Vec::new(),
            entities: Vec::new(),
            info: Vec::new(),
            members: Vec::new(),
            env_fields: BTreeSet::new(),
            plugin_configs: BTreeMap::new(),
            conversions: vec![Vec::new(); files.len()],
            invalid: BTreeSet::new(),
            plugins: Default::default(),
        }
    }

    fn error(&mut self, file: usize, node: &Node, message: impl Into<String>) {
        let origin = self.files[file].origin(node.pos);
        self.diags.push(Diagnostic::error(Some(origin), message));
    }

    /// Reads every entity collection at the top of file `fi`.
    pub fn read_file(&mut self, fi: usize) {
        let files = self.files;
        let Some(entries) = files[fi].root.entries() else {
            return;
        };
        for (k, v) in entries {
            let key = k.key_text();
            if HEADER_KEYS.contains(&key.as_str()) {
                continue;
            }
            match KongKind::from_table(&key).filter(|k| *k != KongKind::ConsumerGroupConsumer) {
                Some(kind) => self.read_collection(fi, kind, v, &key, None),
                None if key.starts_with('_') => {
                    let hint = did_you_mean(&key, HEADER_KEYS.iter().copied());
                    self.error(fi, k, format!("unknown top-level key `{key}`{hint}"))
                }
                None if UNSUPPORTED_COLLECTIONS.contains(&key.as_str()) => {
                    self.error(fi, k, format!("`{key}` are not supported by gateform"))
                }
                None => {
                    let kinds = KongKind::ALL.iter().filter(|k| **k != KongKind::ConsumerGroupConsumer);
                    let hint = did_you_mean(&key, kinds.map(|k| k.table()).chain(HEADER_KEYS.iter().copied()));
                    self.error(fi, k, format!("unknown top-level key `{key}`{hint}"))
                }
            }
        }
    }

    /// Reads a list of `kind` entities, nested under `parent` (index, foreign-key field) or not.
    fn read_collection(
        &mut self,
        fi: usize,
        kind: KongKind,
        node: &Node,
        path: &str,
        parent: Option<(usize, &'static str)>,
    ) {
        match &node.value {
            NodeValue::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.read_entity(fi, kind, item, &format!("{path}[{i}]"), parent);
                }
            }
            NodeValue::Null => {}
            _ => self.error(fi, node, format!("{path}: expected a list of {}, not {}", kind.table(), node.type_name())),
        }
    }

    fn schema_for(&self, kind: KongKind, node: &Node) -> (Option<&'a Schema>, bool) {
        if kind != KongKind::Plugin {
            return (self.schemas.entity(kind.table()), false);
        }
        match node.get("name").and_then(Node::as_str).and_then(|n| self.schemas.plugin(n)) {
            Some(s) => (Some(s), false),
            None => (self.schemas.entity("plugins"), true),
        }
    }

    /// Reads one entity and everything nested in it; returns its index.
    pub fn read_entity(
        &mut self,
        fi: usize,
        kind: KongKind,
        node: &Node,
        path: &str,
        parent: Option<(usize, &'static str)>,
    ) -> Option<usize> {
        let files = self.files;
        let file = &files[fi];
        let synthetic;
        let node = match &node.value {
            NodeValue::Map(_) => node,
            // `snis: [example.com]`: Kong's certificate shorthand.
            NodeValue::Str(_) if kind == KongKind::Sni => {
                let key = Node { value: NodeValue::Str("name".into()), pos: node.pos };
                synthetic = Node { value: NodeValue::Map(vec![(key, node.clone())]), pos: node.pos };
                &synthetic
            }
            _ => {
                self.error(
                    fi,
                    node,
                    format!("{path}: expected a mapping (a {}), not {}", kind.singular(), node.type_name()),
                );
                return None;
            }
        };
        let entries = self.entries_with_config_source(fi, kind, node, path);
        let (schema, custom_plugin) = self.schema_for(kind, node);
        if kind == KongKind::Plugin
            && let Some(name_node) = node.get("name")
            && let Some(name) = name_node.as_str()
            && let Some(refusal) = self.plugins.refusal(name, self.schemas)
        {
            self.error(fi, name_node, format!("{path}: {refusal}"));
        }
        let mut checker = match schema {
            Some(schema) if !custom_plugin => Checker::for_entity(file, kind, schema),
            _ => Checker::new(file),
        };
        if kind == KongKind::Service && node.get("url").is_some() {
            checker.overridden = &["protocol", "host", "port", "path"];
        }
        let owner = Owner { kind, parent, schema, custom_plugin };
        let mut fields = Fields::read(&owner, &mut checker, (node, &entries), path);
        let nested = std::mem::take(&mut fields.nested);
        let idx = self.push_entity(fi, (&owner, node, path), checker, fields);
        for (key, nest, v) in nested {
            let npath = format!("{path}.{key}");
            match nest {
                Nest::Child { kind: child, field } => self.read_collection(fi, child, v, &npath, Some((idx, field))),
                Nest::GroupsOfConsumer => self.read_members(fi, idx, v, &npath, true),
                Nest::ConsumersOfGroup => self.read_members(fi, idx, v, &npath, false),
            }
        }
        Some(idx)
    }

    /// Reports the problems `checker` found and Kong's own validation of the entity, then
    /// adds it; returns its index.
    fn push_entity(
        &mut self,
        fi: usize,
        at: (&Owner<'_>, &Node, &str),
        mut checker: Checker<'_>,
        fields: Fields<'_>,
    ) -> usize {
        let ((owner, node, path), file, idx) = (at, &self.files[fi], self.entities.len());
        let (kind, schema, Fields { mut entity, refs, .. }) = (owner.kind, owner.schema, fields);
        let desc = describe(kind, &entity.fields, entity.id.as_deref(), path);
        // Messages already give the path; name the entity when it has a name of its own.
        let suffix = match (label(kind, &entity.fields, entity.id.as_deref()), entity.fields.get("name")) {
            (Some(_), _) => format!(" ({desc})"),
            (None, Some(Value::String(name))) if kind == KongKind::Plugin => {
                format!(" (plugin \"{name}\")")
            }
            _ => String::new(),
        };
        if !checker.problems.is_empty() {
            self.invalid.insert(self.entities.len());
        }
        for p in checker.problems.drain(..) {
            let d = Diagnostic::error(Some(file.origin(p.pos)), format!("{}: {}{suffix}{}", p.path, p.message, p.hint))
                .about(desc.clone());
            self.diags.push(d);
        }
        if let Some(schema) = schema {
            for (field_path, message) in full_validation(kind, schema, &entity.fields) {
                let d =
                    Diagnostic::error(Some(file.origin(node.pos)), format!("{path}.{field_path}: {message} ({desc})"));
                self.diags.push(d.about(desc.clone()));
            }
        }
        for p in checker.env_paths {
            self.env_fields.insert((idx, p));
        }
        if kind == KongKind::Route {
            self.route_paths(fi, &mut entity, node, &desc);
        }
        entity.origin = Some(file.origin(node.pos));
        self.entities.push(entity);
        self.info.push(Info { path: path.to_owned(), desc, refs });
        idx
    }

    /// The entity's entries, with a plugin's `_config` (a `_plugin_configs` entry) merged
    /// under its own `config`: the plugin's values win, nested mappings are merged (decK's
    /// `mergePluginConfig`).
    fn entries_with_config_source(&mut self, fi: usize, kind: KongKind, node: &Node, path: &str) -> Vec<(Node, Node)> {
        let mut entries = node.entries().unwrap_or_default().to_vec();
        if kind != KongKind::Plugin {
            return entries;
        }
        let Some(source) = node.get("_config") else {
            return entries;
        };
        let Some(name) = source.as_str() else {
            self.error(fi, source, format!("{path}._config: expected the name of a _plugin_configs entry"));
            return entries;
        };
        let Some((_, config)) = self.plugin_configs.get(name).cloned() else {
            self.error(fi, source, format!("{path}._config: _plugin_configs has no entry \"{name}\""));
            return entries;
        };
        match entries.iter_mut().find(|(k, _)| k.as_str() == Some("config")) {
            Some((_, own)) => *own = merge_nodes(own, &config),
            None => entries.push((Node { value: NodeValue::Str("config".into()), pos: source.pos }, config)),
        }
        entries
    }

    /// Converts a pre-3.0 file's regex paths, or warns about 3.0 paths that look unconverted.
    fn route_paths(&mut self, fi: usize, entity: &mut Entity, node: &Node, desc: &str) {
        let files = self.files;
        let file = &files[fi];
        let Some(items) = node.get("paths").and_then(Node::items) else {
            return;
        };
        let convert = file.header.version.as_ref().is_none_or(|v| v.needs_conversion());
        for (i, item) in items.iter().enumerate() {
            let Some(path) = item.as_str() else { continue };
            if convert {
                if let Some(new) = upgrade_path(path) {
                    if let Some(slot) = entity.fields.get_mut("paths").and_then(|p| p.get_mut(i)) {
                        *slot = Value::String(new.clone());
                    }
                    self.conversions[fi]
                        .push(format!("{desc} path \"{path}\" → \"{new}\" ({})", file.origin(item.pos)));
                }
            } else if looks_unconverted(path) {
                self.diags.push(
                    Diagnostic::warning(
                        Some(file.origin(item.pos)),
                        format!("{desc}: path \"{path}\" looks like a regular expression but has no `~` prefix; Kong 3 matches it as a plain prefix"),
                    )
                    .about(desc),
                );
            }
        }
    }

    /// `consumers[].groups` (`of_consumer`) or `consumer_groups[].consumers` items.
    fn read_members(&mut self, fi: usize, owner: usize, node: &Node, path: &str, of_consumer: bool) {
        let files = self.files;
        let file = &files[fi];
        let items = match &node.value {
            NodeValue::Seq(items) => items,
            NodeValue::Null => return,
            _ => {
                self.error(fi, node, format!("{path}: expected a list, not {}", node.type_name()));
                return;
            }
        };
        for (i, item) in items.iter().enumerate() {
            let ipath = format!("{path}[{i}]");
            let mut checker = Checker::new(file);
            let other = if of_consumer { KongKind::ConsumerGroup } else { KongKind::Consumer };
            let target = parse_ref(&mut checker, other, item, &ipath, true);
            let owner_desc = self.info[owner].desc.clone();
            for p in checker.problems {
                let message = format!("{}: {} ({owner_desc}){}", p.path, p.message, p.hint);
                self.diags.push(Diagnostic::error(Some(file.origin(p.pos)), message).about(owner_desc.clone()));
            }
            let Some(target) = target else { continue };
            let (group, consumer) =
                if of_consumer { (target, Target::Local(owner)) } else { (Target::Local(owner), target) };
            let from_env = file.holds_env(item);
            let item = (!of_consumer).then(|| (item.clone(), ipath));
            let origin = file.origin(items[i].pos);
            self.members.push(Member { file: fi, group, consumer, origin, owner, item, from_env });
        }
    }
}

/// Whether a service's `url` names its scheme (`http://`); not a string is a type error
/// reported elsewhere.
/// `base` with `extra`'s keys added where `base` has none; nested mappings merge.
fn merge_nodes(base: &Node, extra: &Node) -> Node {
    let (Some(own), Some(more)) = (base.entries(), extra.entries()) else {
        return base.clone();
    };
    let mut out = own.to_vec();
    for (k, v) in more {
        match out.iter_mut().find(|(ok, _)| ok.key_text() == k.key_text()) {
            Some((_, existing)) => {
                if existing.entries().is_some() && v.entries().is_some() {
                    *existing = merge_nodes(existing, v);
                }
            }
            None => out.push((k.clone(), v.clone())),
        }
    }
    Node { value: NodeValue::Map(out), pos: base.pos }
}
