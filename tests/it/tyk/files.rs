//! Tyk's file formats read as documents: tyk-sync's index, the gateway's own layout, loose
//! files, positions of fields, templating, refusals, and the dump that reads back the same.

use std::collections::BTreeMap;

use gateform::tyk::files::write::{DumpOptions, dump, write_to};
use gateform::tyk::files::{DocKind, Documents, FileSet, ReadOptions, read_path, read_set};
use serde_json::{Value, json};

fn set(files: &[(&str, &str)]) -> FileSet {
    let mut s = FileSet::new("cfg/");
    for (rel, text) in files {
        s.insert(*rel, *text);
    }
    s
}

fn read(files: &[(&str, &str)]) -> Result<Documents, String> {
    read_env(files, &[])
}

fn read_env(files: &[(&str, &str)], env: &[(&str, &str)]) -> Result<Documents, String> {
    let opts = ReadOptions { env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect() };
    read_set(&set(files), &opts).map_err(|d| d.to_string())
}

fn summary(docs: &Documents) -> Vec<(DocKind, String)> {
    docs.docs.iter().map(|d| (d.kind, d.id.clone())).collect()
}

const INDEX: &str = r#"{
  "type": "apidef",
  "files": [
    {"file": "api-a.json", "oas": {}},
    {"file": "dash.json", "api_id": "overridden", "org_id": "org2"},
    {"file": "oas-o.json"}
  ],
  "policies": [{"file": "policy-p.json", "id": "p-override"}],
  "assets": []
}
"#;

const BARE: &str = r#"{
  "name": "A",
  "api_id": "a",
  "proxy": {
    "listen_path": "/a/",
    "target_url": "http://upstream.test"
  }
}
"#;

#[test]
fn a_tyk_sync_index_lists_what_is_read_and_overrides_ids() {
    let dash = r#"{"api_definition": {"name": "D", "api_id": "d", "org_id": "org1", "proxy": {"listen_path": "/d"}}, "hook_references": [], "is_site": false}"#;
    let oas = json!({"oas": super::oas_doc("o", "/o/"), "sort_by": 0}).to_string();
    let pol = r#"{"id": "p", "org_id": "o", "access_rights": {"a": {"api_id": "a"}}}"#;
    let docs = read(&[
        (".tyk.json", INDEX),
        ("api-a.json", BARE),
        ("dash.json", dash),
        ("oas-o.json", &oas),
        ("policy-p.json", pol),
        ("stray.json", BARE),
    ])
    .unwrap();
    assert_eq!(
        summary(&docs),
        vec![
            (DocKind::ClassicApi, "a".into()),
            (DocKind::ClassicApi, "overridden".into()),
            (DocKind::OasApi, "o".into()),
            (DocKind::Policy, "p-override".into()),
        ]
    );
    let d = &docs.docs[1];
    assert_eq!(d.body["api_id"], "overridden");
    assert_eq!(d.body["org_id"], "org2");
    assert!(d.body.get("hook_references").is_none(), "the wrapper is removed");
    assert_eq!(d.origin_of("/api_id").to_string(), "cfg/.tyk.json:5:37", "an override is reported where it is written");
    assert_eq!(d.origin_of("/proxy/listen_path").to_string(), "cfg/dash.json:1:92");
    assert_eq!(docs.docs[0].origin_of("/proxy/target_url").to_string(), "cfg/api-a.json:6:19");
    assert_eq!(docs.docs[0].origin.to_string(), "cfg/api-a.json:1:1");
    assert_eq!(docs.docs[2].body["openapi"], "3.0.3", "an OAS body is the whole document");
    assert_eq!(docs.docs[3].body["id"], "p-override");
    let warnings: Vec<String> = docs.warnings.iter().map(ToString::to_string).collect();
    assert!(
        warnings.contains(&"cfg/stray.json:1:1: warning: not listed in cfg/.tyk.json: this file is not read".into()),
        "{warnings:?}"
    );
    assert!(warnings.iter().any(|w| w.starts_with("cfg/.tyk.json:9:3: warning: `assets`")), "{warnings:?}");
}

