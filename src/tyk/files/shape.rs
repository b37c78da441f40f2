//! What a Tyk JSON file holds, recognised by its content (`tyk.md` §4.2), and the documents
//! in it:
//!
//! * a Dashboard wrapper `{"api_definition": {...}, "hook_references": ..., ...}`: the
//!   classic definition, unless its `oas` member is a Tyk OAS document (pre-1.5 dumps of OAS
//!   APIs), which is then the document (the classic copy is derived from it); dumps of
//!   classic APIs carry a stub `oas` without `x-tyk-api-gateway`, which is ignored;
//! * an OAS wrapper `{"oas": {...}, ...}` (tyk-sync 1.5 dumps);
//! * a Tyk OAS document (`openapi` + `x-tyk-api-gateway`); a plain OpenAPI document without
//!   the extension is an error saying what to add;
//! * a bare classic definition (`api_id`, `proxy` or `version_data` at the top);
//! * a policy (`access_rights`, or an `id`/`_id` with rate or quota fields);
//! * a policy map keyed by id (the gateway's `policies.json`).

use std::sync::Arc;

use serde_json::Value;

use super::source::{SourceDoc, join};
use super::{DocKind, Document};
use crate::source::diag::Diagnostic;
use crate::tyk::ids::{is_object_id, valid_api_id, valid_policy_id};

/// What a file is expected to hold, from where it was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Listed in `.tyk.json` `files[]`: one API definition.
    IndexApi,
    /// Listed in `.tyk.json` `policies[]`: one policy.
    IndexPolicy,
    /// In an `apps/` directory: one API definition.
    App,
    /// In a `policies/` directory: one policy, or a map of them.
    PolicyDir,
    /// Anywhere else: anything recognisable.
    Loose,
}

/// The recognised content of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    /// A classic definition at this pointer.
    Classic(String),
    /// A Tyk OAS document at this pointer.
    Oas(String),
    /// An OpenAPI document without `x-tyk-api-gateway`.
    PlainOpenApi,
    /// One policy.
    Policy,
    /// A map of policies keyed by id.
    PolicyMap,
    /// None of the above.
    Unknown,
}

fn non_empty_object(v: Option<&Value>) -> bool {
    v.and_then(Value::as_object).is_some_and(|m| !m.is_empty())
}

/// Whether a Dashboard wrapper's `oas` member is a real document (Dashboard dumps of classic
/// APIs carry an empty stub there).
fn is_oas_document(v: Option<&Value>) -> bool {
    v.is_some_and(|o| o.get("x-tyk-api-gateway").is_some())
}

fn looks_like_policy(v: &Value) -> bool {
    let has = |k: &str| v.get(k).is_some();
    has("access_rights")
        || ((has("id") || has("_id")) && ["rate", "per", "quota_max", "partitions"].iter().any(|k| has(k)))
}

/// Recognises a file's content.
pub fn classify(v: &Value) -> Shape {
    let Some(m) = v.as_object() else {
        return Shape::Unknown;
    };
    if m.get("api_definition").is_some_and(Value::is_object) {
        return if is_oas_document(m.get("oas")) {
            Shape::Oas("/oas".into())
        } else {
            Shape::Classic("/api_definition".into())
        };
    }
    if non_empty_object(m.get("oas")) && !m.contains_key("openapi") {
        return Shape::Oas("/oas".into());
    }
    if m.contains_key("openapi") || m.contains_key("swagger") {
        return if m.contains_key("x-tyk-api-gateway") { Shape::Oas(String::new()) } else { Shape::PlainOpenApi };
    }
    if ["api_id", "proxy", "version_data"].iter().any(|k| m.contains_key(*k)) {
        return Shape::Classic(String::new());
    }
    if looks_like_policy(v) {
        return Shape::Policy;
    }
    if !m.is_empty() && m.values().all(|p| p.is_object() && looks_like_policy_map_value(p)) {
        return Shape::PolicyMap;
    }
    Shape::Unknown
}

fn looks_like_policy_map_value(v: &Value) -> bool {
    let has = |k: &str| v.get(k).is_some();
    ["access_rights", "rate", "per", "quota_max", "org_id"].iter().any(|k| has(k))
}

