//! The [`Target`] of one environment over the engine: Git gives the commit and its
//! configuration (and the `gateform.toml` at that commit gives the environment's gateway,
//! path, scope and headers), and [`Reconciler`] runs it. A new commit is deployed in one
//! locked run — planned under the environment's lock, checked by the daemon's guards through
//! the engine's confirmation, applied, verified with a fresh plan and recorded as a `watch`
//! run. A drift check plans without the lock, and its correction applies that plan as a
//! saved plan: re-read under the lock, refused as stale when the gateway moved, applied
//! exactly and verified.
//!
//! Every run has a redactor of its own: it starts from the daemon's base secrets, learns the
//! run's, and is registered with the log scrubber for the run's duration only.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use super::leader::Leaders;
use super::metrics::AdminApiCounter;
use super::target::{Applied, Commit, Deployed, ErrorKind, Guard, NodeState, Planned, Target, TargetError};
use crate::engine::{
    ApplyOptions, EngineError, Mode, NodeDrift, Observer, Quiet, Reconciler, Recording, RunOutcome,
    Target as EngineTarget, drain_for,
};
use crate::gateway::{GatewayTarget, Session, registry};
use crate::ledger::{AnyLedger, Holder, LedgerLocation, PgOptions, RunResult};
use crate::plan::PlanOptions;
use crate::plan::file::{PlanFile, plan_digest};
use crate::secrets::{ActiveRedactors, Redactor};
use crate::source::environments::{FILE_NAME, Settings as EnvFile};
use crate::source::git::{self, SourceInfo};
use crate::source::{Provenance, Source};

/// The gateway address used when an environment names none.
const DEFAULT_GATEWAY: &str = "http://localhost:8001";

/// Where an environment's configuration is read from.
#[derive(Debug, Clone)]
pub struct Followed {
    /// The environment's name.
    pub name: String,
    /// The repository: a local path or a remote URL.
    pub repository: String,
    /// The branch followed.
    pub reference: String,
    /// Where remote repositories are mirrored.
    pub cache_dir: PathBuf,
    /// The variables `${VAR}` references in `gateform.toml` may read.
    pub env: BTreeMap<String, String>,
    /// The per-request timeout of the gateway client.
    pub timeout: Duration,
}

/// One environment of `gateform.toml`, followed on a branch of a repository.
pub struct EngineWatch {
    /// What is followed.
    pub followed: Followed,
    /// The ledger (history and locks).
    pub ledger: LedgerLocation,
    /// PostgreSQL connection options, for a `postgres://` ledger.
    pub pg: PgOptions,
    /// This replica as a lock holder.
    pub holder: Holder,
    /// Secrets every run's redactor starts with.
    pub base_secrets: Redactor,
    /// The redactors the log scrubber uses: each run's is registered while it runs.
    pub active: ActiveRedactors,
    /// Counts the Admin API's answers by status, once the daemon's metrics exist.
    pub admin_api: OnceLock<AdminApiCounter>,
    /// Who leads each environment, when replicas elect a leader.
    pub leaders: Option<Arc<Leaders>>,
}

/// What `plan` hands to `apply`: the configuration read and the plan, as a saved plan.
struct Saved {
    source: Source,
    file: PlanFile,
    target: EngineTarget,
    parallelism: usize,
}

fn engine_error(e: &EngineError, redactor: &Redactor) -> TargetError {
    let kind = match e {
        EngineError::Config(_) | EngineError::Plan(_) | EngineError::Graph(_) => ErrorKind::Config,
        EngineError::Gateway(_) => ErrorKind::Gateway,
        EngineError::Locked { .. } => ErrorKind::Locked,
        EngineError::Refused(m) if m.starts_with("Saved plan is stale") => ErrorKind::Stale,
        EngineError::Refused(_) => ErrorKind::Gateway,
        EngineError::Ledger(_) | EngineError::Sandbox(_) => ErrorKind::Other,
    };
    TargetError::new(kind, redactor.scrub(&e.to_string()))
}

impl EngineWatch {
    /// A redactor for one run, registered with the log scrubber until it is dropped.
    fn run_redactor(&self) -> (Redactor, crate::secrets::Registration) {
        let r = self.base_secrets.child();
        let registration = self.active.register(r.clone());
        (r, registration)
    }

