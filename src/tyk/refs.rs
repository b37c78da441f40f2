//! References between Tyk objects (`tyk.md` §2.4), and the listen paths Tyk requires to be
//! unique (§1.4).
//!
//! | from | field | to |
//! |---|---|---|
//! | policy | `access_rights` keys and their `api_id` | API |
//! | classic API | `jwt_default_policies[]`, `jwt_scope_to_policy_mapping` values, `scopes.{jwt,oidc}.scope_to_policy` values, `openid_options.providers[].client_ids` values | policy |
//! | classic API | `certificates[]`, `client_certificates[]`, `upstream_certificates` values, `pinned_public_keys` values (comma-separated), `request_signing.certificate_id` | certificate |
//! | classic API | `definition.versions` values (child versions of a base API) | API |
//! | OAS API | `defaultPolicies[]`, every `policyId` | policy |
//! | OAS API | `server.customDomain.certificates[]`, `server.clientCertificates.allowlist[]`, `upstream.mutualTLS.domainToCertificateMapping[].certificate`, `upstream.certificatePinning.domainToPublicKeysMapping[].publicKeys[]` | certificate |
//! | OAS API | `info.versioning.versions[].id` | API |
//!
//! A certificate value that looks like a file path (Tyk also loads certificates from files)
//! is no reference to the certificate store.

use serde_json::{Map, Value};

use super::compare::EXTENSION;
use super::kind::TykKind;
use super::rules::{is_http, is_reference_path, valid_listen_path};

/// What a reference points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// An API, classic or OAS (they share `api_id`).
    Api,
    /// A policy.
    Policy,
    /// A certificate of the certificate store.
    Certificate,
}

impl Target {
    /// How messages name it.
    pub fn noun(self) -> &'static str {
        match self {
            Target::Api => "API",
            Target::Policy => "policy",
            Target::Certificate => "certificate",
        }
    }

    /// Whether entities of `kind` are such targets.
    pub fn is(self, kind: TykKind) -> bool {
        match self {
            Target::Api => kind.is_api(),
            Target::Policy => kind == TykKind::Policy,
            Target::Certificate => kind == TykKind::Certificate,
        }
    }
}

/// One reference: what it names, and the JSON pointer of the value that names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The kind of object named.
    pub target: Target,
    /// Its id.
    pub id: String,
    /// Where in the body.
    pub pointer: String,
    /// The field, as messages name it (`access_rights`, `jwt_default_policies`).
    pub field: &'static str,
}

struct Collector<'a> {
    body: &'a Value,
    out: Vec<Reference>,
}

fn esc(k: &str) -> String {
    k.replace('~', "~0").replace('/', "~1")
}

fn is_file_path(s: &str) -> bool {
    s.contains('/') || s.contains('\\') || [".pem", ".crt", ".cer", ".key"].iter().any(|e| s.ends_with(e))
}

