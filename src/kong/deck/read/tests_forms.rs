//! Loading: every nested and flat form, memberships, origins, variables, determinism.

use super::tests::{errors, errors_of, load_env, ok};
use super::*;
use crate::model::{Entity, Ref};
use serde_json::json;

fn find<'d>(d: &'d Desired, kind: KongKind, label: &str) -> (usize, &'d Entity) {
    d.state
        .entities
        .iter()
        .enumerate()
        .find(|(_, e)| {
            e.kind == kind
                && ["name", "username", "target", "group", "key", "subject_name", "prefix"]
                    .iter()
                    .any(|f| e.fields.get(*f).and_then(|v| v.as_str()) == Some(label))
        })
        .unwrap_or_else(|| panic!("no {kind} {label}"))
}

fn local(e: &Entity, field: &str) -> usize {
    match e.refs.get(field) {
        Some(Ref::Local(i)) => *i,
        other => panic!("{field} is {other:?}"),
    }
}

#[test]
fn services_routes_and_plugins_nest() {
    let d = ok(
        "_format_version: \"3.0\"\nservices:\n- name: s\n  url: http://x.test/p\n  plugins:\n  - name: cors\n  routes:\n  - name: r\n    paths: [/]\n    plugins:\n    - name: key-auth\n      consumer: c\nconsumers:\n- username: c\n",
    );
    let (s, svc) = find(&d, KongKind::Service, "s");
    assert_eq!(svc.fields["url"], json!("http://x.test/p"));
    assert!(svc.refs.is_empty());
    let (r, route) = find(&d, KongKind::Route, "r");
    assert_eq!(local(route, "service"), s);
    let cors = d.state.entities.iter().find(|e| e.fields.get("name") == Some(&json!("cors"))).unwrap();
    assert_eq!(local(cors, "service"), s);
    assert_eq!(cors.refs.len(), 1);
    let ka = d.state.entities.iter().find(|e| e.fields.get("name") == Some(&json!("key-auth"))).unwrap();
    assert_eq!(local(ka, "route"), r);
    assert_eq!(local(ka, "consumer"), find(&d, KongKind::Consumer, "c").0);
    assert!(!ka.fields.contains_key("consumer") && !route.fields.contains_key("service"));
    // Parents come before what is nested in them.
    assert!(s < r);
}

#[test]
fn consumers_nest_credentials_plugins_and_groups() {
    let d = ok(concat!(
        "_format_version: \"3.0\"\n",
        "ca_certificates:\n- id: 8ccca140-aff4-411d-8e1c-fcfb3f932a8e\n  cert: CA\n",
        "consumer_groups:\n- name: gold\n  plugins:\n  - name: rate-limiting\n    config: {minute: 1}\n",
        "consumers:\n- username: u\n",
        "  keyauth_credentials: [{key: k1}]\n",
        "  basicauth_credentials: [{username: bu, password: p}]\n",
        "  hmacauth_credentials: [{username: hu, secret: s}]\n",
        "  jwt_secrets: [{key: jk, secret: s, algorithm: HS256}]\n",
        "  acls: [{group: admins}]\n",
        "  oauth2_credentials: [{name: app, client_id: cid, redirect_uris: [\"https://a.test\"]}]\n",
        "  mtls_auth_credentials: [{subject_name: cn, ca_certificate: 8ccca140-aff4-411d-8e1c-fcfb3f932a8e}]\n",
        "  plugins: [{name: acl, config: {allow: [admins]}}]\n",
        "  groups: [{name: gold}]\n",
    ));
    let (c, _) = find(&d, KongKind::Consumer, "u");
    for kind in [
        KongKind::KeyauthCredential,
        KongKind::BasicauthCredential,
        KongKind::HmacauthCredential,
        KongKind::JwtSecret,
        KongKind::Acl,
        KongKind::Oauth2Credential,
        KongKind::MtlsAuthCredential,
    ] {
        let e = d.state.entities.iter().find(|e| e.kind == kind).unwrap_or_else(|| panic!("no {kind}"));
        assert_eq!(local(e, "consumer"), c, "{kind}");
    }
    let mtls = d.state.entities.iter().find(|e| e.kind == KongKind::MtlsAuthCredential).unwrap();
    assert_eq!(local(mtls, "ca_certificate"), 0);
    let acl_plugin = d.state.entities.iter().find(|e| e.fields.get("name") == Some(&json!("acl"))).unwrap();
    assert_eq!(local(acl_plugin, "consumer"), c);
    let (g, _) = find(&d, KongKind::ConsumerGroup, "gold");
    let rl = d.state.entities.iter().find(|e| e.fields.get("name") == Some(&json!("rate-limiting"))).unwrap();
    assert_eq!(local(rl, "consumer_group"), g);
    let member = d.state.entities.last().unwrap();
    assert_eq!(member.kind, KongKind::ConsumerGroupConsumer);
    assert_eq!((local(member, "consumer_group"), local(member, "consumer")), (g, c));
}

