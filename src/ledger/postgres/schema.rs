//! PostgreSQL: versioned migrations, applied on open.
//!
//! One transaction takes `pg_advisory_xact_lock` on a key of its own, creates
//! `gateform_migrations` if needed, applies every version it lacks in order and records
//! each (`version`, `description`, `applied_ms`, `applied_by`), then commits. Runners
//! starting together queue on that lock; the first migrates, the others find nothing to
//! do. A database migrated by a newer gateform is refused ([`LedgerError::NewerSchema`]).

use tokio_postgres::Client;

use super::connect::Connector;
use crate::ledger::LedgerError;
use crate::ledger::process::{host_name, now_ms};

/// The lock key of migrations (no target can be named so).
pub const MIGRATION_KEY: &str = "\0migrations";

/// The newest schema version this build knows.
pub const SCHEMA_VERSION: i64 = 1;

/// Every version: number, description, SQL.
const MIGRATIONS: [(i64, &str, &str); SCHEMA_VERSION as usize] = [(1, "runs and locks", V1)];

const V1: &str = "
CREATE TABLE gateform_runs (
    id              BIGSERIAL PRIMARY KEY,
    command         TEXT NOT NULL,
    target          TEXT NOT NULL,
    environment     TEXT NOT NULL,
    gateway         TEXT NOT NULL,
    repository      TEXT,
    ref             TEXT,
    commit_id       TEXT,
    commit_subject  TEXT,
    source_path     TEXT,
    files           TEXT,
    plan_add        BIGINT,
    plan_change     BIGINT,
    plan_destroy    BIGINT,
    plan_digest     TEXT,
    applied         BIGINT,
    failed          BIGINT,
    not_attempted   BIGINT,
    started_ms      BIGINT NOT NULL,
    finished_ms     BIGINT,
    result          TEXT NOT NULL,
    message         TEXT,
    pid             BIGINT NOT NULL,
    pid_start       BIGINT,
    scope           TEXT,
    host            TEXT NOT NULL,
    user_name       TEXT NOT NULL,
    ci_job          TEXT
);
CREATE INDEX gateform_runs_by_target ON gateform_runs (target, finished_ms);
CREATE TABLE gateform_locks (
    key             TEXT PRIMARY KEY,
    token           TEXT NOT NULL,
    lock_id         BIGINT NOT NULL,
    backend_pid     INTEGER NOT NULL,
    pid             BIGINT NOT NULL,
    pid_start       BIGINT,
    scope           TEXT,
    host            TEXT NOT NULL,
    user_name       TEXT NOT NULL,
    command         TEXT NOT NULL,
    ci_job          TEXT,
    acquired_ms     BIGINT NOT NULL,
    drain_ms        BIGINT NOT NULL
);
";

/// Brings the schema to [`SCHEMA_VERSION`]; returns the versions this call applied.
pub async fn migrate(client: &mut Client, connector: &Connector, lock_id: i64) -> Result<Vec<i64>, LedgerError> {
    let err = |e| connector.err(e);
    let tx = client.transaction().await.map_err(err)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&lock_id]).await.map_err(err)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS gateform_migrations (
            version     BIGINT PRIMARY KEY,
            description TEXT NOT NULL,
            applied_ms  BIGINT NOT NULL,
            applied_by  TEXT NOT NULL
        )",
    )
    .await
    .map_err(err)?;
    let found: i64 =
        tx.query_one("SELECT coalesce(max(version), 0) FROM gateform_migrations", &[]).await.map_err(err)?.get(0);
    if found > SCHEMA_VERSION {
        return Err(LedgerError::NewerSchema {
            location: connector.location().to_owned(),
            found,
            known: SCHEMA_VERSION,
        });
    }
    let by = format!("{} pid {}", host_name(), std::process::id());
    let mut applied = Vec::new();
    for (version, description, sql) in MIGRATIONS {
        if version <= found {
            continue;
        }
        tx.batch_execute(sql).await.map_err(err)?;
        tx.execute(
            "INSERT INTO gateform_migrations (version, description, applied_ms, applied_by) VALUES ($1, $2, $3, $4)",
            &[&version, &description, &now_ms(), &by],
        )
        .await
        .map_err(err)?;
        applied.push(version);
    }
    tx.commit().await.map_err(err)?;
    if !applied.is_empty() {
        tracing::info!("ledger {}: applied schema versions {applied:?}", connector.location());
    }
    Ok(applied)
}
