//! The lock and the ledger row around `apply` and `replay`.

use std::time::Duration;

use anyhow::anyhow;

use super::args::LedgerArgs;
use super::output::errln;
use super::settings::{Settings, command_line, ledger_path, user_name};
use crate::apply::{ApplyReport, ChangeOutcome};
use crate::graph::Schedule;
use crate::ledger::{
    Holder, Ledger, LedgerError, LockEvent, LockGuard, LockOptions, NewRun, OutcomeCounts, PlanCounts, RunResult,
    Staleness,
};
use crate::plan::Plan;
use crate::plan::file::plan_digest;

/// A run in progress: the lock held (none for an in-process sandbox, which nobody else can
/// reach) and its ledger row.
pub struct Recorder {
    ledger: Ledger,
    id: i64,
    lock: Option<LockGuard>,
}

/// Opens the ledger, takes the target's lock (waiting up to `--lock-timeout`) and records
/// the start of the run. Fails, before anything touches the gateway, when the lock is held.
pub fn start(settings: &Settings, args: &LedgerArgs, command: &str) -> anyhow::Result<Recorder> {
    let path = ledger_path(args, settings.repo_home.as_deref());
    let mut ledger = Ledger::open(&path)?;
    let holder = Holder::current(&user_name(), &command_line());
    let target = settings.target();
    let label = settings.target_label();
    let lock = if settings.gateway.url == "sandbox" {
        None
    } else {
        let opts = LockOptions { timeout: Duration::from_secs(args.lock_timeout), ..LockOptions::default() };
        let mut on_event = |e: LockEvent<'_>| match e {
            LockEvent::Waiting(h) => {
                errln(&format!("Waiting up to {}s for the lock of {label}, held by {h}...", args.lock_timeout))
            }
            LockEvent::TookOver(h, why) => errln(&format!(
                "warning: taking over the lock of {label} from {h}: {}",
                match why {
                    Staleness::ProcessGone => "that process no longer exists",
                    Staleness::LeaseExpired => "its lease expired",
                }
            )),
        };
        match ledger.acquire(&target, &holder, &opts, &mut on_event) {
            Ok(g) => Some(g),
            Err(LedgerError::Locked { holder: h, waited, .. }) => {
                let hint = if args.lock_timeout == 0 {
                    "wait for it to finish, or retry with --lock-timeout SECONDS to wait".to_owned()
                } else {
                    format!("gave up after waiting {}s", waited.as_secs())
                };
                return Err(anyhow!("{label} is locked by {h}\n\nhint: {hint}"));
            }
            Err(e) => return Err(e.into()),
        }
    };
    let source = settings.provenance.run_source();
    let id = ledger.begin_run(&NewRun {
        command,
        target: &target,
        environment: settings.environment.as_deref(),
        gateway: &settings.gateway.url,
        source: &source,
        holder: &holder,
    })?;
    Ok(Recorder { ledger, id, lock })
}

impl Recorder {
    /// The run's id.
    pub fn id(&self) -> i64 {
        self.id
    }

    /// Records the plan's counts and digest (the saved-plan digest, so a saved plan and the
    /// run that applied it can be matched).
    pub fn plan(&self, plan: &Plan) {
        let s = plan.summary();
        let counts = PlanCounts { add: s.add, change: s.change, destroy: s.destroy };
        if let Err(e) = self.ledger.record_plan(self.id, counts, &plan_digest(plan)) {
            errln(&format!("warning: cannot record the plan in the ledger: {e}"));
        }
    }

    /// Records the end of the run and releases the lock.
    pub fn finish(self, outcomes: Option<OutcomeCounts>, result: RunResult, message: Option<&str>) {
        if let Err(e) = self.ledger.finish_run(self.id, outcomes, result, message) {
            errln(&format!("warning: cannot record the end of run {} in the ledger: {e}", self.id));
        }
        if let Some(lock) = self.lock {
            if lock.lost() {
                errln(&format!(
                    "warning: the lock of {} was taken over by another process during this run",
                    lock.key()
                ));
            }
            lock.release();
        }
    }

    /// Records the end of a run that stopped with `result`: an error ends it as `failed`.
    pub fn finish_with(self, result: &anyhow::Result<Finished>) {
        match result {
            Ok(f) => self.finish(f.outcomes, f.result, f.message.as_deref()),
            Err(e) => self.finish(None, RunResult::Failed, Some(&format!("{e:#}"))),
        }
    }
}

/// How a recorded run ended.
#[derive(Debug, Clone)]
pub struct Finished {
    /// The exit code to return.
    pub code: std::process::ExitCode,
    /// The ledger's result.
    pub result: RunResult,
    /// Per-change outcomes, when anything was applied.
    pub outcomes: Option<OutcomeCounts>,
    /// A short error, when it failed.
    pub message: Option<String>,
}

/// Per-change outcome counts of an apply (partly applied changes count as not attempted).
pub fn outcome_counts(plan: &Plan, schedule: &Schedule, report: &ApplyReport) -> OutcomeCounts {
    let mut counts = OutcomeCounts::default();
    for o in report.changes(plan, schedule) {
        match o {
            ChangeOutcome::Applied => counts.applied += 1,
            ChangeOutcome::Failed(_) => counts.failed += 1,
            ChangeOutcome::NotAttempted | ChangeOutcome::Incomplete => counts.not_attempted += 1,
        }
    }
    counts
}