const PLAIN_OPENAPI: &str = "this is a plain OpenAPI document without the `x-tyk-api-gateway` extension, so it does not say how Tyk serves it. Add `x-tyk-api-gateway` with at least `info.id` (a stable api_id), `info.name`, `info.state.active`, `upstream.url` and `server.listenPath.value`, or import it once (`POST /tyk/apis/oas/import`) and dump the result";

fn unknown(role: Role) -> String {
    let what = match role {
        Role::IndexApi | Role::App => {
            "a Tyk API definition (classic with `api_id`, or OpenAPI with `x-tyk-api-gateway`)"
        }
        Role::IndexPolicy => "a Tyk policy (with `id` and `access_rights`)",
        Role::PolicyDir => "a Tyk policy, or a map of policies keyed by id",
        Role::Loose => {
            "a Tyk API definition (classic with `api_id`, Dashboard `{\"api_definition\": ...}` or `{\"oas\": ...}` wrappers, or OpenAPI with `x-tyk-api-gateway`) or a policy (with `access_rights`)"
        }
    };
    format!("cannot tell what this file holds: expected {what}")
}

/// The documents of one parsed file, before their ids are read (overrides may set them
/// first; then call [`assign_id`]). Errors go to `diags`.
pub fn documents(src: &Arc<SourceDoc>, role: Role, diags: &mut Vec<Diagnostic>) -> Vec<Document> {
    let root = src.root.to_json();
    let shape = classify(&root);
    let at_root = || Some(src.origin_at(""));
    let allowed = match (&shape, role) {
        (Shape::Classic(_) | Shape::Oas(_), Role::IndexApi | Role::App | Role::Loose) => true,
        (Shape::Policy, Role::IndexPolicy | Role::PolicyDir | Role::Loose) => true,
        (Shape::PolicyMap, Role::PolicyDir | Role::Loose) => true,
        (Shape::PlainOpenApi, _) => {
            diags.push(Diagnostic::error(at_root(), PLAIN_OPENAPI));
            return Vec::new();
        }
        (Shape::Policy | Shape::PolicyMap, Role::IndexApi | Role::App) => {
            diags.push(Diagnostic::error(
                at_root(),
                "this is a policy, not an API definition; list it under `policies` in .tyk.json",
            ));
            return Vec::new();
        }
        (Shape::Classic(_) | Shape::Oas(_), Role::IndexPolicy | Role::PolicyDir) => {
            diags.push(Diagnostic::error(
                at_root(),
                "this is an API definition, not a policy; list it under `files` in .tyk.json",
            ));
            return Vec::new();
        }
        _ => false,
    };
    if !allowed {
        diags.push(Diagnostic::error(at_root(), unknown(role)));
        return Vec::new();
    }
    let body_at = |base: &str| root.pointer(base).cloned().unwrap_or(Value::Null);
    match shape {
        Shape::Classic(base) => vec![Document::new(DocKind::ClassicApi, body_at(&base), src.clone(), base)],
        Shape::Oas(base) => vec![Document::new(DocKind::OasApi, body_at(&base), src.clone(), base)],
        Shape::Policy => vec![Document::new(DocKind::Policy, root.clone(), src.clone(), String::new())],
        _ => policy_map(src, &root),
    }
}

/// The policies of a `policies.json` map: the key is the id (`LoadPoliciesFromFile`).
fn policy_map(src: &Arc<SourceDoc>, root: &Value) -> Vec<Document> {
    let Some(m) = root.as_object() else {
        return Vec::new();
    };
    m.iter()
        .map(|(key, pol)| {
            let base = join("", key);
            let mut d = Document::new(DocKind::Policy, pol.clone(), src.clone(), base.clone());
            if !key.is_empty() {
                let origin = src.key_origin_at(&base);
                d.set_override("/id", Value::String(key.clone()), origin);
            }
            d
        })
        .collect()
}

