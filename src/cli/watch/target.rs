//! A [`Target`] over today's command-line pipeline (Git source, plan, lock, ledger, apply),
//! until the engine offers its own: each step reuses what `gateform apply --env NAME
//! --repo URL --ref BRANCH` does, recording runs as `watch` runs.
//!
//! Limits of this adapter (the engine's implementation lifts them): a running apply cannot
//! be cancelled (the token is ignored; shutdown waits up to its timeout), the stale-plan
//! check between plan and apply is not made, and no verification read follows the apply.

use std::path::PathBuf;

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;

use super::super::args::{GatewayArgs, GitArgs, LedgerArgs};
use super::super::pipeline::{self, compute};
use super::super::record::{self, outcome_counts};
use super::super::settings::{Request, Settings, resolve};
use crate::ledger::{OutcomeCounts, RunResult};
use crate::plan::file::plan_digest;
use crate::source::git::{self, cache_path, is_remote};
use crate::watch::{Applied, Commit, ErrorKind, Planned, Target, TargetError};

/// One environment of `gateform.toml`, followed on a branch of a repository.
pub struct CliTarget {
    /// The environment's name.
    pub name: String,
    /// The repository: a local path or a remote URL.
    pub repository: String,
    /// The branch followed.
    pub reference: String,
    /// Where remote repositories are mirrored.
    pub cache_dir: PathBuf,
    /// The ledger (`--ledger`), or the default.
    pub ledger: Option<PathBuf>,
}

/// What `plan` hands to `apply`.
struct Engine {
    settings: Settings,
    planned: pipeline::Planned,
}

fn err(kind: ErrorKind, e: &anyhow::Error) -> TargetError {
    TargetError::new(kind, super::super::output::scrub(&format!("{e:#}")))
}

async fn blocking<T: Send + 'static>(
    kind: ErrorKind,
    f: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> Result<T, TargetError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(|e| err(kind, &e)),
        Err(e) => Err(TargetError::new(ErrorKind::Other, format!("a blocking task failed: {e}"))),
    }
}

impl CliTarget {
    fn settings(&self, commit: &str) -> anyhow::Result<Settings> {
        let git = GitArgs {
            repo: Some(self.repository.clone()),
            git_ref: Some(self.reference.clone()),
            path: None,
            cache_dir: Some(self.cache_dir.clone()),
        };
        let gateway = GatewayArgs { gateway: None, headers: Vec::new(), timeout: 30 };
        resolve(&Request {
            files: &[],
            select_tags: &[],
            git: &git,
            env: Some(&self.name),
            gateway: &gateway,
            parallelism: None,
            git_always: true,
            pinned_commit: Some(commit),
        })
    }

    fn open_local(&self) -> anyhow::Result<git2::Repository> {
        if is_remote(&self.repository) {
            Ok(git2::Repository::open_bare(cache_path(&self.cache_dir, &self.repository))?)
        } else {
            Ok(git2::Repository::discover(&self.repository)?)
        }
    }
}

#[async_trait::async_trait]
impl Target for CliTarget {
    fn name(&self) -> &str {
        &self.name
    }