#[test]
fn an_index_is_checked_with_places() {
    let missing = r#"{"type": "apidef", "files": [{"file": "nope.json"}], "policies": [{"file": "../out.json"}]}"#;
    let e = read(&[(".tyk.json", missing)]).unwrap_err();
    assert!(
        e.contains("cfg/.tyk.json:1:39: error: `nope.json` is listed here but cfg/nope.json does not exist"),
        "{e}"
    );
    assert!(e.contains("cfg/.tyk.json:1:76: error: `../out.json` points outside the configuration directory"), "{e}");
    let e = read(&[(".tyk.json", "{\n    \"type\": \"oas\"\n}")]).unwrap_err();
    assert!(e.starts_with("cfg/.tyk.json:2:13: error: `type: oas` asks tyk-sync to convert plain OpenAPI"), "{e}");
    let e = read(&[(".tyk.json", r#"{"files": []}"#)]).unwrap_err();
    assert!(e.contains("has no `type`"), "{e}");
    let e = read(&[
        (".tyk.json", r#"{"type": "apidef", "files": [{"file": "p.json"}]}"#),
        ("p.json", r#"{"id": "p", "access_rights": {}}"#),
    ])
    .unwrap_err();
    assert!(e.contains("cfg/p.json:1:1: error: this is a policy, not an API definition"), "{e}");
}

#[test]
fn the_gateways_own_layout_is_read() {
    let base = json!({"api_id": "o", "name": "O", "is_oas": true, "proxy": {"listen_path": "/o/"}}).to_string();
    let companion = super::oas_doc("o", "/o/").to_string();
    let map = r#"{"default": {"rate": 1000, "access_rights": {}}, "gold": {"id": "ignored", "quota_max": 5}}"#;
    let docs = read(&[
        ("apps/app_sample.json", BARE),
        ("apps/o.json", &base),
        ("apps/o-oas.json", &companion),
        ("policies/policies.json", map),
        ("policies/one.json", r#"{"id": "one", "access_rights": {}}"#),
        ("policies/mongo.json", r#"{"_id": "655F3FEB7197C000017A90CB", "id": "", "rate": 2}"#),
    ])
    .unwrap();
    assert_eq!(
        summary(&docs),
        vec![
            (DocKind::ClassicApi, "a".into()),
            (DocKind::OasApi, "o".into()),
            (DocKind::Policy, "655f3feb7197c000017a90cb".into()),
            (DocKind::Policy, "one".into()),
            (DocKind::Policy, "default".into()),
            (DocKind::Policy, "gold".into()),
        ]
    );
    assert_eq!(docs.docs[1].file(), "cfg/apps/o-oas.json", "an is_oas definition is read from its companion");
    assert_eq!(docs.docs[5].body["id"], "gold", "the map key is the id");
    assert_eq!(docs.docs[5].origin_of("/id").to_string(), "cfg/policies/policies.json:1:50");
    assert_eq!(docs.docs[5].origin_of("/quota_max").to_string(), "cfg/policies/policies.json:1:89");
    let e = read(&[("apps/x.json", r#"{"api_id": "x", "is_oas": true}"#)]).unwrap_err();
    assert!(
        e.contains(
            "cfg/apps/x.json:1:27: error: `is_oas` is true but the Tyk OAS document cfg/apps/x-oas.json is missing"
        ),
        "{e}"
    );
}

#[test]
fn missing_ids_and_plain_openapi_are_refused_with_a_place() {
    let e = read(&[("a.json", "{\n  \"name\": \"Orders\",\n  \"proxy\": {\"listen_path\": \"/o\"}\n}")]).unwrap_err();
    assert_eq!(
        e,
        "cfg/a.json:1:1: error: API \"Orders\" has no `api_id`: give it a stable `api_id` (32 hex characters, as Tyk generates), or set one in .tyk.json `files[].api_id`; gateform never makes up ids"
    );
    let mut oas = super::oas_doc("x", "/x/");
    oas["x-tyk-api-gateway"]["info"].as_object_mut().unwrap().remove("id");
    let e = read(&[("o.json", &serde_json::to_string_pretty(&oas).unwrap())]).unwrap_err();
    assert!(e.starts_with("cfg/o.json:25:13: error: OAS API \"OAS x\" has no `x-tyk-api-gateway.info.id`"), "{e}");
    let plain = r#"{"openapi": "3.0.0", "info": {"title": "HTTPBin", "version": "1"}, "paths": {}}"#;
    let e = read(&[("plain.json", plain)]).unwrap_err();
    assert!(
        e.starts_with(
            "cfg/plain.json:1:1: error: this is a plain OpenAPI document without the `x-tyk-api-gateway` extension"
        ),
        "{e}"
    );
    assert!(e.contains("info.id") && e.contains("server.listenPath.value"), "says what is needed: {e}");
    let e = read(&[("p.json", r#"{"name": "p", "access_rights": {}}"#)]).unwrap_err();
    assert!(e.contains("policy \"p\" has no `id`"), "{e}");
    let e = read(&[("w.json", r#"{"what": 1}"#)]).unwrap_err();
    assert!(e.starts_with("cfg/w.json:1:1: error: cannot tell what this file holds"), "{e}");
    let e = read(&[("a.json", BARE), ("b.json", BARE)]).unwrap_err();
    assert_eq!(e, "cfg/b.json:3:13: error: API \"a\" is defined twice: here and at cfg/a.json:1:1");
    let e = read(&[("a.json", r#"{"api_id": "a/b"}"#)]).unwrap_err();
    assert!(e.contains("invalid id \"a/b\""), "{e}");
}

#[test]
fn env_templates_are_rendered_with_positions() {
    let text = "{\n  \"api_id\": \"e\",\n  \"proxy\": {\"target_url\": \"${{ env \\\"DECK_TARGET\\\" }}\"}\n}";
    let text = text.replace("\\\"", "`");
    let docs = read_env(&[("e.json", &text)], &[("DECK_TARGET", "http://from-env.test")]).unwrap();
    assert_eq!(docs.docs[0].body["proxy"]["target_url"], "http://from-env.test");
    assert_eq!(docs.env_values, vec!["http://from-env.test"]);
    let e = read(&[("e.json", &text)]).unwrap_err();
    assert_eq!(e, "cfg/e.json:3:28: error: environment variable 'DECK_TARGET' present in state file but not set");
    let e = read(&[("bad.json", "{\n  \"api_id\": \"x\",,\n}")]).unwrap_err();
    assert!(e.starts_with("cfg/bad.json:2:"), "{e}");
}

#[test]
fn tabs_between_tokens_are_json() {
    let docs = read(&[("t.json", "{\n\t\"api_id\":\t\"t\",\n\t\t\"name\": \"a\\tb\"\n}")]).unwrap();
    assert_eq!(docs.docs[0].body, json!({"api_id": "t", "name": "a\tb"}));
    assert_eq!(docs.docs[0].origin_of("/name").to_string(), "cfg/t.json:3:11");
}

fn secret_classic() -> Value {
    let mut def = super::classic("s1", "/s1/");
    def["enable_jwt"] = json!(true);
    def["jwt_source"] = json!("c2VjcmV0LXdpdGgtInF1b3RlcyI=");
    def["notifications"] = json!({"shared_secret": "line1\nline2 \"quoted\" \\", "oauth_on_keychange_url": ""});
    def["upstream_auth"] = json!({"enabled": true, "basic_auth": {"username": "u", "password": "env://UPSTREAM_PW"}});
    def
}

fn round_trip(docs: &Documents) {
    let out = dump(docs.docs.iter().map(|d| d.entry()), DumpOptions::default());
    let dir = tempfile::tempdir().unwrap();
    write_to(dir.path(), &out).unwrap();
    let mut env = BTreeMap::new();
    for p in &out.placeholders {
        let original = docs.docs.iter().find(|d| d.id == p.id && d.kind == p.kind).unwrap();
        let value = if p.field == "pem" {
            gateform::tyk::files::pem::parse(original.body["pem"].as_str().unwrap(), "").unwrap().1
        } else {
            original.body.pointer(&p.field).and_then(Value::as_str).unwrap().to_owned()
        };
        for text in out.files.values() {
            if value.len() >= 4 {
                assert!(!text.contains(&value), "the secret of {} {} is written", p.id, p.field);
            }
        }
        env.insert(p.variable.clone(), p.env_value(&value));
    }
    let again = read_path(dir.path(), &ReadOptions { env }).unwrap_or_else(|e| panic!("the dump reads back: {e}"));
    let strip = |d: &Documents| d.docs.iter().map(|d| (d.kind, d.id.clone(), d.body.clone())).collect::<Vec<_>>();
    assert_eq!(strip(&again), strip(docs));
    assert!(again.warnings.is_empty(), "{:?}", again.warnings);
}

#[test]
fn a_dump_hides_secrets_and_reads_back_the_same_documents() {
    let ck = rcgen::generate_simple_self_signed(vec!["tls.example.test".into()]).unwrap();
    let pem = format!("{}{}", ck.cert.pem(), ck.signing_key.serialize_pem());
    let mut oas = super::oas_doc("o2", "/o2/");
    oas["x-tyk-api-gateway"]["server"]["authentication"] = json!({"enabled": true, "securitySchemes": {"jwt": {"enabled": true, "source": "a2V5", "signingAlgorithm": "HS256"}}});
    let index = json!({"type": "apidef", "files": [{"file": "a.json"}, {"file": "o.json"}],
        "policies": [{"file": "p.json"}], "certificates": [{"file": "tls.pem", "org_id": "org"}]});
    let docs = read(&[
        (".tyk.json", &index.to_string()),
        ("a.json", &secret_classic().to_string()),
        ("o.json", &oas.to_string()),
        ("p.json", &super::policy("pol", "s1").to_string()),
        ("tls.pem", &pem),
    ])
    .unwrap();
    assert_eq!(docs.docs.len(), 4);
    let cert = &docs.docs[3];
    assert_eq!(cert.kind, DocKind::Certificate);
    assert!(cert.id.starts_with("org") && cert.id.len() == 3 + 64, "{}", cert.id);

    let out = dump(docs.docs.iter().map(|d| d.entry()), DumpOptions::default());
    let names: Vec<&String> = out.files.keys().collect();
    assert_eq!(
        names,
        vec![
            ".tyk.json",
            "SECRETS.md",
            "api-s1.json",
            &format!("cert-{}.pem", cert.id),
            "oas-o2.json",
            "policy-pol.json"
        ]
    );
    let vars: Vec<&str> = out.placeholders.iter().map(|p| p.variable.as_str()).collect();
    assert_eq!(
        vars,
        vec![
            "DECK_TYK_API_S1_JWT_SOURCE",
            "DECK_TYK_API_S1_NOTIFICATIONS_SHARED_SECRET",
            "DECK_TYK_OAS_O2_X_TYK_API_GATEWAY_SERVER_AUTHENTICATION_SECURITYSCHEMES_JWT_SOURCE",
            &format!("DECK_TYK_CERT_{}_PEM", cert.id.to_uppercase()),
        ]
    );
    assert!(out.files["api-s1.json"].contains("\"password\": \"env://UPSTREAM_PW\""), "references are no secrets");
    assert!(out.files["SECRETS.md"].contains("| `DECK_TYK_API_S1_JWT_SOURCE` | API `s1` | `/jwt_source` |"));
    assert!(!out.files.values().any(|t| t.contains("PRIVATE KEY")));
    round_trip(&docs);
}

pub fn round_trips(docs: &Documents) {
    round_trip(docs);
}
