//! Runs: one row per apply or replay.

use rusqlite::{OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};

use super::process::{Holder, Liveness, liveness, now};
use super::{Ledger, LedgerError};

/// How a run ended (or that it has not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunResult {
    /// Still running (or its process died and nobody noticed yet).
    Running,
    /// Everything was applied (and, for a replay, verified).
    Success,
    /// The plan could not be computed, or some change failed.
    Failed,
    /// A replay applied everything, but the fresh plan afterwards was not empty.
    VerificationFailed,
    /// The process ended without finishing (killed, crashed, interrupted).
    Interrupted,
    /// The user declined the plan.
    Cancelled,
}

impl RunResult {
    /// `running`, `success`, `failed`, `verification-failed`, `interrupted`, `cancelled`.
    pub fn as_str(self) -> &'static str {
        match self {
            RunResult::Running => "running",
            RunResult::Success => "success",
            RunResult::Failed => "failed",
            RunResult::VerificationFailed => "verification-failed",
            RunResult::Interrupted => "interrupted",
            RunResult::Cancelled => "cancelled",
        }
    }

    fn parse(s: &str) -> RunResult {
        match s {
            "success" => RunResult::Success,
            "failed" => RunResult::Failed,
            "verification-failed" => RunResult::VerificationFailed,
            "interrupted" => RunResult::Interrupted,
            "cancelled" => RunResult::Cancelled,
            _ => RunResult::Running,
        }
    }
}

/// Where a run's configuration came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSource {
    /// The repository (path or URL), for Git sources.
    pub repository: Option<String>,
    /// The revision as given.
    #[serde(rename = "ref")]
    pub reference: Option<String>,
    /// The resolved commit id.
    pub commit: Option<String>,
    /// The commit's subject.
    pub subject: Option<String>,
    /// The sub-directory read.
    pub path: Option<String>,
    /// The `-s` files, for file sources.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub files: Vec<String>,
}

/// A run about to start.
#[derive(Debug, Clone)]
pub struct NewRun<'a> {
    /// `apply` or `replay`.
    pub command: &'a str,
    /// The lock key: the environment name, or the gateway URL without one.
    pub target: &'a str,
    /// The environment's name, if one was named.
    pub environment: Option<&'a str>,
    /// The gateway address (`sandbox` for an in-process sandbox).
    pub gateway: &'a str,
    /// The configuration's source.
    pub source: &'a RunSource,
    /// Who runs it.
    pub holder: &'a Holder,
}

/// Counts of a plan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanCounts {
    /// Entities to create.
    pub add: usize,
    /// Entities to update.
    pub change: usize,
    /// Entities to delete.
    pub destroy: usize,
}

/// What happened to a plan's changes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeCounts {
    /// Changes fully applied.
    pub applied: usize,
    /// Changes that failed.
    pub failed: usize,
    /// Changes not (or only partly) attempted because something else failed first.
    pub not_attempted: usize,
}

/// One row of the history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    /// Row id, increasing.
    pub id: i64,
    /// `apply` or `replay`.
    pub command: String,
    /// The lock key (environment name or gateway URL).
    pub target: String,
    /// The environment's name, or `-`.
    pub environment: String,
    /// The gateway address.
    pub gateway: String,
    /// The configuration's source.
    pub source: RunSource,
    /// The plan's counts, once computed.
    pub plan: Option<PlanCounts>,
    /// The plan's digest (SHA-256 hex of its changes, as saved plans record it), once computed.
    pub plan_digest: Option<String>,
    /// Per-change outcomes, once applied.
    pub outcomes: Option<OutcomeCounts>,
    /// Start time (RFC 3339 UTC).
    pub started_at: String,
    /// End time (RFC 3339 UTC), once finished.
    pub finished_at: Option<String>,
    /// The result.
    pub result: RunResult,
    /// The error, for failed runs.
    pub message: Option<String>,
    /// Who ran it.
    pub user: String,
    /// Where.
    pub host: String,
    /// Process id.
    pub pid: u32,
}

/// Which runs to list.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    /// Only this environment.
    pub environment: Option<String>,
    /// Only this target (environment name or gateway URL).
    pub target: Option<String>,
    /// At most this many, the latest (`None`: all).
    pub limit: Option<usize>,
}

