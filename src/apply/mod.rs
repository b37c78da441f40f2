//! Executing a plan: a concurrent walker over the step graph.
//!
//! A step starts as soon as every step it depends on has finished, with at most
//! `parallelism` requests in flight. When a step fails, no new step is started; the steps
//! already running finish, and the outcome lists what was applied, what failed (with the
//! gateway's error) and what was not attempted. Re-running converges, because every write
//! is idempotent (upserts by id, deletes that tolerate absence).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::Value;
use tokio::task::JoinSet;

use crate::graph::{Request, Schedule};
use crate::kong::{KongClient, KongError};
use crate::plan::{Action, Plan};

/// What happened to one step.
#[derive(Debug, Clone, PartialEq)]
pub enum StepOutcome {
    /// The request succeeded.
    Applied,
    /// The request failed; the error carries the gateway's response.
    Failed(String),
    /// The step never started because an earlier one failed.
    NotAttempted,
}

/// Progress reported while applying.
#[derive(Debug, Clone)]
pub enum Event {
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
        /// The error, with the gateway's body.
        error: String,
    },
}

/// The result of applying a schedule.
#[derive(Debug, Clone)]
pub struct ApplyReport {
    /// Outcome per step, indexed like [`Schedule::steps`].
    pub steps: Vec<StepOutcome>,
    /// Wall time of the whole apply.
    pub elapsed: Duration,
}

/// Outcome of one change: applied only when all its steps were.
#[derive(Debug, Clone, PartialEq)]
pub enum ChangeOutcome {
    /// Every step of the change succeeded.
    Applied,
    /// A step of the change failed.
    Failed(String),
    /// No step of the change was sent.
    NotAttempted,
    /// Some steps succeeded, others were not attempted (e.g. a temporary name is still in place).
    Incomplete,
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
                if let Some(StepOutcome::Failed(e)) = outcomes.iter().find(|o| matches!(o, StepOutcome::Failed(_))) {
                    ChangeOutcome::Failed(e.clone())
                } else if outcomes.iter().all(|o| **o == StepOutcome::Applied) {
                    ChangeOutcome::Applied
                } else if outcomes.iter().all(|o| **o == StepOutcome::NotAttempted) {
                    ChangeOutcome::NotAttempted
                } else {
                    ChangeOutcome::Incomplete
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
}

/// Runs `schedule` against the gateway with at most `parallelism` requests in flight,
/// reporting progress to `on_event` (called from the walker's task, in completion order).
pub async fn apply(
    client: &KongClient,
    schedule: &Schedule,
    parallelism: usize,
    on_event: &mut dyn FnMut(Event),
) -> ApplyReport {
    apply_until(client, schedule, parallelism, std::future::pending(), on_event).await
}

/// [`apply`], stopping when `stop` resolves (the run's lock was lost): from then on no step
/// is started; the steps in flight finish and are reported; the others stay
/// [`StepOutcome::NotAttempted`].
pub async fn apply_until(
    client: &KongClient,
    schedule: &Schedule,
    parallelism: usize,
    stop: impl std::future::Future<Output = ()>,
    on_event: &mut dyn FnMut(Event),
) -> ApplyReport {
    let mut stop = std::pin::pin!(stop);
    let mut stopped = false;
    let started = Instant::now();
    let n = schedule.steps.len();
    let deps = schedule.dependencies();
    let mut dependents = vec![Vec::new(); n];
    let mut waiting: Vec<usize> = deps.iter().map(Vec::len).collect();
    for (step, ds) in deps.iter().enumerate() {
        for d in ds {
            dependents[*d].push(step);
        }
    }
    let mut ready: BTreeSet<usize> = (0..n).filter(|&i| waiting[i] == 0).collect();
    let mut outcomes = vec![StepOutcome::NotAttempted; n];
    let mut running: JoinSet<(usize, Duration, Result<(), String>)> = JoinSet::new();
    let mut failed = false;
    let parallelism = parallelism.max(1);

    loop {
        while !failed && running.len() < parallelism {
            stopped = stopped || tokio::select! { biased; _ = &mut stop => true, _ = std::future::ready(()) => false };
            if stopped {
                break;
            }
            let Some(step) = ready.pop_first() else { break };
            on_event(Event::Started { step });
            let client = client.clone();
            let request = schedule.steps[step].request.clone();
            running.spawn(async move {
                let t = Instant::now();
                let result = execute(&client, &request).await;
                (step, t.elapsed(), result)
            });
        }
        let joined = tokio::select! {
            biased;
            _ = &mut stop, if !stopped => {
                stopped = true;
                continue;
            }
            joined = running.join_next() => joined,
        };
        let Some(joined) = joined else { break };
        let (step, elapsed, result) = match joined {
            Ok(v) => v,
            Err(e) => {
                failed = true;
                on_event(Event::Failed { step: usize::MAX, error: format!("internal error: {e}") });
                continue;
            }
        };
        match result {
            Ok(()) => {
                outcomes[step] = StepOutcome::Applied;
                on_event(Event::Applied { step, elapsed });
                for &d in &dependents[step] {
                    waiting[d] -= 1;
                    if waiting[d] == 0 {
                        ready.insert(d);
                    }
                }
            }
            Err(error) => {
                failed = true;
                outcomes[step] = StepOutcome::Failed(error.clone());
                on_event(Event::Failed { step, error });
            }
        }
    }
    ApplyReport { steps: outcomes, elapsed: started.elapsed() }
}

/// Sends one step. A `DELETE` of something already gone succeeds (targets answer 404); a
/// `POST` that creates a target or a membership and meets 409 succeeds when the entity is
/// already there (a retried request whose first answer was lost).
async fn execute(client: &KongClient, req: &Request) -> Result<(), String> {
    let method = Method::from_bytes(req.method.as_bytes()).map_err(|e| e.to_string())?;
    match client.send(method.clone(), &req.path, req.body.as_ref()).await {
        Ok(_) => Ok(()),
        Err(KongError::Api { status: 404, .. }) if method == Method::DELETE => Ok(()),
        Err(e @ KongError::Api { status: 409, .. }) if method == Method::POST => {
            let id = req.body.as_ref().and_then(|b| b.get("id")).and_then(Value::as_str);
            let exists = match id {
                Some(id) => client.get(&format!("{}/{id}", req.path)).await.is_ok(),
                None => req.path.contains("/consumer_groups/"),
            };
            if exists { Ok(()) } else { Err(e.to_string()) }
        }
        Err(e) => Err(e.to_string()),
    }
}
