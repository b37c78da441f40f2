//! Loading: headers, errors and their exact messages.

use std::collections::BTreeMap;

use super::*;
use crate::model::Ref;
use serde_json::json;

pub(super) fn load_env(files: &[(&str, &str)], env: &[(&str, &str)]) -> Result<Desired, Diagnostics> {
    let inputs: Vec<Input> = files.iter().map(|(n, t)| Input::new(*n, *t)).collect();
    let env: BTreeMap<String, String> = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    load(&inputs, &LoadOptions { env, ..LoadOptions::default() })
}

pub(super) fn load_one(text: &str) -> Result<Desired, Diagnostics> {
    load_env(&[("kong.yaml", text)], &[])
}

pub(super) fn ok(text: &str) -> Desired {
    load_one(text).unwrap_or_else(|e| panic!("load failed:\n{e}"))
}

/// The error lines of a failed load.
pub(super) fn errors(text: &str) -> Vec<String> {
    errors_of(load_one(text))
}

pub(super) fn errors_of(r: Result<Desired, Diagnostics>) -> Vec<String> {
    match r {
        Ok(_) => panic!("load succeeded"),
        Err(d) => d.errors().map(ToString::to_string).collect(),
    }
}

#[test]
fn wrong_types_are_reported_with_place_and_entity() {
    let errs =
        errors("_format_version: \"3.0\"\nservices:\n- name: s1\n  host: example.test\n  port: \"80\"\n  tags: tag\n");
    assert_eq!(
        errs,
        vec![
            "kong.yaml:5:9: error: services[0].port: expected an integer (service \"s1\")",
            "kong.yaml:6:9: error: services[0].tags: expected a set (service \"s1\")",
        ]
    );
}

#[test]
fn nested_values_are_checked_recursively() {
    let errs = errors(
        "_format_version: \"3.0\"\nupstreams:\n- name: u\n  healthchecks:\n    active:\n      healthy:\n        http_statuses: [200, \"x\"]\n        bogus: 1\n",
    );
    assert_eq!(
        errs,
        vec![
            "kong.yaml:7:30: error: upstreams[0].healthchecks.active.healthy.http_statuses[1]: expected an integer (upstream \"u\")",
            "kong.yaml:8:9: error: upstreams[0].healthchecks.active.healthy.bogus: unknown field (upstream \"u\")",
        ]
    );
}

#[test]
fn unknown_fields_are_errors() {
    let errs = errors("_format_version: \"3.0\"\nservices:\n- name: s\n  host: h\n  colour: red\n");
    assert_eq!(errs, vec!["kong.yaml:5:3: error: services[0].colour: unknown field (service \"s\")"]);
}

#[test]
fn plugin_configs_follow_the_plugin_schema() {
    let errs =
        errors("_format_version: \"3.0\"\nplugins:\n- name: rate-limiting\n  config:\n    minute: ten\n    nope: 1\n");
    assert_eq!(
        errs,
        vec![
            "kong.yaml:5:13: error: plugins[0].config.minute: expected a number (plugin \"rate-limiting\")",
            "kong.yaml:6:5: error: plugins[0].config.nope: unknown field (plugin \"rate-limiting\")",
        ]
    );
    // Shorthand fields are input the schema accepts.
    ok("_format_version: \"3.0\"\nplugins:\n- name: rate-limiting\n  config:\n    minute: 5\n    redis_host: r\n");
}

/// Loads `text` with `my-plugin` declared custom.
fn with_custom(text: &str) -> Result<Desired, Diagnostics> {
    let options = BTreeMap::from([("custom_plugins".to_owned(), "my-plugin".to_owned())]);
    let plugins = crate::kong::plugins::PluginNames::from_options(&options).unwrap();
    load(&[Input::new("kong.yaml", text)], &LoadOptions { plugins, ..LoadOptions::default() })
}