/// What [`Ledger::live_at`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LiveAt {
    /// The last successful run that had finished by then: its commit was live.
    pub run: Option<RunRecord>,
    /// Runs that were under way at that moment (started before, finished after or never).
    pub in_progress: Vec<RunRecord>,
    /// Runs that failed after [`LiveAt::run`] and before that moment: the gateway may
    /// have been partly updated by them.
    pub failed_since: Vec<RunRecord>,
}

const COLUMNS: &str = "id, command, target, environment, gateway, repository, ref, commit_id, commit_subject, \
    source_path, files, plan_add, plan_change, plan_destroy, plan_digest, applied, failed, not_attempted, \
    started_at, finished_at, result, message, user, host, pid";

fn record(r: &Row<'_>) -> rusqlite::Result<RunRecord> {
    let files: Option<String> = r.get(10)?;
    let counts = |a: Option<i64>, b: Option<i64>, c: Option<i64>| match (a, b, c) {
        (Some(a), Some(b), Some(c)) => Some((a as usize, b as usize, c as usize)),
        _ => None,
    };
    let plan =
        counts(r.get(11)?, r.get(12)?, r.get(13)?).map(|(add, change, destroy)| PlanCounts { add, change, destroy });
    let outcomes = counts(r.get(15)?, r.get(16)?, r.get(17)?).map(|(applied, failed, not_attempted)| OutcomeCounts {
        applied,
        failed,
        not_attempted,
    });
    let result: String = r.get(20)?;
    Ok(RunRecord {
        id: r.get(0)?,
        command: r.get(1)?,
        target: r.get(2)?,
        environment: r.get(3)?,
        gateway: r.get(4)?,
        source: RunSource {
            repository: r.get(5)?,
            reference: r.get(6)?,
            commit: r.get(7)?,
            subject: r.get(8)?,
            path: r.get(9)?,
            files: files.and_then(|f| serde_json::from_str(&f).ok()).unwrap_or_default(),
        },
        plan,
        plan_digest: r.get(14)?,
        outcomes,
        started_at: r.get(18)?,
        finished_at: r.get(19)?,
        result: RunResult::parse(&result),
        message: r.get(21)?,
        user: r.get(22)?,
        host: r.get(23)?,
        pid: r.get::<_, i64>(24)? as u32,
    })
}

