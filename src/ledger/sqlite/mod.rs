//! The SQLite backend: one file (default `.gateform/ledger.db`) in WAL mode, for one
//! machine or a shared workspace.
//!
//! * `runs`: one row per run, inserted when it starts (result `running`) and completed by
//!   single-statement updates, so a reader never sees a half-written row.
//! * `locks`: at most one row per target, naming its holder, with a lease its heartbeat
//!   renews ([`lock`]).
//!
//! Times are RFC 3339 UTC text with milliseconds (fixed width, so their text order is
//! their time order). The schema is migrated on open, inside `BEGIN IMMEDIATE`, by
//! `PRAGMA user_version`, so two processes opening a new file migrate it once. The
//! connection is synchronous; every call runs on tokio's blocking pool.

mod lock;
mod runs;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::lock::{LockEvent, LockGuard, LockInfo, LockOptions, Waiter, loss_channel, staleness};
use super::process::{Holder, now_ms};
use super::records::{LiveAt, NewRun, PlanCounts, RunEnd, RunFilter, RunRecord};
use super::{Ledger, LedgerError};

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = 3;

/// An open SQLite ledger.
#[derive(Clone)]
pub struct SqliteLedger {
    conn: Arc<Mutex<Connection>>,
    path: PathBuf,
}

impl std::fmt::Debug for SqliteLedger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteLedger").field("path", &self.path).finish()
    }
}

impl SqliteLedger {
    /// Opens (creating it and its directory when missing) the ledger at `path`, migrates
    /// its schema, and marks as `interrupted` the runs left `running` by processes of this
    /// host that no longer exist. A new `.gateform` directory gets a `.gitignore` of `*`,
    /// so a ledger inside a work tree never shows up in `git status`.
    pub async fn open(path: &Path) -> Result<SqliteLedger, LedgerError> {
        let path = path.to_path_buf();
        let p = path.clone();
        let conn = tokio::task::spawn_blocking(move || open_file(&p))
            .await
            .map_err(|e| LedgerError::Io { path: path.clone(), source: std::io::Error::other(e) })??;
        Ok(SqliteLedger { conn: Arc::new(Mutex::new(conn)), path })
    }

    /// [`SqliteLedger::open`] of an owned path (for spawned tasks).
    pub async fn open_owned(path: PathBuf) -> Result<SqliteLedger, LedgerError> {
        SqliteLedger::open(&path).await
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on the connection on the blocking pool.
    async fn blocking<T, F>(&self, f: F) -> Result<T, LedgerError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let conn = self.conn.clone();
        let path = self.path.clone();
        let joined = tokio::task::spawn_blocking(move || {
            let mut c = conn.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut c)
        })
        .await;
        match joined {
            Ok(r) => r.map_err(|source| LedgerError::Sqlite { path, source }),
            Err(e) => Err(LedgerError::Io { path, source: std::io::Error::other(e) }),
        }
    }

    /// Runs raw SQL (tests and repairs).
    #[cfg(test)]
    pub(crate) async fn execute(&self, sql: &'static str) -> Result<usize, LedgerError> {
        self.blocking(move |c| c.execute(sql, [])).await
    }
}

