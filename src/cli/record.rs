//! The lock and the ledger row around `apply` and `replay`, and the row of a saved plan.

use std::time::{Duration, Instant};

use anyhow::anyhow;

use super::args::{LedgerArgs, LedgerLocationArgs};
use super::output::errln;
use super::settings::{Settings, command_line, ledger_location, pg_options, user_name};
use crate::apply::{ApplyReport, ChangeOutcome};
use crate::graph::Schedule;
use crate::ledger::{
    AnyLedger, Holder, Ledger, LedgerError, LedgerLocation, LockEvent, LockGuard, LockLost, LockOptions, NewRun,
    OutcomeCounts, PlanCounts, RunEnd, RunResult, ci_job_url, describe_holder, format_ms, now_ms,
};
use crate::plan::Plan;
use crate::plan::file::plan_digest;

/// How long the end of a run is retried when the ledger does not answer (PostgreSQL
/// restarting, a connection cut): then the run is reported as unrecorded.
pub const RECORD_RETRY: Duration = Duration::from_secs(30);

/// A run in progress: the lock held (none for an in-process sandbox, which nobody else can
/// reach) and its ledger row.
pub struct Recorder {
    ledger: AnyLedger,
    id: i64,
    lock: Option<LockGuard>,
    label: String,
}

/// This process as a lock holder and run owner: user, masked command line, CI job.
pub fn current_holder() -> Holder {
    let mut holder = Holder::current(&user_name(), &command_line());
    holder.ci_job = ci_job_url(&|v| std::env::var(v).ok());
    holder
}

/// Opens the ledger; an unreachable database is a clear error, before any gateway write.
pub async fn open(location: &LedgerLocation) -> anyhow::Result<AnyLedger> {
    AnyLedger::open(location, &pg_options()).await.map_err(|e| match (&e, location) {
        (LedgerError::Postgres { .. }, _) => anyhow!(
            "cannot use the ledger: {e}\n\nhint: nothing was written to the gateway. Check that PostgreSQL is \
             reachable and the URL, user and password (PGPASSWORD or PGPASSFILE) are right."
        ),
        _ => anyhow!(e),
    })
}

/// How long writes already sent may still take after this process lost its lock: each of
/// the client's 6 tries may take the request timeout, plus a minute of backoff and
/// `Retry-After` waits. A successor waits at most this long for this process to say it
/// stopped (see [`LockOptions::drain`]).
pub fn drain_for(request_timeout: Duration) -> Duration {
    request_timeout * 6 + Duration::from_secs(60)
}

/// Opens the ledger, takes the target's lock (waiting up to `--lock-timeout`) and records
/// the start of the run. Fails, before anything touches the gateway, when the lock is held
/// or the ledger cannot be reached.
pub async fn start(settings: &Settings, args: &LedgerArgs, command: &str) -> anyhow::Result<Recorder> {
    let location = ledger_location(&args.location, settings.ledger_url.as_deref(), settings.repo_home.as_deref());
    let ledger = open(&location).await?;
    let holder = current_holder();
    let target = settings.target();
    let label = settings.target_label();
    let lock = if settings.gateway.url == "sandbox" {
        None
    } else {
        let opts = LockOptions {
            timeout: Duration::from_secs(args.lock_timeout),
            drain: drain_for(settings.gateway.timeout),
            ..LockOptions::default()
        };
        let mut on_event = |e: LockEvent<'_>| match e {
            LockEvent::Waiting(h) => {
                errln(&format!("Waiting up to {}s for the lock of {label}, held by {h}...", args.lock_timeout))
            }
            LockEvent::TookOver(h, why) => {
                errln(&format!("warning: taking over the lock of {label} from {h}: {}", why.describe()))
            }
            LockEvent::Draining(_, most) => errln(&format!(
                "Waiting up to {}s for the previous holder's requests in flight to end (it did not release the lock)...",
                most.as_secs()
            )),
        };
        match ledger.acquire(&target, &holder, opts, &mut on_event).await {
            Ok(g) => Some(g),
            Err(LedgerError::Locked { holder: h, waited, .. }) => {
                let hint = if args.lock_timeout == 0 {
                    "wait for it to finish, or retry with --lock-timeout SECONDS to wait".to_owned()
                } else {
                    format!("gave up after waiting {}s", waited.as_secs())
                };
                let unlock = format!("; if it is stuck: gateform unlock {}", unlock_arg(settings));
                return Err(anyhow!("{label} is locked by {}\n\nhint: {hint}{unlock}", describe_holder(h.as_deref())));
            }
            Err(e) => return Err(e.into()),
        }
    };
    let id = ledger
        .begin_run(NewRun {
            command: command.to_owned(),
            target,
            environment: settings.environment.clone(),
            gateway: settings.gateway.url.clone(),
            source: settings.provenance.run_source(),
            holder,
        })
        .await?;
    Ok(Recorder { ledger, id, lock, label })
}

