//! The entity kinds gateform manages, with the facts Kong's Admin API gives about each:
//! table name, collection path, endpoint key, foreign keys and delete behaviour
//! (`kong-admin-api.md` §2, §3.1).

use std::fmt;

/// What happens to a child row when the parent it references is deleted
/// (`kong-admin-api.md` §2: "FK→X (cascade)" / "FK→X (restrict)").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OnDelete {
    /// The child is deleted with its parent.
    Cascade,
    /// Deleting the parent is refused (400, code 4) while the child references it.
    Restrict,
}

/// One foreign-key field of a kind: `{"<field>": {"id": "<uuid>"}}` on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ForeignKey {
    /// Field name as Kong spells it (`service`, `consumer`, `set`, ...).
    pub field: &'static str,
    /// The referenced kind.
    pub parent: KongKind,
    /// Behaviour when the parent is deleted.
    pub on_delete: OnDelete,
    /// Whether the field must be set (`required = true` in Kong's schema).
    pub required: bool,
}

macro_rules! kinds {
    ($( $variant:ident => $table:literal ),* $(,)?) => {
        /// An entity kind, named after Kong's table (`services`, `keyauth_credentials`, ...).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum KongKind { $( #[doc = concat!("Kong's `", $table, "`.")] $variant ),* }

        impl KongKind {
            /// Every kind, in dependency order (parents before children).
            pub const ALL: &'static [KongKind] = &[ $( KongKind::$variant ),* ];

            /// Kong's table / entity name (`services`, `keyauth_credentials`, ...), also the
            /// key used for the kind in decK files and in `/schemas/{entity}`.
            pub fn table(self) -> &'static str {
                match self { $( KongKind::$variant => $table ),* }
            }
        }
    };
}

kinds! {
    Certificate => "certificates",
    CaCertificate => "ca_certificates",
    Vault => "vaults",
    KeySet => "key_sets",
    Consumer => "consumers",
    ConsumerGroup => "consumer_groups",
    Key => "keys",
    Sni => "snis",
    Service => "services",
    Upstream => "upstreams",
    KeyauthCredential => "keyauth_credentials",
    BasicauthCredential => "basicauth_credentials",
    HmacauthCredential => "hmacauth_credentials",
    JwtSecret => "jwt_secrets",
    Acl => "acls",
    Oauth2Credential => "oauth2_credentials",
    MtlsAuthCredential => "mtls_auth_credentials",
    ConsumerGroupConsumer => "consumer_group_consumers",
    Route => "routes",
    Target => "targets",
    Plugin => "plugins",
}

const fn fk(field: &'static str, parent: KongKind, on_delete: OnDelete, required: bool) -> ForeignKey {
    ForeignKey { field, parent, on_delete, required }
}

use OnDelete::{Cascade, Restrict};

impl KongKind {
    /// Parses a table name (`services`) into a kind.
    pub fn from_table(table: &str) -> Option<KongKind> {
        KongKind::ALL.iter().copied().find(|k| k.table() == table)
    }

