//! Every real decK / Kong declarative file of `../shared/real-configs/kong/` (read in
//! place): it loads, or fails with the specific error it deserves; what loads survives a
//! dump and a reload unchanged.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gateform::kong::KongKind as Kind;
use gateform::kong::deck::read::{LoadOptions, load};
use gateform::kong::deck::write::{DumpOptions, dump};
use gateform::kong::plugins::PluginNames;
use gateform::model::{Ref, State};
use gateform::source::Desired;
use gateform::source::{Input, read_inputs};
use serde_json::Value;

/// The real configurations, or `None` (the test skips, saying so) when they are absent.
fn dir(test: &str) -> Option<PathBuf> {
    crate::common::real_configs_dir(test)
}

/// Test values for the `DECK_*` variables the files use (listed in `SOURCES.md`).
fn env() -> BTreeMap<String, String> {
    [
        ("DECK_SVC1_HOSTNAME", "mockbin.org"),
        ("DECK_BAZZ", "bazz-value"),
        ("DECK_BARR", "barr-value"),
        ("DECK_SERVICE_HOST", "mask.example.test"),
        ("DECK_RETRIES", "3"),
        ("DECK_REGEX_PRIORITY", "10"),
        ("DECK_RATE_LIMIT", "42"),
        ("DECK_REDIS_DB", "1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

fn load_file(dir: &Path, name: &str) -> Result<Desired, String> {
    let inputs = read_inputs(&[dir.join(name)]).map_err(|e| e.to_string())?;
    // Messages name the file as given; keep only its file name for stable assertions.
    let inputs: Vec<Input> = inputs.into_iter().map(|i| Input::new(name, i.text)).collect();
    load(&inputs, &options(dir, name)).map_err(|e| e.to_string())
}

/// How the file `name` loads: its users declare the plugins Kong does not bundle
/// (`--custom-plugin`).
fn options(dir: &Path, name: &str) -> LoadOptions<'static> {
    let custom = crate::common::custom_plugins(&dir.join(name)).join(",");
    let options = BTreeMap::from([("custom_plugins".to_owned(), custom)]);
    let plugins = PluginNames::from_options(&options).unwrap_or_default();
    LoadOptions { env: env(), plugins, ..LoadOptions::default() }
}

/// Files that load, with their entity count per kind.
const LOADS: &[(&str, &[(Kind, usize)])] = &[
    ("FIWARE__tutorials.PEP-Proxy__kong__kong.yaml", &[(Kind::Service, 1), (Kind::Route, 1), (Kind::Plugin, 1)]),
    ("GSA-TTS__identity-idva-api-gateway__kong.yaml", &[(Kind::Service, 1), (Kind::Route, 1), (Kind::Plugin, 2)]),
    (
        "Klasmart-Engineering__api-management-poc__kong__kong.yaml",
        &[(Kind::Service, 1), (Kind::Route, 1), (Kind::Plugin, 1), (Kind::Upstream, 1), (Kind::Target, 1)],
    ),
    (
        "Kong__deck__tests__integration__testdata__apply__011-konnect-workspace__konnect-workspace-with-multiple-entities.yaml",
        &[
            (Kind::Service, 1),
            (Kind::Route, 2),
            (Kind::Upstream, 1),
            (Kind::Target, 1),
            (Kind::Vault, 1),
            (Kind::Certificate, 1),
            (Kind::Sni, 1),
            (Kind::Consumer, 1),
        ],
    ),
    ("Kong__deck__tests__integration__testdata__diff__002-mask__kong3x.yaml", &[(Kind::Service, 1), (Kind::Plugin, 1)]),
    (
        "Kong__deck__tests__integration__testdata__dump__001-entities-with-tags__kong.yaml",
        &[
            (Kind::Certificate, 1),
            (Kind::Sni, 3),
            (Kind::Consumer, 1),
            (Kind::Acl, 1),
            (Kind::HmacauthCredential, 1),
            (Kind::JwtSecret, 1),
            (Kind::KeyauthCredential, 1),
            (Kind::Plugin, 1),
            (Kind::Service, 3),
            (Kind::Route, 3),
            (Kind::Upstream, 1),
            (Kind::Target, 3),
        ],
    ),
    (
        "Kong__deck__tests__integration__testdata__sync__015-consumer-groups__kong-consumer-1.yaml",
        &[(Kind::Consumer, 1), (Kind::ConsumerGroupConsumer, 1)],
    ),
    (
        "Kong__deck__tests__integration__testdata__sync__017-consumer-groups-rla-application__kong3x.yaml",
        &[
            (Kind::Service, 1),
            (Kind::Route, 1),
            (Kind::ConsumerGroup, 2),
            (Kind::Plugin, 4),
            (Kind::Consumer, 3),
            (Kind::KeyauthCredential, 3),
            (Kind::ConsumerGroupConsumer, 2),
        ],
    ),
    (
        "Kong__deck__tests__integration__testdata__sync__043-keys-and-key_sets__kong.yaml",
        &[(Kind::KeySet, 1), (Kind::Key, 3)],
    ),
    (
        "Kong__deck__tests__integration__testdata__sync__053-mask-short-values__kong.yaml",
        &[(Kind::Service, 1), (Kind::Route, 1), (Kind::Plugin, 1)],
    ),
    (
        "Kong__kubernetes-ingress-controller__internal__dataplane__translator__testdata__golden__consumer-group-example-ee__default_golden.yaml",
        &[(Kind::ConsumerGroup, 2), (Kind::Consumer, 2), (Kind::ConsumerGroupConsumer, 3)],
    ),
    ("amey-admane__kong-deck-configuration__kong__kong.yaml", &[(Kind::Service, 2), (Kind::Route, 18)]),
    ("dascole__deck-actions__kong__kong.yaml", &[(Kind::Service, 1), (Kind::Route, 1)]),
    // Its service names a client certificate by an id the file does not define: the id is
    // kept for the plan to resolve on the gateway (as decK does).
    (
        "Kong__deck__kong2tf__testdata__input.yaml",
        &[
            (Kind::Certificate, 2),
            (Kind::CaCertificate, 3),
            (Kind::Vault, 1),
            (Kind::Consumer, 1),
            (Kind::ConsumerGroup, 1),
            (Kind::Sni, 1),
            (Kind::Service, 1),
            (Kind::Upstream, 1),
            (Kind::KeyauthCredential, 1),
            (Kind::BasicauthCredential, 1),
            (Kind::JwtSecret, 1),
            (Kind::Acl, 1),
            (Kind::MtlsAuthCredential, 1),
            (Kind::ConsumerGroupConsumer, 1),
            (Kind::Route, 1),
            (Kind::Target, 2),
            (Kind::Plugin, 17),
        ],
    ),
    ("jonathanlazaro1__kong-dbless-sample__kong.json", &[(Kind::Service, 1), (Kind::Route, 1)]),
    ("robincher__kong-se-deck-flow__deck__kong.yaml", &[(Kind::Service, 1)]),
    (
        "supabase__supabase__docker__volumes__api__kong.yml",
        &[
            (Kind::Consumer, 3),
            (Kind::KeyauthCredential, 4),
            (Kind::Acl, 2),
            (Kind::BasicauthCredential, 1),
            (Kind::Service, 20),
            (Kind::Route, 20),
            (Kind::Plugin, 41),
        ],
    ),
];

/// Files that cannot load, with every error they give.
const FAILS: &[(&str, &[&str])] = &[
    (
        // A dump from Kong Enterprise: its oauth2 plugin has a config field Kong OSS 3.9
        // (the bundled schemas) does not know, and it uses Enterprise-only `ws`/`wss`
        // protocols, each reported at its own line.
        "Kong__CustomerSuccess__kong.yaml",
        &[
            "Kong__CustomerSuccess__kong.yaml:286:7: error: services[1].plugins[1].config.persistent_refresh_token: unknown field (plugin \"oauth2\")",
            "Kong__CustomerSuccess__kong.yaml:300:7: error: services[1].plugins[1].protocols[4]: expected one of: grpc, grpcs, http, https (plugin \"oauth2\")",
            "Kong__CustomerSuccess__kong.yaml:301:7: error: services[1].plugins[1].protocols[5]: expected one of: grpc, grpcs, http, https (plugin \"oauth2\")",
            "Kong__CustomerSuccess__kong.yaml:408:9: error: services[3].routes[0].plugins[1].protocols[4]: expected one of: grpc, grpcs, http, https (plugin \"key-auth\")",
            "Kong__CustomerSuccess__kong.yaml:409:9: error: services[3].routes[0].plugins[1].protocols[5]: expected one of: grpc, grpcs, http, https (plugin \"key-auth\")",
            "Kong__CustomerSuccess__kong.yaml:2028:13: error: services[18].protocol: expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp (service \"websocket-echo\")",
            "Kong__CustomerSuccess__kong.yaml:2039:7: error: services[18].routes[0].protocols[0]: expected one of: grpc, grpcs, http, https, tcp, tls, tls_passthrough, udp (route \"websocket-wss\")",
        ],
    ),
    (
        // openapi2kong output that scopes plugins to consumers defined elsewhere.
        "Kong__go-apiops__openapi2kong__oas3_testfiles__09a-plugins-with-consumers.expected.json",
        &[
            "Kong__go-apiops__openapi2kong__oas3_testfiles__09a-plugins-with-consumers.expected.json:9:19: error: plugin \"request-termination\" at plugins[0] refers to consumer \"johndoe2\", which is not defined",
            "Kong__go-apiops__openapi2kong__oas3_testfiles__09a-plugins-with-consumers.expected.json:23:19: error: plugin \"request-termination\" at plugins[1] refers to consumer \"johndoe3\", which is not defined",
            "Kong__go-apiops__openapi2kong__oas3_testfiles__09a-plugins-with-consumers.expected.json:37:19: error: plugin \"request-termination\" at plugins[2] refers to consumer \"johndoe1\", which is not defined",
        ],
    ),
];

#[test]
fn every_real_file_is_covered() {
    let Some(dir) = dir("every_real_file_is_covered") else { return };
    let mut on_disk: Vec<String> = std::fs::read_dir(dir)
        .expect("real-configs directory")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n != "SOURCES.md")
        .collect();
    on_disk.sort();
    let mut covered: Vec<String> =
        LOADS.iter().map(|(n, _)| (*n).to_owned()).chain(FAILS.iter().map(|(n, _)| (*n).to_owned())).collect();
    covered.sort();
    assert_eq!(on_disk, covered);
}

#[test]
fn real_files_load() {
    let Some(dir) = dir("real_files_load") else { return };
    for (name, counts) in LOADS {
        let d = load_file(&dir, name).unwrap_or_else(|e| panic!("{name} does not load:\n{e}"));
        let mut by_kind: BTreeMap<Kind, usize> = BTreeMap::new();
        for e in &d.state.entities {
            *by_kind.entry(Kind::of(e.kind).unwrap()).or_default() += 1;
        }
        let expected: BTreeMap<Kind, usize> = counts.iter().copied().collect();
        assert_eq!(by_kind, expected, "{name}");
        for e in &d.state.entities {
            assert!(e.origin.as_ref().is_some_and(|o| &*o.file == *name && o.line > 0), "{name}: {e:?}");
        }
    }
}

#[test]
fn real_files_that_cannot_load_say_why() {
    let Some(dir) = dir("real_files_that_cannot_load_say_why") else { return };
    for (name, expected) in FAILS {
        let err = load_file(&dir, name).err().unwrap_or_else(|| panic!("{name} loaded"));
        let errors: Vec<&str> = err.lines().filter(|l| l.contains(": error: ")).collect();
        assert_eq!(errors, *expected, "{name}");
    }
}

#[test]
fn variables_are_substituted_and_tracked() {
    let Some(dir) = dir("variables_are_substituted_and_tracked") else { return };
    let d =
        load_file(&dir, "Kong__deck__tests__integration__testdata__sync__053-mask-short-values__kong.yaml").unwrap();
    assert_eq!(d.env_values, vec!["1", "10", "3", "42", "mask.example.test"]);
    let svc = &d.state.entities[0];
    assert_eq!(svc.fields["retries"], 3);
    assert!(d.env_fields.contains(&(0, "host".to_owned())));
    assert!(d.env_fields.contains(&(2, "config.redis_database".to_owned())));
}

#[test]
fn distributed_config_refers_to_groups_on_the_gateway() {
    let Some(dir) = dir("distributed_config_refers_to_groups_on_the_gateway") else { return };
    let d =
        load_file(&dir, "Kong__deck__tests__integration__testdata__sync__015-consumer-groups__kong-consumer-1.yaml")
            .unwrap();
    assert_eq!(d.select_tags, vec!["user1"]);
    assert_eq!(d.lookup_tags[&Kind::ConsumerGroup.kind()], vec!["group-tag"]);
    assert_eq!(d.state.entities[1].refs["consumer_group"], Ref::Key("foo-group".into()));
}

/// An entity as a comparable string: kind, fields (keys sorted), parents recursively.
fn canon(state: &State, i: usize) -> String {
    fn sorted(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let b: BTreeMap<&String, Value> = m.iter().map(|(k, v)| (k, sorted(v))).collect();
                Value::Object(b.into_iter().map(|(k, v)| (k.clone(), v)).collect())
            }
            Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    let e = &state.entities[i];
    let fields: BTreeMap<&String, Value> =
        e.fields.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k, sorted(v))).collect();
    let parents: Vec<String> = e
        .refs
        .iter()
        .map(|(f, r)| match r {
            Ref::Local(j) => format!("{f}=({})", canon(state, *j)),
            other => format!("{f}={other:?}"),
        })
        .collect();
    format!("{} {:?} {} {}", e.kind, e.id, serde_json::to_string(&fields).unwrap_or_default(), parents.join(" "))
}

#[test]
fn loaded_files_survive_dump_and_reload() {
    let Some(dir) = dir("loaded_files_survive_dump_and_reload") else { return };
    for (name, _) in LOADS {
        let d = load_file(&dir, name).unwrap();
        if d.state.entities.iter().any(|e| e.refs.values().any(|r| matches!(r, Ref::Key(_)))) {
            continue; // references to the gateway cannot be written without it
        }
        let text = dump(&d.state, &DumpOptions { with_ids: true, ..DumpOptions::default() }).unwrap();
        let back = load(&[Input::new("dump.yaml", text.clone())], &options(&dir, name))
            .unwrap_or_else(|e| panic!("{name}: dump does not reload:\n{e}\n{text}"));
        let mut before: Vec<String> = (0..d.state.entities.len()).map(|i| canon(&d.state, i)).collect();
        let mut after: Vec<String> = (0..back.state.entities.len()).map(|i| canon(&back.state, i)).collect();
        before.sort();
        after.sort();
        assert_eq!(after, before, "{name}\n{text}");
    }
}