impl Collector<'_> {
    fn push(&mut self, target: Target, id: &str, pointer: String, field: &'static str) {
        let id = id.trim();
        if id.is_empty() || (target == Target::Certificate && is_file_path(id)) {
            return;
        }
        self.out.push(Reference { target, id: id.to_owned(), pointer, field });
    }

    /// Every string of the array at `ptr`.
    fn items(&mut self, ptr: &str, target: Target, field: &'static str) {
        if let Some(Value::Array(a)) = self.body.pointer(ptr) {
            for (i, v) in a.iter().enumerate() {
                if let Some(s) = v.as_str() {
                    self.push(target, s, format!("{ptr}/{i}"), field);
                }
            }
        }
    }

    /// Every string value of the object at `ptr` (comma-separated lists when `split`).
    fn values(&mut self, ptr: &str, target: Target, field: &'static str, split: bool) {
        if let Some(Value::Object(m)) = self.body.pointer(ptr) {
            for (k, v) in m {
                let Some(s) = v.as_str() else { continue };
                let at = format!("{ptr}/{}", esc(k));
                if split {
                    s.split(',').for_each(|id| self.push(target, id, at.clone(), field));
                } else {
                    self.push(target, s, at, field);
                }
            }
        }
    }

    fn classic(&mut self) {
        self.items("/jwt_default_policies", Target::Policy, "jwt_default_policies");
        self.values("/jwt_scope_to_policy_mapping", Target::Policy, "jwt_scope_to_policy_mapping", false);
        self.values("/scopes/jwt/scope_to_policy", Target::Policy, "scopes.jwt.scope_to_policy", false);
        self.values("/scopes/oidc/scope_to_policy", Target::Policy, "scopes.oidc.scope_to_policy", false);
        if let Some(Value::Array(providers)) = self.body.pointer("/openid_options/providers") {
            for i in 0..providers.len() {
                let ptr = format!("/openid_options/providers/{i}/client_ids");
                self.values(&ptr, Target::Policy, "openid_options.providers.client_ids", false);
            }
        }
        self.items("/certificates", Target::Certificate, "certificates");
        self.items("/client_certificates", Target::Certificate, "client_certificates");
        self.values("/upstream_certificates", Target::Certificate, "upstream_certificates", false);
        self.values("/pinned_public_keys", Target::Certificate, "pinned_public_keys", true);
        if let Some(s) = self.body.pointer("/request_signing/certificate_id").and_then(Value::as_str) {
            self.push(
                Target::Certificate,
                s,
                "/request_signing/certificate_id".into(),
                "request_signing.certificate_id",
            );
        }
        self.values("/definition/versions", Target::Api, "definition.versions", false);
    }

    fn oas(&mut self) {
        let ext = format!("/{EXTENSION}");
        if let Some(v) = self.body.pointer(&ext) {
            let mut found = Vec::new();
            oas_walk(v, &ext, &mut found);
            for (target, id, ptr, field) in found {
                self.push(target, &id, ptr, field);
            }
        }
        self.items(
            &format!("{ext}/server/customDomain/certificates"),
            Target::Certificate,
            "server.customDomain.certificates",
        );
        self.items(
            &format!("{ext}/server/clientCertificates/allowlist"),
            Target::Certificate,
            "server.clientCertificates.allowlist",
        );
        if let Some(Value::Array(versions)) = self.body.pointer(&format!("{ext}/info/versioning/versions")) {
            for (i, v) in versions.iter().enumerate() {
                if let Some(id) = v.get("id").and_then(Value::as_str) {
                    self.push(
                        Target::Api,
                        id,
                        format!("{ext}/info/versioning/versions/{i}/id"),
                        "info.versioning.versions",
                    );
                }
            }
        }
    }

    fn policy(&mut self) {
        if let Some(Value::Object(rights)) = self.body.get("access_rights") {
            for (key, right) in rights {
                let at = format!("/access_rights/{}", esc(key));
                self.push(Target::Api, key, at.clone(), "access_rights");
                if let Some(id) = right.get("api_id").and_then(Value::as_str).filter(|id| *id != key) {
                    self.push(Target::Api, id, format!("{at}/api_id"), "access_rights");
                }
            }
        }
    }
}

/// Policy ids (`defaultPolicies`, `policyId`) and upstream certificate ids anywhere in an
/// OAS extension.
fn oas_walk(v: &Value, at: &str, out: &mut Vec<(Target, String, String, &'static str)>) {
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                let ptr = format!("{at}/{}", esc(k));
                match (k.as_str(), c) {
                    ("policyId", Value::String(s)) => out.push((Target::Policy, s.clone(), ptr, "policyId")),
                    ("defaultPolicies", Value::Array(a)) => {
                        for (i, p) in a.iter().enumerate() {
                            if let Some(s) = p.as_str() {
                                out.push((Target::Policy, s.to_owned(), format!("{ptr}/{i}"), "defaultPolicies"));
                            }
                        }
                    }
                    ("certificate", Value::String(s)) if at.contains("mutualTLS") => {
                        out.push((Target::Certificate, s.clone(), ptr, "upstream.mutualTLS"))
                    }
                    ("publicKeys", Value::Array(a)) => {
                        for (i, p) in a.iter().enumerate() {
                            if let Some(s) = p.as_str() {
                                out.push((
                                    Target::Certificate,
                                    s.to_owned(),
                                    format!("{ptr}/{i}"),
                                    "certificatePinning",
                                ));
                            }
                        }
                    }
                    _ => oas_walk(c, &ptr, out),
                }
            }
        }
        Value::Array(a) => a.iter().enumerate().for_each(|(i, c)| oas_walk(c, &format!("{at}/{i}"), out)),
        _ => {}
    }
}

