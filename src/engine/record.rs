//! The lock and the ledger row around a run that writes: the lock is taken before anything
//! touches the gateway, the run is recorded when it starts (result `running`), its plan once
//! computed, and its outcome at the end (retried while the ledger is away); then the lock is
//! released. A lost lock fires [`Recorder::lost`], which stops the apply from starting
//! anything new.

use std::time::Duration;

use tokio::time::Instant;

use super::target::Target;
use super::{EngineError, Observer};
use crate::ledger::{
    AnyLedger, Holder, Ledger, LedgerError, LockEvent, LockGuard, LockLost, LockOptions, NewRun, OutcomeCounts,
    PlanCounts, RunEnd, RunResult, RunSource, describe_holder, format_ms, now_ms,
};
use crate::plan::Plan;
use crate::plan::file::plan_digest;
use crate::secrets::Redactor;
use crate::source::{Provenance, Source};

/// How long the end of a run is retried when the ledger does not answer (PostgreSQL
/// restarting, a connection cut): then the run is reported as unrecorded.
pub const RECORD_RETRY: Duration = Duration::from_secs(30);

/// How a run that writes is recorded.
pub struct Recording {
    /// The ledger (history and locks).
    pub ledger: AnyLedger,
    /// Who runs it.
    pub holder: Holder,
    /// The command recorded (`apply`, `replay`, `watch`).
    pub command: String,
    /// How long to wait for another run of the same target; zero fails at once.
    pub lock_timeout: Duration,
    /// The longest a write already sent may take after the lock is lost (see
    /// [`LockOptions::drain`], [`drain_for`]).
    pub drain: Duration,
}

/// How long writes already sent may still take after a run lost its lock: each of the
/// client's 6 tries may take the request timeout, plus a minute of backoff and
/// `Retry-After` waits. A successor waits at most this long for the run to say it stopped.
pub fn drain_for(request_timeout: Duration) -> Duration {
    request_timeout * 6 + Duration::from_secs(60)
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

/// The run of `command` against `target` as the ledger records it when it starts.
pub fn new_run(command: &str, target: &Target, source: &Source, holder: Holder) -> NewRun {
    NewRun {
        command: command.to_owned(),
        target: target.key(),
        environment: target.environment.clone(),
        gateway: target.gateway.url.clone(),
        source: run_source(source),
        holder,
    }
}

/// A run in progress: the lock held (none for an in-process sandbox, which nobody else can
/// reach) and its ledger row.
pub struct Recorder {
    ledger: AnyLedger,
    id: i64,
    lock: Option<LockGuard>,
    label: String,
    redactor: Redactor,
}

/// Takes the target's lock (waiting up to the recording's timeout) and records the start of
/// the run. Fails, before anything touches the gateway, when the lock is held or the ledger
/// does not answer.
pub async fn start(
    rec: Recording,
    target: &Target,
    source: &Source,
    redactor: &Redactor,
    observer: &mut dyn Observer,
) -> Result<Recorder, EngineError> {
    let Recording { ledger, holder, command, lock_timeout, drain } = rec;
    let label = target.label();
    let lock = if target.is_sandbox() {
        None
    } else {
        let opts = LockOptions { timeout: lock_timeout, drain, ..LockOptions::default() };
        let mut on_event = |e: LockEvent<'_>| {
            match e {
            LockEvent::Waiting(h) => observer.warning(&format!(
                "Waiting up to {}s for the lock of {label}, held by {h}...",
                lock_timeout.as_secs()
            )),
            LockEvent::TookOver(h, why) => {
                observer.warning(&format!("warning: taking over the lock of {label} from {h}: {}", why.describe()))
            }
            LockEvent::Draining(_, most) => observer.warning(&format!(
                "Waiting up to {}s for the previous holder's requests in flight to end (it did not release the lock)...",
                most.as_secs()
            )),
        }
        };
        match ledger.acquire(&target.key(), &holder, opts, &mut on_event).await {
            Ok(g) => Some(g),
            Err(LedgerError::Locked { holder: h, waited, .. }) => {
                return Err(EngineError::Locked {
                    label,
                    holder: describe_holder(h.as_deref()),
                    waited,
                    timeout: lock_timeout,
                    unlock: unlock_arg(target),
                });
            }
            Err(e) => return Err(EngineError::Ledger(e)),
        }
    };
    let id = ledger.begin_run(new_run(&command, target, source, holder)).await.map_err(EngineError::Ledger)?;
    Ok(Recorder { ledger, id, lock, label, redactor: redactor.clone() })
}

