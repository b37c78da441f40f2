//! The Tyk sandbox's core semantics over real HTTP: the secret, writes stored as files and
//! visible only after a reload, upserts, missing-file deletes, hand-placed files, listen-path
//! collisions, Go zero values, policies, certificates, nodes, counters and faults.

use gateform::tyk::sandbox::store::{APPS, POLICIES};
use gateform::tyk::sandbox::{FaultRule, TykSandboxOptions};
use serde_json::{Value, json};

use super::{action, classic, error, policy, start, tyk};

#[tokio::test]
async fn a_wrong_or_missing_secret_gets_403_and_hello_needs_none() {
    let t = tyk().await;
    let denied = error("Attempted administrative access with invalid or missing key!");
    for secret in [None, Some("wrong")] {
        let g = t.send_as(0, secret, "GET", "/tyk/apis", None).await;
        assert_eq!((g.status, g.json()), (403, denied.clone()));
        let g = t.send_as(0, secret, "GET", "/tyk/no-such-route", None).await;
        assert_eq!(g.status, 403, "the secret is checked before routing");
    }
    let g = t.send_as(0, None, "GET", "/hello", None).await;
    assert_eq!(g.status, 200);
    assert_eq!(g.json()["status"], "pass");
    assert_eq!(g.json()["description"], "Tyk GW");
    assert_eq!(t.send_as(0, None, "POST", "/hello", None).await.status, 405);
    let (s, b) = t.call("DELETE", "/tyk/apis", None).await;
    assert_eq!((s, b), (405, error("Method not supported")));
    let g = t.send_as(0, Some(t.sb.secret()), "GET", "/tyk/nothing", None).await;
    assert_eq!((g.status, g.text.as_str()), (404, "404 page not found\n"));
}

#[tokio::test]
async fn writes_are_files_visible_only_after_a_reload() {
    let dir = tempfile::tempdir().unwrap();
    let t = start(TykSandboxOptions { data: Some(dir.path().to_path_buf()), ..Default::default() }).await;
    let mut def = classic("a1", "/a1/");
    def["a_field_newer_than_this_gateway"] = json!(true);
    assert_eq!(t.call("POST", "/tyk/apis", Some(def)).await, (200, action("a1", "added")));
    assert_eq!(t.call("GET", "/tyk/apis/a1", None).await, (404, error("API not found")));
    assert_eq!(t.call("GET", "/tyk/apis", None).await, (200, json!([])));
    assert_eq!(t.call("PUT", "/tyk/apis/a1", Some(classic("a1", "/x/"))).await, (404, error("API not found")));
    assert_eq!(t.call("DELETE", "/tyk/apis/a1", None).await, (404, error("API not found")));

    let file: Value = serde_json::from_slice(&std::fs::read(dir.path().join("apps/a1.json")).unwrap()).unwrap();
    assert!(file.get("a_field_newer_than_this_gateway").is_none(), "unknown fields are dropped on write");
    assert_eq!(file["proxy"]["transport"]["ssl_min_version"], 0, "the file holds every field");

    t.reload().await;
    let (s, got) = t.call("GET", "/tyk/apis/a1", None).await;
    assert_eq!(s, 200);
    assert_eq!(got, file, "GET answers what the file holds");
    assert_eq!(got["allowed_ips"], Value::Null, "a nil slice is null");
    assert_eq!(got["active"], false, "active is emitted false when absent");
    assert_eq!(got["CORS"]["max_age"], 0);
    assert_eq!(
        got["version_data"]["versions"]["Default"]["paths"],
        json!({"ignored": null, "white_list": null, "black_list": null})
    );
    assert!(got.get("is_oas").is_none() && got.get("id").is_none(), "omitempty fields stay out");
    let (_, list) = t.call("GET", "/tyk/apis", None).await;
    assert_eq!(list, json!([got]));
}