#[test]
fn custom_plugins_have_unchecked_config() {
    let d = with_custom(
        "_format_version: \"3.0\"\nplugins:\n- name: my-plugin\n  config:\n    anything: [1, {a: b}]\n  enabled: true\n",
    )
    .unwrap_or_else(|e| panic!("load failed:\n{e}"));
    assert_eq!(d.state.entities[0].fields["config"], json!({"anything": [1, {"a": "b"}]}));
    let errs = errors_of(with_custom(
        "_format_version: \"3.0\"\nplugins:\n- name: my-plugin\n  enabled: \"yes\"\n  colour: red\n",
    ));
    assert_eq!(
        errs,
        vec![
            "kong.yaml:4:12: error: plugins[0].enabled: expected a boolean (plugin \"my-plugin\")",
            "kong.yaml:5:3: error: plugins[0].colour: unknown field (plugin \"my-plugin\")",
        ]
    );
}

#[test]
fn undeclared_plugins_kong_does_not_bundle_are_refused_at_their_name() {
    let errs = errors(
        "_format_version: \"3.0\"\nservices:\n- name: s\n  url: http://x\n  plugins:\n  - name: rate-limitting\n",
    );
    assert_eq!(
        errs,
        vec![
            "kong.yaml:6:11: error: services[0].plugins[0]: plugin `rate-limitting` is neither bundled with Kong nor declared custom; did you mean `rate-limiting`? declare a custom one with `--custom-plugin rate-limitting` or the option `custom_plugins` in gateform.toml"
        ]
    );
}

#[test]
fn integral_floats_are_integers() {
    let d = ok("_format_version: \"3.0\"\nservices:\n- name: s\n  host: h\n  retries: 3.0\n");
    assert_eq!(d.state.entities[0].fields["retries"], json!(3));
    assert_eq!(errors("_format_version: \"3.0\"\nservices:\n- name: s\n  host: h\n  retries: 3.5\n").len(), 1);
}

#[test]
fn ids_must_be_uuids() {
    let errs = errors("_format_version: \"3.0\"\nservices:\n- name: s\n  id: not-a-uuid\n  host: h\n");
    assert_eq!(errs, vec!["kong.yaml:4:7: error: services[0].id: expected a valid UUID (service \"s\")"]);
}

#[test]
fn top_level_keys_are_checked() {
    let errs = errors("_format_version: \"3.0\"\nservice:\n- name: s\n_extra: 1\nfilter_chains: []\n");
    assert_eq!(
        errs,
        vec![
            "kong.yaml:2:1: error: unknown top-level key `service`; did you mean `services`?",
            "kong.yaml:4:1: error: unknown top-level key `_extra`",
            "kong.yaml:5:1: error: `filter_chains` are not supported by gateform",
        ]
    );
    let errs = errors("_format_version: \"3.0\"\nservices: {name: s}\n");
    assert_eq!(errs, vec!["kong.yaml:2:11: error: services: expected a list of services, not a mapping"]);
    let errs = errors("- a\n");
    assert_eq!(errs, vec!["kong.yaml:1:1: error: a decK file holds a mapping at the top level, not a sequence"]);
}

#[test]
fn info_keys_are_checked() {
    let errs = errors(
        "_format_version: \"3.0\"\n_info:\n  select_tags: x\n  nope: 1\n  default_lookup_tags:\n    plugins: [t]\n  defaults:\n    plugin: {}\n",
    );
    assert_eq!(
        errs,
        vec![
            "kong.yaml:3:16: error: _info.select_tags: expected a list of strings",
            "kong.yaml:4:3: error: _info.nope: unknown key",
            "kong.yaml:6:5: error: _info.default_lookup_tags.plugins: unknown kind (expected services, routes, consumers or consumer_groups)",
            "kong.yaml:8:5: error: _info.defaults.plugin: unknown kind (expected service, route, upstream or target)",
        ]
    );
}

