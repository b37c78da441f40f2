//! Conformance: CRUD of every entity kind, integrity rules, pagination, restart with
//! `--data`, bad requests, the `/_sandbox` extension.

use serde_json::{Value, json};

use super::{db, start};
use gateform::kong::sandbox::{FaultRule, SandboxOptions};

async fn crud(s: &super::Sb, coll: &str, body: Value, patch: Value) -> Value {
    let created = s.create(coll, body).await;
    let id = created["id"].as_str().expect("id").to_owned();
    let (st, got) = s.get(&format!("{coll}/{id}")).await;
    assert_eq!(st, 200, "GET {coll}/{id}: {got}");
    let (st, patched) = s.call("PATCH", &format!("{coll}/{id}"), Some(patch.clone())).await;
    assert_eq!(st, 200, "PATCH {coll}: {patched}");
    for (k, v) in patch.as_object().unwrap() {
        if k != "password" {
            assert_eq!(&patched[k], v, "{coll} {k}");
        }
    }
    let (st, list) = s.get(coll).await;
    assert_eq!(st, 200);
    assert!(list["data"].as_array().unwrap().iter().any(|e| e["id"] == json!(id)));
    patched
}

#[tokio::test]
async fn crud_of_every_kind() {
    let s = start(SandboxOptions { enterprise: true, ..Default::default() }).await;
    let svc = crud(&s, "/services", json!({"name": "svc", "url": "http://a.test/x"}), json!({"retries": 3})).await;
    assert_eq!(svc["path"], "/x");
    assert!(svc.get("url").is_none());
    crud(&s, "/routes", json!({"name": "r", "paths": ["/"], "service": {"name": "svc"}}), json!({"methods": ["GET"]}))
        .await;
    let c = crud(&s, "/consumers", json!({"username": "bob"}), json!({"custom_id": "c1"})).await;
    let p = crud(&s, "/plugins", json!({"name": "key-auth"}), json!({"enabled": false})).await;
    assert_eq!(p["config"]["key_names"], json!(["apikey"]));
    crud(&s, "/upstreams", json!({"name": "up.test"}), json!({"slots": 100})).await;
    let t = s.create("/upstreams/up.test/targets", json!({"target": "a.test"})).await;
    assert_eq!(t["target"], "a.test:8000");
    assert_eq!(s.get("/upstreams/up.test/targets/a.test:8000").await.0, 200);
    assert_eq!(s.call("PATCH", "/upstreams/up.test/targets/a.test", Some(json!({"weight": 5}))).await.1["weight"], 5);
    assert_eq!(s.get("/targets").await.0, 404);
    let (cert, key) = super::leaf_cert("a.test");
    let cert_e = crud(
        &s,
        "/certificates",
        json!({"cert": cert, "key": key, "snis": ["b.test", "a.test"]}),
        json!({"tags": ["x"]}),
    )
    .await;
    assert_eq!(cert_e["snis"], json!(["a.test", "b.test"]));
    assert_eq!(s.get("/certificates/a.test").await.1["id"], cert_e["id"]);
    crud(&s, "/snis", json!({"name": "c.test", "certificate": {"id": cert_e["id"]}}), json!({"tags": ["y"]})).await;
    crud(&s, "/ca_certificates", json!({"cert": super::ca_cert()}), json!({"tags": ["z"]})).await;
    crud(&s, "/vaults", json!({"prefix": "my-env", "name": "env"}), json!({"description": "d"})).await;
    crud(&s, "/key-sets", json!({"name": "ks"}), json!({"tags": ["a"]})).await;
    crud(
        &s,
        "/keys",
        json!({"name": "k1", "kid": "k1", "jwk": super::EC_JWK, "set": {"name": "ks"}}),
        json!({"tags": ["a"]}),
    )
    .await;
    crud(&s, "/consumer_groups", json!({"name": "gold"}), json!({"tags": ["a"]})).await;
    let cid = c["id"].as_str().unwrap();
    let ka = crud(&s, "/key-auths", json!({"consumer": {"id": cid}}), json!({"tags": ["a"]})).await;
    assert_eq!(ka["key"].as_str().unwrap().len(), 32);
    let ba =
        crud(&s, "/consumers/bob/basic-auth", json!({"username": "u1", "password": "p"}), json!({"password": "q"}))
            .await;
    use sha1::Digest;
    assert_eq!(ba["password"], hex::encode(sha1::Sha1::digest(format!("q{cid}").as_bytes())));
    crud(&s, "/consumers/bob/hmac-auth", json!({"username": "h1"}), json!({"tags": ["a"]})).await;
    crud(&s, "/consumers/bob/jwt", json!({}), json!({"tags": ["a"]})).await;
    crud(&s, "/consumers/bob/acls", json!({"group": "admins"}), json!({"tags": ["a"]})).await;
    assert_eq!(s.get("/consumers/bob/acls/admins").await.0, 200);
    crud(&s, "/consumers/bob/oauth2", json!({"name": "app"}), json!({"tags": ["a"]})).await;
    crud(&s, "/mtls-auths", json!({"consumer": {"id": cid}, "subject_name": "CN=x"}), json!({"tags": ["a"]})).await;
    let (st, m) = s.post("/consumer_groups/gold/consumers", json!({"consumer": "bob"})).await;
    assert_eq!(st, 201, "{m}");
    let (st, g) = s.get("/consumer_groups/gold").await;
    assert_eq!(st, 200);
    assert_eq!(g["consumers"][0]["username"], "bob");
    // cascade: deleting the consumer removes its credentials and memberships
    assert_eq!(s.call("DELETE", "/consumers/bob", None).await.0, 204);
    assert_eq!(s.get("/key-auths").await.1["data"], json!([]));
    assert_eq!(s.get("/consumer_groups/gold").await.1["consumers"], json!([]));
    assert_eq!(s.call("DELETE", "/consumers/bob", None).await.0, 204, "idempotent delete");
}

