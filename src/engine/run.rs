//! [`Reconciler::run`]: one run, by mode, with its lock, ledger row, apply, barrier and
//! verification; environments of several nodes continue in [`super::nodes`].

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use super::node::NodeOutcome;
use super::prepare::{PlanRequest, Planned, prepare};
use super::record::{Recorder, Recording, start};
use super::replay::verify_on;
use super::saved::check_saved;
use super::target::{Connection, Target};
use super::write::{Written, write};
use super::{EngineError, Observer};
use crate::apply::{Applied, ApplyOptions};
use crate::graph::Schedule;
use crate::ledger::{OutcomeCounts, RunResult};
use crate::plan::file::PlanFile;
use crate::plan::{Plan, PlanOptions, Verification};
use crate::secrets::Redactor;
use crate::source::Source;

/// What a run does.
#[derive(Debug, Clone)]
pub enum Mode {
    /// Plan only: no lock, no ledger, nothing written.
    Plan,
    /// Plan, show the plan, ask when `prompt`, apply, and when `verify` prove the result
    /// with a fresh plan.
    Apply {
        /// Ask [`Observer::confirm`] before writing.
        prompt: bool,
        /// Prove the result with a fresh plan afterwards (as a replay does).
        verify: bool,
    },
    /// Apply a saved plan exactly as reviewed, or refuse when anything moved since.
    ApplySaved {
        /// The file's name, for messages.
        name: String,
        /// The saved plan.
        file: Box<PlanFile>,
        /// Prove the result with a fresh plan afterwards (as a replay does).
        verify: bool,
    },
    /// Apply without asking, then prove the result with a fresh plan.
    Replay,
}

/// Everything a run did.
pub struct RunOutcome {
    /// What was read and planned (the session is still open: [`Planned::close`] it).
    pub planned: Planned,
    /// The apply, when one ran.
    pub applied: Option<Applied>,
    /// The verification of a replay, and how long it took.
    pub verification: Option<(Verification, Duration)>,
    /// The result as the ledger records it.
    pub result: RunResult,
    /// A short reason when it did not succeed.
    pub message: Option<String>,
    /// The ledger run, when the run was recorded.
    pub run_id: Option<i64>,
    /// Every node of an environment of several, the first one first (empty for one node,
    /// which the other fields describe).
    pub nodes: Vec<NodeOutcome>,
}

impl RunOutcome {
    /// Whether the run did all it set out to do.
    pub fn success(&self) -> bool {
        self.result == RunResult::Success
    }

    /// Per-change counts, as the ledger records them.
    pub fn ledger_counts(&self) -> Option<OutcomeCounts> {
        self.applied.as_ref().map(|a| OutcomeCounts {
            applied: a.counts.applied,
            failed: a.counts.failed,
            not_attempted: a.counts.not_attempted,
        })
    }
}

/// Runs a target's configuration end to end.
pub struct Reconciler {
    /// Where the runs go.
    pub target: Target,
    /// How they apply (parallelism, fail-fast, cancellation).
    pub settings: ApplyOptions,
    /// The variables templates may read.
    pub env: BTreeMap<String, String>,
    /// How plans are narrowed (`--target`, `--exclude`) and guarded (protection,
    /// `--max-destroy`).
    pub plan: PlanOptions,
}

impl Reconciler {
    /// Plans `source` against the target (no lock, nothing written).
    pub async fn plan(
        &self,
        source: Source,
        redactor: &Redactor,
        observer: &mut dyn Observer,
    ) -> Result<Planned, EngineError> {
        let (target, options) = (self.target.clone(), &self.plan);
        let req = PlanRequest { source, target, env: &self.env, redactor, options };
        prepare(req, observer).await
    }

    /// One run in `mode`. A run that writes and has a `recording` takes the target's lock
    /// first and is recorded in the ledger, failures included.
    pub async fn run(
        &self,
        source: Source,
        mode: Mode,
        recording: Option<Recording>,
        redactor: &Redactor,
        observer: &mut dyn Observer,
    ) -> Result<RunOutcome, EngineError> {
        let recorder = match recording {
            Some(r) if !matches!(mode, Mode::Plan) => Some(start(r, &self.target, &source, redactor, observer).await?),
            _ => None,
        };
        let result = self.run_inner(source, mode, recorder.as_ref(), redactor, observer).await;
        let Some(recorder) = recorder else { return result };
        let id = recorder.id();
        match &result {
            Ok(o) => recorder.finish(o.ledger_counts(), o.result, o.message.as_deref(), observer).await,
            Err(e) => recorder.finish(None, RunResult::Failed, Some(&e.to_string()), observer).await,
        }
        result.map(|mut o| {
            o.run_id = Some(id);
            o
        })
    }

