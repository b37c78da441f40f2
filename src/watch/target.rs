//! The seam between the daemon and the engine: [`Target`], one environment as the engine
//! offers it, and the values that cross it. The daemon decides *when* and *whether*; the
//! target does the Git, gateway, lock and ledger work of one step.

use std::any::Any;
use std::fmt;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

/// A commit of the followed branch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Commit {
    /// The commit id (40 hex digits for SHA-1 repositories).
    pub id: String,
    /// The first line of its message.
    pub subject: String,
    /// Its author, `Name <email>`.
    pub author: String,
    /// The author date, RFC 3339.
    pub date: String,
}

impl Commit {
    /// The first 12 characters of the id, as messages show it.
    pub fn short(&self) -> &str {
        self.id.get(..12).unwrap_or(&self.id)
    }
}

/// A plan computed by [`Target::plan`]: its counts for the guards and reports, and the
/// engine's own value, handed back untouched to [`Target::apply`].
pub struct Planned {
    /// The commit planned.
    pub commit: Commit,
    /// Entities to create.
    pub add: usize,
    /// Entities to update.
    pub change: usize,
    /// Entities to delete.
    pub destroy: usize,
    /// Entities to create, update or delete on the environment's other nodes, each planned
    /// against the configuration on its own (0 for one node). The counts above are the
    /// first node's, which the guards judge; a drift on another node alone is still drift.
    pub other_nodes: usize,
    /// Entities in scope on the gateway (after select tags) when the plan was made: the
    /// base of `max_destroy` percentages.
    pub live_entities: usize,
    /// Entities in the configuration at `commit`: 0 means the plan empties the gateway.
    pub desired_entities: usize,
    /// A digest of the planned changes (equal digests = the same changes against the same
    /// live state); used to report one drift once, not on every check.
    pub digest: String,
    /// The engine's plan, for [`Target::apply`]. The daemon never looks inside.
    pub engine: Box<dyn Any + Send>,
}

impl Planned {
    /// The same counts, commit and digest without the engine's value.
    pub fn summary(&self) -> Planned {
        Planned {
            commit: self.commit.clone(),
            add: self.add,
            change: self.change,
            destroy: self.destroy,
            other_nodes: self.other_nodes,
            live_entities: self.live_entities,
            desired_entities: self.desired_entities,
            digest: self.digest.clone(),
            engine: Box::new(()),
        }
    }

    /// Whether the plan changes nothing, on any node.
    pub fn is_empty(&self) -> bool {
        self.changes() == 0
    }

    /// Entities the plan touches (add + change + destroy), with those of the other nodes.
    pub fn changes(&self) -> usize {
        self.add + self.change + self.destroy + self.other_nodes
    }
}

impl fmt::Debug for Planned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Planned")
            .field("commit", &self.commit.id)
            .field("add", &self.add)
            .field("change", &self.change)
            .field("destroy", &self.destroy)
            .field("other_nodes", &self.other_nodes)
            .field("live_entities", &self.live_entities)
            .field("desired_entities", &self.desired_entities)
            .field("digest", &self.digest)
            .finish_non_exhaustive()
    }
}

/// What [`Target::apply`] did: a run recorded in the ledger and its per-change outcomes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Applied {
    /// The ledger's run id (unique per ledger; notifications are keyed on it).
    pub run_id: i64,
    /// Changes applied.
    pub applied: usize,
    /// Changes the gateway refused.
    pub failed: usize,
    /// Changes not attempted (their dependencies failed, or the run was cancelled).
    pub not_attempted: usize,
    /// Whether the run stopped early because the cancellation token fired.
    pub cancelled: bool,
    /// A short summary of what failed (no secret bytes), when anything did.
    pub message: Option<String>,
    /// Each node of an environment of several and how it ended; empty for one node.
    pub nodes: Vec<NodeState>,
}

/// One node of a run over several ([`crate::engine::NodeOutcome`]), as `/status` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeState {
    /// Its Admin API address.
    pub address: String,
    /// `verified`, `unchanged`, `failed`, `not-verified` or `untouched`.
    pub status: &'static str,
    /// Why, for failed and unverified nodes (no secret bytes).
    pub reason: Option<String>,
}

impl Applied {
    /// Whether every change was applied.
    pub fn success(&self) -> bool {
        self.failed == 0 && self.not_attempted == 0 && !self.cancelled
    }
}

/// Which step failed, so the daemon can count and report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Git: fetching, resolving the branch, reading the commit.
    Fetch,
    /// The configuration at the commit is invalid (it will not fix itself before a new
    /// commit, but the daemon retries with backoff anyway: a variable may be set meanwhile).
    Config,
    /// The gateway could not be read or written (unreachable, refused a request).
    Gateway,
    /// Another process holds the environment's lock.
    Locked,
    /// The gateway changed between plan and apply; the daemon plans again.
    Stale,
    /// Anything else (the ledger, an internal error).
    Other,
}