#[tokio::test]
async fn post_is_a_silent_upsert_and_put_checks_the_id() {
    let t = tyk().await;
    assert_eq!(t.call("POST", "/tyk/apis", Some(classic("u", "/one/"))).await, (200, action("u", "added")));
    assert_eq!(t.call("POST", "/tyk/apis", Some(classic("u", "/two/"))).await, (200, action("u", "added")));
    t.reload().await;
    assert_eq!(t.call("GET", "/tyk/apis/u", None).await.1["proxy"]["listen_path"], "/two/");
    let (s, b) = t.call("PUT", "/tyk/apis/u", Some(classic("other", "/x/"))).await;
    assert_eq!(
        (s, b),
        (400, error("Request APIID does not match that in Definition! For Update operations these must match."))
    );
    assert_eq!(t.call("PUT", "/tyk/apis/u", Some(classic("u", "/three/"))).await, (200, action("u", "modified")));
    assert_eq!(t.call("GET", "/tyk/apis/u", None).await.1["proxy"]["listen_path"], "/two/", "not before a reload");
    t.reload().await;
    assert_eq!(t.call("GET", "/tyk/apis/u", None).await.1["proxy"]["listen_path"], "/three/");
    let (s, b) = t.call("PUT", "/tyk/apis/u", Some(json!({"api_id": "u", "use_keyless": "yes"}))).await;
    assert_eq!((s, b), (400, error("Request malformed")));
    let g = t.send_raw("POST", "/tyk/apis", "not json").await;
    assert_eq!((g.status, g.json()), (400, error("Request malformed")));
    let (s, b) = t.call("POST", "/tyk/apis", Some(json!({"name": "x", "api_id": "../x"}))).await;
    assert_eq!((s, b), (400, error("Invalid API ID")));
    let (s, b) = t.call("POST", "/tyk/apis", Some(json!({"name": "generated"}))).await;
    assert_eq!(s, 200);
    let key = b["key"].as_str().unwrap();
    assert_eq!(key.len(), 32, "a generated api_id is 32 hex digits");
    assert!(key.bytes().all(|c| c.is_ascii_hexdigit()));
}

#[tokio::test]
async fn delete_needs_the_file_named_after_the_api_id() {
    let t = tyk().await;
    t.call("POST", "/tyk/apis", Some(classic("d", "/d/"))).await;
    t.reload().await;
    assert_eq!(t.call("DELETE", "/tyk/apis/d", None).await, (200, action("d", "deleted")));
    assert_eq!(t.call("GET", "/tyk/apis/d", None).await.0, 200, "still served until the reload");
    assert_eq!(t.call("DELETE", "/tyk/apis/d", None).await, (500, error("Delete failed")), "the file is gone already");
    t.reload().await;
    assert_eq!(t.call("GET", "/tyk/apis/d", None).await.0, 404);
}