/// The argument of `gateform unlock` for `target`.
fn unlock_arg(target: &Target) -> String {
    match &target.environment {
        Some(e) => e.clone(),
        None => format!("--gateway {}", target.gateway.url),
    }
}

impl Recorder {
    /// The run's id.
    pub fn id(&self) -> i64 {
        self.id
    }

    /// Fires when the lock is lost: the apply must start nothing new.
    pub fn lost(&self) -> LockLost {
        self.lock.as_ref().map_or_else(LockLost::never, LockGuard::lost)
    }

    /// Records the plan's counts and digest (the saved-plan digest, so a saved plan and the
    /// run that applied it can be matched).
    pub async fn plan(&self, plan: &Plan, observer: &mut dyn Observer) {
        let s = plan.summary();
        let counts = PlanCounts { add: s.add, change: s.change, destroy: s.destroy };
        if let Err(e) = self.ledger.record_plan(self.id, counts, plan_digest(plan)).await {
            observer.warning(&format!("warning: cannot record the plan in the ledger: {e}"));
        }
    }

    /// Records the end of the run (its message through the run's redactor; retried up to
    /// [`RECORD_RETRY`] while the ledger does not answer, keeping the true end time) and
    /// releases the lock. A run whose lock was lost and that did not succeed is recorded
    /// `interrupted`.
    pub async fn finish(
        self,
        outcomes: Option<OutcomeCounts>,
        result: RunResult,
        message: Option<&str>,
        observer: &mut dyn Observer,
    ) {
        let Recorder { ledger, id, lock, label, redactor } = self;
        let message = message.map(|m| redactor.scrub(m));
        let mut end = RunEnd { outcomes, result, message: message.clone(), finished_ms: now_ms() };
        if let Some(reason) = lock.as_ref().and_then(LockGuard::loss) {
            observer.warning(&format!(
                "Error: lost the lock of {label} during the run: {reason}. No change was started after that; \
                 the requests in flight were finished."
            ));
            if result != RunResult::Success {
                end.result = RunResult::Interrupted;
                end.message = Some(match &message {
                    Some(m) => format!("lost the lock ({reason}); {m}"),
                    None => format!("lost the lock ({reason})"),
                });
            }
        }
        record_end(&ledger, id, &end, observer).await;
        if let Some(lock) = lock {
            lock.release().await;
        }
    }
}

/// Writes `end`, retrying while the ledger is away; says so when it never comes back.
async fn record_end(ledger: &AnyLedger, id: i64, end: &RunEnd, observer: &mut dyn Observer) {
    let deadline = Instant::now() + RECORD_RETRY;
    let mut warned = false;
    loop {
        match ledger.finish_run(id, end.clone()).await {
            Ok(()) => {
                if warned {
                    observer.warning(&format!("Recorded run #{id} in the ledger."));
                }
                return;
            }
            Err(e) if Instant::now() < deadline => {
                if !warned {
                    observer.warning(&format!(
                        "warning: cannot record the end of run #{id} in the ledger ({e}); retrying for up to {}s...",
                        RECORD_RETRY.as_secs()
                    ));
                    warned = true;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => {
                let counts = end
                    .outcomes
                    .map(|o| format!(", {} applied, {} failed, {} not attempted", o.applied, o.failed, o.not_attempted))
                    .unwrap_or_default();
                observer.warning(&format!(
                    "Error: run #{id} is unrecorded: the ledger {} did not answer ({e}). It ended {} at {}{counts}; \
                     `gateform history` shows it as running until a later run of the same target marks it.",
                    ledger.location(),
                    end.result.as_str(),
                    format_ms(end.finished_ms)
                ));
                return;
            }
        }
    }
}

/// Records a saved plan (`plan --out`) as a finished run of command `plan`, with its counts
/// and digest.
pub async fn saved_plan(
    ledger: &AnyLedger,
    target: &Target,
    source: &Source,
    holder: Holder,
    plan: &Plan,
) -> Result<(), LedgerError> {
    let id = ledger.begin_run(new_run("plan", target, source, holder)).await?;
    let s = plan.summary();
    let counts = PlanCounts { add: s.add, change: s.change, destroy: s.destroy };
    ledger.record_plan(id, counts, plan_digest(plan)).await?;
    let end = RunEnd { outcomes: None, result: RunResult::Success, message: None, finished_ms: now_ms() };
    ledger.finish_run(id, end).await
}