#[test]
fn memberships_from_both_sides_are_deduplicated() {
    let d = ok(
        "_format_version: \"3.0\"\nconsumer_groups:\n- name: g\n  consumers: [{username: a}, {username: b}]\n- name: h\nconsumers:\n- username: a\n  groups: [{name: g}, {name: h}]\n- username: b\n",
    );
    let members: Vec<(usize, usize)> = d
        .state
        .entities
        .iter()
        .filter(|e| e.kind == KongKind::ConsumerGroupConsumer)
        .map(|e| (local(e, "consumer_group"), local(e, "consumer")))
        .collect();
    let (g, h, a, b) = (
        find(&d, KongKind::ConsumerGroup, "g").0,
        find(&d, KongKind::ConsumerGroup, "h").0,
        find(&d, KongKind::Consumer, "a").0,
        find(&d, KongKind::Consumer, "b").0,
    );
    assert_eq!(members, vec![(g, a), (g, b), (h, a)]);
}

#[test]
fn consumers_listed_only_under_a_group_are_defined_as_deck_does() {
    let d =
        ok("_format_version: \"3.0\"\nconsumer_groups:\n- name: g\n  consumers:\n  - username: lone\n    tags: [t]\n");
    let (c, consumer) = find(&d, KongKind::Consumer, "lone");
    assert_eq!(consumer.fields["tags"], json!(["t"]));
    assert_eq!(consumer.origin.as_ref().map(|o| o.line), Some(5));
    let member = d.state.entities.last().unwrap();
    assert_eq!(local(member, "consumer"), c);
    // An id alone defines no consumer: it names one the gateway holds.
    let d = ok(
        "_format_version: \"3.0\"\nconsumer_groups:\n- name: g\n  consumers:\n  - id: 71168e5f-1d0b-5465-8bb9-a3b032fbc4c4\n",
    );
    let member = d.state.entities.last().unwrap();
    assert_eq!(member.refs["consumer"], Ref::Id("71168e5f-1d0b-5465-8bb9-a3b032fbc4c4".into()));
    assert!(!d.state.entities.iter().any(|e| e.kind == KongKind::Consumer));
}

#[test]
fn upstream_targets_and_certificate_snis() {
    let d = ok(
        "_format_version: \"3.0\"\nupstreams:\n- name: u\n  targets: [{target: \"10.0.0.1:80\", weight: 10}]\ncertificates:\n- cert: C\n  key: K\n  snis:\n  - name: a.test\n    tags: [t]\n  - b.test\n",
    );
    let (u, _) = find(&d, KongKind::Upstream, "u");
    assert_eq!(local(find(&d, KongKind::Target, "10.0.0.1:80").1, "upstream"), u);
    let cert = d.state.entities.iter().position(|e| e.kind == KongKind::Certificate).unwrap();
    assert!(!d.state.entities[cert].fields.contains_key("snis"));
    let a = find(&d, KongKind::Sni, "a.test").1;
    assert_eq!(local(a, "certificate"), cert);
    assert_eq!(a.fields["tags"], json!(["t"]));
    assert_eq!(local(find(&d, KongKind::Sni, "b.test").1, "certificate"), cert);
}

