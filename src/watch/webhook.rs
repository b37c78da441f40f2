//! Incoming webhooks: which provider sent a request and whether it is genuine. A genuine
//! webhook only wakes the loops (the loop fetches and reads Git itself; a webhook's body is
//! never trusted for content). Every comparison runs in constant time.
//!
//! - GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>` (GitHub docs,
//!   "Validating webhook deliveries").
//! - GitLab: `X-Gitlab-Token: <the secret token>` (GitLab docs, "Webhooks", secret token).
//! - Generic: `X-Gateform-Signature-256: sha256=<hex HMAC-SHA256 of the body>`.

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::source::environments::Secret;

/// The header of generic webhooks (and of outgoing notifications).
pub const SIGNATURE_HEADER: &str = "x-gateform-signature-256";

/// A webhook sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// GitHub push events.
    GitHub,
    /// GitLab push events.
    GitLab,
    /// Anything that signs its body like GitHub does, in [`SIGNATURE_HEADER`].
    Generic,
}

impl Provider {
    /// From the path segment of `/webhooks/{provider}`.
    pub fn from_path(name: &str) -> Option<Provider> {
        match name {
            "github" => Some(Provider::GitHub),
            "gitlab" => Some(Provider::GitLab),
            "generic" => Some(Provider::Generic),
            _ => None,
        }
    }

    /// `github`, `gitlab`, `generic`.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::GitHub => "github",
            Provider::GitLab => "gitlab",
            Provider::Generic => "generic",
        }
    }
}

/// The secrets webhooks are checked with; a provider without one is refused.
#[derive(Debug, Clone, Default)]
pub struct WebhookSecrets {
    /// GitHub's HMAC key.
    pub github: Option<Secret>,
    /// GitLab's token.
    pub gitlab: Option<Secret>,
    /// The generic HMAC key.
    pub generic: Option<Secret>,
}

/// Whether a request from `provider` with `headers` and `body` is genuine.
pub fn verify(provider: Provider, secrets: &WebhookSecrets, headers: &HeaderMap, body: &[u8]) -> bool {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    match provider {
        Provider::GitHub => match (&secrets.github, header("x-hub-signature-256")) {
            (Some(secret), Some(sig)) => verify_hmac(secret, sig, body),
            _ => false,
        },
        Provider::Generic => match (&secrets.generic, header(SIGNATURE_HEADER)) {
            (Some(secret), Some(sig)) => verify_hmac(secret, sig, body),
            _ => false,
        },
        Provider::GitLab => match (&secrets.gitlab, header("x-gitlab-token")) {
            // Hashing both sides first makes the comparison independent of the lengths too.
            (Some(secret), Some(token)) if !secret.expose().is_empty() => {
                let want = Sha256::digest(secret.expose().as_bytes());
                let got = Sha256::digest(token.as_bytes());
                bool::from(want.ct_eq(&got))
            }
            _ => false,
        },
    }
}

/// Checks `sha256=<hex>` against the HMAC-SHA256 of `body` (constant time).
pub fn verify_hmac(secret: &Secret, signature: &str, body: &[u8]) -> bool {
    let Some(hex_sig) = signature.trim().strip_prefix("sha256=") else { return false };
    let Ok(sig) = hex::decode(hex_sig) else { return false };
    if secret.expose().is_empty() {
        return false;
    }
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()) else { return false };
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

/// `sha256=<hex HMAC-SHA256 of body>` with `secret`, as GitHub signs (and notifications are signed).
pub fn sign(secret: &Secret, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()).unwrap_or_else(|_| unreachable!());
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(name: &'static str, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(value).unwrap());
        h
    }

    fn secrets() -> WebhookSecrets {
        WebhookSecrets {
            github: Some(Secret::new("It's a Secret to Everybody")),
            gitlab: Some(Secret::new("gl-token")),
            generic: Some(Secret::new("generic")),
        }
    }

    #[test]
    fn github_signatures_match_githubs_documented_example() {
        // The example of GitHub's "Validating webhook deliveries" page.
        let s = secrets();
        let sig = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert_eq!(sign(s.github.as_ref().unwrap(), b"Hello, World!"), sig);
        assert!(verify(Provider::GitHub, &s, &headers("x-hub-signature-256", sig), b"Hello, World!"));
        assert!(!verify(Provider::GitHub, &s, &headers("x-hub-signature-256", sig), b"Hello, World?"));
        let wrong = "sha256=657107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert!(!verify(Provider::GitHub, &s, &headers("x-hub-signature-256", wrong), b"Hello, World!"));
        assert!(!verify(Provider::GitHub, &s, &headers("x-hub-signature-256", "sha256=zz"), b"Hello, World!"));
        assert!(!verify(Provider::GitHub, &s, &headers("x-hub-signature", sig), b"Hello, World!"), "SHA-1 header");
        assert!(!verify(Provider::GitHub, &s, &HeaderMap::new(), b"Hello, World!"), "unsigned");
        let none = WebhookSecrets::default();
        assert!(!verify(Provider::GitHub, &none, &headers("x-hub-signature-256", sig), b"Hello, World!"));
    }

    #[test]
    fn gitlab_tokens_and_generic_signatures() {
        let s = secrets();
        assert!(verify(Provider::GitLab, &s, &headers("x-gitlab-token", "gl-token"), b"{}"));
        assert!(!verify(Provider::GitLab, &s, &headers("x-gitlab-token", "gl-token2"), b"{}"));
        assert!(!verify(Provider::GitLab, &s, &headers("x-gitlab-token", ""), b"{}"));
        assert!(!verify(Provider::GitLab, &s, &HeaderMap::new(), b"{}"));
        let sig = sign(s.generic.as_ref().unwrap(), b"{\"a\":1}");
        assert!(verify(Provider::Generic, &s, &headers(SIGNATURE_HEADER, &sig), b"{\"a\":1}"));
        assert!(!verify(Provider::Generic, &s, &headers("x-hub-signature-256", &sig), b"{\"a\":1}"));
        let empty = WebhookSecrets { gitlab: Some(Secret::new("")), ..WebhookSecrets::default() };
        assert!(
            !verify(Provider::GitLab, &empty, &headers("x-gitlab-token", ""), b"{}"),
            "an empty secret accepts nothing"
        );
    }
}
