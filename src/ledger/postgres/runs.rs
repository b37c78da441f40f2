//! PostgreSQL: the `gateform_runs` table. The same rows and answers as the SQLite
//! backend; times are stored as milliseconds since the epoch.

use tokio_postgres::{Client, Row};

use crate::ledger::process::{Liveness, format_ms, host_name, liveness, now_ms};
use crate::ledger::records::{
    LiveAt, NewRun, OutcomeCounts, PlanCounts, RunEnd, RunFilter, RunRecord, RunResult, RunSource,
};

const COLUMNS: &str = "id, command, target, environment, gateway, repository, ref, commit_id, commit_subject, \
    source_path, files, plan_add, plan_change, plan_destroy, plan_digest, applied, failed, not_attempted, \
    started_ms, finished_ms, result, message, user_name, host, pid, ci_job";

/// Runs that write to the gateway.
const WRITES: &str = "command IN ('apply', 'replay', 'watch')";

fn record(r: &Row) -> RunRecord {
    let files: Option<String> = r.get(10);
    let counts = |a: usize, b: usize, c: usize| match (
        r.get::<_, Option<i64>>(a),
        r.get::<_, Option<i64>>(b),
        r.get::<_, Option<i64>>(c),
    ) {
        (Some(a), Some(b), Some(c)) => Some((a as usize, b as usize, c as usize)),
        _ => None,
    };
    let plan = counts(11, 12, 13).map(|(add, change, destroy)| PlanCounts { add, change, destroy });
    let outcomes =
        counts(15, 16, 17).map(|(applied, failed, not_attempted)| OutcomeCounts { applied, failed, not_attempted });
    let result: String = r.get(20);
    RunRecord {
        id: r.get(0),
        command: r.get(1),
        target: r.get(2),
        environment: r.get(3),
        gateway: r.get(4),
        source: RunSource {
            repository: r.get(5),
            reference: r.get(6),
            commit: r.get(7),
            subject: r.get(8),
            path: r.get(9),
            files: files.and_then(|f| serde_json::from_str(&f).ok()).unwrap_or_default(),
        },
        plan,
        plan_digest: r.get(14),
        outcomes,
        started_at: format_ms(r.get(18)),
        finished_at: r.get::<_, Option<i64>>(19).map(format_ms),
        result: RunResult::parse(&result),
        message: r.get(21),
        user: r.get(22),
        host: r.get(23),
        pid: r.get::<_, i64>(24) as u32,
        ci_job: r.get(25),
    }
}

/// Inserts a `running` row started now; returns its id.
pub async fn begin_run(c: &Client, run: &NewRun) -> Result<i64, tokio_postgres::Error> {
    let s = &run.source;
    let files = if s.files.is_empty() { None } else { serde_json::to_string(&s.files).ok() };
    let h = &run.holder;
    let row = c
        .query_one(
            "INSERT INTO gateform_runs (command, target, environment, gateway, repository, ref, commit_id, \
             commit_subject, source_path, files, started_ms, result, pid, pid_start, scope, host, user_name, ci_job) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'running', $12, $13, $14, $15, $16, $17) \
             RETURNING id",
            &[
                &run.command,
                &run.target,
                &run.environment.as_deref().unwrap_or("-"),
                &run.gateway,
                &s.repository,
                &s.reference,
                &s.commit,
                &s.subject,
                &s.path,
                &files,
                &now_ms(),
                &i64::from(h.pid),
                &h.pid_start.map(|p| p as i64),
                &h.scope,
                &h.host,
                &h.user,
                &h.ci_job,
            ],
        )
        .await?;
    Ok(row.get(0))
}

/// Records the plan of run `id`.
pub async fn record_plan(c: &Client, id: i64, plan: PlanCounts, digest: &str) -> Result<(), tokio_postgres::Error> {
    c.execute(
        "UPDATE gateform_runs SET plan_add = $2, plan_change = $3, plan_destroy = $4, plan_digest = $5 WHERE id = $1",
        &[&id, &(plan.add as i64), &(plan.change as i64), &(plan.destroy as i64), &digest],
    )
    .await?;
    Ok(())
}

