//! Natural keys: how an entity without an id is matched to a live one (`deck.md` table a.3).

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::kind::KongKind;

/// The natural key of an entity of `kind` with these `fields`, or `None` when it has none
/// (a route without a name, a key-auth credential whose key Kong generates).
///
/// `parent` maps a foreign-key field name (`service`, `consumer`, ...) to a string that
/// identifies the referenced parent (its id once resolved); it returns `None` when the
/// field is unset. Keys of different kinds never need to be distinct; keys of one kind are
/// unique among the entities of that kind.
pub fn natural_key(
    kind: KongKind,
    fields: &Map<String, Value>,
    parent: &dyn Fn(&str) -> Option<String>,
) -> Option<String> {
    let s = |name: &str| fields.get(name).and_then(Value::as_str).map(str::to_owned);
    let p = |name: &str| parent(name).unwrap_or_default();
    match kind {
        KongKind::Service
        | KongKind::Route
        | KongKind::Upstream
        | KongKind::KeySet
        | KongKind::ConsumerGroup
        | KongKind::Sni => s("name"),
        KongKind::Vault => s("prefix"),
        KongKind::Consumer => {
            s("username").map(|u| format!("username:{u}")).or_else(|| s("custom_id").map(|c| format!("custom_id:{c}")))
        }
        KongKind::Key => {
            s("name").map(|n| format!("name:{n}")).or_else(|| s("kid").map(|k| format!("kid:{k}|set:{}", p("set"))))
        }
        KongKind::Certificate | KongKind::CaCertificate => s("cert").map(|c| pem_digest(&c)),
        KongKind::KeyauthCredential | KongKind::JwtSecret => s("key"),
        KongKind::BasicauthCredential | KongKind::HmacauthCredential => s("username"),
        KongKind::Oauth2Credential => s("client_id"),
        KongKind::Acl => s("group").map(|g| format!("{}|{g}", p("consumer"))),
        KongKind::MtlsAuthCredential => {
            s("subject_name").map(|n| format!("{}|{n}|{}", p("consumer"), p("ca_certificate")))
        }
        KongKind::Target => s("target").map(|t| format!("{}|{}", p("upstream"), normalize_target(&t))),
        KongKind::Plugin => s("name").map(|n| {
            format!(
                "{n}|service={}|route={}|consumer={}|consumer_group={}",
                p("service"),
                p("route"),
                p("consumer"),
                p("consumer_group")
            )
        }),
        KongKind::ConsumerGroupConsumer => Some(format!("{}|{}", p("consumer_group"), p("consumer"))),
    }
}

/// The id gateform gives the membership of consumer `consumer_id` in consumer group
/// `group_id` (Kong gives membership rows no id of their own): a UUIDv5 of both ids.
pub fn membership_id(group_id: &str, consumer_id: &str) -> String {
    uuid::Uuid::new_v5(
        &uuid::Uuid::NAMESPACE_OID,
        format!("consumer_group_consumers:{group_id}:{consumer_id}").as_bytes(),
    )
    .to_string()
}

/// Lowercase hex SHA-256 of a PEM text with all whitespace removed, so that line endings
/// and indentation do not change a certificate's identity.
pub fn pem_digest(pem: &str) -> String {
    let compact: String = pem.chars().filter(|c| !c.is_whitespace()).collect();
    hex::encode(Sha256::digest(compact.as_bytes()))
}

/// A target string as Kong stores it: `host:port`, with port 8000 added when missing and
/// IPv6 addresses bracketed (`kong-admin-api.md` §2.5).
pub fn normalize_target(target: &str) -> String {
    let t = target.trim();
    if let Some(rest) = t.strip_prefix('[') {
        // [v6] or [v6]:port
        return match rest.split_once(']') {
            Some((addr, "")) => format!("[{addr}]:8000"),
            Some((_, _)) => t.to_owned(),
            None => t.to_owned(),
        };
    }
    let colons = t.matches(':').count();
    match colons {
        0 => format!("{t}:8000"),
        1 => t.to_owned(),
        _ => format!("[{t}]:8000"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn targets_gain_the_default_port() {
        assert_eq!(normalize_target("konghq.test"), "konghq.test:8000");
        assert_eq!(normalize_target("10.0.0.1:80"), "10.0.0.1:80");
        assert_eq!(normalize_target("::1"), "[::1]:8000");
        assert_eq!(normalize_target("[::1]"), "[::1]:8000");
        assert_eq!(normalize_target("[::1]:81"), "[::1]:81");
    }

    #[test]
    fn plugin_key_includes_every_scope() {
        let none = |_: &str| None;
        let svc = |f: &str| (f == "service").then(|| "S".to_owned());
        let f = obj(json!({"name": "cors"}));
        assert_ne!(natural_key(KongKind::Plugin, &f, &none), natural_key(KongKind::Plugin, &f, &svc));
    }

    #[test]
    fn consumer_key_prefers_username() {
        let none = |_: &str| None;
        let f = obj(json!({"username": "bob", "custom_id": "1"}));
        assert_eq!(natural_key(KongKind::Consumer, &f, &none).as_deref(), Some("username:bob"));
        let f = obj(json!({"custom_id": "1"}));
        assert_eq!(natural_key(KongKind::Consumer, &f, &none).as_deref(), Some("custom_id:1"));
        let f = obj(json!({}));
        assert_eq!(natural_key(KongKind::Consumer, &f, &none), None);
    }

    #[test]
    fn pem_digest_ignores_whitespace() {
        assert_eq!(
            pem_digest("-----BEGIN X-----\nAB\n-----END X-----\n"),
            pem_digest("-----BEGIN X-----\r\n  AB\r\n-----END X-----")
        );
    }
}
