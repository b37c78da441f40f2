//! A reload: what a Tyk node serves after reading its files (`tyk.md` §1.3, §1.4, §2.3).
//!
//! APIs (`gateway/api_definition.go` `FromDir`, `gateway/api_loader.go` `loadApps` and
//! `processSpec`): every `apps/*.json` in name order, except `*-oas.json` companions of an
//! existing `<name>.json`; `secrets://KEY` and `env://NAME` replaced in the raw text; a file
//! that is not one JSON object of the right field types is skipped; `is_oas` definitions read
//! their companion. Then, for HTTP APIs with a valid listen path: the listen path gets its
//! leading `/` and is cleaned, `tag_headers` are lowercased, `proxy.transport.ssl_max_version`
//! is forced to TLS 1.2 (771) when set and raised to `ssl_min_version` when lower; APIs whose
//! `domain` + listen path is shared are renamed (`-<api_id>` appended, then `_` while the new
//! path is still shared), except one that already served that path before the reload. When two
//! files carry one `api_id`, the last in name order wins. The file name is kept: REST updates
//! and deletes address `<api_id>.json`, so a hand-placed file of another name cannot be
//! changed through the API.
//!
//! Policies (`gateway/server.go` `syncPolicies`, `gateway/policy.go`): with
//! [`PolicySource::File`] every `policies/*.json` (a file that does not decode gives a policy
//! with the fields that did, as Go's decoder leaves them); with [`PolicySource::RecordName`]
//! the map `policies/policies.json` (the map key is the id); with [`PolicySource::Service`]
//! none.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::options::{PolicySource, TykSandboxOptions, classic_fields, policy_fields};
use super::store::{APPS, FileStore, POLICIES};
use crate::tyk::rules::process_spec;
pub use crate::tyk::rules::valid_listen_path;

/// One API a node serves.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedApi {
    /// The classic definition as `GET /tyk/apis/{id}` returns it (every field).
    pub def: Value,
    /// The Tyk OAS document (`<file>-oas.json`), for `is_oas` APIs.
    pub oas: Option<Value>,
    /// The file it was read from, in `apps/`.
    pub file: String,
}

/// What a node serves.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Loaded {
    /// APIs by `api_id`.
    pub apis: BTreeMap<String, Arc<LoadedApi>>,
    /// Policies (every field) by `id`.
    pub policies: BTreeMap<String, Value>,
}

/// The record file read with [`PolicySource::RecordName`], in `policies/`.
pub const POLICY_RECORD_FILE: &str = "policies.json";

/// Reads the store as a node would at reload. `previous` is what the node served before.
pub fn load(opts: &TykSandboxOptions, store: &FileStore, previous: &Loaded) -> Loaded {
    Loaded { apis: load_apis(opts, store, previous), policies: load_policies(opts, store) }
}

/// Replaces `secrets://KEY` (gateway config `secrets`) and `env://NAME` references in the raw
/// text, JSON-escaped, as `replaceSecrets` does; unknown references stay as they are.
pub fn replace_secrets(text: &str, opts: &TykSandboxOptions) -> String {
    let mut out = text.to_owned();
    if out.contains("env://") {
        let mut names: Vec<String> = Vec::new();
        let mut rest = out.as_str();
        while let Some(i) = rest.find("env://") {
            let tail = &rest[i + 6..];
            let end = tail.find('"').unwrap_or(tail.len());
            names.push(tail[..end].to_owned());
            rest = &tail[end..];
        }
        for name in names {
            if let Some(v) = opts.env.get(&name).filter(|v| !v.is_empty()) {
                out = out.replace(&format!("env://{name}"), &json_escape(v));
            }
        }
    }
    if out.contains("secrets://") {
        for (k, v) in &opts.secrets {
            out = out.replace(&format!("secrets://{k}"), &json_escape(v));
        }
    }
    out
}

fn json_escape(s: &str) -> String {
    let quoted = Value::String(s.to_owned()).to_string();
    quoted[1..quoted.len() - 1].to_owned()
}

fn is_companion(store: &FileStore, name: &str) -> bool {
    let Some(stem) = name.strip_suffix("-oas.json").or_else(|| name.strip_suffix("-mcp.json")) else {
        return false;
    };
    if !store.exists(APPS, &format!("{stem}.json")) {
        return false;
    }
    let Ok(bytes) = store.read(APPS, name) else {
        return false;
    };
    serde_json::from_slice::<Value>(&bytes).ok().is_some_and(|v| {
        ["openapi", "swagger"].iter().any(|k| v.get(k).and_then(Value::as_str).is_some_and(|s| !s.is_empty()))
    })
}