    fn count_requests(&self, session: &dyn Session) {
        if let Some(counter) = self.admin_api.get() {
            for (status, n) in session.requests_by_status() {
                for _ in 0..n {
                    counter.inc((status != 0).then_some(status));
                }
            }
        }
    }

    /// The ledger recording of a `watch` run (no wait for the lock: a held lock is an error).
    async fn recording(&self, redactor: &Redactor) -> Result<Recording, TargetError> {
        let ledger = AnyLedger::open(&self.ledger, &self.pg)
            .await
            .map_err(|e| TargetError::new(ErrorKind::Other, redactor.scrub(&format!("the ledger: {e}"))))?;
        Ok(Recording {
            ledger,
            holder: self.holder.clone(),
            command: "watch".into(),
            lock_timeout: Duration::ZERO,
            drain: drain_for(self.followed.timeout),
        })
    }

    /// What a run did, as the daemon reports it (messages scrubbed).
    fn applied(&self, outcome: &RunOutcome, redactor: &Redactor) -> Applied {
        self.count_requests(&*outcome.planned.connection.session);
        let counts = outcome.applied.as_ref().map(|a| a.counts).unwrap_or_default();
        Applied {
            run_id: outcome.run_id.unwrap_or_default(),
            applied: counts.applied,
            failed: counts.failed,
            not_attempted: counts.not_attempted,
            cancelled: outcome.applied.as_ref().is_some_and(|a| a.report.cancelled),
            message: outcome.message.clone().map(|m| redactor.scrub(&m)),
            nodes: outcome
                .nodes
                .iter()
                .map(|n| NodeState {
                    address: n.address.clone(),
                    status: n.status.as_str(),
                    reason: n.status.reason().map(|r| redactor.scrub(r)),
                })
                .collect(),
        }
    }

    fn reconciler(&self, target: EngineTarget, parallelism: usize, cancel: CancellationToken) -> Reconciler {
        let settings = ApplyOptions { parallelism, fail_fast: false, cancel };
        Reconciler { target, settings, env: self.followed.env.clone(), plan: PlanOptions::default() }
    }
}

impl Followed {
    /// Reads `commit`: the configuration of the environment and where it goes.
    fn read(&self, commit: &Commit) -> anyhow::Result<(Source, EngineTarget, usize)> {
        let repo = git::open_cached(&self.repository, &self.cache_dir)?;
        let mut resolved = repo.resolve(&commit.id)?;
        resolved.rev = self.reference.clone();
        let settings = match repo.read_file(&resolved, FILE_NAME)? {
            Some(input) => EnvFile::parse(&input)?,
            None => anyhow::bail!("{} has no {FILE_NAME} at {}", self.repository, commit.short()),
        };
        let env = settings.environment(&self.name, &|v| self.env.get(v).cloned())?;
        let inputs = repo.read_config(&resolved, env.path.as_deref())?;
        let info: SourceInfo = repo.describe(&resolved, env.path.as_deref());
        let connector = match &env.dialect {
            Some((name, at)) => registry::connector(name).ok_or_else(|| {
                anyhow::anyhow!(
                    "{at}: error: unknown dialect `{name}` (gateform knows: {})",
                    registry::names().join(", ")
                )
            })?,
            None => registry::detecting(),
        };
        let target = EngineTarget {
            connector,
            gateway: GatewayTarget {
                url: env.gateway.clone().unwrap_or_else(|| DEFAULT_GATEWAY.to_owned()),
                headers: env.headers.clone(),
                timeout: self.timeout,
                options: env.options.clone(),
            },
            environment: Some(self.name.clone()),
            select_tags: env.select_tags.clone().unwrap_or_default(),
            select_tags_from: format!("`select_tags` of the environment {:?} in {FILE_NAME}", self.name),
            nodes: crate::engine::Nodes { others: env.other_gateways.clone(), ..crate::engine::Nodes::default() },
        };
        Ok((Source { inputs, provenance: Provenance::Git(info) }, target, env.parallelism.unwrap_or(10)))
    }
}

/// The daemon's view of an engine plan of `commit`.
fn summary_of(commit: &Commit, planned: &crate::engine::Planned) -> Planned {
    let s = planned.plan.summary();
    Planned {
        commit: commit.clone(),
        add: s.add,
        change: s.change,
        destroy: s.destroy,
        other_nodes: 0,
        live_entities: planned.live.state.entities.len(),
        desired_entities: planned.desired.state.entities.len(),
        digest: plan_digest(&planned.plan),
        engine: Box::new(()),
    }
}

