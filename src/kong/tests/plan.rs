//! Plans of Kong configurations: creates then nothing to do, updates, deletes, secrets.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::kong::{KongDialect, KongKind as Kind};
use crate::model::{Entity, Ref, State};
use crate::plan::{Action, Change, Plan, PlanInput, Summary, build};

use crate::model::test_entity as entity;

fn plan(desired: &State, live: &State) -> Plan {
    let secret = BTreeSet::new();
    let dialect = KongDialect::bundled();
    build(&PlanInput { desired, live, lookup: &State::default(), dialect: &dialect, secret_fields: &secret }).unwrap()
}

/// What Kong would return for a desired body: the body itself, with timestamps.
fn as_live(change: &Change) -> Entity {
    let mut row = change.body.clone().unwrap();
    row.insert("id".into(), json!(change.id));
    row.insert("created_at".into(), json!(1700000000));
    crate::kong::entity_from_json(Kind::of(change.kind).unwrap(), Value::Object(row))
}

#[test]
fn creates_then_nothing_to_do() {
    let desired = State {
        entities: vec![
            entity(Kind::Service, None, json!({"name": "svc", "url": "http://up.test:8080/api"}), &[]),
            entity(Kind::Route, None, json!({"name": "r", "paths": ["/a"]}), &[("service", Ref::Local(0))]),
            entity(
                Kind::Plugin,
                None,
                json!({"name": "key-auth", "config": {"key_names": ["k"]}}),
                &[("route", Ref::Local(1))],
            ),
        ],
    };
    let first = plan(&desired, &State::default());
    assert_eq!(first.summary(), Summary { add: 3, change: 0, destroy: 0 });
    let svc = &first.changes[0];
    assert_eq!(svc.key, "\"svc\"");
    let shown: Vec<&str> = svc.fields.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(shown, ["host", "name", "path", "port"], "only non-default fields are shown");
    let plugin = first.changes.iter().find(|c| c.kind == Kind::Plugin).unwrap();
    assert_eq!(plugin.key, "\"key-auth\" (route \"r\")");

    let live = State { entities: first.changes.iter().map(as_live).collect() };
    let second = plan(&desired, &live);
    assert!(second.is_empty(), "{:#?}", second.changes);
}

#[test]
fn updates_show_changed_fields_and_deletes_the_rest() {
    let live = State {
        entities: vec![
            entity(
                Kind::Service,
                Some("11111111-1111-1111-1111-111111111111"),
                json!({"name": "svc", "host": "a.test", "port": 80, "protocol": "http", "retries": 5, "connect_timeout": 60000, "read_timeout": 60000, "write_timeout": 60000, "enabled": true, "path": null, "tags": null}),
                &[],
            ),
            entity(
                Kind::Consumer,
                Some("22222222-2222-2222-2222-222222222222"),
                json!({"username": "old", "custom_id": null, "tags": null}),
                &[],
            ),
        ],
    };
    let desired = State { entities: vec![entity(Kind::Service, None, json!({"name": "svc", "host": "b.test"}), &[])] };
    let p = plan(&desired, &live);
    assert_eq!(p.summary(), Summary { add: 0, change: 1, destroy: 1 });
    let upd = &p.changes[1];
    assert_eq!(upd.action, Action::Update);
    assert_eq!(upd.fields.len(), 1);
    assert_eq!(upd.fields[0].path, "host");
    assert_eq!(upd.fields[0].before, Some(json!("a.test")));
    assert_eq!(upd.fields[0].after, Some(json!("b.test")));
    assert_eq!(p.changes[0].action, Action::Delete);
    assert_eq!(p.changes[0].key, "\"old\"");
}

#[test]
fn secrets_are_masked_in_display_but_sent_in_bodies() {
    let desired = State {
        entities: vec![
            entity(Kind::Consumer, None, json!({"username": "bob"}), &[]),
            entity(Kind::KeyauthCredential, None, json!({"key": "very-secret-key"}), &[("consumer", Ref::Local(0))]),
        ],
    };
    let p = plan(&desired, &State::default());
    let cred = p.changes.iter().find(|c| c.kind == Kind::KeyauthCredential).unwrap();
    assert!(!cred.key.contains("very-secret-key"));
    let shown = serde_json::to_string(&p).unwrap();
    assert!(!shown.contains("very-secret-key"), "{shown}");
    assert_eq!(cred.body.as_ref().unwrap()["key"], "very-secret-key");
}

#[test]
fn basic_auth_password_hash_is_recognised() {
    use crate::gateway::Dialect;
    use sha1::{Digest, Sha1};
    let dialect = KongDialect::bundled();
    let parents = std::collections::BTreeMap::from([("consumer", "C".to_owned())]);
    let hash = json!(hex::encode(Sha1::digest(b"s3cretC")));
    let kind = Kind::BasicauthCredential.kind();
    assert!(dialect.equal(kind, "password", &json!("s3cret"), &hash, &parents));
    assert!(!dialect.equal(kind, "password", &json!("other"), &hash, &parents));
    assert!(!dialect.equal(Kind::Consumer.kind(), "password", &json!("s3cret"), &hash, &parents));
}

#[test]
fn ca_certificates_of_a_service_compare_as_a_set() {
    const A: &str = "aaaaaaaa-0000-4000-8000-000000000001";
    const B: &str = "bbbbbbbb-0000-4000-8000-000000000002";
    let svc = |cas: [&str; 2]| {
        entity(
            Kind::Service,
            Some("11111111-1111-1111-1111-111111111111"),
            json!({"name": "s", "host": "s.test", "ca_certificates": cas}),
            &[],
        )
    };
    let cas = |id: &str| entity(Kind::CaCertificate, Some(id), json!({"cert": format!("-----BEGIN {id}-----")}), &[]);
    let first = plan(&State { entities: vec![cas(A), cas(B), svc([A, B])] }, &State::default());
    let live = State { entities: first.changes.iter().map(as_live).collect() };
    let reordered = plan(&State { entities: vec![cas(A), cas(B), svc([B, A])] }, &live);
    assert!(reordered.is_empty(), "{:?}", reordered.changes);
}
