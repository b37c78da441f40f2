//! Golden files of the three renderings of one plan that adds, changes and destroys
//! entities of several kinds.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::kong::normalize::{live_body, schema_for};
use crate::kong::schema::Schemas;
use crate::kong::{KongDialect, KongKind as Kind};
use crate::model::{Ref, State};
use crate::plan::{Plan, PlanInput, build};
use crate::render::{json as json_view, markdown, text};

use crate::model::test_entity as entity;

const S_BILLING: &str = "5b3f0c2e-0000-4000-8000-000000000001";
const S_LEGACY: &str = "5b3f0c2e-0000-4000-8000-000000000002";
const R_BILLING: &str = "5b3f0c2e-0000-4000-8000-000000000003";
const R_LEGACY: &str = "5b3f0c2e-0000-4000-8000-000000000004";
const C_OLD: &str = "5b3f0c2e-0000-4000-8000-000000000005";
const K_OLD: &str = "5b3f0c2e-0000-4000-8000-000000000006";
const P_RL: &str = "5b3f0c2e-0000-4000-8000-000000000007";

/// Live entities as Kong returns them (defaults filled).
fn live() -> State {
    let schemas = Schemas::bundled();
    let full = |kind: Kind, id: &str, fields: Value, refs: &[(&'static str, Ref)]| {
        let mut e = entity(kind, Some(id), fields, refs);
        let mut body = live_body(&e);
        schema_for(schemas, kind, &body).unwrap().fill_defaults(&mut body);
        for fk in kind.foreign_keys() {
            body.remove(fk.field);
        }
        e.fields = body;
        e
    };
    State {
        entities: vec![
            full(Kind::Service, S_BILLING, json!({"name": "billing", "host": "old.internal"}), &[]),
            full(Kind::Service, S_LEGACY, json!({"name": "legacy", "host": "legacy.internal"}), &[]),
            full(
                Kind::Route,
                R_BILLING,
                json!({"name": "billing-api", "paths": ["/billing"]}),
                &[("service", Ref::Id(S_BILLING.into()))],
            ),
            full(
                Kind::Route,
                R_LEGACY,
                json!({"name": "legacy-api", "paths": ["/legacy"]}),
                &[("service", Ref::Id(S_LEGACY.into()))],
            ),
            full(Kind::Consumer, C_OLD, json!({"username": "old-user"}), &[]),
            full(
                Kind::KeyauthCredential,
                K_OLD,
                json!({"key": "old-user-secret-key"}),
                &[("consumer", Ref::Id(C_OLD.into()))],
            ),
            full(Kind::Plugin, P_RL, json!({"name": "rate-limiting", "config": {"minute": 10}}), &[]),
        ],
    }
}

fn desired() -> State {
    State {
        entities: vec![
            entity(Kind::Service, None, json!({"name": "billing", "host": "new.internal"}), &[]),
            entity(
                Kind::Route,
                None,
                json!({"name": "billing-api", "paths": ["/billing", "/invoices"]}),
                &[("service", Ref::Local(0))],
            ),
            entity(Kind::Service, None, json!({"name": "orders", "url": "https://orders.internal:8443/v1"}), &[]),
            entity(
                Kind::Route,
                None,
                json!({"name": "orders-api", "paths": ["/orders"], "methods": ["GET", "POST"]}),
                &[("service", Ref::Local(2))],
            ),
            entity(Kind::Consumer, None, json!({"username": "alice"}), &[]),
            entity(
                Kind::BasicauthCredential,
                None,
                json!({"username": "alice", "password": "alice-password"}),
                &[("consumer", Ref::Local(4))],
            ),
            entity(
                Kind::Plugin,
                None,
                json!({"name": "rate-limiting", "config": {"minute": 20, "policy": "local"}}),
                &[],
            ),
            entity(
                Kind::Plugin,
                None,
                json!({"name": "cors", "config": {"origins": ["https://shop.example.com"]}}),
                &[("route", Ref::Local(3))],
            ),
        ],
    }
}

fn sample_plan() -> Plan {
    let secret = BTreeSet::new();
    build(&PlanInput {
        desired: &desired(),
        live: &live(),
        lookup: &State::default(),
        dialect: &KongDialect::bundled(),
        secret_fields: &secret,
    })
    .unwrap()
}

#[test]
fn text_rendering() {
    insta::assert_snapshot!(text::plan(&sample_plan()));
}

#[test]
fn json_rendering() {
    let source = json!({"type": "files", "files": [{"name": "kong.yaml", "sha256": "0".repeat(64)}]});
    insta::assert_snapshot!(json_view::plan(
        &sample_plan(),
        Some(source),
        Some(json!({"address": "http://kong:8001"}))
    ));
}

#[test]
fn markdown_rendering() {
    let header = markdown::Header {
        environment: Some("staging".into()),
        source: Some("commit `4be5c1f0a2b3` (v1.4.0): Add the orders API".into()),
        gateway: Some("http://kong:8001".into()),
    };
    insta::assert_snapshot!(markdown::render(&sample_plan(), &header));
}

#[test]
fn renderings_never_show_secrets() {
    let plan = sample_plan();
    let all = format!(
        "{}{}{}",
        text::plan(&plan),
        json_view::plan(&plan, None, None),
        markdown::render(&plan, &markdown::Header::default())
    );
    assert!(!all.contains("alice-password"));
    assert!(!all.contains("old-user-secret-key"));
}

#[test]
fn json_matches_its_schema_shape() {
    let v: Value = serde_json::from_str(&json_view::plan(&sample_plan(), None, None)).unwrap();
    assert_eq!(v["format_version"], "2");
    for key in ["add", "change", "destroy"] {
        assert!(v["summary"][key].is_u64());
    }
    for c in v["changes"].as_array().unwrap() {
        for key in ["action", "kind", "key", "id", "fields", "before", "after"] {
            assert!(c.get(key).is_some(), "change lacks {key}: {c}");
        }
    }
}