#[tokio::test]
async fn a_hand_placed_file_loads_but_cannot_be_changed_through_rest() {
    let t = tyk().await;
    t.sb.place_file(APPS, "app_sample.json", &classic("1", "/tyk-api-test/").to_string()).unwrap();
    t.reload().await;
    assert_eq!(t.call("GET", "/tyk/apis/1", None).await.1["proxy"]["listen_path"], "/tyk-api-test/");
    assert_eq!(t.call("DELETE", "/tyk/apis/1", None).await, (500, error("Delete failed")));
    assert_eq!(t.call("PUT", "/tyk/apis/1", Some(classic("1", "/changed/"))).await, (200, action("1", "modified")));
    t.reload().await;
    let (_, got) = t.call("GET", "/tyk/apis/1", None).await;
    assert_eq!(got["proxy"]["listen_path"], "/tyk-api-test/", "app_sample.json sorts after 1.json and wins");
    assert_eq!(t.call("GET", "/tyk/apis", None).await.1.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn listen_path_collisions_are_renamed_at_load() {
    let t = tyk().await;
    t.call("POST", "/tyk/apis", Some(classic("first", "/shared/"))).await;
    t.reload().await;
    t.call("POST", "/tyk/apis", Some(classic("second", "shared/"))).await;
    t.reload().await;
    let lp = |v: &Value| v["proxy"]["listen_path"].as_str().unwrap().to_owned();
    assert_eq!(lp(&t.call("GET", "/tyk/apis/first", None).await.1), "/shared/", "the API that held the path keeps it");
    assert_eq!(
        lp(&t.call("GET", "/tyk/apis/second", None).await.1),
        "/shared/-second",
        "leading slash added, then renamed"
    );

    // Two APIs arriving together at a fresh node are both renamed.
    let fresh = tyk().await;
    fresh.call("POST", "/tyk/apis", Some(classic("x", "/both"))).await;
    fresh.call("POST", "/tyk/apis", Some(classic("y", "/both"))).await;
    fresh.reload().await;
    assert_eq!(lp(&fresh.call("GET", "/tyk/apis/x", None).await.1), "/both-x");
    assert_eq!(lp(&fresh.call("GET", "/tyk/apis/y", None).await.1), "/both-y");
}

#[tokio::test]
async fn policies_need_ids_and_follow_the_same_reload_rule() {
    let dir = tempfile::tempdir().unwrap();
    let t = start(TykSandboxOptions { data: Some(dir.path().to_path_buf()), ..Default::default() }).await;
    let mut no_id = policy("", "a");
    no_id.as_object_mut().unwrap().remove("id");
    assert_eq!(t.call("POST", "/tyk/policies", Some(no_id)).await, (400, error("Unable to create policy without id.")));
    let (s, b) = t.call("POST", "/tyk/policies", Some(policy("bad/id", "a"))).await;
    assert_eq!((s, b), (400, error("Invalid Policy ID: Allowed characters: a-z, A-Z, 0-9, ., _, -, ~")));
    assert_eq!(t.call("POST", "/tyk/policies", Some(policy("p1", "a"))).await, (200, action("p1", "added")));
    assert!(dir.path().join("policies/p1.json").is_file());
    assert_eq!(t.call("GET", "/tyk/policies/p1", None).await, (404, error("Policy not found")));
    t.reload().await;
    let (s, got) = t.call("GET", "/tyk/policies/p1", None).await;
    assert_eq!(s, 200);
    assert_eq!(got["quota_max"], 0, "every field is emitted");
    assert_eq!(got["smoothing"], Value::Null);
    assert_eq!(got["access_rights"]["a"], json!({"api_name": "x", "api_id": "a", "versions": ["Default"]}));
    let (s, b) = t.call("PUT", "/tyk/policies/p1", Some(policy("p2", "a"))).await;
    assert_eq!(
        (s, b),
        (400, error("Request ID does not match that in policy! For Update operations these must match."))
    );
    assert_eq!(
        t.call("PUT", "/tyk/policies/new", Some(policy("new", "a"))).await,
        (200, action("new", "modified")),
        "PUT is an upsert"
    );
    assert_eq!(t.call("DELETE", "/tyk/policies/nope", None).await, (500, error("Delete failed")));
    assert_eq!(t.call("DELETE", "/tyk/policies/p1", None).await, (200, action("p1", "deleted")));
    t.reload().await;
    let (_, list) = t.call("GET", "/tyk/policies", None).await;
    assert_eq!(list.as_array().unwrap().iter().map(|p| p["id"].clone()).collect::<Vec<_>>(), vec![json!("new")]);
}

#[tokio::test]
async fn a_policy_with_only_a_mongo_id_takes_it_as_id() {
    let t = tyk().await;
    let mut p = policy("", "a");
    p["_id"] = json!("655f3feb7197c000017a90cb");
    assert_eq!(t.call("POST", "/tyk/policies", Some(p)).await, (200, action("655f3feb7197c000017a90cb", "added")));
}

#[tokio::test]
async fn the_data_directory_is_read_at_start_and_keeps_writes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("apps")).unwrap();
    std::fs::create_dir_all(dir.path().join("policies")).unwrap();
    std::fs::write(dir.path().join("apps/quickstart.json"), classic("3", "/quickstart/").to_string()).unwrap();
    std::fs::write(dir.path().join("policies/default.json"), policy("default", "3").to_string()).unwrap();
    let opts = TykSandboxOptions { data: Some(dir.path().to_path_buf()), ..Default::default() };
    let t = start(opts.clone()).await;
    assert_eq!(t.call("GET", "/tyk/apis/3", None).await.0, 200);
    assert_eq!(t.call("GET", "/tyk/policies/default", None).await.0, 200);
    t.call("POST", "/tyk/apis", Some(classic("later", "/later/"))).await;
    t.sb.shutdown().await;
    let again = start(opts).await;
    assert_eq!(again.call("GET", "/tyk/apis/later", None).await.0, 200, "written files are read at the next start");
}

