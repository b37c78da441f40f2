//! One test per example body of `kong-admin-api.md` §4.3: exact status and JSON body.

use serde_json::json;

use super::db;

#[tokio::test]
async fn missing_required_field() {
    let s = db().await;
    let (st, b) = s.post("/upstreams", json!({})).await;
    assert_eq!(st, 400);
    assert_eq!(
        b,
        json!({"code":2,"name":"schema violation","message":"schema violation (name: required field missing)","fields":{"name":"required field missing"}})
    );
}

#[tokio::test]
async fn two_errors() {
    let s = db().await;
    let (st, b) = s.post("/services", json!({"connect_timeout": "x"})).await;
    assert_eq!(st, 400);
    assert_eq!(
        b,
        json!({"code":2,"name":"schema violation","message":"2 schema violations (connect_timeout: expected an integer; host: required field missing)","fields":{"connect_timeout":"expected an integer","host":"required field missing"}})
    );
}

#[tokio::test]
async fn entity_check() {
    let s = db().await;
    let (st, b) = s.post("/routes", json!({})).await;
    assert_eq!(st, 400);
    assert_eq!(
        b,
        json!({"code":2,"name":"schema violation","message":"schema violation (must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'https')","fields":{"@entity":["must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'https'"]}})
    );
}

#[tokio::test]
async fn set_element() {
    let s = db().await;
    let (st, b) = s.post("/routes", json!({"protocols": ["htp"], "paths": ["/"]})).await;
    assert_eq!(st, 400);
    assert_eq!(
        b,
        json!({"code":2,"name":"schema violation","message":"schema violation (protocols.1: expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp)","fields":{"protocols":["expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp"]}})
    );
}

#[tokio::test]
async fn nested_record() {
    let s = db().await;
    let (st, b) = s.post("/plugins", json!({"name": "http-log", "config": "x"})).await;
    assert_eq!(st, 400);
    assert_eq!(
        b,
        json!({"code":2,"name":"schema violation","message":"schema violation (config: expected a record)","fields":{"config":"expected a record"}})
    );
    let (st, b) = s.post("/plugins", json!({"name": "http-log"})).await;
    assert_eq!(st, 400);
    assert_eq!(
        b,
        json!({"code":2,"name":"schema violation","message":"schema violation (config.http_endpoint: required field missing)","fields":{"config":{"http_endpoint":"required field missing"}}})
    );
}

#[tokio::test]
async fn unique() {
    let s = db().await;
    s.create("/services", json!({"name": "svc-a", "host": "a.test"})).await;
    let (st, b) = s.post("/services", json!({"name": "svc-a", "host": "a.test"})).await;
    assert_eq!(st, 409);
    assert_eq!(
        b,
        json!({"code":5,"name":"unique constraint violation","message":"UNIQUE violation detected on '{name=\"svc-a\"}'","fields":{"name":"svc-a"}})
    );
}

#[tokio::test]
async fn plugin_duplicate() {
    let s = db().await;
    let svc = s.create("/services", json!({"name": "svc-a", "host": "a.test"})).await;
    let id = svc["id"].as_str().unwrap();
    s.create("/services/svc-a/plugins", json!({"name": "basic-auth"})).await;
    let (st, b) = s.post("/services/svc-a/plugins", json!({"name": "basic-auth"})).await;
    assert_eq!(st, 409);
    let msg = format!(
        "UNIQUE violation detected on '{{consumer=null,name=\"basic-auth\",route=null,service={{id=\"{id}\"}}}}'"
    );
    assert_eq!(
        b,
        json!({"code":5,"name":"unique constraint violation","message":msg,"fields":{"consumer":null,"name":"basic-auth","route":null,"service":{"id":id}}})
    );
}

#[tokio::test]
async fn duplicate_id_on_post() {
    let s = db().await;
    let u = "9748f662-7711-4a90-8186-dc02f10eb0f5";
    s.create("/consumers", json!({"id": u, "username": "a"})).await;
    let (st, b) = s.post("/consumers", json!({"id": u, "username": "b"})).await;
    assert_eq!(st, 400);
    assert_eq!(
        b,
        json!({"code":3,"name":"primary key violation","message":format!("primary key violation on key '{{id=\"{u}\"}}'"),"fields":{"id":u}})
    );
}

#[tokio::test]
async fn fk_target_missing() {
    let s = db().await;
    let u = "9748f662-7711-4a90-8186-dc02f10eb0f5";
    let (st, b) = s.post("/routes", json!({"paths": ["/"], "service": {"id": u}})).await;
    assert_eq!(st, 400);
    assert_eq!(
        b,
        json!({"code":4,"name":"foreign key violation","message":format!("the foreign key '{{id=\"{u}\"}}' does not reference an existing 'services' entity."),"fields":{"service":{"id":u}}})
    );
}

#[tokio::test]
async fn delete_blocked() {
    let s = db().await;
    s.create("/services", json!({"name": "svc-a", "host": "a.test"})).await;
    s.create("/services/svc-a/routes", json!({"paths": ["/"]})).await;
    let (st, b) = s.call("DELETE", "/services/svc-a", None).await;
    assert_eq!(st, 400);
    assert_eq!(
        b,
        json!({"code":4,"name":"foreign key violation","message":"an existing 'routes' entity references this 'services' entity","fields":{"@referenced_by":"routes"}})
    );
}

