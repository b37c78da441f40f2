//! The shape of a decK file around Kong's entities: which collections nest under which
//! entity (`deck.md` §a.2 "Nesting"), which input-only keys an entity may carry, and how a
//! reference names its parent.

use serde_json::{Map, Value};

use crate::model::Kind;

/// What a nested collection key holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Nest {
    /// Child entities of `kind`, whose foreign key `field` is the enclosing entity.
    Child { kind: Kind, field: &'static str },
    /// `consumers[].groups`: references to the consumer groups the consumer belongs to.
    GroupsOfConsumer,
    /// `consumer_groups[].consumers`: the consumers belonging to the group.
    ConsumersOfGroup,
}

const fn child(kind: Kind, field: &'static str) -> Nest {
    Nest::Child { kind, field }
}

/// Nested collection keys of `kind`, in the order decK writes them.
pub(crate) fn nested_keys(kind: Kind) -> &'static [(&'static str, Nest)] {
    const SERVICE: &[(&str, Nest)] =
        &[("plugins", child(Kind::Plugin, "service")), ("routes", child(Kind::Route, "service"))];
    const ROUTE: &[(&str, Nest)] = &[("plugins", child(Kind::Plugin, "route"))];
    const CONSUMER: &[(&str, Nest)] = &[
        ("acls", child(Kind::Acl, "consumer")),
        ("basicauth_credentials", child(Kind::BasicauthCredential, "consumer")),
        ("groups", Nest::GroupsOfConsumer),
        ("hmacauth_credentials", child(Kind::HmacauthCredential, "consumer")),
        ("jwt_secrets", child(Kind::JwtSecret, "consumer")),
        ("keyauth_credentials", child(Kind::KeyauthCredential, "consumer")),
        ("mtls_auth_credentials", child(Kind::MtlsAuthCredential, "consumer")),
        ("oauth2_credentials", child(Kind::Oauth2Credential, "consumer")),
        ("plugins", child(Kind::Plugin, "consumer")),
    ];
    const GROUP: &[(&str, Nest)] =
        &[("consumers", Nest::ConsumersOfGroup), ("plugins", child(Kind::Plugin, "consumer_group"))];
    const UPSTREAM: &[(&str, Nest)] = &[("targets", child(Kind::Target, "upstream"))];
    const CERTIFICATE: &[(&str, Nest)] = &[("snis", child(Kind::Sni, "certificate"))];
    const KEY_SET: &[(&str, Nest)] = &[("keys", child(Kind::Key, "set"))];
    match kind {
        Kind::Service => SERVICE,
        Kind::Route => ROUTE,
        Kind::Consumer => CONSUMER,
        Kind::ConsumerGroup => GROUP,
        Kind::Upstream => UPSTREAM,
        Kind::Certificate => CERTIFICATE,
        Kind::KeySet => KEY_SET,
        _ => &[],
    }
}

/// The nested collection `key` of `kind`, if it is one.
pub(crate) fn nested(kind: Kind, key: &str) -> Option<Nest> {
    nested_keys(kind).iter().find(|(k, _)| *k == key).map(|(_, n)| *n)
}

/// Input-only keys an entity may carry besides its schema fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Extra {
    /// A string kept as a field (services' `url` shorthand, expanded by Kong).
    Str,
    /// An integer kept as a field (key-auth credentials' `ttl`).
    Int,
    /// A Kong Enterprise plugin field kept as is (`ordering`, `partials`).
    Enterprise,
    /// A plugin's `_config`: the name of an `_plugin_configs` entry merged into `config`.
    ConfigSource,
    /// Dropped without a trace: `_comment`, `_ignore` (Kong DB-less annotations),
    /// `created_at`, `updated_at` (server-owned).
    Ignored,
}

/// The input-only key `key` of `kind`, if it is one.
pub(crate) fn extra(kind: Kind, key: &str) -> Option<Extra> {
    match (kind, key) {
        (_, "_comment" | "_ignore" | "created_at" | "updated_at") => Some(Extra::Ignored),
        (Kind::Service, "url") => Some(Extra::Str),
        (Kind::KeyauthCredential, "ttl") => Some(Extra::Int),
        (Kind::Plugin, "ordering" | "partials") => Some(Extra::Enterprise),
        (Kind::Plugin, "_config") => Some(Extra::ConfigSource),
        _ => None,
    }
}

