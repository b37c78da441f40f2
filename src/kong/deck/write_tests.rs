use std::collections::BTreeMap;

use super::*;
use crate::kong::deck::read::{LoadOptions, load};
use crate::kong::membership_id;
use crate::source::inputs::Input;
use serde_json::json;

const S1: &str = "11111111-1111-4111-8111-111111111111";
const S2: &str = "11111111-1111-4111-8111-111111111112";
const S3: &str = "11111111-1111-4111-8111-111111111113";
const R1: &str = "22222222-2222-4222-8222-222222222221";
const R2: &str = "22222222-2222-4222-8222-222222222222";
const R3: &str = "22222222-2222-4222-8222-222222222223";
const C1: &str = "33333333-3333-4333-8333-333333333331";
const C2: &str = "33333333-3333-4333-8333-333333333332";
const G1: &str = "44444444-4444-4444-8444-444444444441";
const U1: &str = "55555555-5555-4555-8555-555555555551";
const CERT: &str = "66666666-6666-4666-8666-666666666661";
const CA: &str = "66666666-6666-4666-8666-666666666662";
const KS: &str = "77777777-7777-4777-8777-777777777771";

fn e(kind: KongKind, id: &str, fields: Value, refs: &[(&'static str, &str)]) -> Entity {
    let mut e = Entity::new(kind);
    e.id = Some(id.to_owned());
    e.fields = fields.as_object().cloned().unwrap_or_default();
    for (f, r) in refs {
        e.refs.insert(*f, Ref::Id((*r).to_owned()));
    }
    e
}

fn uid(n: u32) -> String {
    format!("99999999-9999-4999-8999-{n:012}")
}

/// A live-like state: ids everywhere, references by id, nulls and timestamps as Kong returns them.
fn live() -> State {
    let pem = "-----BEGIN CERTIFICATE-----\nMIIC1jCCAb4CCQCt\n-----END CERTIFICATE-----\n";
    State {
        entities: vec![
            e(
                KongKind::Service,
                S1,
                json!({"name": "s1", "host": "a.test", "port": 80, "protocol": "http", "path": null, "retries": 5, "tags": ["t", "true"], "created_at": 1, "updated_at": 2, "ca_certificates": [CA], "enabled": true}),
                &[],
            ),
            e(
                KongKind::Service,
                S2,
                json!({"host": "b.test", "port": 443, "protocol": "https", "client_certificate": null}),
                &[("client_certificate", CERT)],
            ),
            e(KongKind::Service, S3, json!({"name": "s3", "host": "c.test", "port": 80, "protocol": "http"}), &[]),
            e(
                KongKind::Route,
                R1,
                json!({"name": "r1", "paths": ["/r1", "~/re/\\d+$"], "strip_path": true, "headers": {"x-h": ["a", "b"]}}),
                &[("service", S1)],
            ),
            e(KongKind::Route, R2, json!({"paths": ["/unnamed"], "methods": ["GET"]}), &[("service", S1)]),
            e(KongKind::Route, R3, json!({"name": "free", "hosts": ["free.test"]}), &[]),
            e(
                KongKind::Plugin,
                &uid(1),
                json!({"name": "cors", "config": {"origins": ["*"], "max_age": null}, "enabled": true, "protocols": ["http", "https"]}),
                &[("service", S1)],
            ),
            e(
                KongKind::Plugin,
                &uid(2),
                json!({"name": "key-auth", "config": {"key_names": ["apikey"]}}),
                &[("route", R1)],
            ),
            e(KongKind::Plugin, &uid(3), json!({"name": "prometheus", "config": {"per_consumer": false}}), &[]),
            e(
                KongKind::Plugin,
                &uid(4),
                json!({"name": "acl", "config": {"allow": ["admins"]}}),
                &[("service", S1), ("consumer", C1)],
            ),
            e(
                KongKind::Plugin,
                &uid(5),
                json!({"name": "rate-limiting", "config": {"minute": 5}}),
                &[("consumer_group", G1)],
            ),
            e(
                KongKind::Plugin,
                &uid(6),
                json!({"name": "request-termination", "config": {"status_code": 403}}),
                &[("consumer", C2)],
            ),
            e(
                KongKind::Plugin,
                &uid(7),
                json!({"name": "file-log", "config": {"path": "/tmp/x"}}),
                &[("service", S2), ("route", R3)],
            ),
            e(KongKind::Consumer, C1, json!({"username": "c1", "custom_id": null, "tags": ["yes"]}), &[]),
            e(KongKind::Consumer, C2, json!({"custom_id": "only-custom"}), &[]),
            e(
                KongKind::KeyauthCredential,
                &uid(8),
                json!({"key": "k-1", "ttl": null, "tags": null}),
                &[("consumer", C1)],
            ),
            e(KongKind::Acl, &uid(9), json!({"group": "admins"}), &[("consumer", C1)]),
            e(
                KongKind::BasicauthCredential,
                &uid(10),
                json!({"username": "bu", "password": "1f3870be274f6c49b3e31a0c6728957f"}),
                &[("consumer", C1)],
            ),
            e(KongKind::ConsumerGroup, G1, json!({"name": "g1"}), &[]),
            e(
                KongKind::ConsumerGroupConsumer,
                &membership_id(G1, C1),
                json!({}),
                &[("consumer_group", G1), ("consumer", C1)],
            ),
            e(
                KongKind::ConsumerGroupConsumer,
                &membership_id(G1, C2),
                json!({}),
                &[("consumer_group", G1), ("consumer", C2)],
            ),
            e(
                KongKind::Upstream,
                U1,
                json!({"name": "u1", "algorithm": "round-robin", "healthchecks": {"active": {"healthy": {"http_statuses": [200, 302]}}}}),
                &[],
            ),
            e(
                KongKind::Target,
                &uid(11),
                json!({"target": "10.0.0.2:80", "weight": 100, "created_at": 1.5}),
                &[("upstream", U1)],
            ),
            e(KongKind::Target, &uid(12), json!({"target": "10.0.0.1:80", "weight": 0}), &[("upstream", U1)]),
            e(
                KongKind::Certificate,
                CERT,
                json!({"cert": pem, "key": "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----", "tags": []}),
                &[],
            ),
            e(KongKind::Sni, &uid(13), json!({"name": "b.test"}), &[("certificate", CERT)]),
            e(KongKind::Sni, &uid(14), json!({"name": "a.test"}), &[("certificate", CERT)]),
            e(KongKind::CaCertificate, CA, json!({"cert": pem, "cert_digest": "abc"}), &[]),
            e(KongKind::KeySet, KS, json!({"name": "ks"}), &[]),
            e(
                KongKind::Key,
                &uid(15),
                json!({"name": "k", "kid": "kid-1", "jwk": "{\"kty\": \"RSA\"}"}),
                &[("set", KS)],
            ),
            e(
                KongKind::Vault,
                &uid(16),
                json!({"prefix": "my-vault", "name": "env", "config": {"prefix": "SECRET_"}}),
                &[],
            ),
        ],
    }
}

fn yaml(state: &State, with_ids: bool) -> String {
    dump(state, &DumpOptions { with_ids, ..DumpOptions::default() }).unwrap()
}

fn reload(text: &str) -> State {
    let inputs = [Input::new("dump.yaml", text)];
    let d = load(&inputs, &LoadOptions::default()).unwrap_or_else(|e| panic!("dump does not load:\n{e}\n---\n{text}"));
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    d.state
}

/// An entity as a comparable string: kind, fields without nulls and timestamps, the id
/// when `ids`, and its parents, recursively.
fn canon(state: &State, i: usize, ids: bool) -> String {
    let e = &state.entities[i];
    let fields: BTreeMap<&String, Value> = e
        .fields
        .iter()
        .filter(|(k, v)| !v.is_null() && !matches!(k.as_str(), "created_at" | "updated_at"))
        .map(|(k, v)| (k, super::super::yaml_out::sorted(v)))
        .collect();
    let mut parents = Vec::new();
    for (f, r) in &e.refs {
        let j = match r {
            Ref::Local(j) => *j,
            Ref::Id(id) => state.entities.iter().position(|p| p.id.as_deref() == Some(id)).expect("parent in state"),
            Ref::Key(_) => panic!("key reference"),
        };
        parents.push(format!("{f}=({})", canon(state, j, ids)));
    }
    let id =
        if ids && e.kind != KongKind::ConsumerGroupConsumer { e.id.clone().unwrap_or_default() } else { String::new() };
    format!("{} {id} {} {}", e.kind, serde_json::to_string(&fields).unwrap_or_default(), parents.join(" "))
}

fn canon_all(state: &State, ids: bool) -> Vec<String> {
    let mut all: Vec<String> = (0..state.entities.len()).map(|i| canon(state, i, ids)).collect();
    all.sort();
    all
}

#[test]
fn dump_reloads_to_the_same_entities_with_ids() {
    let state = live();
    let text = yaml(&state, true);
    let back = reload(&text);
    assert_eq!(canon_all(&back, true), canon_all(&state, true), "\n{text}");
}

#[test]
fn dump_reloads_to_the_same_entities_without_ids() {
    let state = live();
    let text = yaml(&state, false);
    let back = reload(&text);
    assert_eq!(canon_all(&back, false), canon_all(&state, false), "\n{text}");
    // Ids are kept only where they are needed.
    let with_id: Vec<KongKind> = back.entities.iter().filter(|e| e.id.is_some()).map(|e| e.kong()).collect();
    assert_eq!(
        with_id,
        vec![KongKind::CaCertificate, KongKind::Certificate, KongKind::Consumer, KongKind::Route, KongKind::Service]
    );
}

#[test]
fn json_dump_reloads_too() {
    let state = live();
    let text =
        dump(&state, &DumpOptions { format: DumpFormat::Json, with_ids: true, select_tags: Vec::new() }).unwrap();
    assert!(text.starts_with("{\n  \"_format_version\": \"3.0\",\n  \"ca_certificates\": ["), "{text}");
    assert_eq!(canon_all(&reload(&text), true), canon_all(&state, true));
}

#[test]
fn dump_is_deterministic() {
    let state = live();
    let mut shuffled = state.clone();
    // Reverse, then fix up nothing: references are by id, so order does not matter.
    shuffled.entities.reverse();
    assert_eq!(yaml(&state, false), yaml(&shuffled, false));
    assert_eq!(yaml(&state, true), yaml(&state, true));
}

#[test]
fn dump_nests_like_deck() {
    let text = yaml(&live(), false);
    let doc = crate::source::yaml::parse(&text).unwrap().to_json();
    let top: Vec<&String> = doc.as_object().unwrap().keys().collect();
    assert_eq!(
        top,
        vec![
            "_format_version",
            "ca_certificates",
            "certificates",
            "consumer_groups",
            "consumers",
            "key_sets",
            "keys",
            "plugins",
            "routes",
            "services",
            "upstreams",
            "vaults"
        ]
    );
    assert!(text.starts_with("_format_version: \"3.0\"\n"));
    let s1 = &doc["services"][0];
    assert_eq!(s1["name"], "s1");
    assert_eq!(s1["plugins"][0]["name"], "cors");
    assert!(s1["plugins"][0].get("service").is_none());
    assert_eq!(s1["routes"][0]["name"], "r1");
    assert_eq!(s1["routes"][0]["plugins"][0]["name"], "key-auth");
    assert!(s1.get("created_at").is_none() && s1.get("path").is_none() && s1.get("id").is_none());
    assert_eq!(s1["tags"], json!(["t", "true"]));
    // Unnamed route keeps its id; sorted after named ones.
    assert_eq!(s1["routes"][1]["id"], R2);
    // Global and multi-scoped plugins are top-level, referring by name (or id) strings.
    let plugins = doc["plugins"].as_array().unwrap();
    let names: Vec<&str> = plugins.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["acl", "file-log", "prometheus"]);
    assert_eq!(plugins[0]["consumer"], "c1");
    assert_eq!(plugins[0]["service"], "s1");
    assert_eq!(plugins[1]["service"], S2);
    assert_eq!(plugins[1]["route"], "free");
    // Consumers: credentials and groups nested; a consumer without username keeps its id.
    let c1 = &doc["consumers"][1];
    assert_eq!(c1["groups"], json!([{"name": "g1"}]));
    assert_eq!(c1["keyauth_credentials"], json!([{"key": "k-1"}]));
    assert_eq!(doc["consumers"][0]["id"], C2);
    assert_eq!(doc["consumers"][0]["plugins"][0]["name"], "request-termination");
    assert_eq!(doc["consumer_groups"][0]["plugins"][0]["name"], "rate-limiting");
    // Targets sorted, SNIs sorted, certificate id kept, references by id for certificates.
    assert_eq!(doc["upstreams"][0]["targets"][0]["target"], "10.0.0.1:80");
    assert_eq!(doc["certificates"][0]["snis"], json!([{"name": "a.test"}, {"name": "b.test"}]));
    assert_eq!(doc["certificates"][0]["id"], CERT);
    assert_eq!(doc["services"][2]["client_certificate"], json!({"id": CERT}));
    assert_eq!(doc["services"][2]["id"], S2);
    assert_eq!(doc["keys"][0]["set"], json!({"name": "ks"}));
    // PEM blocks are literal blocks.
    assert!(text.contains("- cert: |\n    -----BEGIN CERTIFICATE-----\n"), "{text}");
}

#[test]
fn select_tags_are_written_in_info() {
    let state =
        State { entities: vec![e(KongKind::Service, S1, json!({"name": "s", "host": "h", "tags": ["team"]}), &[])] };
    let text = dump(&state, &DumpOptions { select_tags: vec!["team".into()], ..DumpOptions::default() }).unwrap();
    assert_eq!(
        text,
        "_format_version: \"3.0\"\n_info:\n  select_tags:\n  - team\nservices:\n- host: h\n  name: s\n  tags:\n  - team\n"
    );
}

#[test]
fn parents_outside_the_state_are_written_by_id() {
    let state =
        State { entities: vec![e(KongKind::Route, R1, json!({"name": "r", "paths": ["/"]}), &[("service", S1)])] };
    let text = yaml(&state, false);
    assert_eq!(
        text,
        format!("_format_version: \"3.0\"\nroutes:\n- name: r\n  paths:\n  - /\n  service:\n    id: {S1}\n")
    );
}

#[test]
fn key_references_cannot_be_dumped() {
    let mut route = e(KongKind::Route, R1, json!({"name": "r"}), &[]);
    route.refs.insert("service", Ref::Key("svc".into()));
    let err = dump(&State { entities: vec![route] }, &DumpOptions::default()).unwrap_err();
    assert_eq!(err.to_string(), format!("routes {R1} refers to its service by key `svc`; dump needs references by id"));
}
