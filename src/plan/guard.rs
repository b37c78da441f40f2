//! Destroy guards checked on every plan that is shown or applied: a per-entity protection
//! (Terraform's `lifecycle { prevent_destroy }`: a plan that would destroy a protected
//! entity fails as a whole, `gitops-anchors.md` §1) and a cap on the number of deletes
//! (`--max-destroy N`, §4 item 12). Which entities are protected is the dialect's call
//! ([`Dialect::protected`]; Kong: the tag [`PROTECT_TAG`]).

use std::collections::HashMap;

use super::{Action, Plan};
use crate::gateway::Dialect;
use crate::model::{Kind, State};

/// The tag that protects an entity from deletion, where entities carry tags.
pub const PROTECT_TAG: &str = "gateform-protect";

/// What the guards allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Guards {
    /// Refuse a plan that destroys a protected entity.
    pub protect: bool,
    /// Refuse a plan that destroys more than this many entities.
    pub max_destroy: Option<usize>,
}

impl Default for Guards {
    /// Protection on, no destroy cap.
    fn default() -> Self {
        Guards { protect: true, max_destroy: None }
    }
}

impl Guards {
    /// No guard at all (a drift report, which only tells).
    pub fn off() -> Self {
        Guards { protect: false, max_destroy: None }
    }
}

/// Why `plan` must not go on under `guards`, with a hint; `None` when it may. `live` is the
/// state the plan was computed against (the protection is read off the live entity, which
/// is what would be destroyed).
pub fn check(plan: &Plan, live: &State, dialect: &dyn Dialect, guards: &Guards) -> Option<String> {
    let mut problems = Vec::new();
    if guards.protect {
        let by_id: HashMap<(Kind, &str), usize> =
            live.entities.iter().enumerate().filter_map(|(i, e)| e.id.as_deref().map(|id| ((e.kind, id), i))).collect();
        let protected: Vec<String> = plan
            .changes
            .iter()
            .filter(|c| c.action == Action::Delete)
            .filter(|c| {
                by_id.get(&(c.kind, c.id.as_str())).is_some_and(|&i| {
                    let e = &live.entities[i];
                    dialect.protected(e.kind, &dialect.live_body(e))
                })
            })
            .map(|c| format!("  - {} {}", c.kind.singular(), c.key))
            .collect();
        if !protected.is_empty() {
            problems.push(format!(
                "the plan would destroy {} protected entit{}:\n{}\nhint: a protected entity is never destroyed \
                 (Terraform's prevent_destroy). To delete it on purpose, first remove the protection from it \
                 (for Kong, the tag `{PROTECT_TAG}`) in a change of its own; or leave it out of this run with \
                 --exclude KIND:NAME.",
                protected.len(),
                if protected.len() == 1 { "y" } else { "ies" },
                protected.join("\n")
            ));
        }
    }
    let destroy = plan.summary().destroy;
    if let Some(max) = guards.max_destroy
        && destroy > max
    {
        let entities = if destroy == 1 { "entity" } else { "entities" };
        problems.push(format!(
            "the plan would destroy {destroy} {entities}, more than --max-destroy {max} allows.\nhint: check the plan \
             (a wrong path or select tag deletes everything it does not see); raise --max-destroy if the deletes \
             are intended, or narrow the run with --target / --exclude."
        ));
    }
    (!problems.is_empty()).then(|| problems.join("\n"))
}
