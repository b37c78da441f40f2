//! Resolving references once every file is read: within the files to [`Ref::Local`];
//! to [`Ref::Id`] / [`Ref::Key`] for kinds found on the gateway through
//! `_info.default_lookup_tags`; otherwise a dangling-reference error at the reference.
//! Consumer-group memberships become [`KongKind::ConsumerGroupConsumer`] entities, deduplicated.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::Value;

use super::build::{Builder, Member};
use super::refs::Target;
use crate::kong::deck::shape::{lookup_key, ref_fields};
use crate::kong::{KongEntity, KongKind};
use crate::model::{Entity, Ref};
use crate::secrets::SENSITIVE;
use crate::source::diag::Diagnostic;

/// Entities by (kind, field, value) for `id` and the fields references name parents by.
#[derive(Default)]
struct Index(HashMap<(KongKind, &'static str, String), usize>);

impl Index {
    fn add(&mut self, i: usize, e: &Entity) {
        if let Some(id) = &e.id {
            self.0.entry((e.kong(), "id", id.clone())).or_insert(i);
        }
        for field in ref_fields(e.kong()) {
            if let Some(v) = e.fields.get(*field).and_then(Value::as_str) {
                self.0.entry((e.kong(), field, v.to_owned())).or_insert(i);
            }
        }
    }

    fn find(&self, kind: KongKind, target: &Target) -> Option<usize> {
        match target {
            Target::Local(i) => Some(*i),
            Target::Id(id) => self.0.get(&(kind, "id", id.clone())).copied(),
            Target::Field(f, v) => self.0.get(&(kind, *f, v.clone())).copied(),
        }
    }
}

/// A reference to an entity outside the files: by id always (decK resolves an id against
/// the gateway; the plan refuses it when the gateway has none either), by name only when
/// `kind` is looked up on the gateway (`_info.default_lookup_tags`).
fn external(kind: KongKind, target: &Target, lookup: &BTreeMap<KongKind, Vec<String>>) -> Option<Ref> {
    match target {
        Target::Local(_) => None,
        Target::Id(id) => Some(Ref::Id(id.clone())),
        Target::Field(f, v) if lookup.contains_key(&kind) => Some(Ref::Key(lookup_key(kind, f, v))),
        Target::Field(..) => None,
    }
}

/// Resolves every pending reference and membership of `b`.
/// How a message names a reference's target: not at all when it came from a variable.
fn shown(target: &Target, from_env: bool) -> String {
    match target {
        Target::Local(_) => target.shown(),
        _ if from_env => SENSITIVE.to_owned(),
        _ => target.shown(),
    }
}

pub(crate) fn resolve(b: &mut Builder<'_>, lookup: &BTreeMap<KongKind, Vec<String>>) {
    let mut index = Index::default();
    for (i, e) in b.entities.iter().enumerate() {
        index.add(i, e);
    }
    for i in 0..b.entities.len() {
        let pending = std::mem::take(&mut b.info[i].refs);
        for p in pending {
            let resolved = match index.find(p.parent, &p.target) {
                Some(j) => Some(Ref::Local(j)),
                None => external(p.parent, &p.target, lookup),
            };
            let desc = b.info[i].desc.clone();
            match resolved {
                Some(r) => {
                    if let Some(n) = p.nested_in
                        && r != Ref::Local(n)
                    {
                        let msg = format!(
                            "{desc} is nested under {} but its `{}` names {} {}",
                            b.info[n].desc,
                            p.field,
                            p.parent.singular(),
                            shown(&p.target, p.from_env)
                        );
                        b.diags.push(Diagnostic::error(Some(p.origin), msg).about(desc));
                        continue;
                    }
                    b.entities[i].refs.insert(p.field, r);
                }
                None => {
                    let msg = format!(
                        "{desc} refers to {} {}, which is not defined",
                        p.parent.singular(),
                        shown(&p.target, p.from_env)
                    );
                    b.diags.push(Diagnostic::error(Some(p.origin), msg).about(desc));
                }
            }
        }
    }
    memberships(b, &mut index, lookup);
}

fn memberships(b: &mut Builder<'_>, index: &mut Index, lookup: &BTreeMap<KongKind, Vec<String>>) {
    let members = std::mem::take(&mut b.members);
    let mut seen: HashSet<(Ref, Ref)> = HashSet::new();
    let mut out = Vec::new();
    for m in members {
        let Member { file, group, consumer, origin, owner, item, from_env } = m;
        let owner_desc = b.info[owner].desc.clone();
        let group_ref = match index.find(KongKind::ConsumerGroup, &group) {
            Some(j) => Some(Ref::Local(j)),
            None => external(KongKind::ConsumerGroup, &group, lookup),
        };
        let mut consumer_ref = match index.find(KongKind::Consumer, &consumer) {
            Some(j) => Some(Ref::Local(j)),
            None => external(KongKind::Consumer, &consumer, lookup),
        };
        // decK defines a consumer listed under a consumer group that no file defines.
        if consumer_ref.is_none()
            && let (Some((node, path)), Target::Field(..)) = (&item, &consumer)
            && let Some(j) = b.read_entity(file, KongKind::Consumer, node, path, None)
        {
            let e = b.entities[j].clone();
            index.add(j, &e);
            consumer_ref = Some(Ref::Local(j));
        }
        let (Some(g), Some(c)) = (group_ref, consumer_ref) else {
            let (kind, target) = if index.find(KongKind::ConsumerGroup, &group).is_none()
                && external(KongKind::ConsumerGroup, &group, lookup).is_none()
            {
                (KongKind::ConsumerGroup, &group)
            } else {
                (KongKind::Consumer, &consumer)
            };
            let msg =
                format!("{owner_desc} refers to {} {}, which is not defined", kind.singular(), shown(target, from_env));
            b.diags.push(Diagnostic::error(Some(origin), msg).about(owner_desc));
            continue;
        };
        if !seen.insert((g.clone(), c.clone())) {
            continue;
        }
        let mut e = Entity::new(KongKind::ConsumerGroupConsumer);
        e.refs.insert("consumer_group", g);
        e.refs.insert("consumer", c);
        e.origin = Some(origin);
        out.push((e, owner, owner_desc));
    }
    for (e, owner, owner_desc) in out {
        let path = b.info[owner].path.clone();
        b.entities.push(e);
        b.info.push(super::build::Info { path, desc: format!("membership stated by {owner_desc}"), refs: Vec::new() });
    }
}
