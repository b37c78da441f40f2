//! Proving a restore: after a replay's apply, the gateway is read again and planned once
//! more; the replay is verified only when that fresh plan is empty.

use std::collections::BTreeMap;

use super::prepare::{Planned, plan_against};
use crate::model::Kind;
use crate::plan::Verification;
use crate::secrets::Redactor;
use crate::source::Desired;

/// Reads the gateway of `planned` again and plans its configuration once more.
pub async fn verify(planned: &Planned, redactor: &Redactor) -> Verification {
    let (connection, dialect, desired) = (&planned.connection, &*planned.dialect, &planned.desired);
    match plan_against(connection, dialect, desired, redactor, &planned.selection, &mut super::Quiet).await {
        Ok((_, again, _)) if again.is_empty() => Verification::Holds,
        Ok((_, again, _)) => Verification::Fails(again),
        Err(e) => Verification::Error(e.to_string()),
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
