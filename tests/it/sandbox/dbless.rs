//! DB-less `/config` (§3.7).

use serde_json::json;

use super::start;
use gateform::kong::sandbox::SandboxOptions;

fn dbless() -> SandboxOptions {
    SandboxOptions { db_less: true, ..Default::default() }
}

#[tokio::test]
async fn config_loads_nested_entities() {
    let s = start(dbless()).await;
    let doc = json!({
        "_format_version": "3.0",
        "services": [{"name": "svc", "url": "http://a.test", "routes": [{"name": "r", "paths": ["/"], "plugins": [{"name": "cors"}]}]}],
        "consumers": [{"username": "bob", "keyauth_credentials": [{"key": "k"}]}],
        "upstreams": [{"name": "up", "targets": [{"target": "1.2.3.4"}]}],
        "plugins": [{"name": "key-auth", "service": "svc"}],
    });
    let (st, b) = s.post("/config", doc.clone()).await;
    assert_eq!(st, 201, "{b}");
    assert_eq!(b["services"].as_object().unwrap().len(), 1);
    let (_, routes) = s.get("/routes").await;
    assert_eq!(routes["data"][0]["name"], "r");
    let (_, plugins) = s.get("/services/svc/plugins").await;
    assert_eq!(plugins["data"][0]["name"], "key-auth");
    // deterministic ids
    let (_, again) = s.post("/config", doc.clone()).await;
    assert_eq!(
        again["services"],
        b["services"]
            .as_object()
            .map(|o| {
                let mut o = o.clone();
                for v in o.values_mut() {
                    v["created_at"] =
                        again["services"].as_object().unwrap().values().next().unwrap()["created_at"].clone();
                    v["updated_at"] = v["created_at"].clone();
                }
                serde_json::Value::Object(o)
            })
            .unwrap()
    );
    let (st, _) = s.call("POST", "/config?check_hash=1", Some(doc)).await;
    assert_eq!(st, 304);
    let (st, cfg) = s.get("/config").await;
    assert_eq!(st, 200);
    assert!(cfg["config"].as_str().unwrap().contains("_format_version"));
    let (_, status) = s.get("/status").await;
    assert_eq!(status["configuration_hash"].as_str().unwrap().len(), 32);
    let (_, root) = s.get("/").await;
    assert_eq!(root["configuration"]["database"], "off");
}

#[tokio::test]
async fn config_errors_are_code_14_and_atomic() {
    let s = start(dbless()).await;
    let (st, _) =
        s.post("/config", json!({"_format_version": "3.0", "services": [{"name": "keep", "host": "k.test"}]})).await;
    assert_eq!(st, 201);
    let bad =
        json!({"_format_version": "3.0", "services": [{"name": "a", "host": "a.test"}, {"name": "b", "port": 70000}]});
    let (st, b) = s.call("POST", "/config", Some(bad.clone())).await;
    assert_eq!(st, 400);
    assert_eq!(b["code"], 14);
    assert_eq!(b["name"], "invalid declarative configuration");
    assert_eq!(
        b["fields"]["services"][1],
        json!({"host": "required field missing", "port": "value should be between 0 and 65535"})
    );
    assert!(b["fields"]["services"][0].is_null());
    // With flatten_errors the entity errors move out of `fields` (Kong's
    // `declarative_config_flattened`).
    let (st, b) = s.call("POST", "/config?flatten_errors=1", Some(bad)).await;
    assert_eq!(st, 400);
    assert_eq!(b["fields"], json!({}));
    assert_eq!(b["flattened_errors"][0]["entity_type"], "service");
    assert_eq!(b["flattened_errors"][0]["entity_name"], "b");
    assert_eq!(s.get("/services/keep").await.0, 200, "failed load leaves the old config");
    let dup = json!({"_format_version": "3.0", "services": [{"name": "a", "host": "a.test"}, {"name": "a", "host": "a.test"}]});
    let (st, b) = s.post("/config", dup).await;
    assert_eq!(st, 400);
    assert!(b["fields"]["services"][1].as_str().unwrap().starts_with("uniqueness violation: 'services' entity"));
    let yaml = "_format_version: \"3.0\"\nservices:\n- name: y\n  host: y.test\n";
    let r = s.client.post(s.url("/config")).header("content-type", "application/yaml").body(yaml).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 201);
    assert_eq!(s.post("/config", json!({})).await, (400, json!({"message": "expected a declarative configuration"})));
    assert_eq!(
        s.post("/config", json!({"config": "_format_version: '3.0'\nconsumers:\n- username: z\n"})).await.0,
        201
    );
    let db = super::db().await;
    assert_eq!(
        db.get("/config").await,
        (400, json!({"message": "this endpoint is only available when Kong is configured to not use a database"}))
    );
}
