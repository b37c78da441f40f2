//! Which fields of Tyk objects hold secrets (`tyk.md` §2.1, issue 9): a dump writes them as
//! `${{ env "DECK_..." }}` placeholders, plans never print them.
//!
//! Classic definitions: `jwt_source` (an HMAC secret, a PEM or a JWKS URL),
//! `notifications.shared_secret` (OAuth notifications), the HMAC signature secrets
//! `auth.signature.secret` and `auth_configs.*.signature.secret`, `request_signing.secret`,
//! upstream authentication (`upstream_auth.basic_auth.password`,
//! `upstream_auth.oauth.client_credentials.client_secret`,
//! `upstream_auth.oauth.password.{client_secret,password}`), and external OAuth / OIDC
//! provider secrets (`external_oauth.providers[].jwt.source`,
//! `external_oauth.providers[].introspection.client_secret`). Tyk OAS definitions: inside
//! `x-tyk-api-gateway`, every `sharedSecret`, `clientSecret`, `secret` and `password`, and the
//! `source` of JWT security schemes. Certificates: their private keys. A value that is a
//! secret *reference* (`env://`, `secrets://`, `vault://`, `consul://`, `file://`, `kv://`,
//! `$kv{...}`) is no secret itself and is kept.

use serde_json::Value;

use super::DocKind;
use super::source::join;

/// Classic fields holding secrets, as JSON pointers; `*` matches any key or index.
pub const CLASSIC_SECRETS: &[&str] = &[
    "/jwt_source",
    "/notifications/shared_secret",
    "/auth/signature/secret",
    "/auth_configs/*/signature/secret",
    "/request_signing/secret",
    "/upstream_auth/basic_auth/password",
    "/upstream_auth/oauth/client_credentials/client_secret",
    "/upstream_auth/oauth/password/client_secret",
    "/upstream_auth/oauth/password/password",
    "/external_oauth/providers/*/jwt/source",
    "/external_oauth/providers/*/introspection/client_secret",
];

/// Keys holding secrets anywhere inside an OAS document's `x-tyk-api-gateway`.
pub const OAS_SECRET_KEYS: &[&str] = &["sharedSecret", "clientSecret", "secret", "password"];

/// Whether a string is a reference the gateway resolves (not a secret value).
pub fn is_reference(s: &str) -> bool {
    ["env://", "secrets://", "vault://", "consul://", "file://", "kv://"].iter().any(|p| s.starts_with(p))
        || s.contains("$kv{")
}

fn expand(v: &Value, parts: &[&str], at: String, out: &mut Vec<String>) {
    let Some((first, rest)) = parts.split_first() else {
        out.push(at);
        return;
    };
    match (v, *first) {
        (Value::Object(m), "*") => m.iter().for_each(|(k, c)| expand(c, rest, join(&at, k), out)),
        (Value::Array(a), "*") => a.iter().enumerate().for_each(|(i, c)| expand(c, rest, format!("{at}/{i}"), out)),
        (Value::Object(m), key) => {
            if let Some(c) = m.get(key) {
                expand(c, rest, join(&at, key), out);
            }
        }
        _ => {}
    }
}

fn oas_walk(v: &Value, at: String, in_schemes: bool, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                let ptr = join(&at, k);
                let secret = OAS_SECRET_KEYS.contains(&k.as_str()) || (in_schemes && k == "source");
                if secret && c.is_string() {
                    out.push(ptr);
                } else {
                    oas_walk(c, ptr, in_schemes || k == "securitySchemes", out);
                }
            }
        }
        Value::Array(a) => a.iter().enumerate().for_each(|(i, c)| oas_walk(c, format!("{at}/{i}"), in_schemes, out)),
        _ => {}
    }
}

/// The pointers of the secret values a body holds: non-empty strings that are not
/// references. Certificates are handled by their PEM blocks, not here.
pub fn secret_pointers(kind: DocKind, body: &Value) -> Vec<String> {
    let mut out = Vec::new();
    match kind {
        DocKind::ClassicApi => {
            for pattern in CLASSIC_SECRETS {
                let parts: Vec<&str> = pattern.split('/').skip(1).collect();
                expand(body, &parts, String::new(), &mut out);
            }
        }
        DocKind::OasApi => {
            if let Some(ext) = body.get("x-tyk-api-gateway") {
                oas_walk(ext, "/x-tyk-api-gateway".into(), false, &mut out);
            }
        }
        DocKind::Policy | DocKind::Certificate => {}
    }
    out.retain(|p| body.pointer(p).and_then(Value::as_str).is_some_and(|s| !s.is_empty() && !is_reference(s)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn classic_and_oas_secrets_are_found() {
        let classic = json!({
            "jwt_source": "c2VjcmV0",
            "notifications": {"shared_secret": ""},
            "auth_configs": {"hmac": {"signature": {"secret": "s"}}, "jwt": {}},
            "upstream_auth": {"basic_auth": {"password": "secrets://pw"}},
            "external_oauth": {"providers": [{"jwt": {"source": "k"}}]}
        });
        assert_eq!(
            secret_pointers(DocKind::ClassicApi, &classic),
            vec!["/jwt_source", "/auth_configs/hmac/signature/secret", "/external_oauth/providers/0/jwt/source"]
        );
        let oas = json!({"x-tyk-api-gateway": {
            "server": {"authentication": {"securitySchemes": {"jwt": {"source": "abc"}}}},
            "middleware": {"global": {"contextVariables": {"source": "not secret"}}},
            "upstream": {"authentication": {"basicAuth": {"password": "p"}}}
        }});
        assert_eq!(
            secret_pointers(DocKind::OasApi, &oas),
            vec![
                "/x-tyk-api-gateway/server/authentication/securitySchemes/jwt/source",
                "/x-tyk-api-gateway/upstream/authentication/basicAuth/password"
            ]
        );
        assert!(is_reference("$kv{x}") && is_reference("vault://a") && !is_reference("plain"));
    }
}
