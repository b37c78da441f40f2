//! Entity kinds as data. A dialect (Kong, Tyk) describes each of its kinds once, as a static
//! [`KindSpec`]: its name, the nouns messages use, its rank in the dependency order and its
//! foreign keys with their on-delete behaviour. The core handles kinds only through the
//! cheap [`Kind`] handle and never names a gateway's kinds in code.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

/// What happens to a child when the parent it references is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OnDelete {
    /// The child is deleted with its parent.
    Cascade,
    /// Deleting the parent is refused while the child references it.
    Restrict,
}

/// One foreign-key field of a kind: a reference to one parent entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ForeignKey {
    /// Field name as the gateway spells it (`service`, `consumer`, ...).
    pub field: &'static str,
    /// The referenced kind.
    pub parent: Kind,
    /// Behaviour when the parent is deleted.
    pub on_delete: OnDelete,
    /// Whether the field must be set.
    pub required: bool,
}

/// The description of one entity kind of one dialect.
#[derive(Debug)]
pub struct KindSpec {
    /// The dialect the kind belongs to (`kong`, `tyk`).
    pub dialect: &'static str,
    /// The kind's name as the gateway and its files spell the collection (`services`,
    /// `keyauth_credentials`, `apis`, `policies`). Unique within the dialect.
    pub name: &'static str,
    /// A short singular noun for messages (`service`, `keyauth_credential`, `api`).
    pub singular: &'static str,
    /// Position in the dependency order: every parent ranks lower than its children.
    pub rank: u16,
    /// Foreign-key fields.
    pub foreign_keys: &'static [ForeignKey],
}

/// A handle to a [`KindSpec`]: copied freely, compared and hashed by identity, ordered by
/// rank (parents first), then name.
#[derive(Clone, Copy)]
pub struct Kind(&'static KindSpec);

impl Kind {
    /// The handle of a static spec (usable in `static` initialisers).
    pub const fn of(spec: &'static KindSpec) -> Kind {
        Kind(spec)
    }

    /// The spec.
    pub fn spec(self) -> &'static KindSpec {
        self.0
    }

    /// The kind's name (`services`), also its key in files and in JSON plans.
    pub fn table(self) -> &'static str {
        self.0.name
    }

    /// The kind's name (same as [`Kind::table`]).
    pub fn name(self) -> &'static str {
        self.0.name
    }

    /// The dialect's name.
    pub fn dialect(self) -> &'static str {
        self.0.dialect
    }

    /// A short singular noun for messages.
    pub fn singular(self) -> &'static str {
        self.0.singular
    }

    /// Position in the dependency order.
    pub fn rank(self) -> u16 {
        self.0.rank
    }

    /// Foreign-key fields.
    pub fn foreign_keys(self) -> &'static [ForeignKey] {
        self.0.foreign_keys
    }

    /// The foreign key named `field`, if this kind has one.
    pub fn foreign_key(self, field: &str) -> Option<&'static ForeignKey> {
        self.0.foreign_keys.iter().find(|f| f.field == field)
    }
}

impl PartialEq for Kind {
    fn eq(&self, other: &Kind) -> bool {
        std::ptr::eq(self.0, other.0)
    }
}

impl Eq for Kind {}

impl Hash for Kind {
    fn hash<H: Hasher>(&self, state: &mut H) {
        std::ptr::hash(self.0, state);
    }
}

impl PartialOrd for Kind {
    fn partial_cmp(&self, other: &Kind) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Kind {
    fn cmp(&self, other: &Kind) -> Ordering {
        (self.0.dialect, self.0.rank, self.0.name).cmp(&(other.0.dialect, other.0.rank, other.0.name))
    }
}

impl fmt::Debug for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name)
    }
}

impl serde::Serialize for Kind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static PARENT: KindSpec =
        KindSpec { dialect: "t", name: "parents", singular: "parent", rank: 0, foreign_keys: &[] };
    static CHILD: KindSpec = KindSpec {
        dialect: "t",
        name: "children",
        singular: "child",
        rank: 1,
        foreign_keys: &[ForeignKey {
            field: "parent",
            parent: Kind::of(&PARENT),
            on_delete: OnDelete::Cascade,
            required: true,
        }],
    };

    #[test]
    fn kinds_compare_by_identity_and_order_by_rank() {
        let (p, c) = (Kind::of(&PARENT), Kind::of(&CHILD));
        assert_eq!(p, Kind::of(&PARENT));
        assert_ne!(p, c);
        assert!(p < c);
        assert_eq!(c.foreign_key("parent").map(|f| f.parent), Some(p));
        assert_eq!(c.to_string(), "children");
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"children\"");
    }
}