/// Reads (and checks) the document's id into [`Document::id`]; false when it has none.
pub fn assign_id(d: &mut Document, diags: &mut Vec<Diagnostic>) -> bool {
    let ptr = Document::id_pointer(d.kind);
    if d.kind == DocKind::Certificate {
        return !d.id.is_empty();
    }
    if d.kind == DocKind::OasApi && d.body.get("x-tyk-api-gateway").is_none() {
        diags.push(Diagnostic::error(Some(d.origin.clone()), PLAIN_OPENAPI));
        return false;
    }
    if !d.body.is_object() {
        diags.push(Diagnostic::error(Some(d.origin.clone()), format!("a {} must be a JSON object", d.kind)));
        return false;
    }
    let name = match d.kind {
        DocKind::ClassicApi => d.body.get("name"),
        DocKind::OasApi => d.body.pointer("/x-tyk-api-gateway/info/name"),
        _ => d.body.get("name"),
    }
    .and_then(Value::as_str)
    .map(|n| format!(" {n:?}"))
    .unwrap_or_default();
    let mut id = match d.body.pointer(ptr) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            diags.push(Diagnostic::error(
                Some(d.origin_of(ptr)),
                format!("{}{name}: `{}` must be a string, not {other}", d.kind, &ptr[1..].replace('/', ".")),
            ));
            return false;
        }
    };
    if id.is_empty()
        && d.kind == DocKind::Policy
        && let Some(mid) = d.body.get("_id").and_then(Value::as_str).filter(|m| is_object_id(m))
    {
        id = mid.to_ascii_lowercase();
        let origin = d.origin_of("/_id");
        d.set_override("/id", Value::String(id.clone()), origin);
    }
    if id.is_empty() {
        let (field, hint) = match d.kind {
            DocKind::ClassicApi => (
                "api_id",
                "give it a stable `api_id` (32 hex characters, as Tyk generates), or set one in .tyk.json `files[].api_id`",
            ),
            DocKind::OasApi => (
                "x-tyk-api-gateway.info.id",
                "give it a stable `x-tyk-api-gateway.info.id` (32 hex characters, as Tyk generates), or set one in .tyk.json `files[].api_id`",
            ),
            _ => {
                ("id", "give it an `id` (letters, digits, `.`, `_`, `-`, `~`), or set one in .tyk.json `policies[].id`")
            }
        };
        diags.push(Diagnostic::error(
            Some(d.origin_of(ptr)),
            format!("{}{name} has no `{field}`: {hint}; gateform never makes up ids", d.kind),
        ));
        return false;
    }
    let valid = match d.kind {
        DocKind::Policy => valid_policy_id(&id),
        _ => valid_api_id(&id),
    };
    if !valid {
        let why = match d.kind {
            DocKind::Policy => "a policy id may only hold letters, digits, `.`, `_`, `-` and `~`",
            _ => {
                "Tyk stores an API as the file `<api_id>.json`, so the id may not be empty, `.`, `..` or hold `/` or `\\`"
            }
        };
        diags.push(Diagnostic::error(Some(d.origin_of(ptr)), format!("{}{name}: invalid id {id:?}: {why}", d.kind)));
        return false;
    }
    d.id = id;
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn shapes_are_recognised() {
        assert_eq!(
            classify(&json!({"api_definition": {"api_id": "a"}, "oas": {}})),
            Shape::Classic("/api_definition".into())
        );
        assert_eq!(
            classify(&json!({"api_definition": {"is_oas": true}, "oas": {"openapi": "3", "x-tyk-api-gateway": {}}})),
            Shape::Oas("/oas".into())
        );
        assert_eq!(
            classify(&json!({"api_definition": {"api_id": "a"}, "oas": {"openapi": "", "paths": null}})),
            Shape::Classic("/api_definition".into())
        );
        assert_eq!(classify(&json!({"oas": {"openapi": "3"}, "hook_references": []})), Shape::Oas("/oas".into()));
        assert_eq!(classify(&json!({"openapi": "3.0.3", "x-tyk-api-gateway": {}})), Shape::Oas(String::new()));
        assert_eq!(classify(&json!({"openapi": "3.0.0", "paths": {}})), Shape::PlainOpenApi);
        assert_eq!(classify(&json!({"name": "x", "api_id": "1"})), Shape::Classic(String::new()));
        assert_eq!(classify(&json!({"id": "p", "access_rights": {}})), Shape::Policy);
        assert_eq!(classify(&json!({"default": {"rate": 1, "access_rights": {}}})), Shape::PolicyMap);
        assert_eq!(classify(&json!({"hello": 1})), Shape::Unknown);
        assert_eq!(classify(&json!([1])), Shape::Unknown);
    }
}
