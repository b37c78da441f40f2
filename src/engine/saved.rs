//! The checks before a saved plan is applied: the live state in scope must be exactly what
//! the plan was computed against, and the plan computed now must be the plan reviewed.

use std::collections::HashMap;

use super::EngineError;
use super::prepare::Planned;
use crate::plan::file::{Fingerprint, PlanFile, plan_digest};

/// Refuses (naming what changed) when the gateway or the configuration moved since the plan
/// `name` was saved.
pub fn check_saved(name: &str, saved: &PlanFile, planned: &Planned) -> Result<(), EngineError> {
    let now = planned.fingerprint();
    if now.digest != saved.fingerprint.digest {
        let what = describe_differences(&saved.fingerprint, &now, planned);
        return Err(EngineError::Refused(format!(
            "Saved plan is stale: the gateway changed since {name} was made, so it was not applied.\n{what}\nMake a new plan."
        )));
    }
    if plan_digest(&planned.plan) != saved.plan_digest {
        return Err(EngineError::Refused(format!(
            "the plan computed now differs from {name} (the configuration's variables changed?); it was not applied. Make a new plan."
        )));
    }
    Ok(())
}

fn describe_differences(saved: &Fingerprint, now: &Fingerprint, planned: &Planned) -> String {
    let dialect = &*planned.dialect;
    let labels: HashMap<String, String> = planned
        .live
        .state
        .entities
        .iter()
        .map(|e| {
            let id = e.id.clone().unwrap_or_default();
            (format!("{}/{id}", e.kind), format!("{} {}", e.kind, dialect.short_name(e.kind, &id, &e.fields)))
        })
        .collect();
    let diffs = saved.differences(now);
    let mut lines: Vec<String> = diffs
        .iter()
        .take(50)
        .map(|(key, what)| format!("  {} {what}", labels.get(key).cloned().unwrap_or_else(|| key.clone())))
        .collect();
    if diffs.len() > 50 {
        lines.push(format!("  ... and {} more", diffs.len() - 50));
    }
    lines.join("\n")
}