    async fn run_inner(
        &self,
        source: Source,
        mode: Mode,
        recorder: Option<&Recorder>,
        redactor: &Redactor,
        observer: &mut dyn Observer,
    ) -> Result<RunOutcome, EngineError> {
        let started = Instant::now();
        let planned = self.plan(source, redactor, observer).await?;
        if let Some(r) = recorder {
            r.plan(&planned.plan, observer).await;
        }
        let refusal = match &mode {
            Mode::Plan => return Ok(outcome(planned, None, RunResult::Success, None)),
            Mode::ApplySaved { name, file, .. } => check_saved(name, file, &planned).err(),
            _ => None,
        };
        let read_only = planned.live.info.read_only.clone().filter(|_| !planned.plan.is_empty());
        if let Some(refusal) = refusal.or(read_only.map(EngineError::Refused)) {
            planned.close().await;
            return Err(refusal);
        }
        if self.target.multi_node() {
            return self.run_nodes(planned, &mode, recorder, started, redactor, observer).await;
        }
        observer.planned(&planned);
        let replay = matches!(mode, Mode::Replay);
        let verifies =
            replay || matches!(mode, Mode::ApplySaved { verify: true, .. } | Mode::Apply { verify: true, .. });
        if planned.plan.is_empty() && !replay {
            let applied = Some(self.apply(&planned, recorder, started, observer).await.applied);
            return Ok(outcome(planned, applied, RunResult::Success, None));
        }
        if matches!(mode, Mode::Apply { prompt: true, .. }) && !planned.plan.is_empty() && !observer.confirm(&planned) {
            return Ok(outcome(planned, None, RunResult::Cancelled, Some(observer.declined())));
        }
        let Written { applied, served } = self.apply(&planned, recorder, started, observer).await;
        if !verifies {
            let (result, message) = apply_result(&applied);
            return Ok(outcome(planned, Some(applied), result, message));
        }
        observer.verifying();
        let verify_started = Instant::now();
        let verification =
            verify_on(&planned.connection, &planned.desired, &planned.selection, redactor, served.as_deref()).await;
        let (result, message) = verdict(&applied, &verification);
        let mut o = outcome(planned, Some(applied), result, message);
        o.verification = Some((verification, verify_started.elapsed()));
        Ok(o)
    }

    /// Applies `planned`'s schedule, then the session's barrier (when anything was written).
    /// The apply starts nothing new once the run is cancelled or its lock is lost.
    pub(super) async fn apply(
        &self,
        planned: &Planned,
        recorder: Option<&Recorder>,
        started: Instant,
        observer: &mut dyn Observer,
    ) -> Written {
        let mut on_event = |e: crate::apply::Event<'_>| observer.event(planned, e);
        let work = (&planned.plan, &planned.schedule);
        self.write_node(&planned.connection, work, 1, recorder, started, &mut on_event).await
    }

    /// Writes `work` to one node, stopping when the run is cancelled or its lock is lost;
    /// `nodes` share the node's store (its group barrier runs when there are several).
    pub(super) async fn write_node(
        &self,
        connection: &Connection,
        work: (&Plan, &Schedule),
        nodes: usize,
        recorder: Option<&Recorder>,
        started: Instant,
        on_event: &mut (dyn FnMut(crate::apply::Event<'_>) + Send),
    ) -> Written {
        let opts = ApplyOptions { cancel: self.settings.cancel.child_token(), ..self.settings.clone() };
        let watcher = recorder.map(|r| {
            let (mut lost, cancel) = (r.lost(), opts.cancel.clone());
            tokio::spawn(async move {
                lost.wait().await;
                cancel.cancel();
            })
        });
        let written = write(&connection.session, work, &opts, nodes, started, on_event).await;
        if let Some(w) = watcher {
            w.abort();
        }
        written
    }
}

/// The result of a verified run from its apply and its verification.
pub(super) fn verdict(applied: &Applied, verification: &Verification) -> (RunResult, Option<String>) {
    let plain_failure = applied.barrier.is_none() && !applied.report.cancelled;
    match (verification, applied.success()) {
        (_, false) if plain_failure => (RunResult::Failed, Some(format!("{} change(s) failed", applied.counts.failed))),
        (_, false) => apply_result(applied),
        (Verification::Holds, true) => (RunResult::Success, None),
        (Verification::Fails(left), true) => {
            (RunResult::VerificationFailed, Some(format!("a fresh plan still has {} change(s)", left.changes.len())))
        }
        (Verification::Error(e), true) => (RunResult::VerificationFailed, Some(format!("cannot verify: {e}"))),
    }
}

pub(super) fn apply_result(applied: &Applied) -> (RunResult, Option<String>) {
    let c = applied.counts;
    if applied.report.cancelled && !applied.report.success() {
        let m = format!("interrupted: {} change(s) applied, {} not attempted", c.applied, c.not_attempted);
        return (RunResult::Interrupted, Some(m));
    }
    if let Some(b) = &applied.barrier {
        return (RunResult::Failed, Some(format!("the gateway did not take the changes: {b}")));
    }
    if applied.report.success() {
        (RunResult::Success, None)
    } else {
        (RunResult::Failed, Some(format!("{} change(s) failed, {} not attempted", c.failed, c.not_attempted)))
    }
}

pub(super) fn outcome(
    planned: Planned,
    applied: Option<Applied>,
    result: RunResult,
    message: Option<String>,
) -> RunOutcome {
    RunOutcome { planned, applied, verification: None, result, message, run_id: None, nodes: Vec::new() }
}
