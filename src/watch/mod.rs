//! `gateform watch`: a daemon that follows a Git branch and keeps every environment on it.
//!
//! It is a front end over the engine through one narrow seam, [`Target`]: the daemon decides
//! when to fetch, plan and apply (polls with jitter, webhooks, drift checks, backoff,
//! guards, suspend), the target does the work of each step (Git, gateway, lock, ledger).
//! Around the loops: HTTP endpoints ([`http`]: health, readiness, status, Prometheus
//! metrics, webhooks, the suspend switch), outgoing notifications and commit statuses
//! ([`notify`]), and scrubbed text or JSON logs ([`logging`]).
//!
//! Behaviour follows Argo CD and Flux where users are happy with them and departs where
//! they complain (`gitops-anchors.md` §3–4): sync statuses Synced / OutOfSync / Failed /
//! Suspended, self-heal with `drift = "correct" | "warn"`, a destroy guard and an
//! `allowEmpty`-style refusal to empty the gateway, one notification per run.

pub mod daemon;
pub mod engine;
pub mod guard;
pub mod http;
pub mod leader;
pub mod logging;
pub mod metrics;
pub mod notify;
pub mod reconcile;
pub mod schedule;
pub mod status;
pub mod target;
pub mod webhook;

#[cfg(test)]
mod tests;

pub use daemon::{Daemon, DaemonOptions, Environment, Shutdown};
pub use metrics::{AdminApiCounter, Metrics};
pub use schedule::Action;
pub use status::SyncStatus;
pub use target::{Applied, Commit, ErrorKind, Planned, Target, TargetError};
