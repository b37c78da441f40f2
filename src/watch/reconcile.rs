//! The reconcile loop of one environment. Each iteration fetches the branch and decides:
//! a new commit is planned, checked by the guards and applied; on the drift interval the
//! applied commit is planned again and its drift healed or reported; failures back off
//! exponentially, and a new commit cuts the backoff short. Each iteration returns the next
//! wake-up ([`Action`]); webhooks and `resume` wake the loop early.

use std::sync::Arc;

use serde_json::json;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::guard::check as guard;
use super::metrics::{self, Metrics};
use super::notify::{Counts, Event, Notifier};
use super::schedule::{Action, Jitter, backoff};
use super::status::{AppliedRecord, AttemptRecord, EnvHandle, ErrorRecord, SyncStatus, now};
use super::target::{Applied, Commit, Deployed, ErrorKind, Planned, Target, TargetError};
use crate::source::environments::{DriftMode, EventKind, WatchPolicy};

/// A failure being backed off.
#[derive(Debug, Clone)]
struct Failure {
    /// The commit whose plan or apply failed (`None`: fetching failed).
    commit: Option<String>,
    /// Not retried before this (unless the head moves).
    retry_at: Instant,
}

/// Why an apply runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    /// A commit not applied yet.
    Deploy,
    /// Healing drift of the applied commit.
    Heal,
}

/// One environment's loop and its memory.
pub struct EnvLoop {
    target: Arc<dyn Target>,
    policy: WatchPolicy,
    handle: Arc<EnvHandle>,
    metrics: Metrics,
    notifier: Option<Notifier>,
    jitter: Jitter,
    /// Stops new work (shutdown): checked before every apply.
    stop: CancellationToken,
    /// Cancels a running apply (shutdown timeout).
    cancel: CancellationToken,
    last_applied: Option<Commit>,
    failure: Option<Failure>,
    failures: u32,
    /// Failure streaks so far, to name failure events uniquely.
    streaks: u64,
    /// A commit the guards refused: not planned again before the next drift check.
    refused: Option<String>,
    next_poll: Instant,
    next_drift: Instant,
    boot: u128,
}

/// What an environment's loop shares with the daemon.
#[derive(Clone)]
pub struct LoopContext {
    /// The metrics.
    pub metrics: Metrics,
    /// Notifications, if any are configured.
    pub notifier: Option<Notifier>,
    /// Stops new work.
    pub stop: CancellationToken,
    /// Cancels running applies.
    pub cancel: CancellationToken,
}

impl EnvLoop {
    /// A loop for `target` following `policy`, reporting through `handle`.
    pub fn new(
        target: Arc<dyn Target>,
        policy: WatchPolicy,
        handle: Arc<EnvHandle>,
        ctx: LoopContext,
        jitter: Jitter,
    ) -> Self {
        let now = Instant::now();
        let boot = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
        EnvLoop {
            target,
            policy,
            handle,
            metrics: ctx.metrics,
            notifier: ctx.notifier,
            jitter,
            stop: ctx.stop,
            cancel: ctx.cancel,
            last_applied: None,
            failure: None,
            failures: 0,
            streaks: 0,
            refused: None,
            next_poll: now,
            next_drift: now,
            boot,
        }
    }

    fn name(&self) -> &str {
        self.target.name()
    }