#[tokio::test]
async fn put_upserts_and_keeps_ids() {
    let s = db().await;
    let (st, a) = s.call("PUT", "/services/svc", Some(json!({"host": "a.test"}))).await;
    assert_eq!(st, 200);
    let (st, b) = s.call("PUT", "/services/svc", Some(json!({"host": "b.test"}))).await;
    assert_eq!(st, 200);
    assert_eq!(a["id"], b["id"]);
    assert_eq!(b["host"], "b.test");
    let u = "6b1a5b2e-8a5f-4c1e-9a34-4f1b0c0d0e0f";
    let (st, c) = s.call("PUT", &format!("/consumers/{u}"), Some(json!({"username": "x"}))).await;
    assert_eq!((st, c["id"].as_str()), (200, Some(u)));
}

#[tokio::test]
async fn cascade_and_restrict() {
    let s = db().await;
    s.create("/services", json!({"name": "svc", "host": "a.test"})).await;
    let r = s.create("/services/svc/routes", json!({"name": "r", "paths": ["/"]})).await;
    s.create("/routes/r/plugins", json!({"name": "cors"})).await;
    s.create("/services/svc/plugins", json!({"name": "acl", "config": {"allow": ["a"]}})).await;
    assert_eq!(s.call("DELETE", "/services/svc", None).await.0, 400);
    assert_eq!(s.call("DELETE", &format!("/routes/{}", r["id"].as_str().unwrap()), None).await.0, 204);
    assert_eq!(s.get("/plugins").await.1["data"].as_array().unwrap().len(), 1);
    assert_eq!(s.call("DELETE", "/services/svc", None).await.0, 204);
    assert_eq!(s.get("/plugins").await.1["data"], json!([]));
    s.create("/upstreams", json!({"name": "up"})).await;
    s.create("/upstreams/up/targets", json!({"target": "1.2.3.4"})).await;
    assert_eq!(s.call("DELETE", "/upstreams/up/targets/9.9.9.9", None).await.0, 404);
    assert_eq!(s.call("DELETE", "/upstreams/up", None).await.0, 204);
    let (cert, key) = super::leaf_cert("a.test");
    let c = s.create("/certificates", json!({"cert": cert, "key": key, "snis": ["a.test"]})).await;
    s.create(
        "/services",
        json!({"name": "tls", "host": "a.test", "protocol": "https", "client_certificate": {"id": c["id"]}}),
    )
    .await;
    assert_eq!(s.call("DELETE", &format!("/certificates/{}", c["id"].as_str().unwrap()), None).await.0, 400);
}

