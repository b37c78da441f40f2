//! Configuration texts → the desired state of a Tyk gateway: the texts become a
//! [`FileSet`] (their common directory is the root, so `.tyk.json` indexes and `apps/`,
//! `policies/` directories keep their meaning), read by [`crate::tyk::files`], then checked as
//! the gateway would take them, each problem at `file:line:column`:
//!
//! * classic definitions and policies are decoded as Go decodes them into
//!   `apidef.APIDefinition` / `user.Policy`: a value of the wrong type is an error (the
//!   gateway answers `400 Request malformed`), a field the gateway does not have is a
//!   warning (it is dropped on write, `tyk.md` §2.3 #10);
//! * an HTTP API needs a listen path without white space (Tyk skips, unrouted, an API
//!   whose listen path is empty or holds spaces, §2.3 #11);
//! * two APIs may not share a domain and listen path (Tyk would rename one at load, §1.4).

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value};

use super::files::{Document, FileSet, ReadOptions, read_set};
use super::kind::TykKind;
use super::refs::route;
use crate::model::{Entity, State};
use crate::source::{Desired, Diagnostic, Diagnostics, Input};
use crate::tyk::sandbox::{classic_fields, policy_fields};

/// The documents of a load, by kind and id: where every field was written.
pub type Documents = HashMap<(TykKind, String), Document>;

/// A loaded configuration and its documents.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The desired state.
    pub desired: Desired,
    /// The documents it came from.
    pub docs: Documents,
}

/// The set of `inputs` under their common directory (`v1:tyk/`, `cfg/`); a common directory
/// named `apps` or `policies` stays part of the relative paths, which give those files
/// their role.
pub fn file_set(inputs: &[Input]) -> FileSet {
    let dir_of = |name: &str| name.rfind('/').map_or(String::new(), |i| name[..=i].to_owned());
    let mut prefix = inputs.first().map(|i| dir_of(&i.name)).unwrap_or_default();
    for i in inputs {
        while !i.name.starts_with(&prefix) {
            let trimmed = prefix.trim_end_matches('/');
            prefix = dir_of(trimmed);
        }
    }
    let trimmed = prefix.trim_end_matches('/');
    let last = trimmed.rsplit(['/', ':']).next().unwrap_or("");
    if matches!(last, "apps" | "policies") {
        prefix = prefix[..prefix.len() - last.len() - 1].to_owned();
    }
    let mut set = FileSet::new(prefix.clone());
    for i in inputs {
        set.insert(i.name[prefix.len()..].to_owned(), i.text.clone());
    }
    set
}

/// Top-level fields of Dashboard dumps that the gateway's structs do not have (a policy's
/// `date_created`): dropped without a warning.
const DASHBOARD_FIELDS: &[&str] = &["date_created"];

/// A dotted path (`proxy.listen_path`) as a JSON pointer.
fn pointer_of(dotted: &str) -> String {
    dotted.split('.').map(|p| format!("/{}", p.replace('~', "~0").replace('/', "~1"))).collect()
}

/// Decodes a body as the gateway's Go struct does: type errors, and fields it drops.
fn check_fields(d: &Document, kind: TykKind, diags: &mut Vec<Diagnostic>) {
    let (template, what) = match kind {
        TykKind::Api => (classic_fields(), "a classic API definition"),
        TykKind::Policy => (policy_fields(), "a policy"),
        _ => return,
    };
    let mut dropped = Vec::new();
    if let Err(e) = template.normalize(&d.body, "", false, &mut dropped) {
        diags.push(Diagnostic::error(
            Some(d.origin_of(&pointer_of(&e.path))),
            format!(
                "{}: `{}` must be of type {} (the gateway refuses this definition: {e})",
                d.describe(),
                e.path,
                e.expected
            ),
        ));
    }
    // Fields the Dashboard writes into its dumps, which the gateway never had.
    dropped.retain(|p| !DASHBOARD_FIELDS.contains(&p.as_str()));
    for path in dropped {
        diags.push(Diagnostic::warning(
            Some(d.origin_of(&pointer_of(&path))),
            format!(
                "{}: `{path}` is not a field of {what} in Tyk 5.x; the gateway drops it on write, so it is not compared",
                d.describe()
            ),
        ));
    }
}

/// Listen paths: present and without white space; unique per domain.
fn check_routes(docs: &[(TykKind, &Document)], diags: &mut Vec<Diagnostic>) {
    let mut seen: BTreeMap<(String, String), &Document> = BTreeMap::new();
    for (kind, d) in docs {
        let Some(body) = d.body.as_object() else { continue };
        let ptr = match kind {
            TykKind::Api if super::rules::is_http(&d.body) => "/proxy/listen_path",
            TykKind::OasApi => "/x-tyk-api-gateway/server/listenPath/value",
            _ => continue,
        };
        let lp = d.body.pointer(ptr).and_then(Value::as_str).unwrap_or("");
        if lp.trim().is_empty() || lp.chars().any(char::is_whitespace) {
            let why = if lp.trim().is_empty() { "has no listen path" } else { "has white space in its listen path" };
            diags.push(Diagnostic::error(
                Some(d.origin_of(ptr)),
                format!("{} {why} ({lp:?}): Tyk does not route such an API (it skips it at load)", d.describe()),
            ));
            continue;
        }
        let Some((domain, path, _)) = route(*kind, body) else { continue };
        match seen.get(&(domain.clone(), path.clone())) {
            Some(first) => diags.push(Diagnostic::error(
                Some(d.origin_of(ptr)),
                format!(
                    "{} listens on {}{path}, as {} does ({}): Tyk would rename one of them at load (`-<api_id>` appended)",
                    d.describe(),
                    if domain.is_empty() { String::new() } else { domain.clone() },
                    first.describe(),
                    first.origin_of(ptr)
                ),
            )),
            None => {
                seen.insert((domain, path), d);
            }
        }
    }
}