#[test]
fn flat_references_by_name_id_and_mapping() {
    let d = ok(concat!(
        "_format_version: \"3.0\"\n",
        "services:\n- name: s\n  id: 58076db2-28b6-423b-ba39-a797193017f7\n  host: h\n",
        "routes:\n",
        "- {name: r1, paths: [/1], service: s}\n",
        "- {name: r2, paths: [/2], service: 58076db2-28b6-423b-ba39-a797193017f7}\n",
        "- {name: r3, paths: [/3], service: {name: s}}\n",
        "- {name: r4, paths: [/4], service: {id: 58076db2-28b6-423b-ba39-a797193017f7}}\n",
        "plugins:\n- {name: cors, route: r1, service: s}\n",
        "key_sets:\n- {name: ks, id: d46b0e15-ffbc-4b15-ad92-09ef67935453}\n",
        "keys:\n- {name: k1, kid: a, jwk: '{}', set: {name: ks}}\n- {name: k2, kid: b, jwk: '{}', set: {id: d46b0e15-ffbc-4b15-ad92-09ef67935453}}\n",
        "certificates:\n- {id: 13c562a1-191c-4464-9b18-e5222b46035b, cert: C, key: K}\n",
        "snis:\n- {name: x.test, certificate: 13c562a1-191c-4464-9b18-e5222b46035b}\n",
        "upstreams:\n- name: u\n",
        "targets:\n- {target: t, upstream: u}\n",
    ));
    for r in ["r1", "r2", "r3", "r4"] {
        assert_eq!(local(find(&d, KongKind::Route, r).1, "service"), 0, "{r}");
    }
    let cors = d.state.entities.iter().find(|e| e.kind == KongKind::Plugin).unwrap();
    assert_eq!((local(cors, "route"), local(cors, "service")), (find(&d, KongKind::Route, "r1").0, 0));
    let ks = find(&d, KongKind::KeySet, "ks").0;
    assert_eq!(local(find(&d, KongKind::Key, "k1").1, "set"), ks);
    assert_eq!(local(find(&d, KongKind::Key, "k2").1, "set"), ks);
    let cert = d.state.entities.iter().position(|e| e.kind == KongKind::Certificate).unwrap();
    assert_eq!(local(find(&d, KongKind::Sni, "x.test").1, "certificate"), cert);
    assert_eq!(local(find(&d, KongKind::Target, "t").1, "upstream"), find(&d, KongKind::Upstream, "u").0);
}

#[test]
fn kong_db_less_style_files_load() {
    // Top-level credentials naming consumers by username, `_comment`, `_transform`.
    let d = ok(
        "_format_version: '2.1'\n_transform: true\nconsumers:\n- username: anon\n  keyauth_credentials:\n  - key: $KEY\nacls:\n- consumer: anon\n  group: anon\nbasicauth_credentials:\n- consumer: anon\n  username: u\n  password: p\nservices:\n- name: s\n  _comment: 'a note'\n  url: http://auth:9999/verify\n",
    );
    let anon = find(&d, KongKind::Consumer, "anon").0;
    assert_eq!(local(find(&d, KongKind::Acl, "anon").1, "consumer"), anon);
    assert_eq!(local(find(&d, KongKind::BasicauthCredential, "u").1, "consumer"), anon);
    assert!(!find(&d, KongKind::Service, "s").1.fields.contains_key("_comment"));
}

#[test]
fn nested_children_may_name_their_parent_only_consistently() {
    ok(
        "_format_version: \"3.0\"\nservices:\n- name: s\n  host: h\n  routes:\n  - name: r\n    paths: [/]\n    service: s\n",
    );
    let errs = errors(
        "_format_version: \"3.0\"\nservices:\n- name: s\n  host: h\n  routes:\n  - name: r\n    paths: [/]\n    service: t\n- name: t\n  host: h\n",
    );
    assert_eq!(
        errs,
        vec!["kong.yaml:8:14: error: route \"r\" is nested under service \"s\" but its `service` names service \"t\""]
    );
}

#[test]
fn json_files_load() {
    let d = ok(
        "{\n  \"_format_version\": \"3.0\",\n  \"services\": [\n    {\"name\": \"s\", \"host\": \"h\", \"routes\": [{\"name\": \"r\", \"paths\": [\"/\"]}]}\n  ]\n}",
    );
    assert_eq!(d.state.entities.len(), 2);
    assert_eq!(d.state.entities[1].origin.as_ref().map(|o| (o.line, o.column)), Some((4, 43)));
}

#[test]
fn origins_point_at_the_entity_mapping() {
    let d = ok(
        "_format_version: \"3.0\"\nservices:\n  - name: s\n    host: h\n    routes:\n      - name: r\n        paths: [/]\n",
    );
    let o = d.state.entities[1].origin.clone().unwrap();
    assert_eq!((&*o.file, o.line, o.column), ("kong.yaml", 6, 9));
}

