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
    pub parent: Kind,
    /// Behaviour when the parent is deleted.
    pub on_delete: OnDelete,
    /// Whether the field must be set (`required = true` in Kong's schema).
    pub required: bool,
}

macro_rules! kinds {
    ($( $variant:ident => $table:literal ),* $(,)?) => {
        /// An entity kind, named after Kong's table (`services`, `keyauth_credentials`, ...).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Kind { $( #[doc = concat!("Kong's `", $table, "`.")] $variant ),* }

        impl Kind {
            /// Every kind, in dependency order (parents before children).
            pub const ALL: &'static [Kind] = &[ $( Kind::$variant ),* ];

            /// Kong's table / entity name (`services`, `keyauth_credentials`, ...), also the
            /// key used for the kind in decK files and in `/schemas/{entity}`.
            pub fn table(self) -> &'static str {
                match self { $( Kind::$variant => $table ),* }
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

const fn fk(field: &'static str, parent: Kind, on_delete: OnDelete, required: bool) -> ForeignKey {
    ForeignKey { field, parent, on_delete, required }
}

use OnDelete::{Cascade, Restrict};

impl Kind {
    /// Parses a table name (`services`) into a kind.
    pub fn from_table(table: &str) -> Option<Kind> {
        Kind::ALL.iter().copied().find(|k| k.table() == table)
    }

    /// The Admin API collection path segment (`/services`, `/key-auths`, `/key-sets`),
    /// per `kong-admin-api.md` §3.1. Consumer-group membership has no collection of its
    /// own; it lives under `/consumer_groups/{group}/consumers`.
    pub fn collection(self) -> &'static str {
        match self {
            Kind::KeySet => "key-sets",
            Kind::KeyauthCredential => "key-auths",
            Kind::BasicauthCredential => "basic-auths",
            Kind::HmacauthCredential => "hmac-auths",
            Kind::JwtSecret => "jwts",
            Kind::Oauth2Credential => "oauth2",
            Kind::MtlsAuthCredential => "mtls-auths",
            Kind::ConsumerGroupConsumer => "consumers",
            other => other.table(),
        }
    }

    /// The path segment used when the collection is nested under its parent
    /// (`/consumers/{c}/key-auth`, `/upstreams/{u}/targets`), per §3.1.
    pub fn nested_collection(self) -> &'static str {
        match self {
            Kind::KeyauthCredential => "key-auth",
            Kind::BasicauthCredential => "basic-auth",
            Kind::HmacauthCredential => "hmac-auth",
            Kind::JwtSecret => "jwt",
            Kind::MtlsAuthCredential => "mtls-auth",
            other => other.collection(),
        }
    }

    /// The endpoint key: the alternative field by which `/{collection}/{key}` addresses an
    /// entity (§2, §3.1). `None` when only the id addresses it.
    pub fn endpoint_key(self) -> Option<&'static str> {
        match self {
            Kind::Service | Kind::Route | Kind::Upstream | Kind::Sni => Some("name"),
            Kind::KeySet | Kind::Key | Kind::ConsumerGroup => Some("name"),
            Kind::Consumer => Some("username"),
            Kind::Plugin => Some("instance_name"),
            Kind::Target => Some("target"),
            Kind::Vault => Some("prefix"),
            Kind::KeyauthCredential | Kind::JwtSecret => Some("key"),
            Kind::BasicauthCredential | Kind::HmacauthCredential => Some("username"),
            Kind::Oauth2Credential => Some("client_id"),
            Kind::Certificate
            | Kind::CaCertificate
            | Kind::Acl
            | Kind::MtlsAuthCredential
            | Kind::ConsumerGroupConsumer => None,
        }
    }

    /// Foreign-key fields of this kind, with Kong's delete behaviour (§2).
    pub fn foreign_keys(self) -> &'static [ForeignKey] {
        const SERVICE: &[ForeignKey] = &[fk("client_certificate", Kind::Certificate, Restrict, false)];
        const ROUTE: &[ForeignKey] = &[fk("service", Kind::Service, Restrict, false)];
        const PLUGIN: &[ForeignKey] = &[
            fk("service", Kind::Service, Cascade, false),
            fk("route", Kind::Route, Cascade, false),
            fk("consumer", Kind::Consumer, Cascade, false),
            fk("consumer_group", Kind::ConsumerGroup, Cascade, false),
        ];
        const TARGET: &[ForeignKey] = &[fk("upstream", Kind::Upstream, Cascade, true)];
        const SNI: &[ForeignKey] = &[fk("certificate", Kind::Certificate, Cascade, true)];
        const KEY: &[ForeignKey] = &[fk("set", Kind::KeySet, Cascade, false)];
        const CREDENTIAL: &[ForeignKey] = &[fk("consumer", Kind::Consumer, Cascade, true)];
        const MTLS: &[ForeignKey] = &[
            fk("consumer", Kind::Consumer, Cascade, true),
            fk("ca_certificate", Kind::CaCertificate, Restrict, false),
        ];
        const MEMBER: &[ForeignKey] =
            &[fk("consumer_group", Kind::ConsumerGroup, Cascade, true), fk("consumer", Kind::Consumer, Cascade, true)];
        match self {
            Kind::Service | Kind::Upstream => SERVICE,
            Kind::Route => ROUTE,
            Kind::Plugin => PLUGIN,
            Kind::Target => TARGET,
            Kind::Sni => SNI,
            Kind::Key => KEY,
            Kind::KeyauthCredential
            | Kind::BasicauthCredential
            | Kind::HmacauthCredential
            | Kind::JwtSecret
            | Kind::Acl
            | Kind::Oauth2Credential => CREDENTIAL,
            Kind::MtlsAuthCredential => MTLS,
            Kind::ConsumerGroupConsumer => MEMBER,
            Kind::Certificate
            | Kind::CaCertificate
            | Kind::Vault
            | Kind::KeySet
            | Kind::Consumer
            | Kind::ConsumerGroup => &[],
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
            Kind::KeyauthCredential
                | Kind::BasicauthCredential
                | Kind::HmacauthCredential
                | Kind::JwtSecret
                | Kind::Acl
                | Kind::Oauth2Credential
                | Kind::MtlsAuthCredential
        )
    }

    /// Whether Kong keeps an `updated_at` on this kind (credentials have none, §2.10).
    pub fn has_updated_at(self) -> bool {
        !self.is_credential() && self != Kind::ConsumerGroupConsumer
    }

    /// Whether the kind carries `tags` (every kind except membership, §1.5).
    pub fn has_tags(self) -> bool {
        self != Kind::ConsumerGroupConsumer
    }

    /// Whether the kind exists only in Kong Enterprise (§8): consumer groups, their
    /// membership and mTLS credentials. The sandbox serves them all the same.
    pub fn is_enterprise(self) -> bool {
        matches!(self, Kind::ConsumerGroup | Kind::ConsumerGroupConsumer | Kind::MtlsAuthCredential)
    }

    /// A short singular noun for messages (`service`, `key-auth credential`).
    pub fn singular(self) -> &'static str {
        match self {
            Kind::Certificate => "certificate",
            Kind::CaCertificate => "ca_certificate",
            Kind::Vault => "vault",
            Kind::KeySet => "key_set",
            Kind::Consumer => "consumer",
            Kind::ConsumerGroup => "consumer_group",
            Kind::Key => "key",
            Kind::Sni => "sni",
            Kind::Service => "service",
            Kind::Upstream => "upstream",
            Kind::KeyauthCredential => "keyauth_credential",
            Kind::BasicauthCredential => "basicauth_credential",
            Kind::HmacauthCredential => "hmacauth_credential",
            Kind::JwtSecret => "jwt_secret",
            Kind::Acl => "acl",
            Kind::Oauth2Credential => "oauth2_credential",
            Kind::MtlsAuthCredential => "mtls_auth_credential",
            Kind::ConsumerGroupConsumer => "consumer_group_consumer",
            Kind::Route => "route",
            Kind::Target => "target",
            Kind::Plugin => "plugin",
        }
    }

    /// Position in the dependency order (0 = no parents); parents always rank lower.
    pub fn level(self) -> usize {
        self.foreign_keys().iter().map(|f| f.parent.level() + 1).max().unwrap_or(0)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.table())
    }
}

impl serde::Serialize for Kind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.table())
    }
}

impl<'de> serde::Deserialize<'de> for Kind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Kind::from_table(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown entity kind `{s}`")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_is_in_dependency_order() {
        for (i, kind) in Kind::ALL.iter().enumerate() {
            for fk in kind.foreign_keys() {
                let parent = Kind::ALL.iter().position(|k| *k == fk.parent).unwrap();
                assert!(parent < i, "{kind} listed before its parent {}", fk.parent);
            }
        }
    }

    #[test]
    fn tables_round_trip() {
        for kind in Kind::ALL {
            assert_eq!(Kind::from_table(kind.table()), Some(*kind));
        }
        assert_eq!(Kind::from_table("nope"), None);
    }

    #[test]
    fn collections_follow_the_admin_api() {
        assert_eq!(Kind::KeyauthCredential.collection(), "key-auths");
        assert_eq!(Kind::KeyauthCredential.nested_collection(), "key-auth");
        assert_eq!(Kind::KeySet.collection(), "key-sets");
        assert_eq!(Kind::Route.nested_collection(), "routes");
        assert_eq!(Kind::Plugin.level(), 3);
        assert_eq!(Kind::Service.level(), 1);
    }
}
