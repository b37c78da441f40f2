//! Executing a plan: a concurrent walker over the step graph, with Terraform-style failure
//! containment.
//!
//! A step starts as soon as every step it depends on has been applied, with at most
//! `parallelism` requests in flight. When a step fails, the steps that depend on it (directly
//! or through others) are never attempted: they end [`StepOutcome::UpstreamFailed`], naming
//! the failed step. Independent branches go on, unless [`ApplyOptions::fail_fast`] asks to
//! start nothing new after the first failure. A cancellation (Ctrl-C, a lost lock) starts
//! nothing new either; requests already sent are waited for. Re-running converges, because
//! every write is idempotent (upserts by id, deletes that tolerate absence).

mod outcome;
#[cfg(test)]
mod tests;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

pub use outcome::{Applied, ApplyReport, ChangeCounts, ChangeOutcome, Failure, StepOutcome};

use serde_json::Value;

use crate::gateway::{Dialect, Request, Session, StepError};
use crate::graph::Schedule;

/// Sends one step's request; a [`Session`] is one, tests use fakes.
#[async_trait::async_trait]
pub trait Executor: Send + Sync {
    /// Sends `request` and says whether the gateway took it.
    async fn execute(&self, request: &Request) -> Result<(), StepError>;
}

/// A session as an [`Executor`], redacting through its dialect: a request body is logged
/// (at trace level) with every secret field masked whatever its length, and a refusal's body
/// loses what could reveal a secret of the entity sent ([`Dialect::redact_failure`]).
pub struct SessionExecutor {
    /// The session.
    pub session: Arc<dyn Session>,
    /// Its dialect.
    pub dialect: Arc<dyn Dialect>,
}

#[async_trait::async_trait]
impl Executor for SessionExecutor {
    async fn execute(&self, request: &Request) -> Result<(), StepError> {
        if let (Some(kind), Some(Value::Object(body))) = (request.kind, &request.body)
            && tracing::enabled!(tracing::Level::TRACE)
        {
            let masked = crate::plan::mask_map(body, "", &*self.dialect.sensitivity(kind, body));
            tracing::trace!("{} {} body: {}", request.method, request.path, serde_json::Value::Object(masked));
        }
        match self.session.execute(request).await {
            Err(StepError::Api { method, path, status, mut body }) => {
                if let (Some(kind), Some(sent)) = (request.kind, &request.body) {
                    self.dialect.redact_failure(kind, sent, &mut body);
                }
                Err(StepError::Api { method, path, status, body })
            }
            other => other,
        }
    }
}

/// How to walk.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Requests in flight at most (at least 1).
    pub parallelism: usize,
    /// Start nothing new after the first failure (independent branches included).
    pub fail_fast: bool,
    /// When cancelled, nothing new starts; running requests finish.
    pub cancel: CancellationToken,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions { parallelism: 10, fail_fast: false, cancel: CancellationToken::new() }
    }
}

/// Progress reported while applying, in completion order.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    /// A step was sent.
    Started {
        /// Step index in the schedule.
        step: usize,
    },
    /// A step succeeded after `elapsed`.
    Applied {
        /// Step index.
        step: usize,
        /// Time the request took (retries included).
        elapsed: Duration,
    },
    /// A step failed.
    Failed {
        /// Step index.
        step: usize,
        /// Why.
        failure: &'a Failure,
    },
    /// A step will not be attempted because a step it depends on failed.
    Skipped {
        /// Step index.
        step: usize,
        /// The failed step.
        cause: usize,
    },
}

struct Walk {
    dependents: Vec<Vec<usize>>,
    waiting: Vec<usize>,
    ready: BTreeSet<usize>,
    outcomes: Vec<StepOutcome>,
}

impl Walk {
    fn new(schedule: &Schedule) -> Walk {
        let n = schedule.steps.len();
        let deps = schedule.dependencies();
        let mut dependents = vec![Vec::new(); n];
        for (step, ds) in deps.iter().enumerate() {
            for d in ds {
                dependents[*d].push(step);
            }
        }
        let waiting: Vec<usize> = deps.iter().map(Vec::len).collect();
        let ready = (0..n).filter(|&i| waiting[i] == 0).collect();
        Walk { dependents, waiting, ready, outcomes: vec![StepOutcome::NotAttempted; n] }
    }

    fn applied(&mut self, step: usize) {
        self.outcomes[step] = StepOutcome::Applied;
        for &d in &self.dependents[step] {
            self.waiting[d] -= 1;
            if self.waiting[d] == 0 && self.outcomes[d] == StepOutcome::NotAttempted {
                self.ready.insert(d);
            }
        }
    }

    /// Marks every step that depends on `failed`, transitively, as upstream-failed; returns
    /// them in the order they were reached.
    fn contain(&mut self, failed: usize) -> Vec<usize> {
        let mut skipped = Vec::new();
        let mut stack: Vec<usize> = self.dependents[failed].clone();
        while let Some(s) = stack.pop() {
            if self.outcomes[s] != StepOutcome::NotAttempted {
                continue;
            }
            self.outcomes[s] = StepOutcome::UpstreamFailed { cause: failed };
            self.ready.remove(&s);
            skipped.push(s);
            stack.extend(self.dependents[s].iter().copied());
        }
        skipped
    }
}

type Finished = (usize, Duration, Result<(), StepError>);

/// Runs `schedule` through `executor` as the module docs say, reporting progress to
/// `on_event` (called from the walker's task).
pub async fn apply(
    executor: Arc<dyn Executor>,
    schedule: &Schedule,
    opts: &ApplyOptions,
    on_event: &mut (dyn FnMut(Event<'_>) + Send),
) -> ApplyReport {
    let started = Instant::now();
    let mut walk = Walk::new(schedule);
    let mut running: JoinSet<Finished> = JoinSet::new();
    let mut tasks: HashMap<tokio::task::Id, usize> = HashMap::new();
    let mut stop = false;
    let parallelism = opts.parallelism.max(1);
    loop {
        stop |= opts.cancel.is_cancelled();
        while !stop && running.len() < parallelism {
            let Some(step) = walk.ready.pop_first() else { break };
            on_event(Event::Started { step });
            let (executor, request) = (executor.clone(), schedule.steps[step].request.clone());
            let handle = running.spawn(async move {
                let t = Instant::now();
                let result = executor.execute(&request).await;
                (step, t.elapsed(), result)
            });
            tasks.insert(handle.id(), step);
        }
        let joined = tokio::select! {
            joined = running.join_next_with_id() => joined,
            _ = opts.cancel.cancelled(), if !stop => { stop = true; continue; }
        };
        let Some(joined) = joined else { break };
        let (step, result) = match joined {
            Ok((_, (step, elapsed, Ok(())))) => {
                walk.applied(step);
                on_event(Event::Applied { step, elapsed });
                continue;
            }
            Ok((_, (step, _, Err(error)))) => (step, Failure::Gateway(error)),
            Err(e) => match tasks.get(&e.id()) {
                Some(&step) => (step, Failure::Internal(format!("the request task ended abnormally: {e}"))),
                None => continue,
            },
        };
        walk.outcomes[step] = StepOutcome::Failed(result);
        if let StepOutcome::Failed(failure) = &walk.outcomes[step] {
            on_event(Event::Failed { step, failure });
        }
        for skipped in walk.contain(step) {
            on_event(Event::Skipped { step: skipped, cause: step });
        }
        stop |= opts.fail_fast;
    }
    ApplyReport { steps: walk.outcomes, elapsed: started.elapsed(), cancelled: opts.cancel.is_cancelled() }
}
