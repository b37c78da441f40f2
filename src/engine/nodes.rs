//! Environments of several nodes (`gateways = [...]` in `gateform.toml`, `--gateway`
//! repeated). How a run writes to them follows how the nodes hold their configuration, as
//! the first node's session says ([`NodeSharing`]):
//!
//! * **shared** (one store behind every node: Kong with a database; Tyk): the plan is
//!   applied through the first node, the barrier is the group barrier of all of them
//!   ([`crate::gateway::Session::group_barrier`]), then every node is read again, every
//!   [`Nodes::POLL`], until a fresh plan of it is empty or [`Nodes::verify_timeout`] passes;
//! * **per node** (Kong DB-less: each node loads its own configuration): every node is
//!   planned before anything is written; then, [`Nodes::max_unavailable`] nodes at a time,
//!   each is written and verified (a fresh plan, and the configuration it says it serves).
//!   The first batch with a failure ends the rollout: the nodes after it stay untouched.
//!
//! A saved plan is checked against the first node, as with a single node; applied per
//! node, the other nodes are brought to the same configuration with plans of their own,
//! shown before anything is written.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use super::node::{NodeEvent, NodeOutcome, NodeStatus};
use super::prepare::{Planned, plan_against};
use super::record::Recorder;
use super::replay::verify_on;
use super::run::{Mode, Reconciler, RunOutcome, apply_result, outcome, verdict};
use super::target::{Connection, Nodes};
use super::write::Written;
use super::{EngineError, Observer};
use crate::apply::Applied;
use crate::gateway::NodeSharing;
use crate::graph::Schedule;
use crate::ledger::RunResult;
use crate::plan::file::plan_digest;
use crate::plan::{Plan, Summary, Verification};
use crate::secrets::Redactor;

/// A further node, planned.
struct NodePlan {
    address: String,
    connection: Connection,
    plan: Plan,
    schedule: Schedule,
}

/// One node's share of a rollout.
struct Job<'a> {
    address: &'a str,
    connection: &'a Connection,
    plan: &'a Plan,
    schedule: &'a Schedule,
}

/// What writing and verifying one node gave.
struct Done {
    applied: Option<Applied>,
    verification: Option<Verification>,
    outcome: NodeOutcome,
}

impl Reconciler {
    /// The rest of a run over several nodes, once the first one is planned and the run
    /// allowed (see the module docs).
    pub(super) async fn run_nodes(
        &self,
        planned: Planned,
        mode: &Mode,
        recorder: Option<&Recorder>,
        started: Instant,
        redactor: &Redactor,
        observer: &mut dyn Observer,
    ) -> Result<RunOutcome, EngineError> {
        match planned.connection.session.sharing() {
            NodeSharing::Shared => Ok(self.run_shared(planned, mode, recorder, started, redactor, observer).await),
            NodeSharing::PerNode => self.run_per_node(planned, mode, recorder, started, redactor, observer).await,
        }
    }

