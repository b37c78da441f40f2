//! The edges that order the release of a unique value (a name, a composite key, as the
//! dialect names them) before another entity acquires it.

use std::borrow::Cow;
use std::collections::HashMap;

use serde_json::{Map, Value};

use super::{EdgeKind, GraphError};
use crate::gateway::Dialect;
use crate::model::{Kind, State};
use crate::plan::{Action, Plan};

/// Adds an edge from the step releasing each unique value to the step acquiring it.
pub(super) fn add_unique_edges(
    plan: &Plan,
    bodies: &[Option<Cow<'_, Map<String, Value>>>],
    live: &State,
    dialect: &dyn Dialect,
    by_id: &HashMap<(Kind, &str), usize>,
    edges: &mut Vec<(usize, usize, EdgeKind)>,
) -> Result<(), GraphError> {
    // Holders are read from the kinds the plan changes: a dialect's constraint may span
    // kinds (Tyk's `api_id` names one file for classic and OAS APIs alike), so a kind that
    // only releases values (by deletes) may hold what another kind acquires.
    let changed: std::collections::HashSet<Kind> = plan.changes.iter().map(|c| c.kind).collect();
    let mut holders: HashMap<(String, String), (Kind, &str)> = HashMap::new();
    for e in live.entities.iter().filter(|e| changed.contains(&e.kind)) {
        let Some(id) = e.id.as_deref() else { continue };
        for key in dialect.unique_values(e.kind, &dialect.live_body(e)) {
            holders.insert(key, (e.kind, id));
        }
    }
    let new_values: Vec<Vec<(String, String)>> = plan
        .changes
        .iter()
        .zip(bodies)
        .map(|(c, body)| body.as_ref().map(|b| dialect.unique_values(c.kind, &with_id(b, &c.id))).unwrap_or_default())
        .collect();
    for (i, c) in plan.changes.iter().enumerate() {
        if c.action == Action::Delete {
            continue;
        }
        for (constraint, value) in &new_values[i] {
            let Some(&(hkind, hid)) = holders.get(&(constraint.clone(), value.clone())) else { continue };
            if hkind == c.kind && hid == c.id {
                continue;
            }
            let conflict = || GraphError::Conflict {
                acquirer: format!("{} {}", c.kind.singular(), c.key),
                holder: format!("{} {hid}", hkind.singular()),
                constraint: constraint.clone(),
                value: value.clone(),
            };
            let Some(&h) = by_id.get(&(hkind, hid)) else { return Err(conflict()) };
            match plan.changes[h].action {
                Action::Delete => edges.push((h, i, EdgeKind::Unique(constraint.clone(), value.clone()))),
                Action::Update if !new_values[h].contains(&(constraint.clone(), value.clone())) => {
                    edges.push((h, i, EdgeKind::Unique(constraint.clone(), value.clone())))
                }
                _ => {
                    let holder = &plan.changes[h];
                    return Err(GraphError::Conflict {
                        acquirer: format!("{} {}", c.kind.singular(), c.key),
                        holder: format!("{} {}", holder.kind.singular(), holder.key),
                        constraint: constraint.clone(),
                        value: value.clone(),
                    });
                }
            }
        }
    }
    Ok(())
}

fn with_id(body: &Map<String, Value>, id: &str) -> Map<String, Value> {
    let mut b = body.clone();
    b.insert("id".into(), Value::String(id.to_owned()));
    b
}
