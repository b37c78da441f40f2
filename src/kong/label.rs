//! Human labels of Kong entities in plans and messages: `"svc-a"`, `"rate-limiting"
//! (service "svc-a")`, `consumer "bob" in consumer_group "gold"`. Labels never contain
//! secret values (a key-auth credential is named by its id, never by its key).

use serde_json::{Map, Value};

use super::KongKind as Kind;

fn quoted(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).map(|s| format!("{s:?}"))
}

/// The short name: the entity's name-like field quoted, else its id.
pub fn short_name(kind: Kind, id: &str, fields: &Map<String, Value>) -> String {
    let f = |k: &str| quoted(fields.get(k));
    let name = match kind {
        Kind::Service | Kind::Route | Kind::Upstream | Kind::KeySet | Kind::ConsumerGroup | Kind::Sni => f("name"),
        Kind::Consumer => f("username").or_else(|| f("custom_id")),
        Kind::Plugin => f("instance_name").or_else(|| f("name")),
        Kind::Vault => f("prefix"),
        Kind::Key => f("name").or_else(|| f("kid")),
        Kind::Target => f("target"),
        Kind::BasicauthCredential | Kind::HmacauthCredential => f("username"),
        Kind::JwtSecret => f("key"),
        Kind::Acl => f("group"),
        Kind::Oauth2Credential => f("name"),
        Kind::MtlsAuthCredential => f("subject_name"),
        Kind::KeyauthCredential | Kind::Certificate | Kind::CaCertificate | Kind::ConsumerGroupConsumer => None,
    };
    name.unwrap_or_else(|| id.to_owned())
}

/// The full label of an entity: its short name and, for entities identified within a
/// parent (plugins, credentials, targets, SNIs, keys, memberships), the parents' labels.
pub fn label(kind: Kind, name: String, scope: &[(&'static str, String)]) -> String {
    let parents: Vec<&str> = scope.iter().map(|(_, l)| l.as_str()).collect();
    match kind {
        Kind::Plugin if scope.is_empty() => format!("{name} (global)"),
        Kind::Plugin
        | Kind::Target
        | Kind::Sni
        | Kind::KeyauthCredential
        | Kind::BasicauthCredential
        | Kind::HmacauthCredential
        | Kind::JwtSecret
        | Kind::Acl
        | Kind::Oauth2Credential
        | Kind::MtlsAuthCredential
        | Kind::Key
            if !scope.is_empty() =>
        {
            format!("{name} ({})", parents.join(", "))
        }
        Kind::ConsumerGroupConsumer => {
            let of = |field: &str| scope.iter().find(|(f, _)| *f == field).map(|(_, l)| l.clone()).unwrap_or_default();
            format!("{} in {}", of("consumer"), of("consumer_group"))
        }
        _ => name,
    }
}