    /// The Admin API collection path segment (`/services`, `/key-auths`, `/key-sets`),
    /// per `kong-admin-api.md` §3.1. Consumer-group membership has no collection of its
    /// own; it lives under `/consumer_groups/{group}/consumers`.
    pub fn collection(self) -> &'static str {
        match self {
            KongKind::KeySet => "key-sets",
            KongKind::KeyauthCredential => "key-auths",
            KongKind::BasicauthCredential => "basic-auths",
            KongKind::HmacauthCredential => "hmac-auths",
            KongKind::JwtSecret => "jwts",
            KongKind::Oauth2Credential => "oauth2",
            KongKind::MtlsAuthCredential => "mtls-auths",
            KongKind::ConsumerGroupConsumer => "consumers",
            other => other.table(),
        }
    }

    /// The path segment used when the collection is nested under its parent
    /// (`/consumers/{c}/key-auth`, `/upstreams/{u}/targets`), per §3.1.
    pub fn nested_collection(self) -> &'static str {
        match self {
            KongKind::KeyauthCredential => "key-auth",
            KongKind::BasicauthCredential => "basic-auth",
            KongKind::HmacauthCredential => "hmac-auth",
            KongKind::JwtSecret => "jwt",
            KongKind::MtlsAuthCredential => "mtls-auth",
            other => other.collection(),
        }
    }

    /// The endpoint key: the alternative field by which `/{collection}/{key}` addresses an
    /// entity (§2, §3.1). `None` when only the id addresses it.
    pub fn endpoint_key(self) -> Option<&'static str> {
        match self {
            KongKind::Service | KongKind::Route | KongKind::Upstream | KongKind::Sni => Some("name"),
            KongKind::KeySet | KongKind::Key | KongKind::ConsumerGroup => Some("name"),
            KongKind::Consumer => Some("username"),
            KongKind::Plugin => Some("instance_name"),
            KongKind::Target => Some("target"),
            KongKind::Vault => Some("prefix"),
            KongKind::KeyauthCredential | KongKind::JwtSecret => Some("key"),
            KongKind::BasicauthCredential | KongKind::HmacauthCredential => Some("username"),
            KongKind::Oauth2Credential => Some("client_id"),
            KongKind::Certificate
            | KongKind::CaCertificate
            | KongKind::Acl
            | KongKind::MtlsAuthCredential
            | KongKind::ConsumerGroupConsumer => None,
        }
    }

    /// Foreign-key fields of this kind, with Kong's delete behaviour (§2).
    pub fn foreign_keys(self) -> &'static [ForeignKey] {
        const SERVICE: &[ForeignKey] = &[fk("client_certificate", KongKind::Certificate, Restrict, false)];
        const ROUTE: &[ForeignKey] = &[fk("service", KongKind::Service, Restrict, false)];
        const PLUGIN: &[ForeignKey] = &[
            fk("service", KongKind::Service, Cascade, false),
            fk("route", KongKind::Route, Cascade, false),
            fk("consumer", KongKind::Consumer, Cascade, false),
            fk("consumer_group", KongKind::ConsumerGroup, Cascade, false),
        ];
        const TARGET: &[ForeignKey] = &[fk("upstream", KongKind::Upstream, Cascade, true)];
        const SNI: &[ForeignKey] = &[fk("certificate", KongKind::Certificate, Cascade, true)];
        const KEY: &[ForeignKey] = &[fk("set", KongKind::KeySet, Cascade, false)];
        const CREDENTIAL: &[ForeignKey] = &[fk("consumer", KongKind::Consumer, Cascade, true)];
        const MTLS: &[ForeignKey] = &[
            fk("consumer", KongKind::Consumer, Cascade, true),
            fk("ca_certificate", KongKind::CaCertificate, Restrict, false),
        ];
        const MEMBER: &[ForeignKey] = &[
            fk("consumer_group", KongKind::ConsumerGroup, Cascade, true),
            fk("consumer", KongKind::Consumer, Cascade, true),
        ];
        match self {
            KongKind::Service | KongKind::Upstream => SERVICE,
            KongKind::Route => ROUTE,
            KongKind::Plugin => PLUGIN,
            KongKind::Target => TARGET,
            KongKind::Sni => SNI,
            KongKind::Key => KEY,
            KongKind::KeyauthCredential
            | KongKind::BasicauthCredential
            | KongKind::HmacauthCredential
            | KongKind::JwtSecret
            | KongKind::Acl
            | KongKind::Oauth2Credential => CREDENTIAL,
            KongKind::MtlsAuthCredential => MTLS,
            KongKind::ConsumerGroupConsumer => MEMBER,
            KongKind::Certificate
            | KongKind::CaCertificate
            | KongKind::Vault
            | KongKind::KeySet
            | KongKind::Consumer
            | KongKind::ConsumerGroup => &[],
        }
    }

    /// The foreign key named `field`, if this kind has one.
    pub fn foreign_key(self, field: &str) -> Option<&'static ForeignKey> {
        self.foreign_keys().iter().find(|f| f.field == field)
    }

    /// Whether this kind is a consumer credential (§2.10).
    pub fn is_credential(self) -> bool {
        matches!(
            self,
            KongKind::KeyauthCredential
                | KongKind::BasicauthCredential
                | KongKind::HmacauthCredential
                | KongKind::JwtSecret
                | KongKind::Acl
                | KongKind::Oauth2Credential
                | KongKind::MtlsAuthCredential
        )
    }

    /// Whether Kong keeps an `updated_at` on this kind (credentials have none, §2.10).
    pub fn has_updated_at(self) -> bool {
        !self.is_credential() && self != KongKind::ConsumerGroupConsumer
    }

    /// Whether the kind carries `tags` (every kind except membership, §1.5).
    pub fn has_tags(self) -> bool {
        self != KongKind::ConsumerGroupConsumer
    }

    /// Whether the kind exists only in Kong Enterprise (§8): consumer groups, their
    /// membership and mTLS credentials. The sandbox serves them all the same.
    pub fn is_enterprise(self) -> bool {
        matches!(self, KongKind::ConsumerGroup | KongKind::ConsumerGroupConsumer | KongKind::MtlsAuthCredential)
    }

    /// A short singular noun for messages (`service`, `key-auth credential`).
    pub fn singular(self) -> &'static str {
        match self {
            KongKind::Certificate => "certificate",
            KongKind::CaCertificate => "ca_certificate",
            KongKind::Vault => "vault",
            KongKind::KeySet => "key_set",
            KongKind::Consumer => "consumer",
            KongKind::ConsumerGroup => "consumer_group",
            KongKind::Key => "key",
            KongKind::Sni => "sni",
            KongKind::Service => "service",
            KongKind::Upstream => "upstream",
            KongKind::KeyauthCredential => "keyauth_credential",
            KongKind::BasicauthCredential => "basicauth_credential",
            KongKind::HmacauthCredential => "hmacauth_credential",
            KongKind::JwtSecret => "jwt_secret",
            KongKind::Acl => "acl",
            KongKind::Oauth2Credential => "oauth2_credential",
            KongKind::MtlsAuthCredential => "mtls_auth_credential",
            KongKind::ConsumerGroupConsumer => "consumer_group_consumer",
            KongKind::Route => "route",
            KongKind::Target => "target",
            KongKind::Plugin => "plugin",
        }
    }

    /// Position in the dependency order (0 = no parents); parents always rank lower.
    pub fn level(self) -> usize {
        self.foreign_keys().iter().map(|f| f.parent.level() + 1).max().unwrap_or(0)
    }
}