impl Ledger {
    /// Records the start of a run (result `running`, started now); returns its id.
    pub fn begin_run(&self, run: &NewRun<'_>) -> Result<i64, LedgerError> {
        let s = run.source;
        let files = if s.files.is_empty() { None } else { serde_json::to_string(&s.files).ok() };
        let h = run.holder;
        self.conn
            .execute(
                "INSERT INTO runs (command, target, environment, gateway, repository, ref, commit_id, commit_subject, \
                 source_path, files, started_at, result, pid, pid_start, scope, host, user) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'running', ?12, ?13, ?14, ?15, ?16)",
                params![
                    run.command,
                    run.target,
                    run.environment.unwrap_or("-"),
                    run.gateway,
                    s.repository,
                    s.reference,
                    s.commit,
                    s.subject,
                    s.path,
                    files,
                    now(),
                    h.pid,
                    h.pid_start.map(|p| p as i64),
                    h.scope,
                    h.host,
                    h.user
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Records the plan of run `id`: its counts and digest.
    pub fn record_plan(&self, id: i64, plan: PlanCounts, digest: &str) -> Result<(), LedgerError> {
        self.conn
            .execute(
                "UPDATE runs SET plan_add = ?2, plan_change = ?3, plan_destroy = ?4, plan_digest = ?5 WHERE id = ?1",
                params![id, plan.add as i64, plan.change as i64, plan.destroy as i64, digest],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Records the end of run `id`, now: its outcome counts (when it applied anything),
    /// result and error message.
    pub fn finish_run(
        &self,
        id: i64,
        outcomes: Option<OutcomeCounts>,
        result: RunResult,
        message: Option<&str>,
    ) -> Result<(), LedgerError> {
        let (a, f, n) = match outcomes {
            Some(o) => (Some(o.applied as i64), Some(o.failed as i64), Some(o.not_attempted as i64)),
            None => (None, None, None),
        };
        self.conn
            .execute(
                "UPDATE runs SET applied = ?2, failed = ?3, not_attempted = ?4, finished_at = ?5, result = ?6, \
                 message = ?7 WHERE id = ?1",
                params![id, a, f, n, now(), result.as_str(), message],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The runs matching `filter`, oldest first.
    pub fn runs(&self, filter: &RunFilter) -> Result<Vec<RunRecord>, LedgerError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM runs WHERE (?1 IS NULL OR environment = ?1) AND (?2 IS NULL OR target = ?2) \
             ORDER BY id DESC LIMIT ?3"
        );
        let limit = filter.limit.map_or(-1, |l| l as i64);
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![filter.environment, filter.target, limit], record)
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| self.err(e))?;
        Ok(rows.into_iter().rev().collect())
    }

    /// One run by id.
    pub fn run(&self, id: i64) -> Result<Option<RunRecord>, LedgerError> {
        self.conn
            .query_row(&format!("SELECT {COLUMNS} FROM runs WHERE id = ?1"), [id], record)
            .optional()
            .map_err(|e| self.err(e))
    }

    /// What was live on `target` at `at` (RFC 3339 UTC as [`super::format_ms`] writes it):
    /// the last successful run that finished at or before `at` (a run still under way at
    /// that moment had not made its commit live yet), plus the runs that were under way
    /// then and the failed ones in between, which may have changed the gateway partly.
    pub fn live_at(&self, target: &str, at: &str) -> Result<LiveAt, LedgerError> {
        let query = |sql: &str, args: &[&dyn rusqlite::ToSql]| -> Result<Vec<RunRecord>, LedgerError> {
            let mut stmt = self.conn.prepare(sql).map_err(|e| self.err(e))?;
            stmt.query_map(args, record).and_then(|r| r.collect::<Result<Vec<_>, _>>()).map_err(|e| self.err(e))
        };
        let run = query(
            &format!(
                "SELECT {COLUMNS} FROM runs WHERE target = ?1 AND result = 'success' AND finished_at <= ?2 \
                 ORDER BY finished_at DESC, id DESC LIMIT 1"
            ),
            &[&target, &at],
        )?
        .into_iter()
        .next();
        let in_progress = query(
            &format!(
                "SELECT {COLUMNS} FROM runs WHERE target = ?1 AND started_at <= ?2 \
                 AND (finished_at IS NULL OR finished_at > ?2) ORDER BY id"
            ),
            &[&target, &at],
        )?;
        let since = run.as_ref().and_then(|r| r.finished_at.clone()).unwrap_or_default();
        let failed_since = query(
            &format!(
                "SELECT {COLUMNS} FROM runs WHERE target = ?1 AND result IN ('failed', 'interrupted') \
                 AND started_at >= ?2 AND started_at <= ?3 AND (finished_at IS NULL OR finished_at <= ?3) ORDER BY id"
            ),
            &[&target, &since, &at],
        )?;
        Ok(LiveAt { run, in_progress, failed_since })
    }

    /// Marks as `interrupted` the runs still `running` whose process (on this host) is gone.
    pub(super) fn sweep_interrupted(&self) -> Result<usize, LedgerError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, pid, pid_start, host, scope FROM runs WHERE result = 'running'")
            .map_err(|e| self.err(e))?;
        type Row = (i64, i64, Option<i64>, String, Option<String>);
        let rows: Vec<Row> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
            .and_then(|r| r.collect())
            .map_err(|e| self.err(e))?;
        let mut n = 0;
        for (id, pid, start, host, scope) in rows {
            if liveness(pid as u32, start.map(|s| s as u64), &host, scope.as_deref()) == Liveness::Dead {
                n += self.interrupt(id, "the process ended before the run finished (killed or crashed)")?;
            }
        }
        Ok(n)
    }

    /// Marks run `id` `interrupted` if it is still `running`; returns 1 when it was.
    pub(super) fn interrupt(&self, id: i64, why: &str) -> Result<usize, LedgerError> {
        self.conn
            .execute(
                "UPDATE runs SET result = 'interrupted', message = ?2 WHERE id = ?1 AND result = 'running'",
                params![id, why],
            )
            .map_err(|e| self.err(e))
    }
}