    async fn run_shared(
        &self,
        planned: Planned,
        mode: &Mode,
        recorder: Option<&Recorder>,
        started: Instant,
        redactor: &Redactor,
        observer: &mut dyn Observer,
    ) -> RunOutcome {
        observer.planned(&planned);
        let replay = matches!(mode, Mode::Replay);
        if planned.plan.is_empty() && !replay {
            if self.others_hold(&planned, redactor).await {
                let applied = Some(self.apply(&planned, recorder, started, observer).await.applied);
                return outcome(planned, applied, RunResult::Success, None);
            }
            // Nothing to write, but a node serves something else: have them catch up, then
            // verify every node as after a write.
            if let Err(e) = planned.connection.session.catch_up().await {
                tracing::warn!("the nodes could not be made to catch up: {e}");
            }
        }
        if matches!(mode, Mode::Apply { prompt: true, .. }) && !planned.plan.is_empty() && !observer.confirm(&planned) {
            return outcome(planned, None, RunResult::Cancelled, Some(observer.declined()));
        }
        let count = 1 + self.target.nodes.others.len();
        let Written { applied, .. } = {
            let mut on_event = |e: crate::apply::Event<'_>| observer.event(&planned, e);
            let work = (&planned.plan, &planned.schedule);
            self.write_node(&planned.connection, work, count, recorder, started, &mut on_event).await
        };
        observer.verifying();
        let verify_started = Instant::now();
        let timeout = if applied.success() { self.target.nodes.verify_timeout } else { Duration::ZERO };
        let first = poll(&planned.connection, &planned, redactor, timeout).await;
        let summary = planned.plan.summary();
        let node = shared_outcome(planned.target.address(), summary, &applied, &first, verify_started);
        observer.node(NodeEvent::Done(&node));
        let mut nodes = vec![node];
        for address in &self.target.nodes.others {
            let node_started = Instant::now();
            let status = match Connection::open(&self.target.node(address), &planned.source.inputs).await {
                _ if !applied.success() => NodeStatus::NotVerified("not read: the apply failed".into()),
                Ok(c) => {
                    let v = poll(&c, &planned, redactor, self.target.nodes.verify_timeout).await;
                    c.close().await;
                    status_of(&v)
                }
                Err(e) => NodeStatus::NotVerified(format!("cannot be read: {e}")),
            };
            let elapsed = node_started.elapsed();
            let node = NodeOutcome { address: address.clone(), plan: summary, status, served: None, elapsed };
            observer.node(NodeEvent::Done(&node));
            nodes.push(node);
        }
        let (mut result, mut message) = verdict(&applied, &first);
        if result == RunResult::Success
            && let Some(m) = failures(&nodes)
        {
            (result, message) = (RunResult::VerificationFailed, Some(m));
        }
        let mut o = outcome(planned, Some(applied), result, message);
        o.verification = Some((first, verify_started.elapsed()));
        o.nodes = nodes;
        o
    }

    /// Whether every further node already serves the configuration of `planned` (one read
    /// each, no waiting).
    async fn others_hold(&self, planned: &Planned, redactor: &Redactor) -> bool {
        for address in &self.target.nodes.others {
            let Ok(c) = Connection::open(&self.target.node(address), &planned.source.inputs).await else {
                return false;
            };
            let v = verify_on(&c, &planned.desired, &planned.selection, redactor, None).await;
            c.close().await;
            if !matches!(v, Verification::Holds) {
                return false;
            }
        }
        true
    }

    async fn run_per_node(
        &self,
        planned: Planned,
        mode: &Mode,
        recorder: Option<&Recorder>,
        started: Instant,
        redactor: &Redactor,
        observer: &mut dyn Observer,
    ) -> Result<RunOutcome, EngineError> {
        let others = match self.plan_others(&planned, redactor).await {
            Ok(others) => others,
            Err(e) => {
                planned.close().await;
                return Err(e);
            }
        };
        observer.planned(&planned);
        let first_digest = plan_digest(&planned.plan);
        for o in &others {
            let same_as_first = plan_digest(&o.plan) == first_digest;
            observer.node(NodeEvent::Planned { address: &o.address, plan: &o.plan, same_as_first });
        }
        let replay = matches!(mode, Mode::Replay);
        let nothing = planned.plan.is_empty() && others.iter().all(|o| o.plan.is_empty());
        let refused = matches!(mode, Mode::Apply { prompt: true, .. }) && !nothing && !observer.confirm(&planned);
        if refused {
            close_all(others).await;
            return Ok(outcome(planned, None, RunResult::Cancelled, Some(observer.declined())));
        }
        if nothing && !replay {
            close_all(others).await;
            let applied = Some(self.apply(&planned, recorder, started, observer).await.applied);
            return Ok(outcome(planned, applied, RunResult::Success, None));
        }
        let first_address = planned.target.address();
        let mut jobs = vec![Job {
            address: &first_address,
            connection: &planned.connection,
            plan: &planned.plan,
            schedule: &planned.schedule,
        }];
        jobs.extend(others.iter().map(|o| Job {
            address: &o.address,
            connection: &o.connection,
            plan: &o.plan,
            schedule: &o.schedule,
        }));
        let (first, nodes) = self.roll_out(&jobs, &planned, recorder, started, redactor, observer).await;
        drop(jobs);
        close_all(others).await;
        let (applied, verification) = (first.applied, first.verification);
        let (result, message) = match (&applied, &verification) {
            _ if nodes.iter().all(|n| n.status.ok()) => (RunResult::Success, None),
            (Some(a), _) if !a.success() => apply_result(a),
            _ if self.settings.cancel.is_cancelled() => {
                (RunResult::Interrupted, Some(failures(&nodes).unwrap_or_else(|| "interrupted".into())))
            }
            _ if nodes.iter().any(|n| matches!(n.status, NodeStatus::Failed(_))) => {
                (RunResult::Failed, failures(&nodes))
            }
            _ => (RunResult::VerificationFailed, failures(&nodes)),
        };
        let mut o = outcome(planned, applied, result, message);
        o.verification = verification.map(|v| (v, first.outcome.elapsed));
        o.nodes = nodes;
        Ok(o)
    }

