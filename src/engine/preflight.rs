//! Checks against the gateway beyond the scope read, before a plan is trusted:
//!
//! * an entity of the configuration may name by id a parent that is on the gateway but
//!   neither in the files nor in the ownership scope (decK resolves such references against
//!   the gateway): those parents are read one by one, for reference only;
//! * with an ownership scope, a create whose id or unique name already belongs to an entity
//!   outside the scope would overwrite or collide with something gateform does not own: the
//!   plan is refused, naming the owner's tags (decK: "already exists").

use std::collections::HashSet;

use tokio::task::JoinSet;

use super::EngineError;
use super::target::Connection;
use crate::gateway::{Dialect, Live};
use crate::model::{Entity, Kind, Ref, State};
use crate::plan::{Action, Plan};
use crate::source::Desired;

/// How many lookups run at once.
const CONCURRENCY: usize = 16;

/// Reads, for reference only, the parents `desired` names by id that the live state read
/// does not hold.
pub async fn resolve_outside_references(
    connection: &Connection,
    desired: &Desired,
    live: &mut Live,
) -> Result<(), EngineError> {
    let known: HashSet<(Kind, &str)> = desired
        .state
        .entities
        .iter()
        .chain(&live.state.entities)
        .chain(&live.lookup.entities)
        .filter_map(|e| e.id.as_deref().map(|id| (e.kind, id)))
        .collect();
    let mut wanted: Vec<(Kind, String)> = Vec::new();
    for e in &desired.state.entities {
        for (field, r) in &e.refs {
            let (Ref::Id(id), Some(fk)) = (r, e.kind.foreign_key(field)) else { continue };
            if !known.contains(&(fk.parent, id.as_str())) && !wanted.contains(&(fk.parent, id.clone())) {
                wanted.push((fk.parent, id.clone()));
            }
        }
    }
    let found = lookup_all(connection, wanted).await?;
    live.lookup.entities.extend(found.into_iter().filter_map(|(_, e)| e));
    Ok(())
}

/// Refuses a scoped plan whose creates would take an id or a unique name held outside the
/// scope.
pub async fn check_scope(
    connection: &Connection,
    dialect: &dyn Dialect,
    plan: &Plan,
    scope: &[String],
    live: &State,
) -> Result<(), EngineError> {
    if scope.is_empty() {
        return Ok(());
    }
    let mut wanted = Vec::new();
    let mut changes = Vec::new();
    for c in plan.changes.iter().filter(|c| c.action == Action::Create) {
        let body = c.after.clone().unwrap_or_default();
        for address in dialect.addresses(c.kind, &c.id, &body) {
            wanted.push((c.kind, address));
            changes.push(c);
        }
    }
    let in_scope: HashSet<&str> = live.entities.iter().filter_map(|e| e.id.as_deref()).collect();
    let found = lookup_all(connection, wanted).await?;
    let mut problems = Vec::new();
    for (c, ((kind, address), entity)) in changes.into_iter().zip(found) {
        let outside = entity.filter(|e| e.id.as_deref().is_none_or(|id| !in_scope.contains(id)));
        let Some(entity) = outside else { continue };
        let what = if c.id == address { format!("id {address}") } else { format!("{address:?}") };
        let origin = c.origin.as_ref().map(|o| format!("{o}: ")).unwrap_or_default();
        problems.push(format!(
            "{origin}{kind} {} would be created with {what}, which the gateway already has outside the ownership \
             scope ({}); gateform does not overwrite what it does not own",
            c.key,
            owner_tags(&entity, scope)
        ));
    }
    if problems.is_empty() {
        return Ok(());
    }
    problems.sort();
    problems.dedup();
    problems.push("hint: give that entity the scope's tags, rename yours, or plan without --select-tag".into());
    Err(EngineError::Refused(problems.join("\n")))
}

fn owner_tags(e: &Entity, scope: &[String]) -> String {
    let tags = e.tags();
    if tags.is_empty() {
        format!("it has no tags, the scope is {}", scope.join(","))
    } else {
        format!("its tags are {}, the scope is {}", tags.join(","), scope.join(","))
    }
}

/// Looks up every `(kind, address)`, [`CONCURRENCY`] at a time, in order.
async fn lookup_all(
    connection: &Connection,
    wanted: Vec<(Kind, String)>,
) -> Result<Vec<((Kind, String), Option<Entity>)>, EngineError> {
    let mut out = Vec::with_capacity(wanted.len());
    for chunk in wanted.chunks(CONCURRENCY) {
        let mut tasks = JoinSet::new();
        for (i, (kind, address)) in chunk.iter().enumerate() {
            let (session, kind, address) = (connection.session.clone(), *kind, address.clone());
            tasks.spawn(async move { (i, session.lookup(kind, &address).await) });
        }
        let mut results: Vec<Option<Entity>> = vec![None; chunk.len()];
        while let Some(joined) = tasks.join_next().await {
            let Ok((i, result)) = joined else { continue };
            results[i] = result?;
        }
        out.extend(chunk.iter().cloned().zip(results));
    }
    Ok(out)
}
