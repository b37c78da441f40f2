//! Kong 3.9.3 fidelity, one test per item of the fidelity issue (sandbox items 1–7), each
//! case taken from Kong's Admin API specs (`spec/02-integration/04-admin_api`,
//! `spec/03-plugins/*/0?-api_spec.lua`) or go-kong's suite.

use serde_json::{Value, json};

use super::{Sb, db, start};
use gateform::kong::sandbox::SandboxOptions;

async fn send(s: &Sb, method: &str, path: &str, ct: Option<&str>, body: &str) -> (u16, Value) {
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut rb = s.client.request(m, s.url(path)).body(body.to_owned());
    if let Some(ct) = ct {
        rb = rb.header("content-type", ct);
    }
    let r = rb.send().await.unwrap();
    let st = r.status().as_u16();
    let text = r.text().await.unwrap();
    (st, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

#[tokio::test]
async fn item1_request_bodies() {
    let s = db().await;
    let json_ct = Some("application/json");
    let cannot = json!({"message": "Cannot parse JSON body"});
    assert_eq!(send(&s, "POST", "/services", json_ct, "").await, (400, cannot.clone()));
    s.create("/services", json!({"name": "svc", "host": "a.test"})).await;
    assert_eq!(send(&s, "PATCH", "/services/svc", json_ct, "").await, (400, cannot));
    // Multipart without a boundary is an empty body: a schema violation, not a parse error.
    let (st, b) = send(&s, "POST", "/services", Some("multipart/form-data"), "name=x").await;
    assert_eq!(st, 400, "{b}");
    assert_eq!(b["fields"]["host"], "required field missing", "{b}");
    // An empty form value is null (Kong's `infer_value`), also inside a foreign record.
    let form = Some("application/x-www-form-urlencoded");
    let (st, b) = send(&s, "POST", "/routes", form, "methods=GET&service.name=").await;
    assert_eq!(st, 400);
    assert_eq!(b["message"], "schema violation (service.id: missing primary key)");
    let (st, b) = send(&s, "PATCH", "/services/svc", form, "path=").await;
    assert_eq!((st, &b["path"]), (200, &Value::Null));
}

#[tokio::test]
async fn item2_validations_kong_performs() {
    let s = db().await;
    s.create("/consumers", json!({"username": "bob"})).await;
    // oauth2 (spec/03-plugins/25-oauth2/02-api_spec.lua)
    let (st, b) = s.post("/consumers/bob/oauth2", json!({"name": "a", "redirect_uris": ["not-valid"]})).await;
    assert_eq!((st, &b["fields"]), (400, &json!({"redirect_uris": ["cannot parse 'not-valid'"]})));
    let (_, b) = s
        .post(
            "/consumers/bob/oauth2",
            json!({"name": "a", "redirect_uris": ["http://valid.test", "http://test.test/#f"]}),
        )
        .await;
    assert_eq!(b["fields"], json!({"redirect_uris": [null, "fragment not allowed in 'http://test.test/#f'"]}));
    let cred = s.create("/consumers/bob/oauth2", json!({"name": "a", "redirect_uris": ["http://a.test/"]})).await;
    let path = format!("/consumers/bob/oauth2/{}", cred["id"].as_str().unwrap());
    let all_or_none = json!({"@entity": ["all or none of these fields must be set: 'hash_secret', 'client_secret'"]});
    for body in [json!({"client_secret": "test"}), json!({"hash_secret": true})] {
        let (st, b) = s.call("PATCH", &path, Some(body)).await;
        assert_eq!((st, &b["fields"]), (400, &all_or_none));
    }
    // basic-auth (spec/03-plugins/10-basic-auth/02-api_spec.lua)
    let other = s.create("/consumers", json!({"username": "john"})).await;
    s.create("/consumers/bob/basic-auth", json!({"username": "bob", "password": "kong"})).await;
    let (st, b) = s.call("PATCH", "/basic-auths/bob", Some(json!({"consumer": {"id": other["id"]}}))).await;
    assert_eq!(st, 400);
    assert_eq!(b["message"], "schema violation (all or none of these fields must be set: 'password', 'consumer.id')");
    // key-auth key_names are header names
    let (st, b) = s.post("/plugins", json!({"name": "key-auth", "config": {"key_names": ["bad name"]}})).await;
    assert_eq!(st, 400);
    assert_eq!(
        b["fields"]["config"]["key_names"],
        json!(["bad header name 'bad name', allowed characters are A-Z, a-z, 0-9, '_', and '-'"])
    );
    // jwt (spec/03-plugins/16-jwt/02-api_spec.lua)
    let (st, b) =
        s.post("/consumers/bob/jwt", json!({"key": "bob5", "algorithm": "RS256", "rsa_public_key": "test"})).await;
    assert_eq!(st, 400);
    assert_eq!(
        b["fields"],
        json!({"rsa_public_key": "invalid key", "@entity": ["failed conditional validation given value of field 'algorithm'"]})
    );
    // keys: a JWK must load as a key
    let (st, b) = s.post("/keys", json!({"kid": "k1", "jwk": "{\"kid\":\"k1\",\"kty\":\"oct\"}"})).await;
    assert_eq!((st, &b["fields"]["@entity"]), (400, &json!(["could not load JWK, likely not a valid key"])));
    assert_eq!(s.post("/keys", json!({"kid": "k1", "jwk": super::EC_JWK})).await.0, 201);
    // typedefs.url: http-log's endpoint
    let (st, b) = s.post("/plugins", json!({"name": "http-log", "config": {"http_endpoint": "invalid::#//url"}})).await;
    assert_eq!((st, &b["fields"]["config"]["http_endpoint"]), (400, &json!("missing host in url")));
    // services `url: "invalid url"` (10-services_routes_spec.lua)
    let (st, b) = s.post("/services", json!({"url": "invalid url"})).await;
    assert_eq!(st, 400);
    assert_eq!(b["fields"], json!({"host": "required field missing", "path": "should start with: /"}));
    // errors inside a nested `service` record (09-routes_routes_spec.lua)
    let (st, b) = s
        .post("/routes", json!({"methods": ["GET"], "protocols": ["foo", "http"], "service": {"protocol": "foo"}}))
        .await;
    assert_eq!(st, 400);
    let one_of = "expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp";
    assert_eq!(b["message"], format!("2 schema violations (protocols.1: {one_of}; service.protocol: {one_of})"));
    // more than 1000 query arguments
    let q: Vec<String> = (0..1001).map(|i| format!("a{i}=1")).collect();
    assert_eq!(s.get(&format!("/services?{}", q.join("&"))).await, (400, json!({"message": "Too many arguments"})));
}

#[tokio::test]
async fn item3_entity_semantics() {
    let s = db().await;
    // certificates: `snis: null` clears them; `/certificates/{sni}/snis` finds the certificate.
    let (cert, key) = super::leaf_cert("a.test");
    let c = s.create("/certificates", json!({"cert": cert, "key": key, "snis": ["a.test"]})).await;
    let cid = c["id"].as_str().unwrap();
    let (st, b) = s.post("/certificates/a.test/snis", json!({"name": "b.test"})).await;
    assert_eq!((st, &b["certificate"]["id"]), (201, &json!(cid)), "{b}");
    let (st, b) = s.call("PATCH", &format!("/certificates/{cid}"), Some(json!({"snis": null}))).await;
    assert_eq!((st, &b["snis"]), (200, &json!([])));
    // a nested PATCH with `{"service": null}` unlinks the plugin.
    s.create("/services", json!({"name": "svc", "host": "a.test"})).await;
    let p = s.create("/services/svc/plugins", json!({"name": "cors"})).await;
    let (st, b) = s
        .call("PATCH", &format!("/services/svc/plugins/{}", p["id"].as_str().unwrap()), Some(json!({"service": null})))
        .await;
    assert_eq!((st, &b["service"]), (200, &Value::Null));
    // PUT of a credential answers 200, new or existing (kong/plugins/acl/api.lua).
    s.create("/consumers", json!({"username": "bob"})).await;
    assert_eq!(s.call("PUT", "/consumers/bob/acls/admins", Some(json!({}))).await.0, 200);
    assert_eq!(s.call("PUT", "/consumers/bob/acls/admins", Some(json!({}))).await.0, 200);
    // oauth2 hash_secret: Kong's PBKDF2 form (spec/03-plugins/25-oauth2/02-api_spec.lua).
    let o = s.create("/consumers/bob/oauth2", json!({"name": "a", "client_secret": "test", "hash_secret": true})).await;
    let hashed = o["client_secret"].as_str().unwrap();
    assert!(hashed.starts_with("$pbkdf2-sha512$i=10000,l=32$"), "{hashed}");
    assert!(gateform::kong::sandbox::credentials::verify_client_secret("test", hashed));
    let plain = s.create("/consumers/bob/oauth2", json!({"name": "b", "client_secret": "test"})).await;
    assert_eq!(plain["client_secret"], "test");
    // key-auth ttl: remaining seconds, floored (go-kong TestKeyAuthCreateWithTTL), then gone.
    let k = s.create("/consumers/bob/key-auth", json!({"key": "my-apikey", "ttl": 10})).await;
    assert!(k["ttl"].as_i64().is_some_and(|t| t < 10), "{k}");
    s.create("/consumers/bob/key-auth", json!({"key": "short", "ttl": 1})).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(s.get("/key-auths/short").await.0, 404);
    // targets healthy/unhealthy (go-kong TestTargetMarkHealthy sends POST, Kong 3.9 PUT).
    s.create("/upstreams", json!({"name": "vhost1.com"})).await;
    s.create("/upstreams/vhost1.com/targets", json!({"target": "10.0.0.1:80"})).await;
    for (m, what) in [("POST", "healthy"), ("PUT", "unhealthy"), ("PUT", "healthy")] {
        let path = format!("/upstreams/vhost1.com/targets/10.0.0.1:80/{what}");
        assert_eq!(s.call(m, &path, None).await.0, 204, "{m} {path}");
    }
    // /oauth2_tokens (kong/plugins/oauth2/daos.lua): by id or access_token, nested under the
    // credential, cascading with it.
    let cred = s.create("/consumers/bob/oauth2", json!({"name": "tok"})).await;
    let cred_id = cred["id"].as_str().unwrap();
    let t = s.create("/oauth2_tokens", json!({"credential": {"id": cred_id}, "expires_in": 10, "ttl": 100})).await;
    assert_eq!((t["token_type"].as_str(), t["access_token"].as_str().map(str::len)), (Some("bearer"), Some(32)));
    assert!(t["ttl"].as_i64().is_some_and(|n| n < 100), "{t}");
    let at = t["access_token"].as_str().unwrap();
    assert_eq!(s.get(&format!("/oauth2_tokens/{at}")).await.1["id"], t["id"]);
    let (st, b) =
        s.post(&format!("/oauth2/{cred_id}/oauth2_tokens"), json!({"expires_in": 5, "access_token": at})).await;
    assert_eq!((st, &b["code"]), (409, &json!(5)), "{b}");
    assert_eq!(s.get(&format!("/oauth2/{cred_id}/oauth2_tokens")).await.1["data"].as_array().unwrap().len(), 1);
    let (st, b) = s.post("/oauth2_tokens", json!({"credential": {"id": cred_id}})).await;
    assert_eq!((st, &b["fields"]), (400, &json!({"expires_in": "required field missing"})));
    let (st, b) = s
        .call("PATCH", &format!("/oauth2_tokens/{}", t["id"].as_str().unwrap()), Some(json!({"scope": "email"})))
        .await;
    assert_eq!((st, &b["scope"]), (200, &json!("email")));
    assert_eq!(s.call("DELETE", &format!("/consumers/bob/oauth2/{cred_id}"), None).await.0, 204);
    assert_eq!(s.get(&format!("/oauth2_tokens/{at}")).await.0, 404);
    // Enterprise kinds: 404 on a community sandbox, served with `enterprise`.
    assert_eq!(s.get("/consumer_groups").await, (404, json!({"message": "Not found"})));
    assert_eq!(s.get("/consumers/bob/consumer_groups").await.0, 404);
    assert_eq!(s.get("/").await.1["edition"], "community");
    let (st, b) = s.post("/plugins", json!({"name": "cors", "consumer_group": {"name": "gold"}})).await;
    assert_eq!((st, &b["fields"]), (400, &json!({"consumer_group": "unknown field"})));
    assert!(s.get("/plugins").await.1["data"][0].get("consumer_group").is_none());
    let ee = start(SandboxOptions { enterprise: true, ..Default::default() }).await;
    assert_eq!(ee.get("/consumer_groups").await.0, 200);
    assert_eq!(ee.get("/").await.1["edition"], "enterprise");
}

#[tokio::test]
async fn item4_error_codes_and_texts() {
    let s = db().await;
    // 19-vaults_spec.lua "handles invalid input by prefix"
    assert_eq!(
        s.call("PUT", "/vaults/env", Some(json!({"name": "env"}))).await,
        (400, json!({"code": 10, "name": "invalid unique prefix", "message": "must not be one of: env"}))
    );
    let (st, b) = s.get("/upstreams/127.0.0.1").await;
    assert_eq!((st, &b["code"], &b["name"]), (400, &json!(10), &json!("invalid unique name")));
    assert_eq!(b["message"], "Invalid name ('127.0.0.1'); no ip addresses allowed");
    // SNI checks in Kong's order (typedefs.wildcard_host)
    for (name, msg) in [
        ("1.2.3.4:80", "must not be an IP"),
        ("*.a.*", "only one wildcard must be specified"),
        ("a.*.test", "wildcard must be leftmost or rightmost character"),
        ("a.test:80", "must not have a port"),
    ] {
        let (st, b) = s.post("/snis", json!({"name": name, "certificate": {"id": uuid::Uuid::new_v4()}})).await;
        assert_eq!((st, &b["fields"]["name"]), (400, &json!(msg)), "{name}");
    }
    // 07-upstreams_routes_spec.lua: cookie names and hash_fallback headers
    let (_, b) = s
        .post(
            "/upstreams",
            json!({"name": "u", "hash_on": "cookie", "hash_on_cookie": "not a <> valid <> cookie name"}),
        )
        .await;
    assert_eq!(
        b["fields"]["hash_on_cookie"],
        "contains one or more invalid characters. ASCII control characters (0-31;127), space, tab and the characters ()<>@,;:\\\"/?={}[] are not allowed."
    );
    let (_, b) = s
        .post(
            "/upstreams",
            json!({"name": "u", "hash_on": "consumer", "hash_fallback": "header", "hash_fallback_header": "not a <> valid <> header name"}),
        )
        .await;
    assert_eq!(
        b["fields"]["hash_fallback_header"],
        "bad header name 'not a <> valid <> header name', allowed characters are A-Z, a-z, 0-9, '_', and '-'"
    );
    // 08-targets_routes_spec.lua: the DAO's wording
    s.create("/upstreams", json!({"name": "up.test"})).await;
    let (st, b) = s.post("/upstreams/up.test/targets", json!({"target": "some invalid host name"})).await;
    assert_eq!((st, &b["fields"]), (400, &json!({"target": "Invalid target; not a valid hostname or ip address"})));
}

#[tokio::test]
async fn item5_dbless_config_errors() {
    let s = start(SandboxOptions { db_less: true, ..Default::default() }).await;
    // 15-off_spec.lua "returns 400 on an invalid config string"
    assert_eq!(
        s.post("/config", json!({"config": "bobby tables"})).await,
        (
            400,
            json!({
                "code": 14,
                "name": "invalid declarative configuration",
                "fields": {"error": "failed parsing declarative configuration: expected an object"},
                "message": "declarative config is invalid: {error=\"failed parsing declarative configuration: expected an object\"}",
            })
        )
    );
    // "returns 400 on an endpoint key uniqueness error": a sparse array, the name reported.
    let dup =
        "_format_version: \"1.1\"\nservices:\n- name: foo\n  host: example.com\n- name: foo\n  host: example.test\n";
    let (st, b) = s.post("/config", json!({"config": dup})).await;
    assert_eq!(st, 400);
    let msg = "uniqueness violation: 'services' entity with name set to 'foo' already declared";
    assert_eq!(b["fields"], json!({"services": [null, msg]}));
    assert_eq!(b["message"], format!("declarative config is invalid: {{services={{[2]=\"{msg}\"}}}}"));
    // "returns 400 on a regular key uniqueness error": keyed by the endpoint key.
    let cons = "_format_version: \"1.1\"\nconsumers:\n- username: foo\n  custom_id: conflict\n- username: bar\n  custom_id: conflict\n";
    let (_, b) = s.post("/config", json!({"config": cons})).await;
    assert_eq!(
        b["fields"],
        json!({"consumers": {"bar": "uniqueness violation: 'consumers' entity with custom_id set to 'conflict' already declared"}})
    );
    // flatten_errors: entity_name only from `name`, valid children of a bad parent stay quiet,
    // `fields` keeps only what is not an entity's, an unknown vault is reported.
    let doc = json!({
        "_format_version": "3.0",
        "services": [{"name": "", "url": "https://localhost:1234", "tags": ["t"], "routes": [{"name": "ok", "paths": ["/"]}]}],
        "consumers": [{"username": "c1", "basicauth_credentials": [{"username": "u", "password": "p", "extra": 1}]}],
        "vaults": [{"name": "vault-not-installed", "prefix": "env", "config": {"prefix": "SSL_"}}],
        "plugins": [{"name": "http-log", "config": {"http_endpoint": "invalid::#//url"}}],
        "upstreams": [{"name": "bad-client-cert", "client_certificate": {"cert": "", "key": "", "tags": ["cc"]}}],
        "certificates": [{"cert": "-----BEGIN CERTIFICATE-----\nMIICIzCCAYSg\n-----END CERTIFICATE-----", "key": "x", "tags": ["c2"]}],
    });
    let (st, b) = s.call("POST", "/config?flatten_errors=1", Some(doc)).await;
    assert_eq!(st, 400);
    assert_eq!(b["fields"], json!({}), "{b}");
    let flat = b["flattened_errors"].as_array().unwrap();
    let by_type = |t: &str| flat.iter().find(|e| e["entity_type"] == t).cloned().unwrap_or(Value::Null);
    assert_eq!(flat.len(), 6, "{b}");
    // The inline client certificate is its own entity; the upstream has no error of its own.
    let inline = flat.iter().find(|e| e["entity_tags"] == json!(["cc"])).unwrap();
    assert_eq!(inline["entity_type"], "certificate");
    assert_eq!(inline["entity"], json!({"cert": "", "key": "", "tags": ["cc"]}));
    assert!(flat.iter().all(|e| e["entity_type"] != "upstream"), "{b}");
    let bad_pem = flat.iter().find(|e| e["entity_tags"] == json!(["c2"])).unwrap();
    assert_eq!(
        bad_pem["errors"][0]["message"],
        "invalid certificate: x509.new: error:688010A:asn1 encoding routines:asn1_item_embed_d2i:nested asn1 error:asn1/tasn_dec.c:349:"
    );
    let svc = by_type("service");
    assert!(svc.get("entity_name").is_none(), "{svc}");
    assert_eq!(svc["entity"]["name"], "");
    assert_eq!(svc["entity_tags"], json!(["t"]));
    assert!(svc["entity"].get("routes").is_none());
    let ba = by_type("basicauth_credential");
    assert_eq!(ba["errors"], json!([{"type": "field", "field": "extra", "message": "unknown field"}]));
    assert_eq!(ba["entity"]["password"], "p");
    assert_eq!(
        by_type("vault")["errors"],
        json!([{"type": "field", "field": "name", "message": "vault 'vault-not-installed' is not installed"}])
    );
    assert_eq!(
        by_type("plugin")["errors"],
        json!([{"type": "field", "field": "config.http_endpoint", "message": "missing host in url"}])
    );
}

#[tokio::test]
async fn item6_http_surface() {
    let s = db().await;
    let get = s.client.get(s.url("/")).send().await.unwrap();
    let head = s.client.head(s.url("/")).send().await.unwrap();
    let len = |r: &reqwest::Response| r.headers().get("content-length").cloned();
    assert_eq!(len(&head), len(&get));
    assert!(len(&head).is_some_and(|l| l != "0"));
    assert_eq!(head.headers().get("content-type"), get.headers().get("content-type"));
    // /status?unit= (02-kong_routes_spec.lua)
    let (_, b) = s.get("/status?unit=b").await;
    assert!(b["memory"]["lua_shared_dicts"]["kong"]["capacity"].is_number(), "{b}");
    let (_, b) = s.get("/status?unit=k").await;
    assert!(b["memory"]["workers_lua_vms"][0]["http_allocated_gc"].as_str().unwrap().ends_with(" KiB"));
    let (_, b) = s.get("/status?scale=3").await;
    assert!(b["memory"]["lua_shared_dicts"]["kong"]["capacity"].as_str().unwrap().ends_with(".000 MiB"));
    assert_eq!(
        s.get("/status?unit=V").await,
        (400, json!({"message": "invalid unit 'V' (expected 'k/K', 'm/M', or 'g/G')"}))
    );
    let (st, b) = s.post("/schemas/vaults/validate", json!({"name": "env", "prefix": "my-env"})).await;
    assert_eq!((st, b), (200, json!({"message": "schema validation successful"})));
    // Not UTF-8 once decoded (14-tags_spec.lua): Kong's JSON error, not a 500 or an empty 400.
    let (st, b) = s.get("/tags/%FF").await;
    assert_eq!((st, &b["code"], &b["name"]), (400, &json!(10), &json!("invalid unique tag")));
    assert!(b["message"].as_str().unwrap().contains("invalid utf-8"), "{b}");
    let resp = s.raw(b"GET /tags/\xff HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
    assert_eq!(super::status_of(&resp), 400, "{resp}");
    assert!(resp.contains("application/json") && resp.contains("invalid utf-8"), "{resp}");
    let (st, b) = s.get("/services/a%FF").await;
    assert_eq!((st, &b["message"]), (400, &json!("invalid utf-8 character sequence detected at position 2")));
}

#[tokio::test]
async fn item7_hostname_labels_have_no_length_limit() {
    let s = db().await;
    let host = format!("{}.test", "a".repeat(64));
    assert_eq!(s.post("/services", json!({"name": "long", "host": host})).await.0, 201);
    assert_eq!(s.post("/upstreams", json!({"name": host})).await.0, 201);
    // The SNI name passes; only the missing certificate is refused.
    let (st, b) = s.post("/snis", json!({"name": host, "certificate": {"id": uuid::Uuid::new_v4()}})).await;
    assert_eq!((st, &b["code"]), (400, &json!(4)), "{b}");
}