impl ErrorKind {
    /// The metric label and JSON name: `fetch`, `config`, `gateway`, `locked`, `stale`, `other`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Fetch => "fetch",
            ErrorKind::Config => "config",
            ErrorKind::Gateway => "gateway",
            ErrorKind::Locked => "locked",
            ErrorKind::Stale => "stale",
            ErrorKind::Other => "other",
        }
    }
}

/// A failed step. The message names what failed (the entity and the gateway's own message
/// for API refusals, `file:line:column` for configuration mistakes) and holds no secret byte.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TargetError {
    /// Which step failed.
    pub kind: ErrorKind,
    /// What went wrong, in one or a few lines.
    pub message: String,
}

impl TargetError {
    /// An error of `kind`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        TargetError { kind, message: message.into() }
    }
}

/// One environment followed by the daemon, as the engine offers it.
///
/// The daemon calls one method at a time per target (never two concurrently on the same
/// target) and always `plan` before `apply` with that plan; `deploy` does both. Every
/// method may block on network or disk; none may panic on bad input. Messages of errors
/// hold no secret byte.
#[async_trait::async_trait]
pub trait Target: Send + Sync {
    /// The environment's name (the lock key and the `environment` label of metrics).
    fn name(&self) -> &str;

    /// Fetches the followed branch (a remote is fetched, a local repository read in place)
    /// and returns its head. Errors are [`ErrorKind::Fetch`].
    async fn head(&self) -> Result<Commit, TargetError>;

    /// Whether `commit` descends from (or is) `ancestor`; `false` means the branch was
    /// rewound or force-pushed. Both ids come from earlier [`Target::head`] results; an
    /// ancestor no longer in the repository is `Ok(false)`.
    async fn descends(&self, commit: &str, ancestor: &str) -> Result<bool, TargetError>;

    /// When this replica stands by (another replica leads the environment), the leader's
    /// description; `None` when this replica may reconcile (by default, always).
    async fn standby(&self) -> Option<String> {
        None
    }

    /// Reads the configuration at `commit` and the gateway, and plans. Writes nothing to
    /// the gateway and takes no lock.
    async fn plan(&self, commit: &Commit) -> Result<Planned, TargetError>;

    /// Applies a plan returned by [`Target::plan`]: takes the environment's lock (failing
    /// with [`ErrorKind::Locked`] when another process holds it), refuses with
    /// [`ErrorKind::Stale`] when the gateway moved since the plan, records the run in the
    /// ledger as a `watch` run naming the commit (also for an empty plan: the commit became
    /// live), executes, verifies, records the outcome and releases the lock before it
    /// returns. A partial failure is `Ok` with failed counts; `Err` means nothing was
    /// written. When `cancel` fires it starts no new change, lets the ones in flight
    /// finish, records the run as cancelled and returns promptly.
    async fn apply(&self, planned: Planned, cancel: CancellationToken) -> Result<Applied, TargetError>;

    /// Plans `commit` and applies the plan when `guard` lets it (returns `None`) and `stop`
    /// has not fired: [`Target::plan`] then [`Target::apply`], as one step. A target may do
    /// both in one locked run, planning once (the engine's does); the plan is then made
    /// under the environment's lock, and a refused plan is recorded as a cancelled run.
    /// `Err` means nothing was planned; errors after the plan come in
    /// [`Deployed::Applied`].
    async fn deploy(
        &self,
        commit: &Commit,
        guard: &Guard<'_>,
        stop: &CancellationToken,
        cancel: CancellationToken,
    ) -> Result<Deployed, TargetError> {
        let planned = self.plan(commit).await?;
        if let Some(reason) = guard(&planned) {
            return Ok(Deployed::Refused { planned, reason });
        }
        if stop.is_cancelled() {
            return Ok(Deployed::Stopped);
        }
        let summary = planned.summary();
        let result = self.apply(planned, cancel).await;
        Ok(Deployed::Applied { planned: summary, result })
    }
}

/// A guard of [`Target::deploy`]: why a plan must not be applied, or `None`.
pub type Guard<'a> = dyn for<'p> Fn(&'p Planned) -> Option<String> + Send + Sync + 'a;

/// What [`Target::deploy`] did.
#[derive(Debug)]
pub enum Deployed {
    /// The guard refused the plan (the reason); nothing was written.
    Refused {
        /// The plan refused.
        planned: Planned,
        /// Why, from the guard.
        reason: String,
    },
    /// The daemon began stopping before anything was written.
    Stopped,
    /// The plan was applied, or its apply failed.
    Applied {
        /// The plan (its counts; no engine value).
        planned: Planned,
        /// The apply, as [`Target::apply`] returns it.
        result: Result<Applied, TargetError>,
    },
}