/// The argument of `gateform unlock` for this target.
fn unlock_arg(settings: &Settings) -> String {
    match &settings.environment {
        Some(e) => e.clone(),
        None => format!("--gateway {}", settings.gateway.url),
    }
}

impl Recorder {
    /// The run's id.
    pub fn id(&self) -> i64 {
        self.id
    }

    /// Fires when the lock is lost: the apply must stop starting changes.
    pub fn lost(&self) -> LockLost {
        self.lock.as_ref().map_or_else(LockLost::never, LockGuard::lost)
    }

    /// Records the plan's counts and digest (the saved-plan digest, so a saved plan and the
    /// run that applied it can be matched).
    pub async fn plan(&self, plan: &Plan) {
        let s = plan.summary();
        let counts = PlanCounts { add: s.add, change: s.change, destroy: s.destroy };
        if let Err(e) = self.ledger.record_plan(self.id, counts, plan_digest(plan)).await {
            errln(&format!("warning: cannot record the plan in the ledger: {e}"));
        }
    }

    /// Records the end of the run (retrying up to [`RECORD_RETRY`] while the ledger does
    /// not answer, keeping the true end time) and releases the lock. A run whose lock was
    /// lost and that did not succeed is recorded `interrupted`.
    pub async fn finish(self, outcomes: Option<OutcomeCounts>, result: RunResult, message: Option<&str>) {
        let Recorder { ledger, id, lock, label } = self;
        let mut end = RunEnd { outcomes, result, message: message.map(str::to_owned), finished_ms: now_ms() };
        if let Some(reason) = lock.as_ref().and_then(LockGuard::loss) {
            errln(&format!(
                "Error: lost the lock of {label} during the run: {reason}. No change was started after that; \
                 the requests in flight were finished."
            ));
            if result != RunResult::Success {
                end.result = RunResult::Interrupted;
                end.message = Some(match message {
                    Some(m) => format!("lost the lock ({reason}); {m}"),
                    None => format!("lost the lock ({reason})"),
                });
            }
        }
        record_end(&ledger, id, &end).await;
        if let Some(lock) = lock {
            lock.release().await;
        }
    }

    /// Records the end of a run that stopped with `result`: an error ends it as `failed`.
    pub async fn finish_with(self, result: &anyhow::Result<Finished>) {
        match result {
            Ok(f) => self.finish(f.outcomes, f.result, f.message.as_deref()).await,
            Err(e) => self.finish(None, RunResult::Failed, Some(&format!("{e:#}"))).await,
        }
    }
}

/// Writes `end`, retrying while the ledger is away; says so when it never comes back.
async fn record_end(ledger: &AnyLedger, id: i64, end: &RunEnd) {
    let deadline = Instant::now() + RECORD_RETRY;
    let mut warned = false;
    loop {
        match ledger.finish_run(id, end.clone()).await {
            Ok(()) => {
                if warned {
                    errln(&format!("Recorded run #{id} in the ledger."));
                }
                return;
            }
            Err(e) if Instant::now() < deadline => {
                if !warned {
                    errln(&format!(
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
                errln(&format!(
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
/// and digest. Best effort: a ledger that cannot be used is a warning, not a failed plan.
pub async fn saved_plan(settings: &Settings, args: &LedgerLocationArgs, plan: &Plan) {
    let location = ledger_location(args, settings.ledger_url.as_deref(), settings.repo_home.as_deref());
    let result = async {
        let ledger = AnyLedger::open(&location, &pg_options()).await?;
        let id = ledger
            .begin_run(NewRun {
                command: "plan".into(),
                target: settings.target(),
                environment: settings.environment.clone(),
                gateway: settings.gateway.url.clone(),
                source: settings.provenance.run_source(),
                holder: current_holder(),
            })
            .await?;
        let s = plan.summary();
        let counts = PlanCounts { add: s.add, change: s.change, destroy: s.destroy };
        ledger.record_plan(id, counts, plan_digest(plan)).await?;
        let end = RunEnd { outcomes: None, result: RunResult::Success, message: None, finished_ms: now_ms() };
        ledger.finish_run(id, end).await
    }
    .await;
    if let Err(e) = result {
        errln(&format!("warning: the saved plan was not recorded in the ledger: {e}"));
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
