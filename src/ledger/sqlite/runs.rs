//! SQLite: the `runs` table (synchronous; [`super::SqliteLedger`] calls these on the
//! blocking pool).

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::ledger::process::{Liveness, format_ms, liveness, now};
use crate::ledger::records::{
    LiveAt, NewRun, OutcomeCounts, PlanCounts, RunEnd, RunFilter, RunRecord, RunResult, RunSource,
};

const COLUMNS: &str = "id, command, target, environment, gateway, repository, ref, commit_id, commit_subject, \
    source_path, files, plan_add, plan_change, plan_destroy, plan_digest, applied, failed, not_attempted, \
    started_at, finished_at, result, message, user, host, pid, ci_job";

/// `command IN ('apply', 'replay', 'watch')`: runs that write to the gateway.
const WRITES: &str = "command IN ('apply', 'replay', 'watch')";

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
        ci_job: r.get(25)?,
    })
}

/// Inserts a `running` row started now; returns its id.
pub fn begin_run(conn: &Connection, run: &NewRun) -> rusqlite::Result<i64> {
    let s = &run.source;
    let files = if s.files.is_empty() { None } else { serde_json::to_string(&s.files).ok() };
    let h = &run.holder;
    conn.execute(
        "INSERT INTO runs (command, target, environment, gateway, repository, ref, commit_id, commit_subject, \
         source_path, files, started_at, result, pid, pid_start, scope, host, user, ci_job) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 'running', ?12, ?13, ?14, ?15, ?16, ?17)",
        params![
            run.command,
            run.target,
            run.environment.as_deref().unwrap_or("-"),
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
            h.user,
            h.ci_job,
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

/// Records the plan of run `id`.
pub fn record_plan(conn: &Connection, id: i64, plan: PlanCounts, digest: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE runs SET plan_add = ?2, plan_change = ?3, plan_destroy = ?4, plan_digest = ?5 WHERE id = ?1",
        params![id, plan.add as i64, plan.change as i64, plan.destroy as i64, digest],
    )?;
    Ok(())
}

/// Records the end of run `id`.
pub fn finish_run(conn: &Connection, id: i64, end: &RunEnd) -> rusqlite::Result<()> {
    let o = end.outcomes;
    conn.execute(
        "UPDATE runs SET applied = ?2, failed = ?3, not_attempted = ?4, finished_at = ?5, result = ?6, \
         message = ?7 WHERE id = ?1",
        params![
            id,
            o.map(|o| o.applied as i64),
            o.map(|o| o.failed as i64),
            o.map(|o| o.not_attempted as i64),
            format_ms(end.finished_ms),
            end.result.as_str(),
            end.message
        ],
    )?;
    Ok(())
}

/// The runs matching `filter`, oldest first.
pub fn runs(conn: &Connection, filter: &RunFilter) -> rusqlite::Result<Vec<RunRecord>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM runs WHERE (?1 IS NULL OR environment = ?1) AND (?2 IS NULL OR target = ?2) \
         ORDER BY id DESC LIMIT ?3"
    );
    let limit = filter.limit.map_or(-1, |l| l as i64);
    let mut stmt = conn.prepare(&sql)?;
    let rows =
        stmt.query_map(params![filter.environment, filter.target, limit], record)?.collect::<Result<Vec<_>, _>>()?;
    Ok(rows.into_iter().rev().collect())
}

/// One run by id.
pub fn run(conn: &Connection, id: i64) -> rusqlite::Result<Option<RunRecord>> {
    conn.query_row(&format!("SELECT {COLUMNS} FROM runs WHERE id = ?1"), [id], record).optional()
}

/// See [`crate::ledger::Ledger::live_at`].
pub fn live_at(conn: &Connection, target: &str, at_ms: i64) -> rusqlite::Result<LiveAt> {
    let at = format_ms(at_ms);
    let query = |sql: &str, args: &[&dyn rusqlite::ToSql]| -> rusqlite::Result<Vec<RunRecord>> {
        let mut stmt = conn.prepare(sql)?;
        stmt.query_map(args, record)?.collect()
    };
    let run = query(
        &format!(
            "SELECT {COLUMNS} FROM runs WHERE target = ?1 AND {WRITES} AND result = 'success' AND finished_at <= ?2 \
             ORDER BY finished_at DESC, id DESC LIMIT 1"
        ),
        &[&target, &at],
    )?
    .into_iter()
    .next();
    let in_progress = query(
        &format!(
            "SELECT {COLUMNS} FROM runs WHERE target = ?1 AND {WRITES} AND started_at <= ?2 \
             AND (finished_at IS NULL OR finished_at > ?2) ORDER BY id"
        ),
        &[&target, &at],
    )?;
    let since = run.as_ref().and_then(|r| r.finished_at.clone()).unwrap_or_default();
    let failed_since = query(
        &format!(
            "SELECT {COLUMNS} FROM runs WHERE target = ?1 AND {WRITES} AND result IN ('failed', 'interrupted') \
             AND started_at >= ?2 AND started_at <= ?3 AND (finished_at IS NULL OR finished_at <= ?3) ORDER BY id"
        ),
        &[&target, &since, &at],
    )?;
    Ok(LiveAt { run, in_progress, failed_since })
}

/// Marks as `interrupted` the runs still `running` whose process (on this host) is gone.
pub fn sweep_interrupted(conn: &Connection) -> rusqlite::Result<usize> {
    let mut stmt = conn.prepare("SELECT id, pid, pid_start, host, scope FROM runs WHERE result = 'running'")?;
    type Row = (i64, i64, Option<i64>, String, Option<String>);
    let rows: Vec<Row> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?
        .collect::<Result<_, _>>()?;
    let mut n = 0;
    for (id, pid, start, host, scope) in rows {
        if liveness(pid as u32, start.map(|s| s as u64), &host, scope.as_deref()) == Liveness::Dead {
            n += conn.execute(
                "UPDATE runs SET result = 'interrupted', message = ?2 WHERE id = ?1 AND result = 'running'",
                params![id, crate::ledger::DIED],
            )?;
        }
    }
    Ok(n)
}
