//! What an apply did, step by step and change by change.

use std::time::Duration;

use crate::gateway::StepError;
use crate::graph::Schedule;
use crate::plan::{Action, Plan, Summary};

/// Why a step failed.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// The gateway refused the request (status and body kept), or never answered.
    Gateway(StepError),
    /// The request could not be carried out by gateform itself (its task ended abnormally).
    Internal(String),
}

impl Failure {
    /// The HTTP status of the gateway's refusal, when there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Failure::Gateway(e) => e.status(),
            Failure::Internal(_) => None,
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Gateway(e) => write!(f, "{e}"),
            Failure::Internal(m) => write!(f, "internal error: {m}"),
        }
    }
}

/// What happened to one step.
#[derive(Debug, Clone, PartialEq)]
pub enum StepOutcome {
    /// The request succeeded.
    Applied,
    /// The request failed.
    Failed(Failure),
    /// The step was not attempted because step `cause`, which it depends on (directly or
    /// through others), failed.
    UpstreamFailed {
        /// The failed step.
        cause: usize,
    },
    /// The step never started: the apply stopped early (`--fail-fast`, cancellation).
    NotAttempted,
}

/// Outcome of one change: applied only when all its steps were.
#[derive(Debug, Clone, PartialEq)]
pub enum ChangeOutcome {
    /// Every step of the change succeeded.
    Applied,
    /// A step of the change failed.
    Failed(Failure),
    /// Not attempted because change `cause` failed.
    UpstreamFailed {
        /// Index of the failed change in the plan.
        cause: usize,
    },
    /// No step of the change was sent: the apply stopped early.
    NotAttempted,
    /// Some steps succeeded, others were not attempted (a temporary name is still in place).
    Incomplete,
}

/// Counts of change outcomes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChangeCounts {
    /// Changes applied.
    pub applied: usize,
    /// Changes that failed.
    pub failed: usize,
    /// Changes not attempted (upstream failures, an early stop, incomplete ones).
    pub not_attempted: usize,
}

/// The result of applying a schedule.
#[derive(Debug, Clone)]
pub struct ApplyReport {
    /// Outcome per step, indexed like [`Schedule::steps`].
    pub steps: Vec<StepOutcome>,
    /// Wall time of the whole apply.
    pub elapsed: Duration,
    /// Whether the apply was cancelled before it could finish.
    pub cancelled: bool,
}

impl ApplyReport {
    /// Whether every step succeeded.
    pub fn success(&self) -> bool {
        self.steps.iter().all(|s| *s == StepOutcome::Applied)
    }

    /// Outcome per change of `plan`.
    pub fn changes(&self, plan: &Plan, schedule: &Schedule) -> Vec<ChangeOutcome> {
        let mut per_change: Vec<Vec<&StepOutcome>> = vec![Vec::new(); plan.changes.len()];
        for (i, step) in schedule.steps.iter().enumerate() {
            per_change[step.change].push(&self.steps[i]);
        }
        per_change
            .into_iter()
            .map(|outcomes| {
                let failed = outcomes.iter().find_map(|o| match o {
                    StepOutcome::Failed(f) => Some(f.clone()),
                    _ => None,
                });
                let upstream = outcomes.iter().find_map(|o| match o {
                    StepOutcome::UpstreamFailed { cause } => schedule.steps.get(*cause).map(|s| s.change),
                    _ => None,
                });
                let applied = outcomes.iter().filter(|o| ***o == StepOutcome::Applied).count();
                match (failed, upstream) {
                    (Some(f), _) => ChangeOutcome::Failed(f),
                    _ if applied == outcomes.len() => ChangeOutcome::Applied,
                    _ if applied > 0 => ChangeOutcome::Incomplete,
                    (None, Some(cause)) => ChangeOutcome::UpstreamFailed { cause },
                    (None, None) => ChangeOutcome::NotAttempted,
                }
            })
            .collect()
    }

    /// Counts of applied changes by action: `(added, changed, destroyed)`.
    pub fn counts(&self, plan: &Plan, schedule: &Schedule) -> (usize, usize, usize) {
        let mut counts = (0, 0, 0);
        for (c, o) in plan.changes.iter().zip(self.changes(plan, schedule)) {
            if o == ChangeOutcome::Applied {
                match c.action {
                    Action::Create => counts.0 += 1,
                    Action::Update => counts.1 += 1,
                    Action::Delete => counts.2 += 1,
                }
            }
        }
        counts
    }

    /// Per-change outcome counts (incomplete changes count as not attempted).
    pub fn outcome_counts(&self, plan: &Plan, schedule: &Schedule) -> ChangeCounts {
        let mut counts = ChangeCounts::default();
        for o in self.changes(plan, schedule) {
            match o {
                ChangeOutcome::Applied => counts.applied += 1,
                ChangeOutcome::Failed(_) => counts.failed += 1,
                ChangeOutcome::UpstreamFailed { .. } | ChangeOutcome::NotAttempted | ChangeOutcome::Incomplete => {
                    counts.not_attempted += 1
                }
            }
        }
        counts
    }
}

/// What an apply did.
#[derive(Debug, Clone)]
pub struct Applied {
    /// The outcome of every step.
    pub report: ApplyReport,
    /// Changes applied successfully, by action.
    pub summary: Summary,
    /// Changes applied, failed and not attempted.
    pub counts: ChangeCounts,
    /// The barrier after the writes (Tyk's reload) failed.
    pub barrier: Option<Failure>,
    /// Wall time from the first read of the gateway to the end of the apply (and barrier).
    pub elapsed: Duration,
}

impl Applied {
    /// Whether every change and the barrier succeeded.
    pub fn success(&self) -> bool {
        self.report.success() && self.barrier.is_none()
    }
}