#[tokio::test]
async fn fk_unresolved() {
    let s = db().await;
    let (st, b) = s.post("/routes", json!({"paths": ["/"], "service": {"name": "non-existing"}})).await;
    assert_eq!(st, 400);
    assert_eq!(
        b,
        json!({"code":13,"name":"foreign keys unresolved","message":"foreign key unresolved (service.name: the foreign key cannot be resolved with '{name=\"non-existing\"}' for an existing 'services' entity)","fields":{"service":{"name":"the foreign key cannot be resolved with '{name=\"non-existing\"}' for an existing 'services' entity"}}})
    );
}

#[tokio::test]
async fn get_missing() {
    let s = db().await;
    assert_eq!(s.get("/services/nope").await, (404, json!({"message": "Not found"})));
}

#[tokio::test]
async fn patch_missing_by_id_and_key() {
    let s = db().await;
    let u = "9748f662-7711-4a90-8186-dc02f10eb0f5";
    let (st, b) = s.call("PATCH", &format!("/services/{u}"), Some(json!({"host": "x"}))).await;
    assert_eq!(st, 404);
    assert_eq!(
        b,
        json!({"code":6,"name":"not found","message":format!("could not find the entity with primary key '{{id=\"{u}\"}}'"),"fields":{"id":u}})
    );
    let (st, b) = s.call("PATCH", "/services/foo", Some(json!({"host": "x"}))).await;
    assert_eq!(st, 404);
    assert_eq!(
        b,
        json!({"code":6,"name":"not found","message":"could not find the entity with '{name=\"foo\"}'","fields":{"name":"foo"}})
    );
}

#[tokio::test]
async fn patch_missing_plugin() {
    let s = db().await;
    let (st, b) =
        s.call("PATCH", "/plugins/9748f662-7711-4a90-8186-dc02f10eb0f5", Some(json!({"enabled": false}))).await;
    assert_eq!((st, b), (404, json!({"message": "Not found"})));
}

#[tokio::test]
async fn invalid_size_offset_options() {
    let s = db().await;
    assert_eq!(
        s.get("/services?size=x").await,
        (400, json!({"code":9,"name":"invalid size","message":"size must be a number"}))
    );
    assert_eq!(
        s.get("/services?offset=x").await,
        (400, json!({"code":7,"name":"invalid offset","message":"'x' is not a valid offset: bad base64 encoding"}))
    );
    assert_eq!(
        s.get("/services?tags=a,b/c").await,
        (
            400,
            json!({"code":11,"name":"invalid options","message":"invalid option (tags: invalid filter syntax)","options":{"tags":"invalid filter syntax"}})
        )
    );
}

#[tokio::test]
async fn invalid_pk() {
    let s = db().await;
    let (st, b) = s.get("/acls/not-a-uuid").await;
    assert_eq!(st, 400);
    assert_eq!(
        b,
        json!({"code":1,"name":"invalid primary key","message":"invalid primary key: '{id=\"expected a valid UUID\"}'","fields":{"id":"expected a valid UUID"}})
    );
}

#[tokio::test]
async fn referenced_by_others() {
    let s = db().await;
    let ca = s.create("/ca_certificates", json!({"cert": super::ca_cert()})).await;
    let c = ca["id"].as_str().unwrap();
    let svc = s.create("/services", json!({"host": "a.test", "protocol": "https", "ca_certificates": [c]})).await;
    let sid = svc["id"].as_str().unwrap();
    let (st, b) = s.call("DELETE", &format!("/ca_certificates/{c}"), None).await;
    assert_eq!(st, 400);
    assert_eq!(
        b,
        json!({"code":19,"name":"referenced by others","message":format!("ca certificate {c} is still referenced by services (id = {sid})")})
    );
}

#[tokio::test]
async fn dbless_write() {
    let s = super::start(gateform::kong::sandbox::SandboxOptions { db_less: true, ..Default::default() }).await;
    let (st, b) = s.post("/routes", json!({"paths": ["/"]})).await;
    assert_eq!(st, 405);
    assert_eq!(
        b,
        json!({"code":12,"name":"operation unsupported","message":"cannot create 'routes' entities when not using a database"})
    );
}

/// "DB down / unexpected": the database refuses a write (another process holds it locked);
/// the sandbox answers 500 with Kong's body and keeps its state as it was.
#[tokio::test]
async fn db_down_is_an_unexpected_error() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("kong.db");
    let s =
        super::start(gateform::kong::sandbox::SandboxOptions { data: Some(data.clone()), ..Default::default() }).await;
    let (st, _) = s.post("/consumers", json!({"username": "before"})).await;
    assert_eq!(st, 201);
    let blocker = rusqlite::Connection::open(&data).unwrap();
    blocker.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let (st, b) = s.post("/consumers", json!({"username": "during"})).await;
    assert_eq!(st, 500);
    assert_eq!(b, json!({"message": "An unexpected error occurred"}));
    blocker.execute_batch("ROLLBACK").unwrap();
    drop(blocker);
    let (_, list) = s.call("GET", "/consumers", None).await;
    let names: Vec<&str> = list["data"].as_array().unwrap().iter().map(|c| c["username"].as_str().unwrap()).collect();
    assert_eq!(names, ["before"], "the refused write left no trace");
    let (st, _) = s.post("/consumers", json!({"username": "after"})).await;
    assert_eq!(st, 201);
}
