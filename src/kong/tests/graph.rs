//! Schedules of Kong plans: parents first, unique values released before acquired, cycles
//! broken with temporary values.

use std::collections::BTreeSet;

use serde_json::json;

use crate::graph::{GraphError, Schedule, schedule, schedule_taking_bodies};
use crate::kong::{KongDialect, KongKind as Kind};
use crate::model::{Entity, Ref, State};
use crate::plan::{Action, Plan, PlanInput, build};

use crate::model::test_entity as entity;

const S1: &str = "11111111-1111-1111-1111-111111111111";
const S2: &str = "22222222-2222-2222-2222-222222222222";
const R1: &str = "33333333-3333-3333-3333-333333333333";
const R2: &str = "44444444-4444-4444-4444-444444444444";

fn plan_and_schedule(desired: &State, live: &State) -> (Plan, Result<Schedule, GraphError>) {
    let secret = BTreeSet::new();
    let dialect = KongDialect::bundled();
    let plan =
        build(&PlanInput { desired, live, lookup: &State::default(), dialect: &dialect, secret_fields: &secret })
            .unwrap();
    let sched = schedule(&plan, live, &dialect);
    (plan, sched)
}

fn position(plan: &Plan, s: &Schedule, kind: Kind, action: Action, finalize: bool) -> usize {
    let order = s.order();
    order
        .iter()
        .position(|&st| {
            let c = &plan.changes[s.steps[st].change];
            c.kind == kind && c.action == action && s.steps[st].finalize == finalize
        })
        .unwrap()
}

fn svc(id: &str, name: &str) -> Entity {
    entity(
        Kind::Service,
        Some(id),
        json!({"name": name, "host": "h.test", "port": 80, "protocol": "http", "retries": 5, "connect_timeout": 60000, "read_timeout": 60000, "write_timeout": 60000, "enabled": true, "path": null, "tags": null, "client_certificate": null, "tls_verify": null, "tls_verify_depth": null, "ca_certificates": null}),
        &[],
    )
}

#[test]
fn renamed_service_moves_its_routes_before_the_old_one_goes() {
    let live = State {
        entities: vec![
            svc(S1, "old"),
            entity(Kind::Route, Some(R1), json!({"name": "r", "paths": ["/a"]}), &[("service", Ref::Id(S1.into()))]),
        ],
    };
    let desired = State {
        entities: vec![
            entity(Kind::Service, None, json!({"name": "new", "host": "h.test"}), &[]),
            entity(Kind::Route, None, json!({"name": "r", "paths": ["/a"]}), &[("service", Ref::Local(0))]),
        ],
    };
    let (plan, s) = plan_and_schedule(&desired, &live);
    let s = s.unwrap();
    let create = position(&plan, &s, Kind::Service, Action::Create, false);
    let update = position(&plan, &s, Kind::Route, Action::Update, false);
    let delete = position(&plan, &s, Kind::Service, Action::Delete, false);
    assert!(create < update && update < delete, "{create} {update} {delete}");
}

#[test]
fn replaced_service_with_the_same_name_uses_a_temporary_name() {
    // The file pins a new id for "api": the old "api" must go, but its route moves first.
    let live = State {
        entities: vec![
            svc(S1, "api"),
            entity(Kind::Route, Some(R1), json!({"name": "r", "paths": ["/a"]}), &[("service", Ref::Id(S1.into()))]),
        ],
    };
    let desired = State {
        entities: vec![
            entity(Kind::Service, Some(S2), json!({"name": "api", "host": "h.test"}), &[]),
            entity(Kind::Route, None, json!({"name": "r", "paths": ["/a"]}), &[("service", Ref::Local(0))]),
        ],
    };
    let (plan, s) = plan_and_schedule(&desired, &live);
    let s = s.unwrap();
    let create = position(&plan, &s, Kind::Service, Action::Create, false);
    let update = position(&plan, &s, Kind::Route, Action::Update, false);
    let delete = position(&plan, &s, Kind::Service, Action::Delete, false);
    let finalize = position(&plan, &s, Kind::Service, Action::Create, true);
    assert!(create < update && update < delete && delete < finalize);
    let step = s.steps.iter().find(|st| !st.finalize && st.request.path.ends_with(S2)).unwrap();
    assert_ne!(step.request.body.as_ref().unwrap()["name"], "api");
    let fin = s.steps.iter().find(|st| st.finalize).unwrap();
    assert_eq!(fin.request.method, "PATCH");
    assert_eq!(fin.request.body, Some(json!({"name": "api"})));
}