/// The fields by which a reference may name an entity of `kind` besides its id (Kong
/// resolves `{"<field>": value}` foreign keys through unique fields and endpoint keys).
pub(crate) fn ref_fields(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Consumer => &["username", "custom_id"],
        Kind::Service | Kind::Route | Kind::Upstream | Kind::ConsumerGroup | Kind::KeySet | Kind::Sni | Kind::Key => {
            &["name"]
        }
        Kind::Vault => &["prefix"],
        _ => &[],
    }
}

/// The natural key (`model::natural_key`) of a `kind` entity named by `field = value`, for
/// [`crate::model::Ref::Key`] references to entities found through lookup tags.
pub(crate) fn lookup_key(kind: Kind, field: &str, value: &str) -> String {
    match (kind, field) {
        (Kind::Consumer, "username") => format!("username:{value}"),
        (Kind::Consumer, "custom_id") => format!("custom_id:{value}"),
        _ => value.to_owned(),
    }
}

/// Whether a string is a UUID (8-4-4-4-12 hex digits, any version, any case), which Kong
/// reads as an id, never as a name.
pub(crate) fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(
            |(i, c)| {
                if matches!(i, 8 | 13 | 18 | 23) { *c == b'-' } else { c.is_ascii_hexdigit() }
            },
        )
}

/// The short name of an entity for messages: its name (or username, target, prefix...),
/// else its id.
pub(crate) fn label(kind: Kind, fields: &Map<String, Value>, id: Option<&str>) -> Option<String> {
    let s = |k: &str| fields.get(k).and_then(Value::as_str).map(str::to_owned);
    let own = match kind {
        Kind::Consumer => s("username").or_else(|| s("custom_id")),
        Kind::Plugin => s("instance_name"),
        Kind::Acl => s("group"),
        Kind::MtlsAuthCredential => s("subject_name"),
        Kind::Key => s("name").or_else(|| s("kid")),
        Kind::Certificate | Kind::CaCertificate | Kind::ConsumerGroupConsumer => None,
        // Credentials are named by their secret-free keys only.
        Kind::KeyauthCredential | Kind::JwtSecret => None,
        other => other.endpoint_key().and_then(s),
    };
    own.or_else(|| id.filter(|_| kind != Kind::Plugin).map(str::to_owned))
}

/// How messages name an entity: `route "r1"`, `plugin "cors" at services[0].plugins[0]`,
/// `route at services[0].routes[1]`.
pub(crate) fn describe(kind: Kind, fields: &Map<String, Value>, id: Option<&str>, path: &str) -> String {
    match label(kind, fields, id) {
        Some(l) => format!("{} \"{l}\"", kind.singular()),
        None => match (kind, fields.get("name").and_then(Value::as_str)) {
            (Kind::Plugin, Some(name)) => format!("plugin \"{name}\" at {path}"),
            _ => format!("{} at {path}", kind.singular()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn uuids() {
        assert!(is_uuid("9ecf5708-f2f4-444e-a4c7-fcd3a57f9a6d"));
        assert!(is_uuid("C2222222-2222-2222-2222-222222222222"));
        assert!(!is_uuid("svc1"));
        assert!(!is_uuid("9ecf5708f2f4-444e-a4c7-fcd3a57f9a6d0"));
    }

    #[test]
    fn descriptions() {
        let f = |v: Value| v.as_object().cloned().unwrap();
        assert_eq!(describe(Kind::Route, &f(json!({"name": "r1"})), None, "routes[0]"), "route \"r1\"");
        assert_eq!(
            describe(Kind::Route, &f(json!({})), None, "services[0].routes[1]"),
            "route at services[0].routes[1]"
        );
        assert_eq!(
            describe(Kind::Plugin, &f(json!({"name": "cors"})), None, "plugins[2]"),
            "plugin \"cors\" at plugins[2]"
        );
        assert_eq!(
            describe(Kind::KeyauthCredential, &f(json!({"key": "secret"})), None, "x"),
            "keyauth_credential at x"
        );
        assert_eq!(describe(Kind::Consumer, &f(json!({"custom_id": "c"})), None, "x"), "consumer \"c\"");
    }
}
