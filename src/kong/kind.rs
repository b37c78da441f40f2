//! The entity kinds of Kong's Admin API, with the facts it gives about each: table name,
//! collection path, endpoint key, foreign keys and delete behaviour (`kong-admin-api.md`
//! §2, §3.1). One table below declares them all; it yields both [`KongKind`], the enum the
//! Kong code matches on, and the static [`KindSpec`]s the gateway-agnostic core sees
//! through [`KongKind::kind`].

use std::fmt;

pub use crate::model::OnDelete;
use crate::model::{Kind, KindSpec};

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

/// The name of the Kong dialect, as [`KindSpec::dialect`] spells it.
pub const DIALECT: &str = "kong";

macro_rules! kinds {
    ($( $variant:ident => $table:literal, $singular:literal,
        [$( $field:ident: $parent:ident $on_delete:ident $required:literal ),*] );* $(;)?) => {
        /// An entity kind, named after Kong's table (`services`, `keyauth_credentials`, ...).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum KongKind { $( #[doc = concat!("Kong's `", $table, "`.")] $variant ),* }

        /// The static specs of Kong's kinds, one per [`KongKind`] variant.
        #[allow(non_upper_case_globals)]
        pub mod specs {
            use super::{DIALECT, Kind, KindSpec, OnDelete};
            use crate::model::ForeignKey;
            kinds!(@specs 0u16; $( $variant => $table, $singular, [$( $field: $parent $on_delete $required ),*] );*);
        }

        impl KongKind {
            /// Every kind, in dependency order (parents before children).
            pub const ALL: &'static [KongKind] = &[ $( KongKind::$variant ),* ];

            /// Kong's table / entity name (`services`, `keyauth_credentials`, ...), also the
            /// key used for the kind in decK files and in `/schemas/{entity}`.
            pub fn table(self) -> &'static str {
                match self { $( KongKind::$variant => $table ),* }
            }

            /// A short singular noun for messages (`service`, `keyauth_credential`).
            pub fn singular(self) -> &'static str {
                match self { $( KongKind::$variant => $singular ),* }
            }

            /// Foreign-key fields of this kind, with Kong's delete behaviour (§2).
            pub fn foreign_keys(self) -> &'static [ForeignKey] {
                match self {
                    $( KongKind::$variant => &[$( ForeignKey {
                        field: stringify!($field),
                        parent: KongKind::$parent,
                        on_delete: OnDelete::$on_delete,
                        required: $required,
                    } ),*] ),*
                }
            }

            /// The core's handle of this kind.
            pub fn kind(self) -> Kind {
                match self { $( KongKind::$variant => Kind::of(&specs::$variant) ),* }
            }
        }
    };
    (@specs $rank:expr; ) => {};
    (@specs $rank:expr; $variant:ident => $table:literal, $singular:literal,
        [$( $field:ident: $parent:ident $on_delete:ident $required:literal ),*] $(; $($rest:tt)*)?) => {
        #[doc = concat!("Kong's `", $table, "`.")]
        pub static $variant: KindSpec = KindSpec {
            dialect: DIALECT,
            name: $table,
            singular: $singular,
            rank: $rank,
            foreign_keys: &[$( ForeignKey {
                field: stringify!($field),
                parent: Kind::of(&$parent),
                on_delete: OnDelete::$on_delete,
                required: $required,
            } ),*],
        };
        kinds!(@specs $rank + 1; $($($rest)*)?);
    };
}

kinds! {
    Certificate => "certificates", "certificate", [];
    CaCertificate => "ca_certificates", "ca_certificate", [];
    Vault => "vaults", "vault", [];
    KeySet => "key_sets", "key_set", [];
    Consumer => "consumers", "consumer", [];
    ConsumerGroup => "consumer_groups", "consumer_group", [];
    Key => "keys", "key", [set: KeySet Cascade false];
    Sni => "snis", "sni", [certificate: Certificate Cascade true];
    Service => "services", "service", [client_certificate: Certificate Restrict false];
    Upstream => "upstreams", "upstream", [client_certificate: Certificate Restrict false];
    KeyauthCredential => "keyauth_credentials", "keyauth_credential", [consumer: Consumer Cascade true];
    BasicauthCredential => "basicauth_credentials", "basicauth_credential", [consumer: Consumer Cascade true];
    HmacauthCredential => "hmacauth_credentials", "hmacauth_credential", [consumer: Consumer Cascade true];
    JwtSecret => "jwt_secrets", "jwt_secret", [consumer: Consumer Cascade true];
    Acl => "acls", "acl", [consumer: Consumer Cascade true];
    Oauth2Credential => "oauth2_credentials", "oauth2_credential", [consumer: Consumer Cascade true];
    MtlsAuthCredential => "mtls_auth_credentials", "mtls_auth_credential",
        [consumer: Consumer Cascade true, ca_certificate: CaCertificate Restrict false];
    ConsumerGroupConsumer => "consumer_group_consumers", "consumer_group_consumer",
        [consumer_group: ConsumerGroup Cascade true, consumer: Consumer Cascade true];
    Route => "routes", "route", [service: Service Restrict false];
    Target => "targets", "target", [upstream: Upstream Cascade true];
    Plugin => "plugins", "plugin",
        [service: Service Cascade false, route: Route Cascade false, consumer: Consumer Cascade false,
         consumer_group: ConsumerGroup Cascade false];
}

impl From<KongKind> for Kind {
    fn from(k: KongKind) -> Kind {
        k.kind()
    }
}

/// The Kong kind of an entity (Kong code only ever sees Kong's entities).
pub trait KongEntity {
    /// The entity's kind as [`KongKind`]; another dialect's kind reads as `services`.
    fn kong(&self) -> KongKind;
}

impl KongEntity for crate::model::Entity {
    fn kong(&self) -> KongKind {
        KongKind::of(self.kind).unwrap_or(KongKind::Service)
    }
}

impl PartialEq<KongKind> for Kind {
    fn eq(&self, other: &KongKind) -> bool {
        *self == other.kind()
    }
}

impl PartialEq<Kind> for KongKind {
    fn eq(&self, other: &Kind) -> bool {
        self.kind() == *other
    }
}

impl KongKind {
    /// The Kong kind behind a core handle, `None` for another dialect's kind.
    pub fn of(kind: Kind) -> Option<KongKind> {
        if kind.dialect() != DIALECT {
            return None;
        }
        KongKind::ALL.get(usize::from(kind.rank())).copied().filter(|k| k.kind() == kind)
    }

    /// The Kong kinds as the core's handles, in dependency order.
    pub fn all_kinds() -> &'static [Kind] {
        static ALL: std::sync::LazyLock<Vec<Kind>> =
            std::sync::LazyLock::new(|| KongKind::ALL.iter().map(|k| k.kind()).collect());
        &ALL
    }

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
    fn core_specs_mirror_the_enum() {
        for (i, k) in KongKind::ALL.iter().enumerate() {
            let kind = k.kind();
            assert_eq!(usize::from(kind.rank()), i);
            assert_eq!(KongKind::of(kind), Some(*k));
            assert_eq!((kind.table(), kind.singular()), (k.table(), k.singular()));
            let core: Vec<_> = kind
                .foreign_keys()
                .iter()
                .map(|f| (f.field, KongKind::of(f.parent), f.on_delete, f.required))
                .collect();
            let kong: Vec<_> =
                k.foreign_keys().iter().map(|f| (f.field, Some(f.parent), f.on_delete, f.required)).collect();
            assert_eq!(core, kong);
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