impl fmt::Display for KongKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.table())
    }
}

impl serde::Serialize for KongKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.table())
    }
}

impl<'de> serde::Deserialize<'de> for KongKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        KongKind::from_table(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown entity kind `{s}`")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_is_in_dependency_order() {
        for (i, kind) in KongKind::ALL.iter().enumerate() {
            for fk in kind.foreign_keys() {
                let parent = KongKind::ALL.iter().position(|k| *k == fk.parent).unwrap();
                assert!(parent < i, "{kind} listed before its parent {}", fk.parent);
            }
        }
    }

    #[test]
    fn tables_round_trip() {
        for kind in KongKind::ALL {
            assert_eq!(KongKind::from_table(kind.table()), Some(*kind));
        }
        assert_eq!(KongKind::from_table("nope"), None);
    }

    #[test]
    fn collections_follow_the_admin_api() {
        assert_eq!(KongKind::KeyauthCredential.collection(), "key-auths");
        assert_eq!(KongKind::KeyauthCredential.nested_collection(), "key-auth");
        assert_eq!(KongKind::KeySet.collection(), "key-sets");
        assert_eq!(KongKind::Route.nested_collection(), "routes");
        assert_eq!(KongKind::Plugin.level(), 3);
        assert_eq!(KongKind::Service.level(), 1);
    }
}
