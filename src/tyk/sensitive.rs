//! Which dotted paths of Tyk objects hold secrets, for plans, logs and the redactor (the
//! fields of [`crate::tyk::files::secrets`]: issue 9's list): classic `jwt_source`, HMAC,
//! OAuth notification, request-signing, upstream-authentication and external OAuth secrets;
//! inside a Tyk OAS extension every `sharedSecret`, `clientSecret`, `secret`, `password`
//! and a security scheme's `source`; a certificate's `pem` (it carries the private key).
//! A list that holds a secret somewhere inside is secret as a whole.

use super::compare::EXTENSION;
use super::files::secrets::{CLASSIC_SECRETS, OAS_SECRET_KEYS};
use super::kind::TykKind;

/// The classic patterns as dotted segments (`*` = any key or index).
fn classic_patterns() -> &'static [Vec<&'static str>] {
    static P: std::sync::LazyLock<Vec<Vec<&'static str>>> =
        std::sync::LazyLock::new(|| CLASSIC_SECRETS.iter().map(|p| p.split('/').skip(1).collect()).collect());
    &P
}

/// Whether `path` (dotted, as the differ names fields) of an object of `kind` is secret.
pub fn is_sensitive(kind: TykKind, path: &str) -> bool {
    let parts: Vec<&str> = path.split('.').collect();
    match kind {
        TykKind::Certificate => parts.first() == Some(&"pem"),
        TykKind::Policy => false,
        TykKind::Api => classic_patterns().iter().any(|pat| {
            // The path is the pattern, or a list along the pattern's way (compared whole).
            let n = parts.len().min(pat.len());
            parts.len() <= pat.len()
                && parts.iter().zip(pat.iter()).take(n).all(|(p, q)| *q == "*" || p == q)
                && (parts.len() == pat.len() || pat[parts.len()] == "*")
        }),
        TykKind::OasApi => {
            parts.first() == Some(&EXTENSION)
                && parts.last().is_some_and(|last| {
                    OAS_SECRET_KEYS.contains(last) || (*last == "source" && parts.contains(&"securitySchemes"))
                })
        }
    }
}

/// Whether an object of `kind` can hold a secret at all.
pub fn may_hold_secrets(kind: TykKind) -> bool {
    kind != TykKind::Policy
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_paths_by_kind() {
        assert!(is_sensitive(TykKind::Api, "jwt_source"));
        assert!(is_sensitive(TykKind::Api, "auth_configs.hmac.signature.secret"));
        assert!(is_sensitive(TykKind::Api, "external_oauth.providers"), "a list holding secrets");
        assert!(!is_sensitive(TykKind::Api, "auth_configs.hmac.signature.algorithm"));
        assert!(!is_sensitive(TykKind::Api, "notifications"));
        assert!(is_sensitive(TykKind::OasApi, "x-tyk-api-gateway.upstream.authentication.basicAuth.password"));
        assert!(is_sensitive(TykKind::OasApi, "x-tyk-api-gateway.server.authentication.securitySchemes.jwt.source"));
        assert!(!is_sensitive(TykKind::OasApi, "x-tyk-api-gateway.middleware.global.contextVariables.source"));
        assert!(is_sensitive(TykKind::Certificate, "pem") && !is_sensitive(TykKind::Policy, "rate"));
    }
}
