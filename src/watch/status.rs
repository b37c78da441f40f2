//! What `/status` shows: per environment, the last applied and last attempted commit, the
//! sync status (Argo CD's words), the last error and the next run.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio::time::Instant;

use super::target::{Commit, ErrorKind, NodeState};

/// An environment's sync status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SyncStatus {
    /// Not known yet (before the first iteration).
    Unknown,
    /// The gateway matches the head of the branch.
    Synced,
    /// The gateway differs from the head: a new commit not applied yet, drift only
    /// reported, or a plan refused by a guard.
    OutOfSync,
    /// The last attempt failed (it is retried with backoff).
    Failed,
    /// Suspended: nothing is planned or applied until resumed.
    Suspended,
    /// Another replica leads this environment; this one only watches who leads.
    Standby,
}

/// A commit the daemon applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppliedRecord {
    /// The commit.
    pub commit: Commit,
    /// The ledger's run id.
    pub run_id: i64,
    /// When it finished, RFC 3339 (UTC).
    pub at: String,
}

/// A commit the daemon tried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttemptRecord {
    /// The commit.
    pub commit: Commit,
    /// `applied`, `failed`, `refused`, `drift_reported`, `no_changes`.
    pub result: &'static str,
    /// When, RFC 3339 (UTC).
    pub at: String,
}

/// The last error of an environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorRecord {
    /// The step that failed, or `guard` for a refused plan.
    pub kind: String,
    /// What happened.
    pub message: String,
    /// When, RFC 3339 (UTC).
    pub at: String,
}

impl ErrorRecord {
    /// An error of `kind` now.
    pub fn now(kind: ErrorKind, message: &str) -> Self {
        ErrorRecord { kind: kind.as_str().to_owned(), message: message.to_owned(), at: now() }
    }
}

/// The state of one environment, as `/status` reports it.
#[derive(Debug, Clone)]
pub struct EnvStatus {
    /// The environment's name.
    pub name: String,
    /// The sync status.
    pub sync_status: SyncStatus,
    /// The last commit applied completely.
    pub last_applied: Option<AppliedRecord>,
    /// The last commit planned or applied, and how it ended.
    pub last_attempted: Option<AttemptRecord>,
    /// The last error, cleared by the next success.
    pub last_error: Option<ErrorRecord>,
    /// Entities that differ from the configuration at the last drift check.
    pub drift_entities: usize,
    /// Failures since the last success.
    pub consecutive_failures: u32,
    /// When the loop runs next (`None`: when woken, or while running).
    pub next_run: Option<Instant>,
    /// Whether the first iteration finished.
    pub first_poll_done: bool,
    /// Rewinds (commits not descending from the last applied one) seen.
    pub rewinds: u64,
    /// The nodes of the last applied or attempted run, for an environment of several.
    pub nodes: Vec<NodeState>,
}

impl EnvStatus {
    /// A fresh status.
    pub fn new(name: &str) -> Self {
        EnvStatus {
            name: name.to_owned(),
            sync_status: SyncStatus::Unknown,
            last_applied: None,
            last_attempted: None,
            last_error: None,
            drift_entities: 0,
            consecutive_failures: 0,
            next_run: None,
            first_poll_done: false,
            rewinds: 0,
            nodes: Vec::new(),
        }
    }

    /// The JSON object of `/status`; `leader` is the ledger's leader, when known.
    pub fn to_json(&self, suspended: bool, leader: Option<&str>) -> Value {
        let now = Instant::now();
        let next = self.next_run.map(|at| at.saturating_duration_since(now));
        json!({
            "name": self.name,
            "sync_status": self.sync_status,
            "suspended": suspended,
            "last_applied": self.last_applied,
            "last_attempted": self.last_attempted,
            "last_error": self.last_error,
            "drift_entities": self.drift_entities,
            "consecutive_failures": self.consecutive_failures,
            "next_run": next.map(|d| rfc3339(SystemTime::now() + d)),
            "next_run_in_seconds": next.map(|d| d.as_secs_f64()),
            "rewinds": self.rewinds,
            "nodes": self.nodes,
            "leader": leader,
        })
    }
}

/// One environment's shared handle: its status, its wake-up and its suspend switch.
#[derive(Debug)]
pub struct EnvHandle {
    /// The status.
    pub status: Mutex<EnvStatus>,
    /// Wakes the loop (webhooks, resume).
    pub wake: Notify,
    suspended: AtomicBool,
}

impl EnvHandle {
    /// A handle for `name`, suspended or not.
    pub fn new(name: &str, suspended: bool) -> Self {
        EnvHandle {
            status: Mutex::new(EnvStatus::new(name)),
            wake: Notify::new(),
            suspended: AtomicBool::new(suspended),
        }
    }

    /// The environment's name.
    pub fn name(&self) -> String {
        self.snapshot().name
    }

    /// Whether it is suspended.
    pub fn suspended(&self) -> bool {
        self.suspended.load(Ordering::SeqCst)
    }

    /// Suspends or resumes it, and wakes its loop.
    pub fn set_suspended(&self, suspended: bool) {
        self.suspended.store(suspended, Ordering::SeqCst);
        self.wake.notify_one();
    }

    /// A copy of the status.
    pub fn snapshot(&self) -> EnvStatus {
        match self.status.lock() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Changes the status.
    pub fn update(&self, f: impl FnOnce(&mut EnvStatus)) {
        match self.status.lock() {
            Ok(mut s) => f(&mut s),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }
}

/// Now, RFC 3339 in UTC with milliseconds.
pub fn now() -> String {
    rfc3339(SystemTime::now())
}

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}