    /// Plans every further node against the configuration of `planned`; a node that cannot
    /// be read or written makes the run fail before anything is written.
    async fn plan_others(&self, planned: &Planned, redactor: &Redactor) -> Result<Vec<NodePlan>, EngineError> {
        let mut out: Vec<NodePlan> = Vec::new();
        for address in &self.target.nodes.others {
            let planned_node = async {
                let connection = Connection::open(&self.target.node(address), &planned.source.inputs).await?;
                let dialect = connection.session.dialect();
                match plan_against(
                    &connection,
                    &*dialect,
                    &planned.desired,
                    redactor,
                    &planned.selection,
                    &mut super::Quiet,
                )
                .await
                {
                    Ok((live, plan, schedule)) => Ok((connection, live, plan, schedule)),
                    Err(e) => {
                        connection.close().await;
                        Err(e)
                    }
                }
            };
            let (connection, live, plan, schedule) = match planned_node.await {
                Ok(p) => p,
                Err(e) => {
                    close_all(out).await;
                    return Err(e);
                }
            };
            let node = NodePlan { address: address.trim_end_matches('/').to_owned(), connection, plan, schedule };
            let problem = node_problem(planned, &node, live.info.read_only.as_deref());
            out.push(node);
            if let Some(problem) = problem {
                close_all(out).await;
                return Err(EngineError::Refused(problem));
            }
        }
        Ok(out)
    }

    /// Writes and verifies `jobs`, [`Nodes::max_unavailable`] at a time, until a batch has
    /// a failure; returns the first node's result and every node's outcome.
    async fn roll_out(
        &self,
        jobs: &[Job<'_>],
        planned: &Planned,
        recorder: Option<&Recorder>,
        started: Instant,
        redactor: &Redactor,
        observer: &mut dyn Observer,
    ) -> (Done, Vec<NodeOutcome>) {
        let mut first: Option<Done> = None;
        let mut nodes = Vec::new();
        let mut stopped = false;
        for batch in jobs.chunks(self.target.nodes.max_unavailable.max(1)) {
            if stopped || self.settings.cancel.is_cancelled() {
                for job in batch {
                    let o = untouched(job);
                    observer.node(NodeEvent::Done(&o));
                    nodes.push(o);
                }
                continue;
            }
            for job in batch {
                observer.node(NodeEvent::Writing { address: job.address, changes: job.plan.changes.len() });
            }
            let work = batch.iter().map(|job| self.node_job(job, planned, recorder, started, redactor));
            for done in join_all(work.collect()).await {
                observer.node(NodeEvent::Done(&done.outcome));
                stopped |= !done.outcome.status.ok();
                nodes.push(done.outcome.clone());
                if first.is_none() {
                    first = Some(done);
                }
            }
        }
        let first = first.unwrap_or_else(|| {
            let outcome = nodes.first().cloned().unwrap_or_else(|| NodeOutcome {
                address: String::new(),
                plan: Summary::default(),
                status: NodeStatus::Untouched,
                served: None,
                elapsed: Duration::ZERO,
            });
            Done { applied: None, verification: None, outcome }
        });
        (first, nodes)
    }

    /// Writes one node's plan and verifies it.
    async fn node_job(
        &self,
        job: &Job<'_>,
        planned: &Planned,
        recorder: Option<&Recorder>,
        started: Instant,
        redactor: &Redactor,
    ) -> Done {
        let node_started = Instant::now();
        let node = |status, served| NodeOutcome {
            address: job.address.to_owned(),
            plan: job.plan.summary(),
            status,
            served,
            elapsed: node_started.elapsed(),
        };
        if job.plan.is_empty() {
            let verification = Some(Verification::Holds);
            return Done { applied: None, verification, outcome: node(NodeStatus::Unchanged, None) };
        }
        let work = (job.plan, job.schedule);
        let Written { applied, served } =
            self.write_node(job.connection, work, 1, recorder, started, &mut |_| {}).await;
        if !applied.success() {
            let reason = apply_result(&applied).1.unwrap_or_else(|| "the write failed".into());
            return Done {
                applied: Some(applied),
                verification: None,
                outcome: node(NodeStatus::Failed(reason), None),
            };
        }
        let verification =
            verify_on(job.connection, &planned.desired, &planned.selection, redactor, served.as_deref()).await;
        let status = status_of(&verification);
        Done { applied: Some(applied), verification: Some(verification), outcome: node(status, served) }
    }
}

/// Why a further node cannot take part in a run, if it cannot.
fn node_problem(planned: &Planned, node: &NodePlan, read_only: Option<&str>) -> Option<String> {
    let first = planned.target.address();
    if node.connection.session.sharing() != NodeSharing::PerNode {
        return Some(format!(
            "{} holds its configuration in a shared store, unlike {first}, which holds its own: the nodes of one \
             environment must be alike",
            node.address
        ));
    }
    if let Some(why) = read_only.filter(|_| !node.plan.is_empty()) {
        return Some(format!("{}: {why}", node.address));
    }
    None
}

/// Reads a node again until a fresh plan of it is empty, or `timeout` passes; the last
/// verdict.
async fn poll(connection: &Connection, planned: &Planned, redactor: &Redactor, timeout: Duration) -> Verification {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let v = verify_on(connection, &planned.desired, &planned.selection, redactor, None).await;
        if matches!(v, Verification::Holds) || tokio::time::Instant::now() + Nodes::POLL > deadline {
            return v;
        }
        tokio::time::sleep(Nodes::POLL).await;
    }
}

