//! Renames, moves and deletes that decK gets wrong: each is applied on top of a previous
//! version and must converge with no 409 and an empty plan afterwards.

use serde_json::{Value, json};

use super::{apply, converge, plan};
use crate::common::{TestSandbox, write};

fn find<'a>(rows: &'a [Value], field: &str, value: &str) -> Option<&'a Value> {
    rows.iter().find(|r| r[field] == value)
}

#[test]
fn renaming_a_service_keeps_its_routes() {
    let sb = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    let v1 = write(
        dir.path(),
        "v1.yaml",
        r#"
_format_version: "3.0"
services:
  - name: billing
    host: billing.internal
    routes:
      - name: billing-api
        paths: [/billing]
    plugins:
      - name: cors
"#,
    );
    converge(&sb, &v1);
    let route_id = find(&sb.list("/routes"), "name", "billing-api").unwrap()["id"].clone();
    let v2 = write(
        dir.path(),
        "v2.yaml",
        r#"
_format_version: "3.0"
services:
  - name: invoicing
    host: billing.internal
    routes:
      - name: billing-api
        paths: [/billing]
    plugins:
      - name: cors
"#,
    );
    let run = converge(&sb, &v2);
    assert!(run.stdout.contains("Plan: 2 to add, 1 to change, 2 to destroy."), "{}", run.stdout);
    let services = sb.list("/services");
    assert_eq!(services.len(), 1);
    assert_eq!(services[0]["name"], "invoicing");
    let route = find(&sb.list("/routes"), "name", "billing-api").unwrap().clone();
    assert_eq!(route["id"], route_id, "the route was moved, not recreated");
    assert_eq!(route["service"]["id"], services[0]["id"]);
}

#[test]
fn renaming_entities_with_pinned_ids_updates_them_in_place() {
    let sb = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    let doc = |svc: &str, route: &str| {
        format!(
            r#"
_format_version: "3.0"
services:
  - id: 0b5c6a6e-1111-4a4a-8b8b-000000000001
    name: {svc}
    host: a.internal
    routes:
      - id: 0b5c6a6e-1111-4a4a-8b8b-000000000002
        name: {route}
        paths: [/a]
"#
        )
    };
    converge(&sb, &write(dir.path(), "v1.yaml", &doc("one", "r-one")));
    let run = converge(&sb, &write(dir.path(), "v2.yaml", &doc("two", "r-two")));
    assert!(run.stdout.contains("Plan: 0 to add, 2 to change, 0 to destroy."), "{}", run.stdout);
    assert_eq!(sb.get("/services/0b5c6a6e-1111-4a4a-8b8b-000000000001")["name"], "two");
    assert_eq!(sb.get("/routes/0b5c6a6e-1111-4a4a-8b8b-000000000002")["name"], "r-two");
}

#[test]
fn swapping_route_names_never_collides() {
    let sb = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    let doc = |a: &str, b: &str| {
        format!(
            r#"
_format_version: "3.0"
routes:
  - id: 0b5c6a6e-2222-4a4a-8b8b-000000000001
    name: {a}
    paths: [/a]
  - id: 0b5c6a6e-2222-4a4a-8b8b-000000000002
    name: {b}
    paths: [/b]
"#
        )
    };
    converge(&sb, &write(dir.path(), "v1.yaml", &doc("left", "right")));
    converge(&sb, &write(dir.path(), "v2.yaml", &doc("right", "left")));
    assert_eq!(sb.get("/routes/0b5c6a6e-2222-4a4a-8b8b-000000000001")["name"], "right");
    assert_eq!(sb.get("/routes/0b5c6a6e-2222-4a4a-8b8b-000000000002")["name"], "left");
}

