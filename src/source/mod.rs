//! Where desired state comes from: decK-format YAML/JSON files or a Git commit's tree,
//! `${{ env }}` rendering, format-version conversion, nested and flat forms; and the way
//! back: writing live state as a decK file.
//!
//! The entry points are [`read_inputs`] (turn `-s` arguments into texts), [`git`] (a
//! commit's files as texts, and the commit's description), [`environments`] (the
//! `gateform.toml` settings file), [`load`] (texts
//! → [`Desired`] state, or every problem found as [`Diagnostics`]) and [`dump`] (a
//! [`State`](crate::model::State) → decK YAML or JSON).

pub mod diag;
pub mod env;
pub mod environments;
pub mod git;
pub mod inputs;
pub mod yaml;

pub use crate::kong::deck::read::finish::add_tags;
pub use crate::kong::deck::read::{Desired, LoadOptions, load};
pub use crate::kong::deck::write::{DumpError, DumpFormat, DumpOptions, dump};
pub use diag::{Diagnostic, Diagnostics, Severity};
pub use inputs::{Input, read_inputs};