#[test]
fn swapped_route_names_never_collide() {
    let live = State {
        entities: vec![
            entity(Kind::Route, Some(R1), json!({"name": "x", "paths": ["/a"]}), &[]),
            entity(Kind::Route, Some(R2), json!({"name": "y", "paths": ["/b"]}), &[]),
        ],
    };
    let desired = State {
        entities: vec![
            entity(Kind::Route, Some(R1), json!({"name": "y", "paths": ["/a"]}), &[]),
            entity(Kind::Route, Some(R2), json!({"name": "x", "paths": ["/b"]}), &[]),
        ],
    };
    let (plan, s) = plan_and_schedule(&desired, &live);
    let s = s.unwrap();
    assert_eq!(plan.changes.len(), 2);
    assert_eq!(s.steps.len(), 3, "one update is split into a temporary name and a final PATCH");
    // Simulate the order: the name held by each route at each moment must stay unique.
    let mut names = std::collections::HashMap::from([(R1, "x".to_string()), (R2, "y".to_string())]);
    for st in s.order() {
        let step = &s.steps[st];
        let id = if step.request.path.ends_with(R1) { R1 } else { R2 };
        let name = step.request.body.as_ref().unwrap()["name"].as_str().unwrap().to_owned();
        names.insert(id, name);
        let values: BTreeSet<_> = names.values().collect();
        assert_eq!(values.len(), 2, "collision after step {st}: {names:?}");
    }
    assert_eq!(names[R1], "y");
    assert_eq!(names[R2], "x");
}

#[test]
fn username_reused_after_delete_waits_for_the_delete() {
    let live = State {
        entities: vec![entity(
            Kind::Consumer,
            Some(S1),
            json!({"username": "bob", "custom_id": null, "tags": null}),
            &[],
        )],
    };
    let desired = State { entities: vec![entity(Kind::Consumer, Some(S2), json!({"username": "bob"}), &[])] };
    let (plan, s) = plan_and_schedule(&desired, &live);
    let s = s.unwrap();
    assert!(
        position(&plan, &s, Kind::Consumer, Action::Delete, false)
            < position(&plan, &s, Kind::Consumer, Action::Create, false)
    );
    assert_eq!(s.steps.len(), 2);
}

#[test]
fn deletes_run_children_first_and_creates_parents_first() {
    let live = State {
        entities: vec![
            svc(S1, "gone"),
            entity(Kind::Route, Some(R1), json!({"name": "r", "paths": ["/a"]}), &[("service", Ref::Id(S1.into()))]),
        ],
    };
    let desired = State::default();
    let (plan, s) = plan_and_schedule(&desired, &live);
    let s = s.unwrap();
    assert!(
        position(&plan, &s, Kind::Route, Action::Delete, false)
            < position(&plan, &s, Kind::Service, Action::Delete, false)
    );
}

#[test]
fn a_schedule_taking_the_bodies_equals_the_copying_one() {
    // A rename with a temporary name, and a swap that needs one: bodies moved into the
    // requests must give the same steps, temporary values and edges as bodies copied.
    let cases = [
        (
            State {
                entities: vec![
                    svc(S1, "api"),
                    entity(
                        Kind::Route,
                        Some(R1),
                        json!({"name": "r", "paths": ["/a"]}),
                        &[("service", Ref::Id(S1.into()))],
                    ),
                ],
            },
            State {
                entities: vec![
                    entity(Kind::Service, Some(S2), json!({"name": "api", "host": "h.test"}), &[]),
                    entity(Kind::Route, None, json!({"name": "r", "paths": ["/a"]}), &[("service", Ref::Local(0))]),
                ],
            },
        ),
        (
            State {
                entities: vec![
                    entity(Kind::Route, Some(R1), json!({"name": "x", "paths": ["/a"]}), &[]),
                    entity(Kind::Route, Some(R2), json!({"name": "y", "paths": ["/b"]}), &[]),
                ],
            },
            State {
                entities: vec![
                    entity(Kind::Route, Some(R1), json!({"name": "y", "paths": ["/a"]}), &[]),
                    entity(Kind::Route, Some(R2), json!({"name": "x", "paths": ["/b"]}), &[]),
                ],
            },
        ),
    ];
    let dialect = KongDialect::bundled();
    for (live, desired) in cases {
        let (mut plan, copied) = plan_and_schedule(&desired, &live);
        let copied = copied.unwrap();
        assert!(copied.steps.iter().any(|s| s.finalize), "the case needs a temporary value");
        let taken = schedule_taking_bodies(&mut plan, &live, &dialect).unwrap();
        assert_eq!(taken, copied);
        assert!(plan.changes.iter().all(|c| c.body.is_none()), "bodies are left in the plan");
    }
}
