//! Checks of a configuration against what the gateway holds, before planning
//! ([`crate::gateway::Dialect::check_live`]); each problem is placed at the field that
//! causes it:
//!
//! * a reference (`tyk.md` §2.4) must name an object the configuration declares, or one
//!   the gateway has and keeps (outside gateform's scope): an object in scope that the
//!   configuration leaves out is deleted by the plan, so naming it is dangling too;
//! * a listen path may not be one an API the plan leaves alone serves (Tyk would rename
//!   one of them at load, §1.4);
//! * an id the configuration declares may not belong to an object another scope owns.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::kind::{TykKind, tyk};
use super::load::Documents;
use super::marker;
use super::refs::{Target, references, route};
use crate::gateway::Live;
use crate::model::{Entity, Origin, State};
use crate::source::Diagnostic;

fn space(kind: TykKind) -> Target {
    match kind {
        TykKind::Api | TykKind::OasApi => Target::Api,
        TykKind::Policy => Target::Policy,
        TykKind::Certificate => Target::Certificate,
    }
}

fn describe(e: &Entity) -> String {
    let k = tyk(e.kind);
    let id = e.id.as_deref().unwrap_or("");
    match e.fields.get("name").and_then(|n| n.as_str()) {
        Some(name) if !name.is_empty() => format!("{} {name:?} ({id})", k.noun()),
        _ => format!("{} {id:?}", k.noun()),
    }
}

/// Every problem of `desired` against `live` (see the module documentation).
pub fn check(docs: &Documents, desired: &State, live: &Live) -> Vec<Diagnostic> {
    let at = |e: &Entity, pointer: &str| -> Option<Origin> {
        let id = e.id.clone().unwrap_or_default();
        match docs.get(&(tyk(e.kind), id)) {
            Some(d) => Some(d.origin_of(pointer)),
            None => e.origin.clone(),
        }
    };
    let declared: HashSet<(Target, &str)> =
        desired.entities.iter().filter_map(|e| Some((space(tyk(e.kind)), e.id.as_deref()?))).collect();
    let kept: HashMap<(Target, &str), &Entity> = live
        .lookup
        .entities
        .iter()
        .filter(|e| TykKind::of(e.kind).is_some())
        .filter_map(|e| Some(((space(tyk(e.kind)), e.id.as_deref()?), e)))
        .collect();
    let deleted: HashSet<(Target, &str)> = live
        .state
        .entities
        .iter()
        .filter(|e| TykKind::of(e.kind).is_some())
        .filter_map(|e| Some((space(tyk(e.kind)), e.id.as_deref()?)))
        .filter(|k| !declared.contains(k))
        .collect();
    let mut out = Vec::new();
    for e in &desired.entities {
        let k = tyk(e.kind);
        for r in references(k, &e.fields) {
            let key = (r.target, r.id.as_str());
            if declared.contains(&key) || kept.contains_key(&key) {
                continue;
            }
            let why = if deleted.contains(&key) {
                "which this plan deletes: it is on the gateway but not in the configuration"
            } else {
                "which is neither in the configuration nor on the gateway"
            };
            out.push(Diagnostic::error(
                at(e, &r.pointer),
                format!("{}: `{}` names {} {:?}, {why}", describe(e), r.field, r.target.noun(), r.id),
            ));
        }
        if let Some(id) = e.id.as_deref()
            && let Some(other) = kept.get(&(space(k), id))
        {
            let owner = match marker::read(tyk(other.kind), &other.fields) {
                Some(m) if m.owner.is_empty() => "gateform without a scope".to_owned(),
                Some(m) => format!("the scope {}", m.owner.join(",")),
                None => "no one (it carries no gateform marker)".to_owned(),
            };
            out.push(Diagnostic::error(
                e.origin.clone(),
                format!(
                    "{} is on the gateway as {}, owned by {owner}; gateform does not take over what another scope owns \
                     (hint: plan with that scope's --select-tag, or give this object another id)",
                    describe(e),
                    describe(other)
                ),
            ));
        }
    }
    out.extend(routes(desired, live, &at));
    out
}

/// Listen paths of the configuration served by APIs the plan leaves alone.
fn routes(desired: &State, live: &Live, at: &dyn Fn(&Entity, &str) -> Option<Origin>) -> Vec<Diagnostic> {
    let mut served: BTreeMap<(String, String), &Entity> = BTreeMap::new();
    let declared: HashSet<&str> = desired.entities.iter().filter_map(|e| e.id.as_deref()).collect();
    for e in &live.lookup.entities {
        let Some(k) = TykKind::of(e.kind) else { continue };
        if e.id.as_deref().is_some_and(|id| declared.contains(id)) {
            continue;
        }
        if let Some((domain, lp, _)) = route(k, &e.fields) {
            served.insert((domain, lp), e);
        }
    }
    let mut out = Vec::new();
    for e in &desired.entities {
        let k = tyk(e.kind);
        let Some((domain, lp, ptr)) = route(k, &e.fields) else { continue };
        if let Some(other) = served.get(&(domain.clone(), lp.clone())) {
            out.push(Diagnostic::error(
                at(e, ptr),
                format!(
                    "{} listens on {domain}{lp}, which {} serves on the gateway (outside what this configuration \
                     manages): Tyk would rename one of them at load (`-<api_id>` appended)",
                    describe(e),
                    describe(other)
                ),
            ));
        }
    }
    out
}