#[tokio::test]
async fn nodes_share_files_but_reload_on_their_own() {
    let t = start(TykSandboxOptions { nodes: 3, ..Default::default() }).await;
    assert_eq!(t.sb.node_urls().len(), 3);
    let secret = t.sb.secret().to_owned();
    let get = |node: usize| {
        let t = &t;
        let secret = secret.clone();
        async move { t.send_as(node, Some(&secret), "GET", "/tyk/apis/n", None).await.status }
    };
    t.call("POST", "/tyk/apis", Some(classic("n", "/n/"))).await;
    t.send_as(1, Some(&secret), "GET", "/tyk/reload?block=true", None).await;
    assert_eq!((get(0).await, get(1).await, get(2).await), (404, 200, 404), "/tyk/reload reloads one node");
    let g = t.send_as(2, Some(&secret), "GET", "/tyk/reload/group", None).await;
    assert_eq!((g.status, g.json()), (200, json!({"status": "ok", "message": ""})));
    assert_eq!((get(0).await, get(1).await, get(2).await), (200, 200, 200), "a group reload reaches every node");
    assert_eq!(t.sb.request_count("GET", "/tyk/reload/group"), 1);
    assert_eq!(t.sb.request_count("GET", "/tyk/reload"), 1);
}

#[tokio::test]
async fn a_reload_without_block_takes_its_time() {
    let t = start(TykSandboxOptions { reload_delay: std::time::Duration::from_secs(30), ..Default::default() }).await;
    t.call("POST", "/tyk/apis", Some(classic("slow", "/slow/"))).await;
    assert_eq!(t.call("GET", "/tyk/reload", None).await.0, 200);
    assert_eq!(t.call("GET", "/tyk/apis/slow", None).await.0, 404, "queued, not done");
    t.reload().await;
    assert_eq!(t.call("GET", "/tyk/apis/slow", None).await.0, 200, "?block=true waits for it");
}

#[tokio::test]
async fn requests_are_counted_by_method_and_path_and_faults_are_injected() {
    let t = tyk().await;
    t.sb.inject_fault(FaultRule {
        method: Some("POST".into()),
        path: "/tyk/apis".into(),
        status: Some(500),
        body: Some(error("injected")),
        headers: Default::default(),
        times: Some(1),
        delay_ms: 0,
    });
    assert_eq!(t.call("POST", "/tyk/apis", Some(classic("f", "/f/"))).await, (500, error("injected")));
    assert_eq!(t.call("POST", "/tyk/apis", Some(classic("f", "/f/"))).await.0, 200, "the rule ran out");
    t.reload().await;
    assert_eq!(t.sb.request_count("POST", "/tyk/apis"), 2);
    assert_eq!(t.sb.request_count("GET", "/tyk/reload"), 1);
    let (s, stats) = t.call("GET", "/_sandbox/stats", None).await;
    assert_eq!(s, 200);
    assert_eq!(stats["by_path"]["POST /tyk/apis"], 2);
    assert_eq!(stats["by_method"]["POST"], 2);
    let (s, rule) = t.call("POST", "/_sandbox/faults", Some(json!({"path": "/tyk/reload*", "status": 503}))).await;
    assert_eq!((s, rule["status"].clone()), (201, json!(503)));
    assert_eq!(t.call("GET", "/tyk/reload/group", None).await.0, 503);
    assert_eq!(t.call("DELETE", "/_sandbox/faults", None).await.0, 204);
    assert_eq!(t.call("GET", "/tyk/reload/group", None).await.0, 200);
    t.sb.reset_counts();
    assert_eq!(t.sb.total_requests(), 0);
}

