//! The lock and the ledger row around a run that writes: the lock is taken before anything
//! touches the gateway, the run is recorded when it starts (result `running`), its plan once
//! computed, and its outcome at the end; then the lock is released.

use std::time::Duration;

use super::target::Target;
use super::{EngineError, Observer};
use crate::ledger::{
    Holder, Ledger, LedgerError, LockEvent, LockGuard, LockOptions, NewRun, OutcomeCounts, PlanCounts, RunResult,
    RunSource, Staleness,
};
use crate::plan::Plan;
use crate::plan::file::plan_digest;
use crate::secrets::Redactor;
use crate::source::{Provenance, Source};

/// How a run that writes is recorded.
pub struct Recording {
    /// The ledger (history and locks).
    pub ledger: Ledger,
    /// Who runs it.
    pub holder: Holder,
    /// The command recorded (`apply`, `replay`, `watch`).
    pub command: String,
    /// How long to wait for another run of the same target; zero fails at once.
    pub lock_timeout: Duration,
}

/// The ledger's view of a source.
pub fn run_source(source: &Source) -> RunSource {
    match &source.provenance {
        Provenance::Git(i) => RunSource {
            repository: Some(i.repository.clone()),
            reference: Some(i.reference.clone()),
            commit: Some(i.commit.clone()),
            subject: Some(i.subject.clone()),
            path: Some(i.path.clone()),
            files: Vec::new(),
        },
        Provenance::Files(files) => RunSource { files: files.clone(), ..RunSource::default() },
    }
}

/// A run in progress: the lock held (none for an in-process sandbox, which nobody else can
/// reach) and its ledger row.
pub struct Recorder {
    ledger: Ledger,
    id: i64,
    lock: Option<LockGuard>,
    redactor: Redactor,
}

/// Takes the target's lock (waiting up to the recording's timeout) and records the start of
/// the run. Fails, before anything touches the gateway, when the lock is held.
pub fn start(
    rec: Recording,
    target: &Target,
    source: &Source,
    redactor: &Redactor,
    observer: &mut dyn Observer,
) -> Result<Recorder, EngineError> {
    let Recording { mut ledger, holder, command, lock_timeout } = rec;
    let key = target.key();
    let label = target.label();
    let lock = if target.is_sandbox() {
        None
    } else {
        let opts = LockOptions { timeout: lock_timeout, ..LockOptions::default() };
        let mut on_event = |e: LockEvent<'_>| match e {
            LockEvent::Waiting(h) => observer
                .warning(&format!("Waiting up to {}s for the lock of {label}, held by {h}...", lock_timeout.as_secs())),
            LockEvent::TookOver(h, why) => observer.warning(&format!(
                "warning: taking over the lock of {label} from {h}: {}",
                match why {
                    Staleness::ProcessGone => "that process no longer exists",
                    Staleness::LeaseExpired => "its lease expired",
                }
            )),
        };
        match ledger.acquire(&key, &holder, &opts, &mut on_event) {
            Ok(g) => Some(g),
            Err(LedgerError::Locked { holder: h, waited, .. }) => {
                return Err(EngineError::Locked { label, holder: h.to_string(), waited, timeout: lock_timeout });
            }
            Err(e) => return Err(EngineError::Ledger(e)),
        }
    };
    let id = ledger
        .begin_run(&NewRun {
            command: &command,
            target: &key,
            environment: target.environment.as_deref(),
            gateway: &target.gateway.url,
            source: &run_source(source),
            holder: &holder,
        })
        .map_err(EngineError::Ledger)?;
    Ok(Recorder { ledger, id, lock, redactor: redactor.clone() })
}

impl Recorder {
    /// The run's id.
    pub fn id(&self) -> i64 {
        self.id
    }

    /// Records the plan's counts and digest (the saved-plan digest, so a saved plan and the
    /// run that applied it can be matched).
    pub fn plan(&self, plan: &Plan, observer: &mut dyn Observer) {
        let s = plan.summary();
        let counts = PlanCounts { add: s.add, change: s.change, destroy: s.destroy };
        if let Err(e) = self.ledger.record_plan(self.id, counts, &plan_digest(plan)) {
            observer.warning(&format!("warning: cannot record the plan in the ledger: {e}"));
        }
    }

    /// Whether the lock was lost (taken over by another process) during the run.
    pub fn lock_lost(&self) -> bool {
        self.lock.as_ref().is_some_and(LockGuard::lost)
    }

    /// Records the end of the run (its message through the run's redactor) and releases
    /// the lock.
    pub fn finish(
        self,
        outcomes: Option<OutcomeCounts>,
        result: RunResult,
        message: Option<&str>,
        observer: &mut dyn Observer,
    ) {
        let message = message.map(|m| self.redactor.scrub(m));
        if let Err(e) = self.ledger.finish_run(self.id, outcomes, result, message.as_deref()) {
            observer.warning(&format!("warning: cannot record the end of run {} in the ledger: {e}", self.id));
        }
        if let Some(lock) = self.lock {
            if lock.lost() {
                observer.warning(&format!(
                    "warning: the lock of {} was taken over by another process during this run",
                    lock.key()
                ));
            }
            lock.release();
        }
    }
}