/// Records the end of run `id`.
pub async fn finish_run(c: &Client, id: i64, end: &RunEnd) -> Result<(), tokio_postgres::Error> {
    let o = end.outcomes;
    c.execute(
        "UPDATE gateform_runs SET applied = $2, failed = $3, not_attempted = $4, finished_ms = $5, result = $6, \
         message = $7 WHERE id = $1",
        &[
            &id,
            &o.map(|o| o.applied as i64),
            &o.map(|o| o.failed as i64),
            &o.map(|o| o.not_attempted as i64),
            &end.finished_ms,
            &end.result.as_str(),
            &end.message,
        ],
    )
    .await?;
    Ok(())
}

/// The runs matching `filter`, oldest first.
pub async fn runs(c: &Client, filter: &RunFilter) -> Result<Vec<RunRecord>, tokio_postgres::Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM gateform_runs WHERE ($1::text IS NULL OR environment = $1) \
         AND ($2::text IS NULL OR target = $2) ORDER BY id DESC LIMIT $3"
    );
    let limit = filter.limit.map(|l| l as i64);
    let rows = c.query(&sql, &[&filter.environment, &filter.target, &limit]).await?;
    Ok(rows.iter().rev().map(record).collect())
}

/// One run by id.
pub async fn run(c: &Client, id: i64) -> Result<Option<RunRecord>, tokio_postgres::Error> {
    let row = c.query_opt(&format!("SELECT {COLUMNS} FROM gateform_runs WHERE id = $1"), &[&id]).await?;
    Ok(row.as_ref().map(record))
}

/// See [`crate::ledger::Ledger::live_at`].
pub async fn live_at(c: &Client, target: &str, at: i64) -> Result<LiveAt, tokio_postgres::Error> {
    let live = c
        .query_opt(
            &format!(
                "SELECT {COLUMNS} FROM gateform_runs WHERE target = $1 AND {WRITES} AND result = 'success' \
                 AND finished_ms <= $2 ORDER BY finished_ms DESC, id DESC LIMIT 1"
            ),
            &[&target, &at],
        )
        .await?;
    let since = live.as_ref().and_then(|r| r.get::<_, Option<i64>>(19)).unwrap_or(i64::MIN);
    let run = live.as_ref().map(record);
    let in_progress = c
        .query(
            &format!(
                "SELECT {COLUMNS} FROM gateform_runs WHERE target = $1 AND {WRITES} AND started_ms <= $2 \
                 AND (finished_ms IS NULL OR finished_ms > $2) ORDER BY id"
            ),
            &[&target, &at],
        )
        .await?
        .iter()
        .map(record)
        .collect();
    let failed_since = c
        .query(
            &format!(
                "SELECT {COLUMNS} FROM gateform_runs WHERE target = $1 AND {WRITES} \
                 AND result IN ('failed', 'interrupted') AND started_ms >= $2 AND started_ms <= $3 \
                 AND (finished_ms IS NULL OR finished_ms <= $3) ORDER BY id"
            ),
            &[&target, &since, &at],
        )
        .await?
        .iter()
        .map(record)
        .collect();
    Ok(LiveAt { run, in_progress, failed_since })
}

/// Marks as `interrupted` the runs still `running` whose process (on this host) is gone.
pub async fn sweep_interrupted(c: &Client) -> Result<u64, tokio_postgres::Error> {
    let rows = c
        .query(
            "SELECT id, pid, pid_start, scope FROM gateform_runs WHERE result = 'running' AND host = $1",
            &[&host_name()],
        )
        .await?;
    let host = host_name();
    let mut n = 0;
    for r in rows {
        let (id, pid, start, scope): (i64, i64, Option<i64>, Option<String>) = (r.get(0), r.get(1), r.get(2), r.get(3));
        if liveness(pid as u32, start.map(|s| s as u64), &host, scope.as_deref()) == Liveness::Dead {
            n += c
                .execute(
                    "UPDATE gateform_runs SET result = 'interrupted', message = $2 WHERE id = $1 AND result = 'running'",
                    &[&id, &crate::ledger::DIED],
                )
                .await?;
        }
    }
    Ok(n)
}
