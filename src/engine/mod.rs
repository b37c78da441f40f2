//! The library entry point every front end calls: [`Reconciler`] owns one run end to end —
//! source → connect → desired → live → plan → (lock, saved-plan checks, apply, barrier,
//! verification, ledger record) — and returns a typed [`RunOutcome`]. The CLI calls it once;
//! the `watch` daemon calls it on every trigger. Front ends see progress through an
//! [`Observer`] and never reach into the pipeline.

pub mod drill;
mod node;
mod nodes;
mod preflight;
mod prepare;
pub mod record;
mod replay;
mod run;
mod saved;
mod survey;
mod target;
mod write;

use std::time::Duration;

pub use crate::apply::Applied;
pub use crate::apply::ApplyOptions;
pub use crate::plan::Verification;
pub use node::{NodeEvent, NodeOutcome, NodeStatus};
pub use prepare::{PlanRequest, Planned, load, plan_against, prepare};
pub use record::{Recorder, Recording, drain_for, run_source, saved_plan};
pub use replay::{count_by_kind, restored, verify, verify_on};
pub use run::{Mode, Reconciler, RunOutcome};
pub use saved::check_saved;
pub use survey::{NodeDrift, Survey};
pub use target::{Connection, Nodes, SANDBOX, Target};

use crate::apply::Event;
use crate::gateway::HttpError;
use crate::graph::GraphError;
use crate::ledger::LedgerError;
use crate::plan::PlanError;
use crate::source::Diagnostics;

/// Why a run could not go on.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The configuration cannot be read (every problem, with its place).
    #[error("{0}")]
    Config(Diagnostics),
    /// The gateway could not be reached or read.
    #[error("cannot read the gateway: {0}")]
    Gateway(Box<HttpError>),
    /// References or matches that cannot be resolved.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// Changes that cannot be ordered.
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// The run was refused before anything was written: a stale or altered saved plan, a
    /// read-only gateway, a scope that contradicts the files. The text says why and what to do.
    #[error("{0}")]
    Refused(String),
    /// Another run holds the target's lock.
    #[error("{label} is locked by {holder}")]
    Locked {
        /// How messages name the target.
        label: String,
        /// The holder, as the ledger describes it.
        holder: String,
        /// How long this run waited.
        waited: Duration,
        /// How long it was allowed to wait.
        timeout: Duration,
        /// The argument of `gateform unlock` that breaks the lock.
        unlock: String,
    },
    /// The ledger could not be opened, read or written.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// The in-process sandbox of a rehearsal could not start.
    #[error("cannot start the in-process sandbox: {0}")]
    Sandbox(String),
}

/// What a run asks of its front end, and what it tells it. Every method has a default that
/// says nothing and approves.
pub trait Observer: Send {
    /// A warning or notice for the user (load warnings, lock waits and takeovers).
    fn warning(&mut self, _message: &str) {}
    /// The plan is known; nothing was written yet.
    fn planned(&mut self, _planned: &Planned) {}
    /// Whether to apply this (non-empty) plan; asked only when the run's mode prompts.
    fn confirm(&mut self, _planned: &Planned) -> bool {
        true
    }
    /// Why [`Observer::confirm`] said no, as the ledger records it.
    fn declined(&mut self) -> String {
        "the plan was not approved".into()
    }
    /// A step started, succeeded, failed or was skipped.
    fn event(&mut self, _planned: &Planned, _event: Event<'_>) {}
    /// The apply is over; the verification starts.
    fn verifying(&mut self) {}
    /// Progress over the nodes of an environment of several.
    fn node(&mut self, _event: NodeEvent<'_>) {}
}

impl From<HttpError> for EngineError {
    fn from(e: HttpError) -> Self {
        EngineError::Gateway(Box::new(e))
    }
}

/// An observer that shows nothing and approves everything.
pub struct Quiet;

impl Observer for Quiet {}
