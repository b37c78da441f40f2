//! Matching desired Kong entities to live ones and resolving references.

use serde_json::json;

use crate::kong::{KongDialect, KongKind as Kind};
use crate::model::test_entity as entity;
use crate::model::{Ref, State};
use crate::plan::resolve;

#[test]
fn matches_by_name_and_keeps_the_live_id() {
    let live = State {
        entities: vec![entity(Kind::Service, Some("11111111-1111-1111-1111-111111111111"), json!({"name": "a"}), &[])],
    };
    let desired = State {
        entities: vec![
            entity(Kind::Service, None, json!({"name": "a"}), &[]),
            entity(Kind::Route, None, json!({"name": "r"}), &[("service", Ref::Local(0))]),
        ],
    };
    let r = resolve(&KongDialect::bundled(), &desired, &live, &State::default()).unwrap();
    assert_eq!(r[0].id, "11111111-1111-1111-1111-111111111111");
    assert_eq!(r[0].live, Some(0));
    assert_eq!(r[1].parents["service"], "11111111-1111-1111-1111-111111111111");
    assert_eq!(r[1].live, None);
}

#[test]
fn ids_are_deterministic_and_stable_for_unnamed_entities() {
    let desired = State {
        entities: vec![
            entity(Kind::Route, None, json!({"paths": ["/a"]}), &[]),
            entity(Kind::Route, None, json!({"paths": ["/a"]}), &[]),
        ],
    };
    let first = resolve(&KongDialect::bundled(), &desired, &State::default(), &State::default()).unwrap();
    assert_ne!(first[0].id, first[1].id);
    // Once created, the same files match the created entities by id.
    let live = State {
        entities: first.iter().map(|r| entity(Kind::Route, Some(&r.id), json!({"paths": ["/a"]}), &[])).collect(),
    };
    let second = resolve(&KongDialect::bundled(), &desired, &live, &State::default()).unwrap();
    assert_eq!(second[0].id, first[0].id);
    assert_eq!(second[0].live, Some(0));
    assert_eq!(second[1].live, Some(1));
}

#[test]
fn dangling_id_reference_is_an_error() {
    let desired = State {
        entities: vec![entity(
            Kind::Route,
            None,
            json!({"name": "r"}),
            &[("service", Ref::Id("22222222-2222-2222-2222-222222222222".into()))],
        )],
    };
    let errs = resolve(&KongDialect::bundled(), &desired, &State::default(), &State::default()).unwrap_err();
    assert!(errs[0].message.contains("neither in the configuration nor on the gateway"), "{}", errs[0]);
}

#[test]
fn lookup_keys_resolve_against_lookup_state() {
    let lookup = State {
        entities: vec![entity(
            Kind::ConsumerGroup,
            Some("33333333-3333-3333-3333-333333333333"),
            json!({"name": "g"}),
            &[],
        )],
    };
    let desired = State {
        entities: vec![
            entity(Kind::Consumer, None, json!({"username": "u"}), &[]),
            entity(
                Kind::ConsumerGroupConsumer,
                None,
                json!({}),
                &[("consumer", Ref::Local(0)), ("consumer_group", Ref::Key("g".into()))],
            ),
        ],
    };
    let r = resolve(&KongDialect::bundled(), &desired, &State::default(), &lookup).unwrap();
    assert_eq!(r[1].parents["consumer_group"], "33333333-3333-3333-3333-333333333333");
}