/// Every dotted path of a string value that holds a value `${{ env }}` produced.
fn env_paths(v: &Value, at: &str, values: &[String], out: &mut Vec<String>) {
    match v {
        Value::String(s) if values.iter().any(|e| s == e || (e.len() >= 3 && s.contains(e.as_str()))) => {
            out.push(at.to_owned());
        }
        Value::Object(m) => {
            for (k, c) in m {
                let p = if at.is_empty() { k.clone() } else { format!("{at}.{k}") };
                env_paths(c, &p, values, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|c| env_paths(c, at, values, out)),
        _ => {}
    }
}

/// Reads and checks `inputs` (see the module documentation).
pub fn load(inputs: &[Input], env: &BTreeMap<String, String>) -> Result<Loaded, Diagnostics> {
    let set = file_set(inputs);
    let read = read_set(&set, &ReadOptions { env: env.clone() })?;
    let mut diags: Vec<Diagnostic> = read.warnings.clone();
    let docs: Vec<(TykKind, &Document)> = read.docs.iter().map(|d| (TykKind::of_doc(d.kind), d)).collect();
    for (kind, d) in &docs {
        check_fields(d, *kind, &mut diags);
    }
    check_routes(&docs, &mut diags);
    if diags.iter().any(Diagnostic::is_error) {
        diags.sort_by_key(|d| !d.is_error());
        return Err(Diagnostics(diags));
    }
    let mut env_values = read.env_values.clone();
    env_values.sort();
    env_values.dedup();
    let mut state = State::default();
    let mut env_fields = std::collections::BTreeSet::new();
    let mut by_id = Documents::new();
    for (kind, d) in docs {
        let mut e = Entity::new(kind.kind());
        e.id = Some(d.id.clone());
        e.fields = d.body.as_object().cloned().unwrap_or_else(Map::new);
        e.origin = Some(d.origin.clone());
        if !env_values.is_empty() {
            let mut paths = Vec::new();
            env_paths(&d.body, "", &env_values, &mut paths);
            env_fields.extend(paths.into_iter().map(|p| (state.entities.len(), p)));
        }
        state.entities.push(e);
        by_id.insert((kind, d.id.clone()), d.clone());
    }
    let desired = Desired { state, warnings: diags, env_values, env_fields, ..Desired::default() };
    Ok(Loaded { desired, docs: by_id })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(files: &[(&str, &str)]) -> Vec<Input> {
        files.iter().map(|(n, t)| Input::new(*n, *t)).collect()
    }

    #[test]
    fn the_common_directory_is_the_root() {
        let s = file_set(&inputs(&[("v1:tyk/.tyk.json", "{}"), ("v1:tyk/api/a.json", "{}")]));
        assert_eq!(s.prefix, "v1:tyk/");
        assert_eq!(s.files.keys().collect::<Vec<_>>(), vec![".tyk.json", "api/a.json"]);
        let s = file_set(&inputs(&[("cfg/apps/a.json", "{}")]));
        assert_eq!((s.prefix.as_str(), s.files.keys().next().unwrap().as_str()), ("cfg/", "apps/a.json"));
        let s = file_set(&inputs(&[("a.json", "{}"), ("b/c.json", "{}")]));
        assert_eq!(s.prefix, "");
    }

    #[test]
    fn wrong_types_unknown_fields_and_listen_paths_are_reported_at_their_place() {
        let a = r#"{"api_id": "a", "name": "A", "use_keyless": "yes", "proxy": {"listen_path": "/a/"}}"#;
        let b = r#"{"api_id": "b", "name": "B", "brand_new": 1, "proxy": {"listen_path": "/a/"}}"#;
        let c = r#"{"api_id": "c", "name": "C", "proxy": {"listen_path": "<<AUTO REPLACE>>"}}"#;
        let err = load(&inputs(&[("t/a.json", a), ("t/b.json", b), ("t/c.json", c)]), &BTreeMap::new()).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("t/a.json:1:45: error: API \"a\": `use_keyless` must be of type bool"), "{text}");
        assert!(
            text.contains("t/b.json:1:71: error: API \"b\" listens on /a/, as API \"a\" does (t/a.json:1:77)"),
            "{text}"
        );
        assert!(text.contains("t/c.json:1:55: error: API \"c\" has white space in its listen path"), "{text}");
        assert!(text.contains("t/b.json:1:43: warning: API \"b\": `brand_new` is not a field"), "{text}");
    }
}