    /// Runs iterations until `stop` fires; an iteration in progress (a running apply
    /// included) finishes first.
    pub async fn run(mut self) {
        loop {
            if self.stop.is_cancelled() {
                break;
            }
            self.handle.update(|s| s.next_run = None);
            let started = Instant::now();
            let action = self.reconcile().await;
            let took = started.elapsed();
            self.metrics.reconcile_duration.get_or_create(&metrics::env(self.name())).observe(took.as_secs_f64());
            let next = action.after().map(|d| Instant::now() + d);
            self.handle.update(|s| {
                s.first_poll_done = true;
                s.next_run = next;
            });
            let sleep = async {
                match next {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = self.stop.cancelled() => break,
                _ = self.handle.wake.notified() => {}
                _ = sleep => {}
            }
        }
        tracing::info!(environment = self.name(), "stopped");
    }

    /// One iteration; returns when to run the next.
    pub async fn reconcile(&mut self) -> Action {
        let suspended = self.handle.suspended();
        self.metrics.suspended.get_or_create(&metrics::env(self.name())).set(i64::from(suspended));
        if suspended {
            self.handle.update(|s| s.sync_status = SyncStatus::Suspended);
            return Action::await_change();
        }
        if let Some(leader) = self.target.standby().await {
            tracing::debug!(environment = self.name(), "standing by: {leader} leads");
            self.handle.update(|s| s.sync_status = SyncStatus::Standby);
            return Action::requeue(super::leader::POLL);
        }
        self.next_poll = Instant::now() + self.jitter.apply(self.policy.poll_interval, self.policy.jitter);
        let head = match self.fetch().await {
            Ok(head) => head,
            Err(e) => return self.fail(None, e, None),
        };
        let now = Instant::now();
        if let Some(f) = &self.failure {
            match &f.commit {
                // Backing off this very commit: only a new head cuts the wait short.
                Some(c) if *c == head.id && now < f.retry_at => return self.wake(now),
                Some(_) => {}
                None => self.clear_failure(),
            }
        }
        let applied = self.last_applied.as_ref().map(|c| c.id.as_str());
        if applied != Some(head.id.as_str()) {
            if self.refused.as_deref() == Some(head.id.as_str()) && now < self.next_drift {
                return self.wake(now);
            }
            return self.deploy(head).await;
        }
        if now >= self.next_drift {
            return self.check_drift(head).await;
        }
        if self.failure.is_none() {
            self.handle.update(|s| s.sync_status = SyncStatus::Synced);
        }
        self.wake(now)
    }

    /// The next wake-up: the next poll, drift check or retry, whichever comes first.
    fn wake(&self, now: Instant) -> Action {
        let mut at = self.next_poll;
        if self.last_applied.is_some() || self.refused.is_some() {
            at = at.min(self.next_drift);
        }
        if let Some(f) = &self.failure {
            at = at.min(f.retry_at);
        }
        Action::requeue(at.saturating_duration_since(now))
    }

    async fn fetch(&mut self) -> Result<Commit, TargetError> {
        let started = Instant::now();
        let result = self.target.head().await;
        let labels = metrics::env(self.name());
        self.metrics.git_fetch_duration.get_or_create(&labels).observe(started.elapsed().as_secs_f64());
        if result.is_err() {
            self.metrics.git_fetch_failures.get_or_create(&labels).inc();
        }
        result
    }

    /// Plans, guards and applies a commit not applied yet.
    async fn deploy(&mut self, head: Commit) -> Action {
        if let Some(previous) = self.last_applied.clone() {
            match self.target.descends(&head.id, &previous.id).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!(
                        environment = self.name(),
                        "rewind: commit {} does not descend from the applied commit {} (a force-push or reset); following it",
                        head.short(),
                        previous.short()
                    );
                    self.handle.update(|s| s.rewinds += 1);
                }
                Err(e) => return self.fail(Some(&head), e, None),
            }
        }
        tracing::info!(environment = self.name(), "new commit {} ({}): planning", head.short(), head.subject);
        let check = |planned: &Planned| guard(&self.policy, planned);
        let deployed = match self.target.deploy(&head, &check, &self.stop, self.cancel.clone()).await {
            Ok(d) => d,
            Err(e) => return self.fail(Some(&head), e, None),
        };
        self.next_drift = Instant::now() + self.policy.drift_interval;
        match deployed {
            Deployed::Refused { planned, reason } => self.refuse(&head, &planned, &reason),
            Deployed::Stopped => Action::await_change(),
            Deployed::Applied { planned, result } => self.finish(head, &planned, result, Purpose::Deploy),
        }
    }

    /// Plans the applied commit again, and heals or reports its drift.
    async fn check_drift(&mut self, head: Commit) -> Action {
        let planned = match self.target.plan(&head).await {
            Ok(p) => p,
            Err(e) => return self.fail(Some(&head), e, None),
        };
        self.next_drift = Instant::now() + self.policy.drift_interval;
        let drift = planned.changes();
        self.metrics.drift_entities.get_or_create(&metrics::env(self.name())).set(drift as i64);
        self.handle.update(|s| s.drift_entities = drift);
        if planned.is_empty() {
            self.refused = None;
            self.clear_failure();
            self.attempted(&head, "no_changes", SyncStatus::Synced);
            return self.wake(Instant::now());
        }
        if self.policy.drift == DriftMode::Warn {
            tracing::warn!(
                environment = self.name(),
                "drift: {drift} entities differ from commit {} ({} to add, {} to change, {} to destroy, {} on the other nodes); drift = \"warn\", not correcting",
                head.short(),
                planned.add,
                planned.change,
                planned.destroy,
                planned.other_nodes
            );
            self.clear_failure();
            self.attempted(&head, "drift_reported", SyncStatus::OutOfSync);
            let id = format!("{}/drift/{}/{}", self.name(), head.id, planned.digest);
            self.notify(id, EventKind::DriftDetected, &head, &planned, None, None);
            return self.wake(Instant::now());
        }
        tracing::warn!(
            environment = self.name(),
            "drift: {drift} entities differ from commit {}; correcting",
            head.short()
        );
        self.execute(head, planned, Purpose::Heal).await
    }

    /// Guards and applies `planned`.
    async fn execute(&mut self, head: Commit, planned: Planned, purpose: Purpose) -> Action {
        if let Some(reason) = guard(&self.policy, &planned) {
            return self.refuse(&head, &planned, &reason);
        }
        if self.stop.is_cancelled() {
            return Action::await_change();
        }
        let summary = planned.summary();
        let result = self.target.apply(planned, self.cancel.clone()).await;
        self.finish(head, &summary, result, purpose)
    }

    /// Reports and counts the apply of `planned`.
    fn finish(
        &mut self,
        head: Commit,
        planned: &Planned,
        result: Result<Applied, TargetError>,
        purpose: Purpose,
    ) -> Action {
        let counts = Counts { add: planned.add, change: planned.change, destroy: planned.destroy };
        match result {
            Ok(applied) if applied.success() => self.applied(head, applied, counts, purpose),
            Ok(applied) => {
                self.metrics.applies.get_or_create(&metrics::outcome(self.name(), "partial")).inc();
                let message = applied.message.clone().unwrap_or_else(|| "the apply did not complete".into());
                let err = TargetError::new(ErrorKind::Gateway, message);
                self.fail(Some(&head), err, Some((applied, counts)))
            }
            Err(e) => {
                self.metrics.applies.get_or_create(&metrics::outcome(self.name(), "error")).inc();
                self.fail(Some(&head), e, None)
            }
        }
    }

    fn applied(&mut self, head: Commit, applied: Applied, counts: Counts, purpose: Purpose) -> Action {
        let name = self.name().to_owned();
        self.metrics.applies.get_or_create(&metrics::outcome(&name, "success")).inc();
        let previous = self.last_applied.as_ref().map(|c| c.id.clone());
        self.metrics.set_applied_commit(&name, previous.as_deref(), &head.id);
        self.metrics.drift_entities.get_or_create(&metrics::env(&name)).set(0);
        tracing::info!(
            environment = name.as_str(),
            "applied commit {} (run {}): {} added, {} changed, {} destroyed",
            head.short(),
            applied.run_id,
            counts.add,
            counts.change,
            counts.destroy
        );
        let kind = match purpose {
            Purpose::Deploy => EventKind::Applied,
            Purpose::Heal => EventKind::DriftCorrected,
        };
        let outcomes =
            json!({"applied": applied.applied, "failed": applied.failed, "not_attempted": applied.not_attempted});
        self.send(Event {
            id: format!("{name}/run/{}", applied.run_id),
            kind,
            environment: name.clone(),
            commit: Some(head.clone()),
            run_id: Some(applied.run_id),
            plan: counts,
            outcomes: Some(outcomes),
            message: None,
            time: now(),
        });
        let record = AppliedRecord { commit: head.clone(), run_id: applied.run_id, at: now() };
        self.handle.update(|s| {
            s.last_applied = Some(record);
            s.drift_entities = 0;
            s.nodes = applied.nodes.clone();
        });
        self.last_applied = Some(head.clone());
        self.refused = None;
        self.clear_failure();
        self.attempted(&head, "applied", SyncStatus::Synced);
        self.wake(Instant::now())
    }

    fn refuse(&mut self, head: &Commit, planned: &Planned, reason: &str) -> Action {
        tracing::warn!(environment = self.name(), "refused commit {}: {reason}", head.short());
        self.metrics.failures.get_or_create(&metrics::outcome(self.name(), "guard")).inc();
        self.refused = Some(head.id.clone());
        let error = ErrorRecord { kind: "guard".into(), message: reason.to_owned(), at: now() };
        self.handle.update(|s| s.last_error = Some(error));
        self.attempted(head, "refused", SyncStatus::OutOfSync);
        let id = format!("{}/guard/{}/{}", self.name(), head.id, planned.digest);
        self.notify(id, EventKind::GuardRefused, head, planned, None, Some(reason.to_owned()));
        self.wake(Instant::now())
    }

    /// Records a failure and backs off. `applied`: the partial run, when one was recorded.
    fn fail(&mut self, commit: Option<&Commit>, error: TargetError, applied: Option<(Applied, Counts)>) -> Action {
        if self.failures == 0 {
            self.streaks += 1;
        }
        self.failures = self.failures.saturating_add(1);
        let wait = backoff(self.failures);
        let now_i = Instant::now();
        self.failure = Some(Failure { commit: commit.map(|c| c.id.clone()), retry_at: now_i + wait });
        if commit.is_some_and(|c| self.last_applied.as_ref().is_some_and(|a| a.id == c.id)) {
            // A failed drift check or correction: check again when the backoff ends.
            self.next_drift = now_i + wait;
        }
        let name = self.name().to_owned();
        self.metrics.failures.get_or_create(&metrics::outcome(&name, error.kind.as_str())).inc();
        let what = commit.map_or_else(|| "fetching the branch".to_owned(), |c| format!("commit {}", c.short()));
        tracing::warn!(
            environment = name.as_str(),
            "{what} failed ({}): {}; retrying in {}s",
            error.kind.as_str(),
            error.message,
            wait.as_secs()
        );
        let record = ErrorRecord::now(error.kind, &error.message);
        let failures = self.failures;
        self.handle.update(|s| {
            s.last_error = Some(record);
            s.consecutive_failures = failures;
        });
        if let Some(c) = commit {
            self.attempted(c, "failed", SyncStatus::Failed);
        } else {
            self.handle.update(|s| s.sync_status = SyncStatus::Failed);
        }
        if let Some((a, _)) = &applied {
            self.handle.update(|s| s.nodes = a.nodes.clone());
        }
        // One event per run, or one per failure streak when no run was recorded.
        let (id, run_id, counts, outcomes) = match &applied {
            Some((a, counts)) => (
                format!("{name}/run/{}", a.run_id),
                Some(a.run_id),
                *counts,
                Some(json!({"applied": a.applied, "failed": a.failed, "not_attempted": a.not_attempted})),
            ),
            None if self.failures == 1 => {
                (format!("{name}/error/{}-{}", self.boot, self.streaks), None, Counts::default(), None)
            }
            None => return self.wake(now_i),
        };
        self.send(Event {
            id,
            kind: EventKind::Failed,
            environment: name,
            commit: commit.cloned(),
            run_id,
            plan: counts,
            outcomes,
            message: Some(error.message),
            time: now(),
        });
        self.wake(now_i)
    }

    fn clear_failure(&mut self) {
        self.failure = None;
        self.failures = 0;
        self.handle.update(|s| {
            s.consecutive_failures = 0;
            if s.last_error.as_ref().is_some_and(|e| e.kind != "guard") {
                s.last_error = None;
            }
        });
    }

    fn attempted(&self, commit: &Commit, result: &'static str, status: SyncStatus) {
        let record = AttemptRecord { commit: commit.clone(), result, at: now() };
        self.handle.update(|s| {
            s.last_attempted = Some(record);
            s.sync_status = status;
            if result != "refused" && s.last_error.as_ref().is_some_and(|e| e.kind == "guard") {
                s.last_error = None;
            }
        });
    }

    fn notify(
        &self,
        id: String,
        kind: EventKind,
        head: &Commit,
        planned: &Planned,
        run_id: Option<i64>,
        message: Option<String>,
    ) {
        self.send(Event {
            id,
            kind,
            environment: self.name().to_owned(),
            commit: Some(head.clone()),
            run_id,
            plan: Counts { add: planned.add, change: planned.change, destroy: planned.destroy },
            outcomes: None,
            message,
            time: now(),
        });
    }

    fn send(&self, event: Event) {
        if let Some(n) = &self.notifier {
            n.send(event);
        }
    }
}