#[test]
fn a_route_path_moves_between_routes() {
    let sb = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    let doc = |a: &str, b: &str| {
        format!(
            r#"
_format_version: "3.0"
services:
  - name: shop
    host: shop.internal
    routes:
      - name: first
        paths: {a}
      - name: second
        paths: {b}
"#
        )
    };
    converge(&sb, &write(dir.path(), "v1.yaml", &doc("[/a, /b]", "[/c]")));
    let run = converge(&sb, &write(dir.path(), "v2.yaml", &doc("[/a]", "[/b, /c]")));
    assert!(run.stdout.contains("Plan: 0 to add, 2 to change, 0 to destroy."), "{}", run.stdout);
    let routes = sb.list("/routes");
    assert_eq!(find(&routes, "name", "first").unwrap()["paths"], json!(["/a"]));
    assert_eq!(find(&routes, "name", "second").unwrap()["paths"], json!(["/b", "/c"]));
}

#[test]
fn a_plugin_moves_from_global_to_service_scope() {
    let sb = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    let v1 = write(
        dir.path(),
        "v1.yaml",
        r#"
_format_version: "3.0"
services:
  - name: api
    host: api.internal
plugins:
  - name: rate-limiting
    config:
      minute: 10
"#,
    );
    converge(&sb, &v1);
    let v2 = write(
        dir.path(),
        "v2.yaml",
        r#"
_format_version: "3.0"
services:
  - name: api
    host: api.internal
    plugins:
      - name: rate-limiting
        config:
          minute: 10
"#,
    );
    let run = converge(&sb, &v2);
    assert!(run.stdout.contains("Plan: 1 to add, 0 to change, 1 to destroy."), "{}", run.stdout);
    let plugins = sb.list("/plugins");
    assert_eq!(plugins.len(), 1);
    let svc = &sb.list("/services")[0];
    assert_eq!(plugins[0]["service"]["id"], svc["id"]);
}

#[test]
fn deleting_a_service_removes_its_routes_and_plugins_first() {
    let sb = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    let v1 = write(
        dir.path(),
        "v1.yaml",
        r#"
_format_version: "3.0"
services:
  - name: doomed
    host: doomed.internal
    plugins:
      - name: cors
    routes:
      - name: doomed-1
        paths: [/d1]
        plugins:
          - name: key-auth
      - name: doomed-2
        paths: [/d2]
  - name: kept
    host: kept.internal
"#,
    );
    converge(&sb, &v1);
    let v2 = write(
        dir.path(),
        "v2.yaml",
        r#"
_format_version: "3.0"
services:
  - name: kept
    host: kept.internal
"#,
    );
    let run = converge(&sb, &v2);
    assert!(run.stdout.contains("Plan: 0 to add, 0 to change, 5 to destroy."), "{}", run.stdout);
    assert_eq!(sb.list("/routes").len(), 0);
    assert_eq!(sb.list("/plugins").len(), 0);
    assert_eq!(sb.list("/services").len(), 1);
}

#[test]
fn consumer_groups_membership_and_scoped_plugins() {
    let sb = TestSandbox::enterprise();
    let dir = tempfile::tempdir().unwrap();
    let v1 = write(
        dir.path(),
        "v1.yaml",
        r#"
_format_version: "3.0"
consumer_groups:
  - name: gold
    plugins:
      - name: rate-limiting
        config:
          minute: 100
  - name: silver
consumers:
  - username: alice
    groups:
      - name: gold
      - name: silver
  - username: bob
    groups:
      - name: silver
"#,
    );
    converge(&sb, &v1);
    let gold = sb.get("/consumer_groups/gold");
    assert_eq!(gold["consumers"].as_array().unwrap().len(), 1);
    let v2 = write(
        dir.path(),
        "v2.yaml",
        r#"
_format_version: "3.0"
consumer_groups:
  - name: gold
  - name: silver
consumers:
  - username: alice
    groups:
      - name: silver
  - username: bob
    groups:
      - name: gold
      - name: silver
"#,
    );
    converge(&sb, &v2);
    let gold = sb.get("/consumer_groups/gold");
    let members: Vec<&str> =
        gold["consumers"].as_array().unwrap().iter().map(|c| c["username"].as_str().unwrap()).collect();
    assert_eq!(members, ["bob"]);
    assert_eq!(sb.list("/plugins").len(), 0);
}