#[tokio::test]
async fn an_ignored_write_answers_ok_and_changes_nothing() {
    let t = tyk().await;
    t.call("POST", "/tyk/apis", Some(classic("keyless", "/k/"))).await;
    t.reload().await;
    let (s, _) =
        t.call("POST", "/_sandbox/ignore-writes", Some(json!({"kind": "api", "id": "keyless", "times": 1}))).await;
    assert_eq!(s, 201);
    let mut flipped = classic("keyless", "/k/");
    flipped["use_keyless"] = json!(false);
    assert_eq!(t.call("PUT", "/tyk/apis/keyless", Some(flipped.clone())).await, (200, action("keyless", "modified")));
    t.reload().await;
    assert_eq!(
        t.call("GET", "/tyk/apis/keyless", None).await.1["use_keyless"],
        true,
        "the gateway kept the old definition"
    );
    t.call("PUT", "/tyk/apis/keyless", Some(flipped)).await;
    t.reload().await;
    assert_eq!(t.call("GET", "/tyk/apis/keyless", None).await.1["use_keyless"], false, "the rule ran out");
    t.sb.ignore_writes(gateform::tyk::sandbox::IgnoreRule { kind: None, id: Some("p".into()), times: None });
    t.call("POST", "/tyk/policies", Some(policy("p", "keyless"))).await;
    t.reload().await;
    assert_eq!(t.call("GET", "/tyk/policies/p", None).await.0, 404);
}

#[tokio::test]
async fn certificates_are_content_addressed_and_need_no_reload() {
    let t = tyk().await;
    let ck = rcgen::generate_simple_self_signed(vec!["api.example.test".into()]).unwrap();
    let pem = ck.cert.pem();
    let digest = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(ck.cert.der()))
    };
    let g = t.send_raw("POST", "/tyk/certs?org_id=org1", &pem).await;
    let id = format!("org1{digest}");
    assert_eq!((g.status, g.json()), (200, json!({"id": id, "status": "ok", "message": "Certificate added"})));
    let g = t.send_raw("POST", "/tyk/certs?org_id=org1", &pem).await;
    assert_eq!((g.status, g.json()), (403, error(&format!("Certificate with {id} id already exists"))));
    let (_, list) = t.call("GET", "/tyk/certs?org_id=org1", None).await;
    assert_eq!(list, json!({"certs": [id]}));
    let (s, meta) = t.call("GET", &format!("/tyk/certs/{id}"), None).await;
    assert_eq!(s, 200);
    assert_eq!(meta["dns_names"], json!(["api.example.test"]));
    assert_eq!(meta["has_private"], false);
    let (_, detailed) = t.call("GET", "/tyk/certs?mode=detailed", None).await;
    assert_eq!(detailed["certs"][0]["id"], json!(id));
    let g = t.send_raw("POST", "/tyk/certs", "not a certificate").await;
    assert_eq!((g.status, g.json()), (403, error("Failed to decode certificate. It should be PEM encoded.")));
    let mut params = rcgen::CertificateParams::new(vec!["old.test".into()]).unwrap();
    params.not_before = rcgen::date_time_ymd(2001, 1, 1);
    params.not_after = rcgen::date_time_ymd(2002, 1, 1);
    let expired = params.self_signed(&rcgen::KeyPair::generate().unwrap()).unwrap();
    let g = t.send_raw("POST", "/tyk/certs", &expired.pem()).await;
    assert_eq!((g.status, g.json()), (403, error("certificate is expired")));
    let (s, b) = t.call("DELETE", &format!("/tyk/certs/{id}"), None).await;
    assert_eq!((s, b), (200, json!({"status": "ok", "message": "removed"})));
    let (s, b) = t.call("GET", &format!("/tyk/certs/{id}"), None).await;
    assert_eq!((s, b), (404, error("Certificate with given SHA256 fingerprint not found")));
}

#[tokio::test]
async fn policy_files_in_the_policies_directory_are_read_at_reload() {
    let t = tyk().await;
    t.sb.place_file(POLICIES, "by-hand.json", &policy("by-hand", "a").to_string()).unwrap();
    t.reload().await;
    assert_eq!(t.call("GET", "/tyk/policies/by-hand", None).await.0, 200);
}
