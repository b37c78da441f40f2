//! Proving a restore: after a replay's apply, the gateway is read again and planned once
//! more; the replay is verified only when that fresh plan is empty (and, for a gateway that
//! names the configuration it serves, when it still serves the one just loaded). What was
//! restored is counted from that proof, not from the configuration.

use std::collections::BTreeMap;

use super::prepare::{Planned, plan_against};
use super::target::Connection;
use crate::apply::{Applied, ChangeOutcome};
use crate::model::Kind;
use crate::plan::{Action, Selection, Verification};
use crate::secrets::Redactor;
use crate::source::Desired;

/// Reads the gateway of `planned` again and plans its configuration once more.
pub async fn verify(planned: &Planned, redactor: &Redactor) -> Verification {
    verify_on(&planned.connection, &planned.desired, &planned.selection, redactor, None).await
}

/// Reads the gateway of `connection` again and plans `desired` once more. With `served`
/// (what the node said it serves right after its barrier), the node must still serve it.
/// `selection` narrows the plan as it narrowed the apply (`--target`, `--exclude`).
pub async fn verify_on(
    connection: &Connection,
    desired: &Desired,
    selection: &Selection,
    redactor: &Redactor,
    served: Option<&str>,
) -> Verification {
    let dialect = connection.session.dialect();
    match plan_against(connection, &*dialect, desired, redactor, selection, &mut super::Quiet).await {
        Ok((_, again, _)) if !again.is_empty() => return Verification::Fails(again),
        Ok(_) => {}
        Err(e) => return Verification::Error(e.to_string()),
    }
    let Some(pushed) = served else { return Verification::Holds };
    match connection.session.served_version().await {
        Ok(Some(now)) if now == pushed => Verification::Holds,
        Ok(now) => Verification::Error(format!(
            "the node serves configuration {}, not {pushed}, which it reported right after loading it",
            now.as_deref().unwrap_or("(none)")
        )),
        Err(e) => Verification::Error(format!("cannot read the configuration the node serves: {e}")),
    }
}

/// Counts the entities of `desired` by kind.
pub fn count_by_kind(desired: &Desired) -> BTreeMap<Kind, usize> {
    let mut counts = BTreeMap::new();
    for e in &desired.state.entities {
        *counts.entry(e.kind).or_insert(0) += 1;
    }
    counts
}

/// The entities of `desired` the gateway holds as configured after a restore, by kind:
/// every desired entity but those a fresh plan still has to create or change. When no
/// fresh plan could be computed, those whose create or update did not apply are left out.
pub fn restored(planned: &Planned, applied: Option<&Applied>, verification: &Verification) -> BTreeMap<Kind, usize> {
    let plan = &planned.plan;
    let mut counts = count_by_kind(&planned.desired);
    let mut missing = |kind: Kind| {
        if let Some(n) = counts.get_mut(&kind) {
            *n = n.saturating_sub(1);
        }
    };
    let restores = |a: Action| matches!(a, Action::Create | Action::Update);
    match verification {
        Verification::Holds => {}
        Verification::Fails(left) => left.changes.iter().filter(|c| restores(c.action)).for_each(|c| missing(c.kind)),
        Verification::Error(_) => {
            let outcomes = applied.map(|a| a.report.changes(plan, &planned.schedule)).unwrap_or_default();
            for (i, c) in plan.changes.iter().enumerate().filter(|(_, c)| restores(c.action)) {
                if outcomes.get(i).is_none_or(|o| *o != ChangeOutcome::Applied) {
                    missing(c.kind);
                }
            }
        }
    }
    counts
}