/// Every reference of a body of `kind`.
pub fn references(kind: TykKind, body: &Map<String, Value>) -> Vec<Reference> {
    let value = Value::Object(body.clone());
    let mut c = Collector { body: &value, out: Vec::new() };
    match kind {
        TykKind::Api => c.classic(),
        TykKind::OasApi => c.oas(),
        TykKind::Policy => c.policy(),
        TykKind::Certificate => {}
    }
    c.out
}

/// What the gateway routes an API by: `(domain, cleaned listen path)` and the pointer of the
/// listen path; `None` for APIs not routed by a listen path (TCP, or a listen path that is
/// a secret reference whose value only the gateway knows).
pub fn route(kind: TykKind, body: &Map<String, Value>) -> Option<(String, String, &'static str)> {
    let (lp, domain, ptr) = match kind {
        TykKind::Api => {
            let v = Value::Object(body.clone());
            if !is_http(&v) {
                return None;
            }
            let domain = if body.get("domain_disabled") == Some(&Value::Bool(true)) {
                String::new()
            } else {
                body.get("domain").and_then(Value::as_str).unwrap_or("").to_owned()
            };
            (body.get("proxy")?.get("listen_path")?.as_str()?.to_owned(), domain, "/proxy/listen_path")
        }
        TykKind::OasApi => {
            let server = body.get(EXTENSION)?.get("server")?;
            let custom = server.get("customDomain");
            let domain = match custom {
                Some(d) if d.get("enabled") == Some(&Value::Bool(true)) => {
                    d.get("name").and_then(Value::as_str).unwrap_or("").to_owned()
                }
                _ => String::new(),
            };
            let lp = server.get("listenPath")?.get("value")?.as_str()?.to_owned();
            (lp, domain, "/x-tyk-api-gateway/server/listenPath/value")
        }
        _ => return None,
    };
    if lp.is_empty() || is_reference_path(&lp) || is_reference_path(&domain) {
        return None;
    }
    Some((domain.to_ascii_lowercase(), valid_listen_path(&lp), ptr))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn references_of_every_kind_are_found() {
        let api = obj(json!({"jwt_default_policies": ["p1"], "jwt_scope_to_policy_mapping": {"read": "p2"},
            "openid_options": {"providers": [{"issuer": "i", "client_ids": {"Y2xpZW50": "p3"}}]},
            "certificates": ["c1", "/etc/tyk/cert.pem"], "pinned_public_keys": {"a.example": "k1,k2"},
            "definition": {"versions": {"v2": "child"}}}));
        let got: Vec<(Target, String)> = references(TykKind::Api, &api).into_iter().map(|r| (r.target, r.id)).collect();
        let want = [
            (Target::Policy, "p1"),
            (Target::Policy, "p2"),
            (Target::Policy, "p3"),
            (Target::Certificate, "c1"),
            (Target::Certificate, "k1"),
            (Target::Certificate, "k2"),
            (Target::Api, "child"),
        ];
        assert_eq!(got, want.iter().map(|(t, s)| (*t, s.to_string())).collect::<Vec<_>>());
        let pol = obj(json!({"access_rights": {"a/1": {"api_id": "a/1"}}}));
        let r = references(TykKind::Policy, &pol);
        assert_eq!((r.len(), r[0].pointer.as_str()), (1, "/access_rights/a~11"));
        let oas = obj(
            json!({EXTENSION: {"server": {"authentication": {"securitySchemes": {"jwt": {"defaultPolicies": ["p"]}}}}}}),
        );
        assert_eq!(references(TykKind::OasApi, &oas)[0].id, "p");
    }

    #[test]
    fn routes_are_domain_and_cleaned_listen_path() {
        let api = obj(json!({"domain": "API.example", "proxy": {"listen_path": "a//b/"}}));
        assert_eq!(route(TykKind::Api, &api), Some(("api.example".into(), "/a/b/".into(), "/proxy/listen_path")));
        assert_eq!(route(TykKind::Api, &obj(json!({"proxy": {"listen_path": "secrets://lp"}}))), None);
        assert_eq!(route(TykKind::Api, &obj(json!({"protocol": "tcp", "proxy": {"listen_path": "/x"}}))), None);
    }
}