#[tokio::test]
async fn pagination_and_tags_over_2500() {
    let s = db().await;
    for i in 0..2500 {
        let tags = if i % 2 == 0 { json!(["even", "all"]) } else { json!(["odd", "all"]) };
        s.create("/consumers", json!({"username": format!("u{i}"), "tags": tags})).await;
    }
    let mut seen = Vec::new();
    let mut next = Some("/consumers?size=1000".to_owned());
    while let Some(path) = next {
        let (st, page) = s.get(&path).await;
        assert_eq!(st, 200);
        for e in page["data"].as_array().unwrap() {
            seen.push(e["id"].as_str().unwrap().to_owned());
        }
        next = page["next"].as_str().map(str::to_owned);
    }
    assert_eq!(seen.len(), 2500);
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "ordered by id");
    let count = |path: String| {
        let s = &s;
        async move {
            let mut n = 0;
            let mut next = Some(path);
            while let Some(p) = next {
                let (_, page) = s.get(&p).await;
                n += page["data"].as_array().unwrap().len();
                next = page["next"].as_str().map(str::to_owned);
            }
            n
        }
    };
    assert_eq!(count("/consumers?tags=even".into()).await, 1250);
    assert_eq!(count("/consumers?tags=even,all".into()).await, 1250);
    assert_eq!(count("/consumers?tags=even/odd&size=700".into()).await, 2500);
    assert_eq!(count("/consumers?tags=even,odd".into()).await, 0);
    let (_, p) = s.get("/consumers").await;
    assert_eq!(p["data"].as_array().unwrap().len(), 100);
    assert!(p["offset"].is_string());
    assert_eq!(s.get("/consumers?size=1001").await.0, 400);
    let (_, last) = s.get("/consumers?custom_id=nope").await;
    assert_eq!(last, json!({"data": [], "next": null}));
}

#[tokio::test]
async fn restart_with_data_keeps_state() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sandbox.db");
    let opts = SandboxOptions { data: Some(file.clone()), ..Default::default() };
    let s = start(opts.clone()).await;
    let svc = s.create("/services", json!({"name": "svc", "host": "a.test"})).await;
    s.create("/services/svc/routes", json!({"paths": ["/"]})).await;
    s.sb.shutdown().await;
    let s = start(opts).await;
    let (st, got) = s.get("/services/svc").await;
    assert_eq!(st, 200);
    assert_eq!(got, svc);
    assert_eq!(s.call("DELETE", "/services/svc", None).await.0, 400, "indexes rebuilt");
    let fresh = super::db().await;
    assert_eq!(fresh.get("/services").await.1["data"], json!([]));
}

#[tokio::test]
async fn bad_requests_never_corrupt() {
    let s = db().await;
    let send = |ct: &str, body: &str| {
        let rb = s.client.post(s.url("/services")).header("content-type", ct).body(body.to_owned());
        async move {
            let r = rb.send().await.unwrap();
            let st = r.status().as_u16();
            (st, r.text().await.unwrap())
        }
    };
    assert_eq!(send("application/json", "{nope").await, (400, "{\"message\":\"Cannot parse JSON body\"}".into()));
    assert_eq!(send("text/plain", "x").await.0, 415);
    let form = send("application/x-www-form-urlencoded", "name=f&host=f.test&port=81&tags[]=a").await;
    assert_eq!(form.0, 201, "{}", form.1);
    let huge = "a".repeat(70 * 1024 * 1024);
    assert_eq!(send("application/json", &huge).await.0, 413);
    assert_eq!(s.get("/nope/nope/nope/nope/nope").await, (404, json!({"message": "Not found"})));
    assert_eq!(s.call("DELETE", "/", None).await, (405, json!({"message": "Method not allowed"})));
    // raw garbage over TCP
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(s.sb.addr()).await.unwrap();
    tcp.write_all(b"GARBAGE /\r\n\r\n").await.unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), tcp.read_to_end(&mut buf)).await;
    let (st, list) = s.get("/services").await;
    assert_eq!(st, 200);
    assert_eq!(list["data"].as_array().unwrap().len(), 1);
    let r = s.client.get(s.url("/")).send().await.unwrap();
    assert_eq!(r.headers()["server"], "kong/3.9.3");
    assert!(r.headers().contains_key("x-kong-admin-latency"));
    assert_eq!(r.headers()["content-type"], "application/json; charset=utf-8");
    let root: Value = r.json().await.unwrap();
    assert_eq!(root["configuration"]["database"], "postgres");
    assert_eq!(root["plugins"]["available_on_server"]["key-auth"]["priority"], 1250);
    let r = s.client.request(reqwest::Method::OPTIONS, s.url("/services")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 204);
    assert_eq!(r.headers()["allow"], "GET, HEAD, OPTIONS, POST");
}