#[test]
fn dangling_references_are_errors_at_the_reference() {
    let errs = errors("_format_version: \"3.0\"\nroutes:\n- name: r1\n  paths: [/a]\n  service: nope\n");
    assert_eq!(errs, vec!["kong.yaml:5:12: error: route \"r1\" refers to service \"nope\", which is not defined"]);
    // An id names an entity the gateway may hold outside the files: decK resolves it
    // there, and so does the plan (which refuses it when the gateway has none either).
    let d = ok(
        "_format_version: \"3.0\"\nservices:\n- name: s\n  host: h\n  client_certificate: {id: 4e3ad2e4-0bc4-4638-8e34-c84a417ba39b}\n",
    );
    assert_eq!(d.state.entities[0].refs["client_certificate"], Ref::Id("4e3ad2e4-0bc4-4638-8e34-c84a417ba39b".into()));
    let errs = errors("_format_version: \"3.0\"\nconsumers:\n- username: u\n  groups: [{name: gold}]\n");
    assert_eq!(
        errs,
        vec!["kong.yaml:4:12: error: consumer \"u\" refers to consumer_group \"gold\", which is not defined"]
    );
}

#[test]
fn bad_reference_shapes() {
    let errs = errors(
        "_format_version: \"3.0\"\nroutes:\n- name: r\n  paths: [/a]\n  service: {title: s}\n- name: r2\n  paths: [/b]\n  service: [s]\n",
    );
    assert_eq!(
        errs,
        vec![
            "kong.yaml:5:12: error: routes[0].service: names no service (give id or name) (route \"r\")",
            "kong.yaml:5:13: error: routes[0].service.title: unknown field in a reference to a service (route \"r\")",
            "kong.yaml:8:12: error: routes[1].service: expected a reference to a service (a name, an id, or a mapping), not a sequence (route \"r2\")",
        ]
    );
    let errs = errors("_format_version: \"3.0\"\nservices:\n- name: s\n  host: h\n  client_certificate: my-cert\n");
    assert_eq!(
        errs,
        vec![
            "kong.yaml:5:23: error: services[0].client_certificate: expected the id of a certificate (a UUID) (service \"s\")"
        ]
    );
}

#[test]
fn lookup_tags_turn_missing_parents_into_gateway_references() {
    let d = ok(
        "_format_version: \"3.0\"\n_info:\n  default_lookup_tags:\n    services: [shared]\n    consumers: [people]\nroutes:\n- name: r\n  paths: [/a]\n  service: shared-svc\n- name: r2\n  paths: [/b]\n  service: 9ecf5708-f2f4-444e-a4c7-fcd3a57f9a6d\nplugins:\n- name: cors\n  consumer: {username: bob}\n",
    );
    assert_eq!(d.state.entities[0].refs["service"], Ref::Key("shared-svc".into()));
    assert_eq!(d.state.entities[1].refs["service"], Ref::Id("9ecf5708-f2f4-444e-a4c7-fcd3a57f9a6d".into()));
    assert_eq!(d.state.entities[2].refs["consumer"], Ref::Key("username:bob".into()));
    assert_eq!(d.lookup_tags[&KongKind::Service.kind()], vec!["shared".to_owned()]);
}

#[test]
fn duplicates_are_errors_at_the_second() {
    let errs = errors("_format_version: \"3.0\"\nservices:\n- name: a\n  host: h\n- name: a\n  host: h2\n");
    assert_eq!(errs, vec!["kong.yaml:5:3: error: service \"a\" is already defined at kong.yaml:3:3"]);
    let errs = errors(
        "_format_version: \"3.0\"\nservices:\n- name: a\n  host: h\n  plugins:\n  - name: cors\nplugins:\n- name: cors\n  service: a\n",
    );
    assert_eq!(
        errs,
        vec![
            "kong.yaml:8:3: error: plugin \"cors\" at plugins[0] has the same name and scope as plugin \"cors\" at services[0].plugins[0], defined at kong.yaml:6:5"
        ]
    );
    let errs =
        errors("_format_version: \"3.0\"\nconsumers:\n- username: a\n  custom_id: c\n- username: b\n  custom_id: c\n");
    assert_eq!(
        errs,
        vec![
            "kong.yaml:5:3: error: consumer \"b\": custom_id \"c\" is already used by consumer \"a\" at kong.yaml:3:3"
        ]
    );
    let errs = errors(
        "_format_version: \"3.0\"\nservices:\n- name: a\n  id: 9ecf5708-f2f4-444e-a4c7-fcd3a57f9a6d\n  host: h\n- name: b\n  id: 9ecf5708-f2f4-444e-a4c7-fcd3a57f9a6d\n  host: h\n",
    );
    assert_eq!(
        errs,
        vec![
            "kong.yaml:6:3: error: service \"b\": id 9ecf5708-f2f4-444e-a4c7-fcd3a57f9a6d is already used by service \"a\" at kong.yaml:3:3"
        ]
    );
    // Same name under different parents is fine for targets; same target twice is not.
    let errs = errors(
        "_format_version: \"3.0\"\nupstreams:\n- name: u\n  targets: [{target: a}, {target: \"a:8000\"}]\n- name: v\n  targets: [{target: a}]\n",
    );
    assert_eq!(
        errs,
        vec!["kong.yaml:4:26: error: target \"a:8000\" is the same entity as target \"a\", defined at kong.yaml:4:13"]
    );
}

