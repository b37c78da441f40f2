//! Unique values (Kong's `unique` fields and composite cache keys, `kong-admin-api.md` §1.6)
//! and the edges that order their release before their acquisition.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::{EdgeKind, GraphError};
use crate::kong::schema::Schemas;
use crate::model::{Kind, State};
use crate::plan::{Action, Plan, live_body, schema_for};

/// The unique values an entity of `kind` with this body holds: `(constraint, value)` pairs,
/// where a constraint is `<table>.<field>` for a unique field, or `<table>.cache_key` for a
/// composite cache key (plugins, targets, acls, keys). Null fields hold nothing.
pub fn unique_values(schemas: &Schemas, kind: Kind, body: &Map<String, Value>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(schema) = schema_for(schemas, kind, body) {
        for (name, field) in &schema.fields {
            if !field.unique || name == "id" || name == "cert_digest" {
                continue;
            }
            match body.get(name) {
                Some(Value::String(s)) => out.push((format!("{}.{name}", kind.table()), s.clone())),
                Some(Value::Number(n)) => out.push((format!("{}.{name}", kind.table()), n.to_string())),
                _ => {}
            }
        }
    }
    let id = |f: &str| body.get(f).and_then(|v| v.get("id")).and_then(Value::as_str).unwrap_or("").to_owned();
    let s = |f: &str| body.get(f).and_then(Value::as_str).unwrap_or("").to_owned();
    let composite = match kind {
        Kind::Plugin => Some(format!(
            "{}|route={}|service={}|consumer={}|consumer_group={}",
            s("name"),
            id("route"),
            id("service"),
            id("consumer"),
            id("consumer_group")
        )),
        Kind::Target => Some(format!("{}|{}", id("upstream"), s("target"))),
        Kind::Acl => Some(format!("{}|{}", id("consumer"), s("group"))),
        Kind::Key => body.get("kid").and_then(Value::as_str).map(|kid| format!("{kid}|{}", id("set"))),
        _ => None,
    };
    if let Some(v) = composite {
        out.push((format!("{}.cache_key", kind.table()), v));
    }
    out
}

/// Whether a temporary value can stand in for this constraint (single string fields only).
pub fn temporary_allowed(constraint: &str) -> bool {
    !constraint.ends_with(".cache_key")
}

/// A temporary value for a unique field while its real value is still held elsewhere.
pub fn temporary_value(kind: Kind, _field: &str, real: &Value, id: &str) -> Value {
    let short: String = id.chars().filter(|c| c.is_ascii_hexdigit()).take(8).collect();
    match real {
        Value::String(s) if kind == Kind::Sni => Value::String(format!("tmp-{short}.{}", s.trim_start_matches("*."))),
        Value::String(s) => Value::String(format!("{s}-tmp-{short}")),
        _ => Value::Null,
    }
}

/// Adds an edge from the step releasing each unique value to the step acquiring it.
pub(super) fn add_unique_edges(
    plan: &Plan,
    live: &State,
    schemas: &Schemas,
    by_id: &HashMap<(Kind, &str), usize>,
    edges: &mut Vec<(usize, usize, EdgeKind)>,
) -> Result<(), GraphError> {
    // Unique values are per kind: only the kinds that acquire values need their holders.
    let acquiring: std::collections::HashSet<Kind> =
        plan.changes.iter().filter(|c| c.action != Action::Delete).map(|c| c.kind).collect();
    let mut holders: HashMap<(String, String), (Kind, &str)> = HashMap::new();
    for e in live.entities.iter().filter(|e| acquiring.contains(&e.kind)) {
        let Some(id) = e.id.as_deref() else { continue };
        for key in unique_values(schemas, e.kind, &live_body(e)) {
            holders.insert(key, (e.kind, id));
        }
    }
    let new_values: Vec<Vec<(String, String)>> = plan
        .changes
        .iter()
        .map(|c| c.body.as_ref().map(|b| unique_values(schemas, c.kind, &with_id(b, &c.id))).unwrap_or_default())
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