    async fn head(&self) -> Result<Commit, TargetError> {
        let (repository, reference, cache) = (self.repository.clone(), self.reference.clone(), self.cache_dir.clone());
        blocking(ErrorKind::Fetch, move || {
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
        let repo = self.open_local().map_err(|e| err(ErrorKind::Fetch, &e))?;
        let (Ok(c), Ok(a)) = (git2::Oid::from_str(commit), git2::Oid::from_str(ancestor)) else { return Ok(false) };
        Ok(repo.graph_descendant_of(c, a).unwrap_or(false))
    }

    async fn plan(&self, commit: &Commit) -> Result<Planned, TargetError> {
        let (this, id) = (self.clone_spec(), commit.id.clone());
        let settings = blocking(ErrorKind::Config, move || this.settings(&id)).await?;
        // Today's pipeline futures are not `Send`: run them on a blocking thread.
        let handle = tokio::runtime::Handle::current();
        let (settings, planned) = blocking(ErrorKind::Gateway, move || {
            let planned = handle.block_on(compute(&settings))?;
            Ok((settings, planned))
        })
        .await?;
        let s = planned.prepared.plan.summary();
        let live = planned.prepared.live.state.entities.len();
        Ok(Planned {
            commit: commit.clone(),
            add: s.add,
            change: s.change,
            destroy: s.destroy,
            live_entities: live,
            // Every desired entity matches a live one or is created; unmatched live ones are destroyed.
            desired_entities: (live + s.add).saturating_sub(s.destroy),
            digest: plan_digest(&planned.prepared.plan),
            engine: Box::new(Engine { settings, planned }),
        })
    }

    async fn apply(&self, planned: Planned, _cancel: CancellationToken) -> Result<Applied, TargetError> {
        let Ok(engine) = planned.engine.downcast::<Engine>() else {
            return Err(TargetError::new(ErrorKind::Other, "a plan from another target"));
        };
        let Engine { settings, planned } = *engine;
        let ledger = self.ledger.clone();
        let handle = tokio::runtime::Handle::current();
        let joined = tokio::task::spawn_blocking(move || {
            handle.block_on(async {
                let result = apply_planned(&settings, &planned, ledger).await;
                planned.conn.close().await;
                result
            })
        })
        .await;
        joined.unwrap_or_else(|e| Err(TargetError::new(ErrorKind::Other, format!("the apply task failed: {e}"))))
    }
}

impl CliTarget {
    fn clone_spec(&self) -> CliTarget {
        CliTarget {
            name: self.name.clone(),
            repository: self.repository.clone(),
            reference: self.reference.clone(),
            cache_dir: self.cache_dir.clone(),
            ledger: self.ledger.clone(),
        }
    }
}

async fn apply_planned(
    settings: &Settings,
    planned: &pipeline::Planned,
    ledger: Option<PathBuf>,
) -> Result<Applied, TargetError> {
    let args = LedgerArgs { ledger, lock_timeout: 0 };
    let recorder = record::start(settings, &args, "watch").map_err(|e| {
        let kind = if format!("{e:#}").contains("is locked by") { ErrorKind::Locked } else { ErrorKind::Other };
        err(kind, &e)
    })?;
    let run_id = recorder.id();
    let p = &planned.prepared;
    recorder.plan(&p.plan);
    if p.live.info.db_less && !p.plan.is_empty() {
        let message = "the gateway runs without a database (DB-less): its entities cannot be written one by one";
        recorder.finish(None, RunResult::Failed, Some(message));
        return Err(TargetError::new(ErrorKind::Gateway, message));
    }
    if p.plan.is_empty() {
        recorder.finish(Some(OutcomeCounts::default()), RunResult::Success, None);
        return Ok(Applied { run_id, applied: 0, failed: 0, not_attempted: 0, cancelled: false, message: None });
    }
    let report = crate::apply::apply(&planned.conn.client, &p.schedule, settings.parallelism, &mut |_| {}).await;
    let counts = outcome_counts(&p.plan, &p.schedule, &report);
    let message = (!report.success())
        .then(|| format!("{} change(s) failed, {} not attempted", counts.failed, counts.not_attempted));
    let result = if report.success() { RunResult::Success } else { RunResult::Failed };
    recorder.finish(Some(counts), result, message.as_deref());
    Ok(Applied {
        run_id,
        applied: counts.applied,
        failed: counts.failed,
        not_attempted: counts.not_attempted,
        cancelled: false,
        message,
    })
}

/// Reads `gateform.toml` at the head of `reference` of `repository`; also returns the
/// local repository's root (where the default ledger lives).
pub fn read_settings_file(
    repository: &str,
    reference: &str,
    cache_dir: &std::path::Path,
) -> anyhow::Result<(crate::source::Input, Option<PathBuf>)> {
    use crate::source::environments::FILE_NAME;
    let repo = git::open(repository, cache_dir)?;
    let resolved = repo.resolve(reference)?;
    let input = repo.read_file(&resolved, FILE_NAME)?.with_context(|| {
        format!("{repository} has no {FILE_NAME} at {reference}: it names the environments to watch")
    })?;
    Ok((input, repo.home.clone()))
}