fn read_json(store: &FileStore, dir: &str, name: &str, opts: &TykSandboxOptions) -> Option<Value> {
    let bytes = store.read(dir, name).ok()?;
    let text = replace_secrets(&String::from_utf8_lossy(&bytes), opts);
    serde_json::from_str(&text).ok()
}

fn read_api(store: &FileStore, name: &str, opts: &TykSandboxOptions) -> Option<LoadedApi> {
    let raw = read_json(store, APPS, name, opts)?;
    let def = classic_fields().normalize(&raw, "", false, &mut Vec::new()).ok()?;
    let oas = if def.get("is_oas") == Some(&Value::Bool(true)) {
        let stem = name.strip_suffix(".json").unwrap_or(name);
        read_json(store, APPS, &format!("{stem}-oas.json"), opts)
    } else {
        None
    };
    Some(LoadedApi { def, oas, file: name.to_owned() })
}

fn get_str<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

fn domain_of(def: &Value) -> &str {
    if def.get("domain_disabled") == Some(&Value::Bool(true)) { "" } else { get_str(def, "/domain") }
}

fn is_http(def: &Value) -> bool {
    matches!(get_str(def, "/protocol"), "" | "http" | "https" | "h2c")
}

/// `skipSpecBecauseInvalid`: an empty listen path or one with spaces is not routed.
fn routable(def: &Value) -> bool {
    let lp = get_str(def, "/proxy/listen_path");
    !lp.is_empty() && !lp.contains(' ')
}

fn load_apis(opts: &TykSandboxOptions, store: &FileStore, previous: &Loaded) -> BTreeMap<String, Arc<LoadedApi>> {
    let names = store.list_json(APPS).unwrap_or_default();
    let mut specs: Vec<LoadedApi> = Vec::new();
    for name in names.iter().filter(|n| !is_companion(store, n)) {
        let Some(mut spec) = read_api(store, name, opts) else {
            tracing::warn!("Tyk sandbox: skipping apps/{name}: not an API definition");
            continue;
        };
        let lp = valid_listen_path(get_str(&spec.def, "/proxy/listen_path"));
        if let Some(p) = spec.def.pointer_mut("/proxy/listen_path") {
            *p = Value::String(lp);
        }
        specs.push(spec);
    }
    let mut by_listen: HashMap<String, usize> = HashMap::new();
    for s in &specs {
        *by_listen.entry(format!("{}{}", domain_of(&s.def), get_str(&s.def, "/proxy/listen_path"))).or_default() += 1;
    }
    // `sortSpecsByListenPath`: longer listen paths first.
    let mut order: Vec<usize> = (0..specs.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(get_str(&specs[i].def, "/proxy/listen_path").len()));
    for &i in &order {
        let spec = &mut specs[i];
        if !is_http(&spec.def) {
            continue;
        }
        process_spec(&mut spec.def);
        if routable(&spec.def) {
            rename_on_collision(&mut spec.def, &by_listen, previous);
        }
    }
    // Files in name order: of two files with one api_id, the last wins.
    let mut out = BTreeMap::new();
    for spec in specs {
        let id = get_str(&spec.def, "/api_id").to_owned();
        out.insert(id, Arc::new(spec));
    }
    out
}

fn rename_on_collision(def: &mut Value, by_listen: &HashMap<String, usize>, previous: &Loaded) {
    let id = get_str(def, "/api_id").to_owned();
    let domain = domain_of(def).to_owned();
    let mut lp = get_str(def, "/proxy/listen_path").to_owned();
    let mut modified = false;
    while by_listen.get(&format!("{domain}{lp}")).copied().unwrap_or(0) >= 2 {
        if !modified {
            if previous.apis.get(&id).is_some_and(|p| get_str(&p.def, "/proxy/listen_path") == lp) {
                break;
            }
            lp.push('-');
            lp.push_str(&id);
            modified = true;
        } else {
            lp.push('_');
        }
    }
    if modified {
        tracing::warn!("Tyk sandbox: listen path collision, API {id} changed to {lp}");
        if let Some(p) = def.pointer_mut("/proxy/listen_path") {
            *p = Value::String(lp);
        }
    }
}