#[test]
fn select_tags_leave_unowned_entities_untouched() {
    let sb = TestSandbox::start();
    // An entity another team owns, created out of band, untagged.
    sb.send("POST", "/services", Some(json!({"name": "legacy", "host": "legacy.internal"}))).unwrap();
    sb.send("POST", "/consumers", Some(json!({"username": "other-team", "tags": ["team-b"]}))).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let v1 = write(
        dir.path(),
        "v1.yaml",
        r#"
_format_version: "3.0"
_info:
  select_tags: [team-a]
services:
  - name: payments
    host: payments.internal
consumers:
  - username: payer
"#,
    );
    let run = converge(&sb, &v1);
    assert!(run.stdout.contains("Plan: 2 to add, 0 to change, 0 to destroy."), "{}", run.stdout);
    let payments = find(&sb.list("/services"), "name", "payments").unwrap().clone();
    assert_eq!(payments["tags"], json!(["team-a"]));
    let v2 = write(
        dir.path(),
        "v2.yaml",
        r#"
_format_version: "3.0"
_info:
  select_tags: [team-a]
services: []
"#,
    );
    let run = converge(&sb, &v2);
    assert!(run.stdout.contains("0 to add, 0 to change, 2 to destroy."), "{}", run.stdout);
    let names: Vec<Value> = sb.list("/services").iter().map(|s| s["name"].clone()).collect();
    assert_eq!(names, [json!("legacy")]);
    assert_eq!(sb.list("/consumers").len(), 1);
}

#[test]
fn plan_on_an_empty_gateway_lists_every_entity_and_changes_nothing() {
    let sb = TestSandbox::start();
    let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/demo/kong.yaml");
    let run = plan(&sb, demo);
    run.ok();
    assert!(run.stdout.contains("+ services \"orders\""), "{}", run.stdout);
    assert!(run.stdout.contains("to add, 0 to change, 0 to destroy."), "{}", run.stdout);
    assert!(!run.stdout.contains("demo-web-shop-key"), "secrets never appear: {}", run.stdout);
    assert_eq!(sb.list("/services").len(), 0);
    apply(&sb, demo).ok();
    assert_eq!(sb.list("/services").len(), 2);
}

#[test]
fn a_username_is_reused_after_its_consumer_is_deleted() {
    let sb = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    let doc = |id: &str| {
        format!(
            "_format_version: \"3.0\"\nconsumers:\n  - id: {id}\n    username: bob\n    keyauth_credentials:\n      - key: bob-key-{id}\n"
        )
    };
    converge(&sb, &write(dir.path(), "v1.yaml", &doc("0b5c6a6e-3333-4a4a-8b8b-000000000001")));
    let run = converge(&sb, &write(dir.path(), "v2.yaml", &doc("0b5c6a6e-3333-4a4a-8b8b-000000000002")));
    assert!(run.stdout.contains("Plan: 2 to add, 0 to change, 2 to destroy."), "{}", run.stdout);
    let consumers = sb.list("/consumers");
    assert_eq!(consumers.len(), 1);
    assert_eq!(consumers[0]["id"], "0b5c6a6e-3333-4a4a-8b8b-000000000002");
}

#[test]
fn upstreams_converge_for_every_algorithm_and_hash_setting() {
    let hashes = [
        "",
        "    hash_on: none\n",
        "    hash_on: ip\n",
        "    hash_on: consumer\n",
        "    hash_on: header\n    hash_on_header: X-Id\n",
        "    hash_on: cookie\n    hash_on_cookie: session\n",
    ];
    for algorithm in ["", "round-robin", "consistent-hashing", "least-connections", "latency"] {
        let mut text = String::from("_format_version: \"3.0\"\nupstreams:\n");
        for (i, hash) in hashes.iter().enumerate() {
            text.push_str(&format!("  - name: u{i}\n"));
            if !algorithm.is_empty() {
                text.push_str(&format!("    algorithm: {algorithm}\n"));
            }
            text.push_str(hash);
        }
        let sb = TestSandbox::start();
        let dir = tempfile::tempdir().unwrap();
        let file = write(dir.path(), "kong.yaml", &text);
        let run = super::apply(&sb, &file);
        run.ok();
        let again = super::plan(&sb, &file);
        assert!(again.stdout.contains("No changes."), "algorithm {algorithm:?}:\n{}", again.stdout);
    }
}
