//! Where desired state comes from: files and directories, a Git commit's tree, the
//! `gateform.toml` environments, `${{ env }}` templating and a YAML/JSON reader that keeps
//! positions for diagnostics. A dialect's format reader turns the texts into entities.
//!
//! The entry points are [`read_inputs`] (turn `-s` arguments into texts), [`git`] (a
//! commit's files as texts, and the commit's description), [`environments`] (the
//! `gateform.toml` settings file) and [`Source`] (a run's texts and their provenance).

mod desired;
pub mod diag;
pub mod env;
pub mod environments;
pub mod git;
pub mod inputs;
mod provenance;
pub(crate) mod suggest;
pub mod yaml;

pub use desired::Desired;
pub use diag::{Diagnostic, Diagnostics, Severity};
pub use inputs::{Input, read_inputs};
pub use provenance::{Provenance, Source, files_json, sha256_hex, source_line};
