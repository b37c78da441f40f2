//! The desired state a dialect's format reader produces from configuration files.

use std::collections::{BTreeMap, BTreeSet};

use super::Diagnostic;
use crate::model::{Kind, State};

/// The desired state read from all inputs, merged.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Desired {
    /// The entities, in file order then document order (a parent before what is nested in
    /// it). Parents in the files are [`crate::model::Ref::Local`] indexes; parents found through
    /// lookup tags are [`crate::model::Ref::Key`] / [`crate::model::Ref::Id`]. Fields are as written (no
    /// defaults), minus foreign keys.
    pub state: State,
    /// The ownership scope the files declare (decK's `_info.select_tags`), already added to
    /// every entity that carries tags.
    pub select_tags: Vec<String>,
    /// Kinds whose parents may be found on the gateway by these tags (decK's
    /// `_info.default_lookup_tags`).
    pub lookup_tags: BTreeMap<Kind, Vec<String>>,
    /// The workspace the files name (Kong's `_workspace`), if any.
    pub workspace: Option<String>,
    /// Warnings (conversions made, keys ignored).
    pub warnings: Vec<Diagnostic>,
    /// Every value substituted from a template variable, sorted, without duplicates:
    /// secrets to mask in every output.
    pub env_values: Vec<String>,
    /// `(entity index, dotted field path)` of every field whose value came wholly or partly
    /// from a template variable.
    pub env_fields: BTreeSet<(usize, String)>,
}