#[test]
fn duplicates_across_files_name_the_other_file() {
    let r = load_env(
        &[
            ("a.yaml", "_format_version: \"3.0\"\nservices: [{name: s, host: h}]\n"),
            ("b.yaml", "_format_version: \"3.0\"\nservices:\n- {name: s, host: h}\n"),
        ],
        &[],
    );
    assert_eq!(errors_of(r), vec!["b.yaml:3:3: error: service \"s\" is already defined at a.yaml:2:12"]);
}

#[test]
fn yaml_errors_have_positions() {
    let errs = errors("_format_version: \"3.0\"\nservices:\n- name: a\n  name: b\n");
    assert_eq!(errs, vec!["kong.yaml:4:3: error: invalid YAML: duplicate key `name` (first defined at line 3)"]);
    let errs = errors("a: [1, 2\n");
    assert!(errs[0].starts_with("kong.yaml:2:1: error: invalid YAML: "), "{errs:?}");
}

#[test]
fn empty_configurations() {
    let errs = errors("");
    assert_eq!(
        errs,
        vec![
            "kong.yaml:1:1: error: the configuration is empty; an empty configuration must still say `_format_version: \"3.0\"`"
        ]
    );
    let d = ok("_format_version: \"3.0\"\n");
    assert!(d.state.entities.is_empty());
    assert_eq!(errors_of(load(&[], &LoadOptions::default())), vec!["error: no configuration file given"]);
}

#[test]
fn format_versions() {
    assert_eq!(
        errors("_format_version: \"4.0\"\n"),
        vec![
            "kong.yaml:1:18: error: _format_version \"4.0\" is not supported: use \"3.0\" (or \"1.1\"/\"2.1\", which are converted)"
        ]
    );
    assert_eq!(
        errors("_format_version: 3.0\n"),
        vec!["kong.yaml:1:18: error: _format_version must be a string such as \"3.0\" (quoted), not a number"]
    );
    let d = ok("services: [{name: s, host: h}]\n");
    assert_eq!(
        d.warnings.iter().map(ToString::to_string).collect::<Vec<_>>(),
        vec![
            "kong.yaml:1:1: warning: no _format_version: read as \"1.1\" (as decK does) and converted to \"3.0\"; no route path needed the `~` regex prefix Kong 3 requires"
        ]
    );
}

#[test]
fn legacy_files_get_regex_prefixes() {
    let d = ok(
        "_format_version: \"1.1\"\nservices:\n- name: s\n  host: h\n  routes:\n  - name: r\n    paths: [/plain, \"/users/\\\\d+\", ~/already/.*]\nroutes:\n- name: top\n  service: s\n  paths:\n  - /a/(b|c)\n",
    );
    assert_eq!(d.state.entities[1].fields["paths"], json!(["/plain", "~/users/\\d+", "~/already/.*"]));
    assert_eq!(d.state.entities[2].fields["paths"], json!(["~/a/(b|c)"]));
    assert_eq!(
        d.warnings.iter().map(ToString::to_string).collect::<Vec<_>>(),
        vec![
            "kong.yaml:1:18: warning: _format_version \"1.1\" converted to \"3.0\"; the `~` regex prefix Kong 3 requires was added to 2 route path(s): route \"r\" path \"/users/\\d+\" → \"~/users/\\d+\" (kong.yaml:7:21); route \"top\" path \"/a/(b|c)\" → \"~/a/(b|c)\" (kong.yaml:12:5)"
        ]
    );
}

