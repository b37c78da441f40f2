//! The history's rows: what a run is, how it ended, and the questions asked of them.
//! Both backends store and return exactly these types.

use serde::{Deserialize, Serialize};

use super::process::Holder;

/// How a run ended (or that it has not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunResult {
    /// Still running (or its process died and nobody noticed yet).
    Running,
    /// Everything was applied (and, for a replay, verified).
    Success,
    /// The plan could not be computed, or some change failed.
    Failed,
    /// A replay applied everything, but the fresh plan afterwards was not empty.
    VerificationFailed,
    /// The process ended without finishing (killed, crashed, interrupted), or it lost its
    /// lock and stopped before the end.
    Interrupted,
    /// The user declined the plan.
    Cancelled,
}

impl RunResult {
    /// `running`, `success`, `failed`, `verification-failed`, `interrupted`, `cancelled`.
    pub fn as_str(self) -> &'static str {
        match self {
            RunResult::Running => "running",
            RunResult::Success => "success",
            RunResult::Failed => "failed",
            RunResult::VerificationFailed => "verification-failed",
            RunResult::Interrupted => "interrupted",
            RunResult::Cancelled => "cancelled",
        }
    }

    /// The inverse of [`RunResult::as_str`]; anything unknown reads as `running`.
    pub fn parse(s: &str) -> RunResult {
        match s {
            "success" => RunResult::Success,
            "failed" => RunResult::Failed,
            "verification-failed" => RunResult::VerificationFailed,
            "interrupted" => RunResult::Interrupted,
            "cancelled" => RunResult::Cancelled,
            _ => RunResult::Running,
        }
    }
}

/// Where a run's configuration came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSource {
    /// The repository (path or URL), for Git sources.
    pub repository: Option<String>,
    /// The revision as given.
    #[serde(rename = "ref")]
    pub reference: Option<String>,
    /// The resolved commit id.
    pub commit: Option<String>,
    /// The commit's subject.
    pub subject: Option<String>,
    /// The sub-directory read.
    pub path: Option<String>,
    /// The `-s` files, for file sources.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub files: Vec<String>,
}

/// A run about to start.
#[derive(Debug, Clone)]
pub struct NewRun {
    /// What runs: `plan` (a saved plan), `apply`, `replay`, `watch` (one iteration) or
    /// `unlock`.
    pub command: String,
    /// The lock key ([`super::target_key`]): the environment name, or the normalised
    /// gateway address without one.
    pub target: String,
    /// The environment's name, if one was named.
    pub environment: Option<String>,
    /// The gateway address (`sandbox` for an in-process sandbox).
    pub gateway: String,
    /// The configuration's source.
    pub source: RunSource,
    /// Who runs it.
    pub holder: Holder,
}

/// Counts of a plan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanCounts {
    /// Entities to create.
    pub add: usize,
    /// Entities to update.
    pub change: usize,
    /// Entities to delete.
    pub destroy: usize,
}

/// What happened to a plan's changes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeCounts {
    /// Changes fully applied.
    pub applied: usize,
    /// Changes that failed.
    pub failed: usize,
    /// Changes not (or only partly) attempted because something else failed first, or the
    /// lock was lost.
    pub not_attempted: usize,
}

/// How a run ended, as [`super::Ledger::finish_run`] records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunEnd {
    /// Per-change outcomes, when anything was applied.
    pub outcomes: Option<OutcomeCounts>,
    /// The result.
    pub result: RunResult,
    /// A short error, for runs that did not succeed.
    pub message: Option<String>,
    /// When it ended, in milliseconds since the Unix epoch (the runner's clock). A run
    /// recorded late (its ledger was unreachable at the end) keeps its true end time.
    pub finished_ms: i64,
}

/// One row of the history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Row id, increasing.
    pub id: i64,
    /// `plan`, `apply`, `replay`, `watch` or `unlock`.
    pub command: String,
    /// The lock key (environment name or normalised gateway address).
    pub target: String,
    /// The environment's name, or `-`.
    pub environment: String,
    /// The gateway address.
    pub gateway: String,
    /// The configuration's source.
    pub source: RunSource,
    /// The plan's counts, once computed.
    pub plan: Option<PlanCounts>,
    /// The plan's digest (SHA-256 hex of its changes, as saved plans record it), once computed.
    pub plan_digest: Option<String>,
    /// Per-change outcomes, once applied.
    pub outcomes: Option<OutcomeCounts>,
    /// Start time (RFC 3339 UTC, milliseconds).
    pub started_at: String,
    /// End time (RFC 3339 UTC, milliseconds), once finished.
    pub finished_at: Option<String>,
    /// The result.
    pub result: RunResult,
    /// The error, for failed runs.
    pub message: Option<String>,
    /// Who ran it.
    pub user: String,
    /// Where.
    pub host: String,
    /// Process id.
    pub pid: u32,
    /// The CI job that ran it, when known ([`super::ci_job_url`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci_job: Option<String>,
}

/// Which runs to list.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    /// Only this environment.
    pub environment: Option<String>,
    /// Only this target (environment name or normalised gateway address).
    pub target: Option<String>,
    /// At most this many, the latest (`None`: all).
    pub limit: Option<usize>,
}

/// What [`super::Ledger::live_at`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LiveAt {
    /// The last successful apply or replay that had finished by then: its commit was live.
    pub run: Option<RunRecord>,
    /// Runs that were under way at that moment (started before, finished after or never).
    pub in_progress: Vec<RunRecord>,
    /// Runs that failed after [`LiveAt::run`] and before that moment: the gateway may
    /// have been partly updated by them.
    pub failed_since: Vec<RunRecord>,
}

/// The commands whose success makes a commit live (`plan` and `unlock` change nothing).
pub const WRITING_COMMANDS: [&str; 3] = ["apply", "replay", "watch"];
