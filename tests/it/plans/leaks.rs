//! What a secret leaves behind besides itself: a gateway error that echoes part of it or an
//! encoded form, a short secret in a logged request body, and the ids and saved-plan
//! fingerprints derived from it.

use std::collections::BTreeMap;

use base64::Engine as _;
use gateform::kong::sandbox::FaultRule;
use serde_json::{Value, json};

use crate::common::{TestSandbox, gateform, write};

const KEY: &str = "ka-Secret-0123456789abcdef-zz";

fn consumer_with_key(key: &str) -> String {
    format!("_format_version: \"3.0\"\nconsumers:\n  - username: shop\n    keyauth_credentials:\n      - key: {key}\n")
}

fn refuse_with(sb: &TestSandbox, body: Value) {
    sb.sandbox().inject_fault(FaultRule {
        method: Some("PUT".into()),
        path: "/key-auths/*".into(),
        status: Some(409),
        body: Some(body),
        headers: BTreeMap::new(),
        times: None,
        delay_ms: 0,
    });
}

#[test]
fn a_refusal_that_echoes_part_or_an_encoding_of_a_secret_shows_none_of_it() {
    let sb = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "kong.yaml", &consumer_with_key(KEY));
    let b64 = base64::engine::general_purpose::STANDARD.encode(KEY);
    refuse_with(
        &sb,
        json!({
            "code": 5,
            "name": "unique constraint violation",
            "message": format!("UNIQUE violation detected on '{{key=\"{}\"}}' ({b64})", &KEY[..16]),
            "fields": {"key": KEY},
        }),
    );
    let run = gateform(&["apply", "--gateway", &sb.url, "-s", &file, "--auto-approve", "-vvv"]);
    run.expect_code(1);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(all.contains("unique constraint violation") || all.contains("UNIQUE violation"), "{all}");
    for leak in [KEY, &KEY[..16], b64.as_str()] {
        assert!(!all.contains(leak), "{leak} leaked:\n{all}");
    }
}

#[test]
fn a_short_secret_never_shows_in_logged_request_bodies_or_refusals() {
    let sb = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "kong.yaml", &consumer_with_key("Zq9"));
    refuse_with(&sb, json!({"message": "key Zq9 is taken", "fields": {"key": "Zq9"}}));
    let run = gateform(&["apply", "--gateway", &sb.url, "-s", &file, "--auto-approve", "-vvv"]);
    run.expect_code(1);
    assert!(run.stderr.contains("body:"), "request bodies are logged at -vvv: {}", run.stderr);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(!all.contains("Zq9"), "{all}");
}

fn keyauth_change(sb: &TestSandbox, key: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "kong.yaml", &consumer_with_key(key));
    let run = gateform(&["plan", "--gateway", &sb.url, "-s", &file, "--format", "json"]);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    doc["changes"].as_array().unwrap().iter().find(|c| c["kind"] == "keyauth_credentials").unwrap().clone()
}

#[test]
fn a_credential_id_says_nothing_about_its_key() {
    let sb = TestSandbox::start();
    let one = keyauth_change(&sb, KEY);
    let other = keyauth_change(&sb, "another-secret-key-value");
    assert_eq!(one["id"], other["id"], "the id does not depend on the key");
    let namespace = uuid::Uuid::from_u128(0x6761_7465_666f_726d_8000_0000_0000_0001);
    let from_key = uuid::Uuid::new_v5(&namespace, format!("keyauth_credentials:{KEY}").as_bytes()).to_string();
    assert_ne!(one["id"], json!(from_key));
}

#[test]
fn a_saved_plan_holds_no_digest_of_a_secret() {
    let sb = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "kong.yaml", &consumer_with_key(KEY));
    gateform(&["apply", "--gateway", &sb.url, "-s", &file, "--auto-approve"]).ok();
    let fingerprint = |name: &str| -> Value {
        let out = dir.path().join(name);
        let out = out.to_str().unwrap();
        gateform(&["plan", "--gateway", &sb.url, "-s", &file, "--out", out]).ok();
        let saved: Value = serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap();
        saved["fingerprint"].clone()
    };
    let before = fingerprint("before.json");
    // Only the key changes on the gateway: the fingerprint, shared with the plan, stays.
    let cred = &sb.list("/key-auths")[0];
    let id = cred["id"].as_str().unwrap();
    sb.send("PATCH", &format!("/key-auths/{id}"), Some(json!({"key": "rotated-by-hand-0001"}))).unwrap();
    assert_eq!(before, fingerprint("after.json"));
}