#[test]
fn unconverted_regex_paths_in_3_0_files_are_warned_about() {
    let d = ok("_format_version: \"3.0\"\nroutes:\n- name: r\n  paths: [\"/u/\\\\d+\"]\n");
    assert_eq!(d.state.entities[0].fields["paths"], json!(["/u/\\d+"]));
    assert_eq!(
        d.warnings[0].to_string(),
        "kong.yaml:4:11: warning: route \"r\": path \"/u/\\d+\" looks like a regular expression but has no `~` prefix; Kong 3 matches it as a plain prefix"
    );
}

#[test]
fn select_tags_are_added_and_must_agree() {
    let d = ok(
        "_format_version: \"3.0\"\n_info:\n  select_tags: [team-a]\nservices:\n- name: s\n  host: h\n  tags: [x]\n  routes: [{name: r, paths: [/]}]\nconsumers:\n- username: u\n  groups: []\n",
    );
    assert_eq!(d.select_tags, vec!["team-a".to_owned()]);
    assert_eq!(d.state.entities[0].fields["tags"], json!(["x", "team-a"]));
    assert_eq!(d.state.entities[1].fields["tags"], json!(["team-a"]));
    assert_eq!(d.state.entities[2].fields["tags"], json!(["team-a"]));

    let r = load_env(
        &[
            ("a.yaml", "_format_version: \"3.0\"\n_info:\n  select_tags: [a]\n"),
            ("b.yaml", "_format_version: \"3.0\"\n_info:\n  select_tags: [b]\n"),
            ("c.yaml", "_format_version: \"3.0\"\n"),
        ],
        &[],
    );
    assert_eq!(
        errors_of(r),
        vec![
            "b.yaml:3:16: error: _info.select_tags [\"b\"] differ from [\"a\"] in a.yaml; files read together must share one ownership scope"
        ]
    );
}

#[test]
fn workspaces_must_agree() {
    let d = load_env(
        &[("a.yaml", "_format_version: \"3.0\"\n_workspace: w\n"), ("b.yaml", "_format_version: \"3.0\"\n")],
        &[],
    )
    .unwrap();
    assert_eq!(d.workspace.as_deref(), Some("w"));
    let r = load_env(
        &[
            ("a.yaml", "_format_version: \"3.0\"\n_workspace: w\n"),
            ("b.yaml", "_format_version: \"3.0\"\n_workspace: v\n"),
        ],
        &[],
    );
    assert_eq!(
        errors_of(r),
        vec!["b.yaml:2:13: error: _workspace \"v\" differs from \"w\" in a.yaml; one run manages one workspace"]
    );
}

#[test]
fn konnect_and_transform_are_accepted() {
    let d = ok("_format_version: \"3.0\"\n_transform: true\n_konnect:\n  control_plane_name: default\n");
    assert_eq!(
        d.warnings[0].to_string(),
        "kong.yaml:3:1: warning: _konnect is ignored: gateform manages a Kong Gateway through its Admin API, not Konnect"
    );
    assert_eq!(
        errors("_format_version: \"3.0\"\n_transform: yes\n"),
        vec!["kong.yaml:2:13: error: _transform: expected a boolean, not a string"]
    );
}

