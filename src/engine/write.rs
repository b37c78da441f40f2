//! One node's writes: the walker sends the schedule's steps through the node's session,
//! then the session's barrier runs (a group barrier when several nodes share the store).
//!
//! A session that writes at its barrier ([`Session::writes_at_barrier`], a gateway that
//! loads whole configurations) only records the steps, so their outcomes follow the
//! barrier's: the completions are reported once it succeeded; when it fails, the steps of
//! the entities the gateway names fail with its messages (placed at the entity's file and
//! line), and every other step is reported not attempted, since nothing took effect.

use std::sync::Arc;
use std::time::Instant;

use serde_json::json;

use crate::apply::{Applied, ApplyOptions, ApplyReport, Event, Failure, SessionExecutor, StepOutcome, apply};
use crate::gateway::{EntityError, HttpError, Session, StepError};
use crate::graph::Schedule;
use crate::plan::{Plan, Summary};

/// What writing to one node did.
pub(super) struct Written {
    /// The apply, barrier included.
    pub applied: Applied,
    /// The configuration the node serves right after a barrier that succeeded, when the
    /// gateway gives one ([`Session::served_version`]).
    pub served: Option<String>,
}

/// Applies `schedule` of `plan` through `session`, then its barrier (the group barrier of
/// `nodes` nodes when there are several). `started` is when the run began (for
/// [`Applied::elapsed`]).
pub(super) async fn write(
    session: &Arc<dyn Session>,
    (plan, schedule): (&Plan, &Schedule),
    opts: &ApplyOptions,
    nodes: usize,
    started: Instant,
    on_event: &mut (dyn FnMut(Event<'_>) + Send),
) -> Written {
    let executor = Arc::new(SessionExecutor { session: session.clone(), dialect: session.dialect() });
    let deferred = session.writes_at_barrier();
    let mut recorded: Vec<usize> = Vec::new();
    let mut report = {
        let mut forward = |e: Event<'_>| match e {
            Event::Started { .. } if deferred => {}
            Event::Applied { step, .. } if deferred => recorded.push(step),
            other => on_event(other),
        };
        apply(executor, schedule, opts, &mut forward).await
    };
    let wrote = report.steps.contains(&StepOutcome::Applied);
    let barrier_started = Instant::now();
    let barrier = match (wrote, nodes > 1) {
        (false, _) => None,
        (true, true) => session.group_barrier(nodes).await.err(),
        (true, false) => session.barrier().await.err(),
    };
    let elapsed = barrier_started.elapsed();
    let served = match (&barrier, wrote) {
        (None, true) => session.served_version().await.ok().flatten(),
        _ => None,
    };
    if deferred {
        match &barrier {
            None => recorded.into_iter().for_each(|step| on_event(Event::Applied { step, elapsed })),
            Some(e) => refused(&mut report, (plan, schedule), &session.barrier_errors(e), e, on_event),
        }
    }
    let (add, change, destroy) = report.counts(plan, schedule);
    let counts = report.outcome_counts(plan, schedule);
    let barrier = barrier.map(Failure::Gateway);
    let applied =
        Applied { summary: Summary { add, change, destroy }, counts, barrier, elapsed: started.elapsed(), report };
    Written { applied, served }
}

/// After a barrier that carried out every recorded step failed: the steps of the entities
/// it names fail with the gateway's messages, the others took no effect.
fn refused(
    report: &mut ApplyReport,
    (plan, schedule): (&Plan, &Schedule),
    named: &[EntityError],
    error: &StepError,
    on_event: &mut (dyn FnMut(Event<'_>) + Send),
) {
    for (i, step) in schedule.steps.iter().enumerate() {
        if report.steps[i] != StepOutcome::Applied {
            continue;
        }
        let Some(c) = plan.changes.get(step.change) else { continue };
        let entity = named.iter().find(|e| e.kind == Some(c.kind) && e.id.as_deref() == Some(c.id.as_str()));
        report.steps[i] = match entity {
            Some(e) => {
                let origin = c.origin.as_ref().map(|o| format!("{o}: ")).unwrap_or_default();
                let failure = Failure::Gateway(with_message(error, format!("{origin}{}", e.messages.join("; "))));
                on_event(Event::Failed { step: i, failure: &failure });
                StepOutcome::Failed(failure)
            }
            None => StepOutcome::NotAttempted,
        };
    }
}

/// The gateway's refusal of the whole configuration, narrowed to one entity's message.
fn with_message(error: &StepError, message: String) -> StepError {
    match error {
        HttpError::Api { method, path, status, .. } => HttpError::Api {
            method: method.clone(),
            path: path.clone(),
            status: *status,
            body: json!({ "message": message }),
        },
        other => other.clone(),
    }
}
