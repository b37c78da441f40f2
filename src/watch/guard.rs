//! The guards a plan must pass before the daemon applies it: the destroy limit
//! (`max_destroy`) and the refusal to empty the gateway (Argo CD's `allowEmpty`,
//! `gitops-anchors.md` §4 item 12).

use super::target::Planned;
use crate::source::environments::WatchPolicy;

/// Why `planned` must not be applied under `policy`, or `None` when it may.
pub fn check(policy: &WatchPolicy, planned: &Planned) -> Option<String> {
    let live = planned.live_entities;
    let empties = planned.destroy > 0 && live > 0 && (planned.desired_entities == 0 || planned.destroy >= live);
    if empties && !policy.allow_empty {
        return Some(format!(
            "the plan would destroy every entity in scope ({} of {live}){}; set allow_empty = true in [watch] to allow it",
            planned.destroy,
            if planned.desired_entities == 0 { ": the configuration at this commit is empty" } else { "" }
        ));
    }
    let limit = policy.max_destroy.limit(live);
    if planned.destroy > limit {
        return Some(format!(
            "the plan would destroy {} entities, more than max_destroy = {} allows ({limit} of {live} in scope); \
             raise max_destroy or split the change",
            planned.destroy, policy.max_destroy
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::environments::MaxDestroy;
    use crate::watch::target::Commit;

    fn planned(destroy: usize, live: usize, desired: usize) -> Planned {
        let commit = Commit { id: "c".into(), subject: String::new(), author: String::new(), date: String::new() };
        Planned {
            commit,
            add: 0,
            change: 0,
            destroy,
            other_nodes: 0,
            live_entities: live,
            desired_entities: desired,
            digest: String::new(),
            engine: Box::new(()),
        }
    }

    #[test]
    fn max_destroy_counts_and_percentages() {
        let mut p = WatchPolicy::default();
        assert_eq!(check(&p, &planned(50, 1000, 950)), None);
        let why = check(&p, &planned(51, 1000, 949)).unwrap();
        assert!(why.contains("destroy 51 entities, more than max_destroy = 50 allows (50 of 1000 in scope)"), "{why}");
        p.max_destroy = MaxDestroy::Percent(20);
        assert_eq!(check(&p, &planned(20, 100, 80)), None);
        let why = check(&p, &planned(21, 100, 79)).unwrap();
        assert!(why.contains("max_destroy = 20% allows (20 of 100 in scope)"), "{why}");
        p.max_destroy = MaxDestroy::Count(0);
        assert!(check(&p, &planned(1, 10, 9)).is_some());
        assert_eq!(check(&p, &planned(0, 10, 10)), None);
    }

    #[test]
    fn emptying_the_gateway_needs_allow_empty() {
        let mut p = WatchPolicy { max_destroy: MaxDestroy::Count(1000), ..WatchPolicy::default() };
        let why = check(&p, &planned(5, 5, 0)).unwrap();
        assert!(why.contains("every entity in scope (5 of 5): the configuration at this commit is empty"), "{why}");
        assert!(check(&p, &planned(5, 5, 5)).unwrap().contains("every entity in scope (5 of 5); set allow_empty"));
        assert_eq!(check(&p, &planned(0, 0, 0)), None, "an empty gateway and configuration");
        p.allow_empty = true;
        assert_eq!(check(&p, &planned(5, 5, 0)), None);
        p.max_destroy = MaxDestroy::Count(2);
        assert!(check(&p, &planned(5, 5, 0)).is_some(), "allow_empty does not lift max_destroy");
    }
}