/// A node's status from its verification.
fn status_of(v: &Verification) -> NodeStatus {
    match v {
        Verification::Holds => NodeStatus::Verified,
        Verification::Fails(left) => {
            NodeStatus::NotVerified(format!("a fresh plan still has {} change(s)", left.changes.len()))
        }
        Verification::Error(e) => NodeStatus::NotVerified(format!("cannot verify: {e}")),
    }
}

/// The first node of a shared store: the apply's result, then its verification.
fn shared_outcome(
    address: String,
    plan: Summary,
    applied: &Applied,
    verification: &Verification,
    verify_started: Instant,
) -> NodeOutcome {
    let status = match apply_result(applied) {
        (RunResult::Success, _) => status_of(verification),
        (_, reason) => NodeStatus::Failed(reason.unwrap_or_else(|| "the apply failed".into())),
    };
    NodeOutcome { address, plan, status, served: None, elapsed: verify_started.elapsed() }
}

fn untouched(job: &Job<'_>) -> NodeOutcome {
    NodeOutcome {
        address: job.address.to_owned(),
        plan: job.plan.summary(),
        status: NodeStatus::Untouched,
        served: None,
        elapsed: Duration::ZERO,
    }
}

/// `node A: why; node B: untouched`, naming every node that does not serve the
/// configuration; `None` when all do.
fn failures(nodes: &[NodeOutcome]) -> Option<String> {
    let bad: Vec<String> = nodes
        .iter()
        .filter(|n| !n.status.ok())
        .map(|n| match n.status.reason() {
            Some(why) => format!("node {}: {why}", n.address),
            None => format!("node {}: {}", n.address, n.status.as_str()),
        })
        .collect();
    (!bad.is_empty()).then(|| bad.join("; "))
}

async fn close_all(nodes: Vec<NodePlan>) {
    for n in nodes {
        n.connection.close().await;
    }
}

/// Runs `futures` concurrently on the current task; their outputs, in order.
async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, slot) in futures.iter_mut().zip(out.iter_mut()) {
            if slot.is_none() {
                match f.as_mut().poll(cx) {
                    Poll::Ready(v) => *slot = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending { Poll::Pending } else { Poll::Ready(()) }
    })
    .await;
    out.into_iter().flatten().collect()
}