/// What a drift check found on the nodes after the first: the changes their own plans
/// hold, and those plans' digests.
#[derive(Default)]
struct OtherNodes {
    changes: usize,
    digests: Vec<String>,
}

impl OtherNodes {
    /// Sums the plans of `nodes`; a node that could not be read or planned is logged and
    /// not counted (the next run that writes reports it per node).
    fn of(environment: &str, nodes: &[NodeDrift], redactor: &Redactor) -> OtherNodes {
        let mut others = OtherNodes::default();
        for node in nodes {
            match &node.plan {
                Ok(plan) if plan.is_empty() => {}
                Ok(plan) => {
                    others.changes += plan.changes.len();
                    others.digests.push(format!("{}={}", node.address, plan_digest(plan)));
                }
                Err(reason) => tracing::warn!(
                    environment,
                    "drift check: the node {} was not checked: {}",
                    node.address,
                    redactor.scrub(reason)
                ),
            }
        }
        others
    }

    /// One digest of the first node's plan digest and the other nodes' ones (SHA-256, hex).
    fn digest(&self, first: &str) -> String {
        let mut h = Sha256::new();
        h.update(first.as_bytes());
        for d in &self.digests {
            h.update(b"\n");
            h.update(d.as_bytes());
        }
        hex::encode(h.finalize())
    }
}

/// The daemon's guard as the engine's [`Observer`]: it approves the plan made under the
/// lock only when the guard lets it and the daemon is not stopping.
struct Guarded<'a> {
    commit: &'a Commit,
    guard: &'a Guard<'a>,
    stop: &'a CancellationToken,
    summary: Option<Planned>,
    refusal: Option<String>,
    stopped: bool,
}

impl Observer for Guarded<'_> {
    fn planned(&mut self, planned: &crate::engine::Planned) {
        self.summary = Some(summary_of(self.commit, planned));
    }

    fn confirm(&mut self, planned: &crate::engine::Planned) -> bool {
        let summary = self.summary.get_or_insert_with(|| summary_of(self.commit, planned));
        if let Some(reason) = (self.guard)(summary) {
            self.refusal = Some(reason);
            return false;
        }
        self.stopped = self.stop.is_cancelled();
        !self.stopped
    }

    fn declined(&mut self) -> String {
        match &self.refusal {
            Some(reason) => format!("refused by the watch guards: {reason}"),
            None => "not applied: the daemon was stopping".into(),
        }
    }
}

async fn blocking<T: Send + 'static>(
    kind: ErrorKind,
    redactor: &Redactor,
    f: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> Result<T, TargetError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(|e| TargetError::new(kind, redactor.scrub(&format!("{e:#}")))),
        Err(e) => Err(TargetError::new(ErrorKind::Other, format!("a blocking task failed: {e}"))),
    }
}

#[async_trait::async_trait]
impl Target for EngineWatch {
    fn name(&self) -> &str {
        &self.followed.name
    }

    async fn standby(&self) -> Option<String> {
        let leaders = self.leaders.as_ref()?;
        let name = &self.followed.name;
        if leaders.leads(name) {
            return None;
        }
        Some(leaders.leader(name).unwrap_or_else(|| "no replica yet".to_owned()))
    }

    async fn head(&self) -> Result<Commit, TargetError> {
        let f = &self.followed;
        let (repository, reference, cache) = (f.repository.clone(), f.reference.clone(), f.cache_dir.clone());
        blocking(ErrorKind::Fetch, &self.base_secrets, move || {
            let repo = git::open(&repository, &cache)?;
            let resolved = repo.resolve(&reference)?;
            let info = repo.describe(&resolved, None);
            Ok(Commit { id: info.commit, subject: info.subject, author: info.author, date: info.date })
        })
        .await
    }

    async fn descends(&self, commit: &str, ancestor: &str) -> Result<bool, TargetError> {
        if commit == ancestor {
            return Ok(true);
        }
        let (repository, cache) = (self.followed.repository.clone(), self.followed.cache_dir.clone());
        let (commit, ancestor) = (commit.to_owned(), ancestor.to_owned());
        blocking(ErrorKind::Fetch, &self.base_secrets, move || {
            let repo = git::open_cached(&repository, &cache)?;
            Ok(repo.descends(&commit, &ancestor))
        })
        .await
    }