fn decode_policy(raw: &Value) -> Value {
    policy_fields().normalize(raw, "", true, &mut Vec::new()).unwrap_or_else(|_| policy_fields().zero())
}

fn load_policies(opts: &TykSandboxOptions, store: &FileStore) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    match opts.effective_policy_source() {
        PolicySource::Service => {}
        PolicySource::File => {
            for name in store.list_json(POLICIES).unwrap_or_default() {
                let raw = store
                    .read(POLICIES, &name)
                    .ok()
                    .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                    .unwrap_or(Value::Null);
                let pol = decode_policy(&raw);
                out.insert(get_str(&pol, "/id").to_owned(), pol);
            }
        }
        PolicySource::RecordName => {
            let map = store
                .read(POLICIES, POLICY_RECORD_FILE)
                .ok()
                .and_then(|b| serde_json::from_slice::<Map<String, Value>>(&b).ok())
                .unwrap_or_default();
            for (id, raw) in map {
                let mut pol = decode_policy(&raw);
                if !id.is_empty() {
                    pol["id"] = Value::String(id);
                }
                out.insert(get_str(&pol, "/id").to_owned(), pol);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_and_env_references_are_replaced_in_the_text() {
        let opts = TykSandboxOptions {
            secrets: [("target".to_owned(), "http://a\"b".to_owned())].into(),
            env: [("LP".to_owned(), "/lp".to_owned())].into(),
            ..Default::default()
        };
        let text = r#"{"t": "secrets://target", "l": "env://LP", "u": "env://UNSET"}"#;
        let v: Value = serde_json::from_str(&replace_secrets(text, &opts)).unwrap();
        assert_eq!(v, json!({"t": "http://a\"b", "l": "/lp", "u": "env://UNSET"}));
    }

    fn api(store: &FileStore, file: &str, id: &str, lp: &str) {
        let def = json!({"api_id": id, "name": id, "proxy": {"listen_path": lp, "target_url": "http://u"}});
        store.write(APPS, file, def.to_string().as_bytes()).unwrap();
    }

    #[test]
    fn colliding_listen_paths_are_renamed_unless_already_served() {
        let store = FileStore::memory();
        let opts = TykSandboxOptions::default();
        api(&store, "a.json", "a", "/shared");
        let first = load(&opts, &store, &Loaded::default());
        assert_eq!(first.apis["a"].def["proxy"]["listen_path"], "/shared");
        api(&store, "b.json", "b", "shared");
        let second = load(&opts, &store, &first);
        assert_eq!(second.apis["a"].def["proxy"]["listen_path"], "/shared");
        assert_eq!(second.apis["b"].def["proxy"]["listen_path"], "/shared-b");
        let fresh = load(&opts, &store, &Loaded::default());
        assert_eq!(fresh.apis["a"].def["proxy"]["listen_path"], "/shared-a");
        assert_eq!(fresh.apis["b"].def["proxy"]["listen_path"], "/shared-b");
    }

    #[test]
    fn the_last_file_of_an_api_id_wins_and_bad_files_are_skipped() {
        let store = FileStore::memory();
        api(&store, "1.json", "1", "/new");
        api(&store, "app_sample.json", "1", "/old");
        store.write(APPS, "broken.json", b"{\"api_id\": 5}").unwrap();
        let l = load(&TykSandboxOptions::default(), &store, &Loaded::default());
        assert_eq!(l.apis.len(), 1);
        assert_eq!(l.apis["1"].file, "app_sample.json");
        assert_eq!(l.apis["1"].def["proxy"]["listen_path"], "/old");
        assert_eq!(l.apis["1"].def["allowed_ips"], Value::Null);
    }

    #[test]
    fn record_name_policies_take_their_id_from_the_map_key() {
        let store = FileStore::memory();
        store.write(POLICIES, POLICY_RECORD_FILE, br#"{"default": {"rate": 1000, "id": "other"}}"#).unwrap();
        store.write(POLICIES, "x.json", br#"{"id": "x"}"#).unwrap();
        let opts = TykSandboxOptions { policy_source: PolicySource::RecordName, ..Default::default() };
        let l = load(&opts, &store, &Loaded::default());
        assert_eq!(l.policies.keys().collect::<Vec<_>>(), vec!["default"]);
        assert_eq!(l.policies["default"]["rate"], 1000);
        let file = load(&TykSandboxOptions::default(), &store, &Loaded::default());
        assert!(file.policies.contains_key("x"));
    }
}