/// Switches `conn` to WAL. SQLite answers a journal-mode change that another connection's
/// lock blocks with `SQLITE_BUSY` at once, without its busy handler (two processes opening a
/// new file together), so the switch is retried for up to 10 s.
fn wal_mode(conn: &Connection) -> rusqlite::Result<String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        match conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0)) {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

fn open_file(path: &Path) -> Result<Connection, LedgerError> {
    let err = |source| LedgerError::Sqlite { path: path.to_path_buf(), source };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.exists()
    {
        std::fs::create_dir_all(dir).map_err(|source| LedgerError::Io { path: dir.to_path_buf(), source })?;
        if dir.file_name().is_some_and(|n| n == ".gateform") {
            let _ = std::fs::write(dir.join(".gitignore"), "*\n");
        }
    }
    let mut conn = Connection::open(path).map_err(err)?;
    conn.busy_timeout(Duration::from_secs(10)).map_err(err)?;
    let mode = wal_mode(&conn).map_err(err)?;
    tracing::debug!("ledger journal mode: {mode}");
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(err)?;
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(err)?;
    if version > SCHEMA_VERSION {
        return Err(LedgerError::NewerSchema {
            location: path.display().to_string(),
            found: version,
            known: SCHEMA_VERSION,
        });
    }
    for (v, sql) in MIGRATIONS.iter().enumerate() {
        if version < v as i64 + 1 {
            tx.execute_batch(sql).map_err(err)?;
        }
    }
    tx.commit().map_err(err)?;
    runs::sweep_interrupted(&conn).map_err(err)?;
    Ok(conn)
}

impl Ledger for SqliteLedger {
    fn location(&self) -> String {
        self.path.display().to_string()
    }

    async fn begin_run(&self, run: NewRun) -> Result<i64, LedgerError> {
        self.blocking(move |c| runs::begin_run(c, &run)).await
    }

    async fn record_plan(&self, id: i64, plan: PlanCounts, digest: String) -> Result<(), LedgerError> {
        self.blocking(move |c| runs::record_plan(c, id, plan, &digest)).await
    }

    async fn finish_run(&self, id: i64, end: RunEnd) -> Result<(), LedgerError> {
        self.blocking(move |c| runs::finish_run(c, id, &end)).await
    }

    async fn runs(&self, filter: RunFilter) -> Result<Vec<RunRecord>, LedgerError> {
        self.blocking(move |c| runs::runs(c, &filter)).await
    }

    async fn run(&self, id: i64) -> Result<Option<RunRecord>, LedgerError> {
        self.blocking(move |c| runs::run(c, id)).await
    }

    async fn live_at(&self, target: &str, at_ms: i64) -> Result<LiveAt, LedgerError> {
        let target = target.to_owned();
        self.blocking(move |c| runs::live_at(c, &target, at_ms)).await
    }

    async fn acquire(
        &self,
        key: &str,
        holder: &Holder,
        opts: LockOptions,
        on_event: &mut (dyn FnMut(LockEvent<'_>) + Send),
    ) -> Result<LockGuard, LedgerError> {
        let mut waiter = Waiter::new();
        let token = uuid::Uuid::new_v4().to_string();
        loop {
            let (k, t, h) = (key.to_owned(), token.clone(), holder.clone());
            match self.blocking(move |c| lock::try_acquire(c, &k, &t, &h, opts.lease)).await? {
                lock::Attempt::Got(took_over) => {
                    if let Some((info, why)) = &took_over {
                        on_event(LockEvent::TookOver(info, *why));
                    }
                    return self.start_heartbeat(key, token, &opts).await;
                }
                lock::Attempt::Held(current) => waiter.held(key, Some(current), &opts, on_event).await?,
            }
        }
    }

    async fn locks(&self) -> Result<Vec<LockInfo>, LedgerError> {
        self.blocking(|c| lock::locks(c)).await
    }

    async fn holder(&self, key: &str) -> Result<Option<LockInfo>, LedgerError> {
        let key = key.to_owned();
        let row = self.blocking(move |c| lock::lock(c, &key)).await?;
        Ok(row.filter(|r| staleness(r, now_ms()).is_none()))
    }

    async fn force_unlock(&self, key: &str) -> Result<Option<LockInfo>, LedgerError> {
        let key = key.to_owned();
        self.blocking(move |c| lock::remove(c, &key)).await
    }
}

impl SqliteLedger {
    async fn start_heartbeat(&self, key: &str, token: String, opts: &LockOptions) -> Result<LockGuard, LedgerError> {
        let path = self.path.clone();
        let conn = tokio::task::spawn_blocking(move || {
            let conn = Connection::open(&path)?;
            conn.busy_timeout(Duration::from_secs(10))?;
            Ok(conn)
        })
        .await
        .map_err(|e| LedgerError::Io { path: self.path.clone(), source: std::io::Error::other(e) })?
        .map_err(|source| LedgerError::Sqlite { path: self.path.clone(), source })?;
        let (lost_tx, lost) = loss_channel();
        let (stop_tx, stop_rx) = oneshot::channel();
        let (done_tx, done_rx) = oneshot::channel();
        let beat = lock::Beat { lease: opts.lease, every: opts.heartbeat.min(opts.lease / 3) };
        tokio::spawn(lock::heartbeat(conn, key.to_owned(), token, beat, lost_tx, stop_rx, done_tx));
        Ok(LockGuard::new(key, lost, stop_tx, done_rx))
    }
}

/// The schema, one migration per version (`PRAGMA user_version` counts them).
const MIGRATIONS: [&str; SCHEMA_VERSION as usize] = [SCHEMA_V1, SCHEMA_V2, SCHEMA_V3];

/// Version 1 of the schema.
pub(crate) const SCHEMA_V1: &str = "
CREATE TABLE IF NOT EXISTS runs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
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
    plan_add        INTEGER,
    plan_change     INTEGER,
    plan_destroy    INTEGER,
    plan_digest     TEXT,
    applied         INTEGER,
    failed          INTEGER,
    not_attempted   INTEGER,
    started_at      TEXT NOT NULL,
    finished_at     TEXT,
    result          TEXT NOT NULL,
    message         TEXT,
    pid             INTEGER NOT NULL,
    pid_start       INTEGER,
    host            TEXT NOT NULL,
    user            TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_target ON runs (target, finished_at);
CREATE TABLE IF NOT EXISTS locks (
    key             TEXT PRIMARY KEY,
    token           TEXT NOT NULL,
    pid             INTEGER NOT NULL,
    pid_start       INTEGER,
    host            TEXT NOT NULL,
    user            TEXT NOT NULL,
    command         TEXT NOT NULL,
    acquired_at     TEXT NOT NULL,
    renewed_at      TEXT NOT NULL,
    lease_until_ms  INTEGER NOT NULL
);
PRAGMA user_version = 1;
";

/// Version 2: where a holder's pid means something (boot and pid namespace).
const SCHEMA_V2: &str = "
ALTER TABLE runs ADD COLUMN scope TEXT;
ALTER TABLE locks ADD COLUMN scope TEXT;
PRAGMA user_version = 2;
";

/// Version 3: the CI job of a run and of a lock holder.
const SCHEMA_V3: &str = "
ALTER TABLE runs ADD COLUMN ci_job TEXT;
ALTER TABLE locks ADD COLUMN ci_job TEXT;
PRAGMA user_version = 3;
";