    async fn plan(&self, commit: &Commit) -> Result<Planned, TargetError> {
        let (redactor, _registration) = self.run_redactor();
        let read = {
            let (followed, commit) = (self.followed.clone(), commit.clone());
            blocking(ErrorKind::Config, &redactor, move || followed.read(&commit)).await?
        };
        let (source, target, parallelism) = read;
        let reconciler = self.reconciler(target.clone(), parallelism, CancellationToken::new());
        let (planned, others) = if target.multi_node() {
            let survey = reconciler.survey(source.clone(), &redactor, &mut Quiet).await;
            let survey = survey.map_err(|e| engine_error(&e, &redactor))?;
            let others = OtherNodes::of(&self.followed.name, &survey.nodes[1..], &redactor);
            (survey.planned, others)
        } else {
            let planned = reconciler.plan(source.clone(), &redactor, &mut Quiet).await;
            (planned.map_err(|e| engine_error(&e, &redactor))?, OtherNodes::default())
        };
        self.count_requests(&*planned.connection.session);
        let file = PlanFile::new(
            &planned.plan,
            planned.source.to_json(),
            planned.gateway_record(),
            planned.fingerprint(),
            humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        );
        let mut result =
            Planned { engine: Box::new(Saved { source, file, target, parallelism }), ..summary_of(commit, &planned) };
        if others.changes > 0 {
            result.other_nodes = others.changes;
            result.digest = others.digest(&result.digest);
        }
        planned.close().await;
        Ok(result)
    }

    async fn apply(&self, planned: Planned, cancel: CancellationToken) -> Result<Applied, TargetError> {
        let Ok(saved) = planned.engine.downcast::<Saved>() else {
            return Err(TargetError::new(ErrorKind::Other, "a plan from another target"));
        };
        let Saved { source, file, target, parallelism } = *saved;
        let (redactor, _registration) = self.run_redactor();
        let recording = self.recording(&redactor).await?;
        let name = format!("the plan of commit {}", planned.commit.short());
        let mode = Mode::ApplySaved { name, file: Box::new(file), verify: true };
        let reconciler = self.reconciler(target, parallelism, cancel);
        let outcome = reconciler.run(source, mode, Some(recording), &redactor, &mut Quiet).await;
        let outcome = outcome.map_err(|e| engine_error(&e, &redactor))?;
        let applied = self.applied(&outcome, &redactor);
        outcome.planned.close().await;
        Ok(applied)
    }

    /// One locked run: the plan is made under the lock, checked by `guard` through the
    /// engine's confirmation, applied and verified; the configuration is read and the
    /// gateway planned once.
    async fn deploy(
        &self,
        commit: &Commit,
        guard: &Guard<'_>,
        stop: &CancellationToken,
        cancel: CancellationToken,
    ) -> Result<Deployed, TargetError> {
        let (redactor, _registration) = self.run_redactor();
        let (source, target, parallelism) = {
            let (followed, commit) = (self.followed.clone(), commit.clone());
            blocking(ErrorKind::Config, &redactor, move || followed.read(&commit)).await?
        };
        let recording = self.recording(&redactor).await?;
        let reconciler = self.reconciler(target, parallelism, cancel);
        let mut observer = Guarded { commit, guard, stop, summary: None, refusal: None, stopped: false };
        let mode = Mode::Apply { prompt: true, verify: true };
        let outcome = reconciler.run(source, mode, Some(recording), &redactor, &mut observer).await;
        let (summary, refusal, stopped) = (observer.summary, observer.refusal, observer.stopped);
        let (planned, outcome) = match (summary, outcome) {
            (None, Err(e)) => return Err(engine_error(&e, &redactor)),
            (Some(planned), Err(e)) => {
                return Ok(Deployed::Applied { planned, result: Err(engine_error(&e, &redactor)) });
            }
            (summary, Ok(o)) => (summary.unwrap_or_else(|| summary_of(commit, &o.planned)), o),
        };
        let declined = outcome.result == RunResult::Cancelled && outcome.applied.is_none();
        let applied = self.applied(&outcome, &redactor);
        outcome.planned.close().await;
        Ok(match (declined, refusal) {
            (true, Some(reason)) => Deployed::Refused { planned, reason },
            (true, None) if stopped => Deployed::Stopped,
            _ => Deployed::Applied { planned, result: Ok(applied) },
        })
    }
}
