//! The shape of a decK file around Kong's entities: which collections nest under which
//! entity (`deck.md` §a.2 "Nesting"), which input-only keys an entity may carry, and how a
//! reference names its parent.

use serde_json::{Map, Value};

use crate::kong::KongKind;

/// What a nested collection key holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Nest {
    /// Child entities of `kind`, whose foreign key `field` is the enclosing entity.
    Child { kind: KongKind, field: &'static str },
    /// `consumers[].groups`: references to the consumer groups the consumer belongs to.
    GroupsOfConsumer,
    /// `consumer_groups[].consumers`: the consumers belonging to the group.
    ConsumersOfGroup,
}

const fn child(kind: KongKind, field: &'static str) -> Nest {
    Nest::Child { kind, field }
}

/// Nested collection keys of `kind`, in the order decK writes them.
pub(crate) fn nested_keys(kind: KongKind) -> &'static [(&'static str, Nest)] {
    const SERVICE: &[(&str, Nest)] =
        &[("plugins", child(KongKind::Plugin, "service")), ("routes", child(KongKind::Route, "service"))];
    const ROUTE: &[(&str, Nest)] = &[("plugins", child(KongKind::Plugin, "route"))];
    const CONSUMER: &[(&str, Nest)] = &[
        ("acls", child(KongKind::Acl, "consumer")),
        ("basicauth_credentials", child(KongKind::BasicauthCredential, "consumer")),
        ("groups", Nest::GroupsOfConsumer),
        ("hmacauth_credentials", child(KongKind::HmacauthCredential, "consumer")),
        ("jwt_secrets", child(KongKind::JwtSecret, "consumer")),
        ("keyauth_credentials", child(KongKind::KeyauthCredential, "consumer")),
        ("mtls_auth_credentials", child(KongKind::MtlsAuthCredential, "consumer")),
        ("oauth2_credentials", child(KongKind::Oauth2Credential, "consumer")),
        ("plugins", child(KongKind::Plugin, "consumer")),
    ];
    const GROUP: &[(&str, Nest)] =
        &[("consumers", Nest::ConsumersOfGroup), ("plugins", child(KongKind::Plugin, "consumer_group"))];
    const UPSTREAM: &[(&str, Nest)] = &[("targets", child(KongKind::Target, "upstream"))];
    const CERTIFICATE: &[(&str, Nest)] = &[("snis", child(KongKind::Sni, "certificate"))];
    const KEY_SET: &[(&str, Nest)] = &[("keys", child(KongKind::Key, "set"))];
    match kind {
        KongKind::Service => SERVICE,
        KongKind::Route => ROUTE,
        KongKind::Consumer => CONSUMER,
        KongKind::ConsumerGroup => GROUP,
        KongKind::Upstream => UPSTREAM,
        KongKind::Certificate => CERTIFICATE,
        KongKind::KeySet => KEY_SET,
        _ => &[],
    }
}

/// The nested collection `key` of `kind`, if it is one.
pub(crate) fn nested(kind: KongKind, key: &str) -> Option<Nest> {
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
pub(crate) fn extra(kind: KongKind, key: &str) -> Option<Extra> {
    match (kind, key) {
        (_, "_comment" | "_ignore" | "created_at" | "updated_at") => Some(Extra::Ignored),
        (KongKind::Service, "url") => Some(Extra::Str),
        (KongKind::KeyauthCredential, "ttl") => Some(Extra::Int),
        (KongKind::Plugin, "ordering" | "partials") => Some(Extra::Enterprise),
        (KongKind::Plugin, "_config") => Some(Extra::ConfigSource),
        _ => None,
    }
}

/// The fields by which a reference may name an entity of `kind` besides its id (Kong
/// resolves `{"<field>": value}` foreign keys through unique fields and endpoint keys).
pub(crate) fn ref_fields(kind: KongKind) -> &'static [&'static str] {
    match kind {
        KongKind::Consumer => &["username", "custom_id"],
        KongKind::Service
        | KongKind::Route
        | KongKind::Upstream
        | KongKind::ConsumerGroup
        | KongKind::KeySet
        | KongKind::Sni
        | KongKind::Key => &["name"],
        KongKind::Vault => &["prefix"],
        _ => &[],
    }
}

/// The natural key (`model::natural_key`) of a `kind` entity named by `field = value`, for
/// [`crate::model::Ref::Key`] references to entities found through lookup tags.
pub(crate) fn lookup_key(kind: KongKind, field: &str, value: &str) -> String {
    match (kind, field) {
        (KongKind::Consumer, "username") => format!("username:{value}"),
        (KongKind::Consumer, "custom_id") => format!("custom_id:{value}"),
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
pub(crate) fn label(kind: KongKind, fields: &Map<String, Value>, id: Option<&str>) -> Option<String> {
    let s = |k: &str| fields.get(k).and_then(Value::as_str).map(str::to_owned);
    let own = match kind {
        KongKind::Consumer => s("username").or_else(|| s("custom_id")),
        KongKind::Plugin => s("instance_name"),
        KongKind::Acl => s("group"),
        KongKind::MtlsAuthCredential => s("subject_name"),
        KongKind::Key => s("name").or_else(|| s("kid")),
        KongKind::Certificate | KongKind::CaCertificate | KongKind::ConsumerGroupConsumer => None,
        // Credentials are named by their secret-free keys only.
        KongKind::KeyauthCredential | KongKind::JwtSecret => None,
        other => other.endpoint_key().and_then(s),
    };
    own.or_else(|| id.filter(|_| kind != KongKind::Plugin).map(str::to_owned))
}

/// How messages name an entity: `route "r1"`, `plugin "cors" at services[0].plugins[0]`,
/// `route at services[0].routes[1]`.
pub(crate) fn describe(kind: KongKind, fields: &Map<String, Value>, id: Option<&str>, path: &str) -> String {
    match label(kind, fields, id) {
        Some(l) => format!("{} \"{l}\"", kind.singular()),
        None => match (kind, fields.get("name").and_then(Value::as_str)) {
            (KongKind::Plugin, Some(name)) => format!("plugin \"{name}\" at {path}"),
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
        assert_eq!(describe(KongKind::Route, &f(json!({"name": "r1"})), None, "routes[0]"), "route \"r1\"");
        assert_eq!(
            describe(KongKind::Route, &f(json!({})), None, "services[0].routes[1]"),
            "route at services[0].routes[1]"
        );
        assert_eq!(
            describe(KongKind::Plugin, &f(json!({"name": "cors"})), None, "plugins[2]"),
            "plugin \"cors\" at plugins[2]"
        );
        assert_eq!(
            describe(KongKind::KeyauthCredential, &f(json!({"key": "secret"})), None, "x"),
            "keyauth_credential at x"
        );
        assert_eq!(describe(KongKind::Consumer, &f(json!({"custom_id": "c"})), None, "x"), "consumer \"c\"");
    }
}
