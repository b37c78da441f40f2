//! The entity kinds of Tyk's Gateway API (`tyk.md` §1.2, §1.4), as the static [`KindSpec`]s
//! the gateway-agnostic core sees through [`TykKind::kind`]: certificates (`/tyk/certs`,
//! content-addressed ids), classic API definitions (`/tyk/apis`), Tyk OAS API definitions
//! (`/tyk/apis/oas`) and policies (`/tyk/policies`).
//!
//! Tyk has no foreign keys: its references live inside bodies (a policy's `access_rights`
//! keyed by `api_id`, an API's certificate ids) and reach the core through
//! [`crate::gateway::Dialect::body_refs`]. Ranks give tyk.md §2.4's apply order:
//! certificates, APIs, policies.

use std::fmt;

use crate::model::{Kind, KindSpec};

/// The name of the Tyk dialect, as [`KindSpec::dialect`] spells it.
pub const DIALECT: &str = "tyk";

/// `/tyk/certs`.
pub static CERTIFICATES: KindSpec =
    KindSpec { dialect: DIALECT, name: "certificates", singular: "certificate", rank: 0, foreign_keys: &[] };
/// `/tyk/apis` (classic definitions).
pub static APIS: KindSpec = KindSpec { dialect: DIALECT, name: "apis", singular: "api", rank: 1, foreign_keys: &[] };
/// `/tyk/apis/oas` (Tyk OAS definitions).
pub static OAS_APIS: KindSpec =
    KindSpec { dialect: DIALECT, name: "oas_apis", singular: "oas_api", rank: 2, foreign_keys: &[] };
/// `/tyk/policies`.
pub static POLICIES: KindSpec =
    KindSpec { dialect: DIALECT, name: "policies", singular: "policy", rank: 3, foreign_keys: &[] };

/// A Tyk entity kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TykKind {
    /// A certificate (or public key) of the certificate store, id `<org_id>` + SHA-256.
    Certificate,
    /// A classic API definition (`apidef.APIDefinition`), id `api_id`.
    Api,
    /// A Tyk OAS API definition, id `x-tyk-api-gateway.info.id`.
    OasApi,
    /// A policy (`user.Policy`), id `id`.
    Policy,
}

impl TykKind {
    /// Every kind, in dependency order.
    pub const ALL: &'static [TykKind] = &[TykKind::Certificate, TykKind::Api, TykKind::OasApi, TykKind::Policy];

    /// The core's handle of this kind.
    pub fn kind(self) -> Kind {
        Kind::of(match self {
            TykKind::Certificate => &CERTIFICATES,
            TykKind::Api => &APIS,
            TykKind::OasApi => &OAS_APIS,
            TykKind::Policy => &POLICIES,
        })
    }

    /// The Tyk kind behind a core handle; `None` for another dialect's kind.
    pub fn of(kind: Kind) -> Option<TykKind> {
        TykKind::ALL.iter().copied().find(|k| k.kind() == kind)
    }

    /// The kinds as the core's handles, in dependency order.
    pub fn all_kinds() -> &'static [Kind] {
        static ALL: std::sync::LazyLock<Vec<Kind>> =
            std::sync::LazyLock::new(|| TykKind::ALL.iter().map(|k| k.kind()).collect());
        &ALL
    }

    /// Whether the kind is an API definition (classic and OAS share one `api_id` space).
    pub fn is_api(self) -> bool {
        matches!(self, TykKind::Api | TykKind::OasApi)
    }

    /// How messages name an entity of this kind (`API`, `OAS API`, `policy`, `certificate`).
    pub fn noun(self) -> &'static str {
        match self {
            TykKind::Certificate => "certificate",
            TykKind::Api => "API",
            TykKind::OasApi => "OAS API",
            TykKind::Policy => "policy",
        }
    }

    /// The Gateway API collection path (`/tyk/apis`, `/tyk/apis/oas`, ...).
    pub fn collection(self) -> &'static str {
        match self {
            TykKind::Certificate => "/tyk/certs",
            TykKind::Api => "/tyk/apis",
            TykKind::OasApi => "/tyk/apis/oas",
            TykKind::Policy => "/tyk/policies",
        }
    }

    /// The kind of a document of Tyk's file formats.
    pub fn of_doc(kind: super::files::DocKind) -> TykKind {
        use super::files::DocKind;
        match kind {
            DocKind::ClassicApi => TykKind::Api,
            DocKind::OasApi => TykKind::OasApi,
            DocKind::Policy => TykKind::Policy,
            DocKind::Certificate => TykKind::Certificate,
        }
    }

    /// The document kind of Tyk's file formats.
    pub fn doc(self) -> super::files::DocKind {
        use super::files::DocKind;
        match self {
            TykKind::Api => DocKind::ClassicApi,
            TykKind::OasApi => DocKind::OasApi,
            TykKind::Policy => DocKind::Policy,
            TykKind::Certificate => DocKind::Certificate,
        }
    }
}

impl From<TykKind> for Kind {
    fn from(k: TykKind) -> Kind {
        k.kind()
    }
}

impl fmt::Display for TykKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind().name())
    }
}

/// The Tyk kind of a core handle; only Tyk's kinds reach the Tyk dialect, another dialect's
/// kind (a programming error) reads as a policy, which carries nothing secret.
pub fn tyk(kind: Kind) -> TykKind {
    TykKind::of(kind).unwrap_or(TykKind::Policy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_rank_in_apply_order() {
        for (i, k) in TykKind::ALL.iter().enumerate() {
            assert_eq!(TykKind::of(k.kind()), Some(*k));
            assert_eq!(usize::from(k.kind().rank()), i);
            assert_eq!(TykKind::of_doc(k.doc()), *k);
        }
        assert_eq!(TykKind::of(crate::kong::KongKind::Service.kind()), None);
        assert_eq!(TykKind::OasApi.to_string(), "oas_apis");
    }
}