#[test]
fn variables_feed_values_and_mark_fields() {
    let text = "_format_version: \"3.0\"\nservices:\n- name: s\n  host: ${{ env \"DECK_HOST\" }}\n  port: ${{ env \"DECK_PORT\" | toInt }}\n  tags: [\"x-${{ env \"DECK_TAG\" }}\"]\nplugins:\n- name: rate-limiting\n  config:\n    minute: ${{ env \"DECK_RATE\" }}\n";
    let d = load_env(
        &[("k.yaml", text)],
        &[("DECK_HOST", "h.test"), ("DECK_PORT", "8080"), ("DECK_TAG", "t"), ("DECK_RATE", "5")],
    )
    .unwrap();
    let svc = &d.state.entities[0];
    assert_eq!(svc.fields["port"], json!(8080));
    assert_eq!(svc.fields["tags"], json!(["x-t"]));
    assert_eq!(d.state.entities[1].fields["config"], json!({"minute": 5}));
    assert_eq!(d.env_values, vec!["5", "8080", "h.test", "t"]);
    let fields: Vec<(usize, &str)> = d.env_fields.iter().map(|(i, p)| (*i, p.as_str())).collect();
    assert_eq!(fields, vec![(0, "host"), (0, "port"), (0, "tags"), (1, "config.minute")]);
}

#[test]
fn comment_lines_with_expressions_are_ignored() {
    ok("_format_version: \"3.0\"\n# host: ${{ env \"DECK_UNSET\" }}\nservices: []\n");
}

#[test]
fn loading_is_deterministic() {
    let files = [
        (
            "b.yaml",
            "_format_version: \"3.0\"\nroutes:\n- {name: r, paths: [/], service: s}\nconsumers:\n- username: u\n  groups: [{name: g}]\n",
        ),
        (
            "a.yaml",
            "_format_version: \"3.0\"\nservices:\n- {name: s, host: h}\nconsumer_groups:\n- name: g\n  consumers: [{username: u}]\n",
        ),
    ];
    let one = load_env(&files, &[]).unwrap();
    let two = load_env(&files, &[]).unwrap();
    assert_eq!(one, two);
    // File order is input order.
    assert_eq!(one.state.entities[0].kind, KongKind::Route);
    assert_eq!(local(&one.state.entities[0], "service"), 2);
}

#[test]
fn every_problem_is_reported_at_once() {
    let r = load_env(
        &[
            (
                "a.yaml",
                "_format_version: \"3.0\"\nservices:\n- {name: s, port: x}\nroutes:\n- {name: r, paths: [/], service: nope}\n",
            ),
            ("b.yaml", "_format_version: \"3.0\"\nnope: 1\n"),
        ],
        &[],
    );
    assert_eq!(errors_of(r).len(), 3);
}

#[test]
fn membership_items_are_checked() {
    let errs = errors("_format_version: \"3.0\"\nconsumers:\n- username: u\n  groups: [{title: g}, 5]\n");
    assert_eq!(
        errs,
        vec![
            "kong.yaml:4:12: error: consumers[0].groups[0]: names no consumer_group (give id or name) (consumer \"u\")",
            "kong.yaml:4:13: error: consumers[0].groups[0].title: unknown field in a reference to a consumer_group (consumer \"u\")",
            "kong.yaml:4:24: error: consumers[0].groups[1]: expected a reference to a consumer_group (a name, an id, or a mapping), not an integer (consumer \"u\")",
        ]
    );
}

#[test]
fn keys_may_nest_under_their_key_set() {
    let d = ok("_format_version: \"3.0\"\nkey_sets:\n- name: ks\n  keys:\n  - {name: k, kid: a, jwk: '{}'}\n");
    assert_eq!(local(find(&d, KongKind::Key, "k").1, "set"), find(&d, KongKind::KeySet, "ks").0);
}

#[test]
fn variables_inside_block_scalars_and_lists_mark_their_field() {
    let text = "_format_version: \"3.0\"\ncertificates:\n- cert: |\n    ${{ env \"DECK_CERT\" | indent 4 }}\n  key: k\nplugins:\n- name: acl\n  config:\n    allow: [a, \"${{ env \"DECK_GROUP\" }}\"]\n";
    let d = load_env(
        &[("k.yaml", text)],
        &[("DECK_CERT", "-----BEGIN-----\nAAA\n-----END-----"), ("DECK_GROUP", "admins")],
    )
    .unwrap();
    assert_eq!(d.state.entities[0].fields["cert"], json!("-----BEGIN-----\nAAA\n-----END-----\n"));
    let fields: Vec<(usize, &str)> = d.env_fields.iter().map(|(i, p)| (*i, p.as_str())).collect();
    assert_eq!(fields, vec![(0, "cert"), (1, "config.allow")]);
}