#[tokio::test]
async fn schemas_and_info_endpoints() {
    let s = db().await;
    let (st, sch) = s.get("/schemas/services").await;
    assert_eq!(st, 200);
    assert!(sch["fields"].is_array());
    assert_eq!(s.get("/schemas/plugins/rate-limiting").await.0, 200);
    assert_eq!(s.get("/schemas/plugins/nope").await, (404, json!({"message": "No plugin named 'nope'"})));
    assert_eq!(s.get("/schemas/nope").await, (404, json!({"message": "No entity named 'nope'"})));
    assert_eq!(
        s.post("/schemas/services/validate", json!({"host": "a.test"})).await,
        (200, json!({"message": "schema validation successful"}))
    );
    assert_eq!(s.post("/schemas/services/validate", json!({})).await.0, 400);
    assert!(s.get("/plugins/enabled").await.1["enabled_plugins"].as_array().unwrap().len() >= 45);
    assert!(s.get("/endpoints").await.1["data"].as_array().unwrap().iter().any(|e| e == "/services/{services}/routes"));
    s.create("/services", json!({"host": "a.test", "tags": ["t1", "t2"]})).await;
    assert_eq!(s.get("/tags").await.1["data"].as_array().unwrap().len(), 2);
    assert_eq!(s.get("/tags/t1").await.1["data"][0]["entity_name"], "services");
    assert!(s.get("/status").await.1["database"]["reachable"].as_bool().unwrap());
}

#[tokio::test]
async fn plugin_rules() {
    let s = super::start(SandboxOptions { custom_plugins: vec!["my-plugin".into()], ..Default::default() }).await;
    let p = s.create("/plugins", json!({"name": "my-plugin", "config": {"anything": [1]}})).await;
    assert_eq!(p["config"], json!({"anything": [1]}));
    let rl =
        s.create("/plugins", json!({"name": "rate-limiting", "config": {"minute": 5, "redis_host": "r.test"}})).await;
    assert_eq!(rl["config"]["redis"]["host"], "r.test");
    assert_eq!(rl["config"]["redis_host"], "r.test");
    s.create("/services", json!({"name": "svc", "host": "a.test"})).await;
    s.create("/services/svc/routes", json!({"name": "r", "protocols": ["http"], "paths": ["/"]})).await;
    let (st, b) = s.post("/routes/r/plugins", json!({"name": "cors", "protocols": ["grpc"]})).await;
    assert_eq!(st, 400);
    assert_eq!(b["fields"]["protocols"], "must match the associated route's protocols");
    let (st, _) = s.post("/consumers", json!({"username": "c"})).await;
    assert_eq!(st, 201);
    let (st, b) = s.post("/consumers/c/plugins", json!({"name": "key-auth"})).await;
    assert_eq!(st, 400);
    assert_eq!(b["fields"]["consumer"], "value must be null");
}

#[tokio::test]
async fn faults_and_stats() {
    let s = db().await;
    s.sb.inject_fault(FaultRule {
        method: Some("POST".into()),
        path: "/services".into(),
        status: Some(429),
        body: Some(json!({"message": "slow down"})),
        headers: [("Retry-After".to_owned(), "1".to_owned())].into_iter().collect(),
        times: Some(1),
        delay_ms: 0,
    });
    let r = s.client.post(s.url("/services")).json(&json!({"host": "a.test"})).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 429);
    assert_eq!(r.headers()["retry-after"], "1");
    assert_eq!(s.post("/services", json!({"host": "a.test"})).await.0, 201, "rule used up");
    let (st, _) = s.post("/_sandbox/faults", json!({"path": "/consumers*", "status": 503})).await;
    assert_eq!(st, 201);
    assert_eq!(s.get("/consumers").await.0, 503);
    assert_eq!(s.call("DELETE", "/_sandbox/faults", None).await.0, 204);
    assert_eq!(s.get("/consumers").await.0, 200);
    let (_, stats) = s.get("/_sandbox/stats").await;
    assert!(stats["by_method"]["POST"].as_u64().unwrap() >= 3);
    assert!(s.sb.request_count() >= 6);
}