#[test]
fn defaults_fill_absent_fields() {
    let d = ok(
        "_format_version: \"3.0\"\n_info:\n  defaults:\n    service: {port: 8080, protocol: https, retries: 1}\n    route: {strip_path: false}\nservices:\n- name: s\n  host: h\n  retries: 9\n- name: u\n  url: http://x.test/\n  routes: [{name: r, paths: [/]}]\n",
    );
    let f = |i: usize| serde_json::Value::Object(d.state.entities[i].fields.clone());
    assert_eq!(f(0), json!({"name": "s", "host": "h", "retries": 9, "port": 8080, "protocol": "https"}));
    assert_eq!(f(1), json!({"name": "u", "url": "http://x.test/", "retries": 1}));
    assert_eq!(f(2), json!({"name": "r", "paths": ["/"], "strip_path": false}));
    let errs = errors("_format_version: \"3.0\"\n_info:\n  defaults:\n    service: {port: x, service: y, nope: 1}\n");
    assert_eq!(
        errs,
        vec![
            "kong.yaml:4:21: error: _info.defaults.service.port: expected an integer",
            "kong.yaml:4:24: error: _info.defaults.service.service: unknown field",
            "kong.yaml:4:36: error: _info.defaults.service.nope: unknown field",
        ]
    );
}

#[test]
fn plugin_configs_are_merged_under_the_plugin_config() {
    let d = ok(
        "_format_version: \"3.0\"\n_plugin_configs:\n  rl:\n    minute: 10\n    hour: 100\n    redis: {host: r, port: 6379}\nplugins:\n- name: rate-limiting\n  _config: rl\n  config:\n    minute: 5\n    redis: {port: 1}\n",
    );
    assert_eq!(
        d.state.entities[0].fields["config"],
        json!({"minute": 5, "redis": {"port": 1, "host": "r"}, "hour": 100})
    );
    let errs = errors("_format_version: \"3.0\"\nplugins:\n- name: cors\n  _config: nope\n");
    assert_eq!(errs, vec!["kong.yaml:4:12: error: plugins[0]._config: _plugin_configs has no entry \"nope\""]);
}

#[test]
fn env_errors_name_the_file_and_line() {
    let r = load_env(
        &[("svc.yaml", "_format_version: \"3.0\"\nservices:\n- name: s\n  host: ${{ env \"DECK_HOST\" }}\n")],
        &[],
    );
    assert_eq!(
        errors_of(r),
        vec!["svc.yaml:4:9: error: environment variable 'DECK_HOST' present in state file but not set"]
    );
}

#[test]
fn positions_after_substitutions_are_original_positions() {
    let text = "_format_version: \"3.0\"\nservices:\n- name: s\n  host: ${{ env \"DECK_HOST\" }}\n  ca_certificates: ${{ env \"DECK_MULTI\" }}\n  port: bad\n";
    let r = load_env(
        &[("k.yaml", text)],
        &[
            ("DECK_HOST", "h"),
            ("DECK_MULTI", "\n  - 4e3ad2e4-0bc4-4638-8e34-c84a417ba39b\n  - 5e3ad2e4-0bc4-4638-8e34-c84a417ba39b"),
        ],
    );
    assert_eq!(errors_of(r), vec!["k.yaml:6:9: error: services[0].port: expected an integer (service \"s\")"]);
}

#[test]
fn diagnostics_are_sorted_by_file_then_position() {
    let r = load_env(
        &[
            (
                "a.yaml",
                "_format_version: \"3.0\"\nroutes:\n- {name: r, paths: [/], service: x}\nservices:\n- {name: s, port: x}\n",
            ),
            ("b.yaml", "_format_version: \"3.0\"\nnope: 1\n"),
        ],
        &[],
    );
    let lines = errors_of(r);
    assert_eq!(
        lines,
        vec![
            "a.yaml:3:34: error: route \"r\" refers to service \"x\", which is not defined",
            "a.yaml:5:19: error: services[0].port: expected an integer (service \"s\")",
            "b.yaml:2:1: error: unknown top-level key `nope`",
        ]
    );
}

#[test]
fn every_diagnostic_carries_its_entity() {
    let err = load_one("_format_version: \"3.0\"\nroutes:\n- name: r1\n  paths: [/]\n  service: nope\n").unwrap_err();
    assert_eq!(err.0[0].entity.as_deref(), Some("route \"r1\""));
    assert_eq!(err.0[0].origin.as_ref().map(|o| (o.line, o.column)), Some((5, 12)));
}
