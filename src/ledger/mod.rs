//! The apply history (an embedded SQLite ledger) and environment locks.
//!
//! One SQLite file (default `.gateform/ledger.db`) in WAL mode holds two tables:
//!
//! * `runs`: one row per apply or replay, inserted when it starts (result `running`),
//!   completed by single-statement updates (the plan once computed, the outcome at the end),
//!   so a reader never sees a half-written row. A run whose process died is marked
//!   `interrupted` by the next process that notices (see [`Ledger::open`] and [`lock`]).
//! * `locks`: at most one row per target (an environment name, or a gateway URL when no
//!   environment is named), holding the holder's process, host, user and command and a
//!   lease its heartbeat renews. See [`lock`].
//!
//! Times are RFC 3339 UTC with milliseconds (`2026-11-01T12:00:00.000Z`): fixed width, so
//! their text order is their time order. The schema is created or migrated on open
//! (`PRAGMA user_version`).

pub mod lock;
pub mod process;
mod runs;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;

pub use lock::{LockEvent, LockGuard, LockInfo, LockOptions, Staleness};
pub use process::{Holder, Liveness, format_ms, now, now_ms, parse_time, process_scope};
pub use runs::{LiveAt, NewRun, OutcomeCounts, PlanCounts, RunFilter, RunRecord, RunResult, RunSource};

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = 2;

/// A ledger failure.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The database could not be opened, read or written.
    #[error("ledger {path}: {source}")]
    Sqlite {
        /// The ledger file.
        path: PathBuf,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// The ledger's directory could not be created.
    #[error("cannot create the ledger directory {path}: {source}")]
    Io {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file was written by a newer gateform.
    #[error("ledger {path} has schema version {found}; this gateform knows up to {SCHEMA_VERSION}: upgrade gateform")]
    NewerSchema {
        /// The ledger file.
        path: PathBuf,
        /// The version found.
        found: i64,
    },
    /// The target is locked by a live holder (and stayed so for the whole timeout).
    #[error("{key} is locked by {holder}")]
    Locked {
        /// The lock's key (environment name or gateway URL).
        key: String,
        /// Who holds it.
        holder: Box<LockInfo>,
        /// How long this process waited.
        waited: Duration,
    },
}

/// An open ledger.
pub struct Ledger {
    conn: Connection,
    path: PathBuf,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger").field("path", &self.path).finish()
    }
}

impl Ledger {
    /// Opens (creating it and its directory when missing) the ledger at `path`, migrates
    /// its schema, and marks as `interrupted` the runs left `running` by processes of this
    /// host that no longer exist. A new `.gateform` directory gets a `.gitignore` of `*`,
    /// so a ledger inside a work tree never shows up in `git status`.
    pub fn open(path: &Path) -> Result<Ledger, LedgerError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.exists()
        {
            std::fs::create_dir_all(dir).map_err(|source| LedgerError::Io { path: dir.to_path_buf(), source })?;
            if dir.file_name().is_some_and(|n| n == ".gateform") {
                let _ = std::fs::write(dir.join(".gitignore"), "*\n");
            }
        }
        let conn = Connection::open(path).map_err(|source| LedgerError::Sqlite { path: path.to_path_buf(), source })?;
        let mut ledger = Ledger { conn, path: path.to_path_buf() };
        ledger.setup()?;
        ledger.sweep_interrupted()?;
        Ok(ledger)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self, source: rusqlite::Error) -> LedgerError {
        LedgerError::Sqlite { path: self.path.clone(), source }
    }

    fn setup(&mut self) -> Result<(), LedgerError> {
        self.conn.busy_timeout(Duration::from_secs(10)).map_err(|e| self.err(e))?;
        let mode: String = self.conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0)).map_err(|e| self.err(e))?;
        tracing::debug!("ledger journal mode: {mode}");
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|source| LedgerError::Sqlite { path: self.path.clone(), source })?;
        let version: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|source| LedgerError::Sqlite { path: self.path.clone(), source })?;
        if version > SCHEMA_VERSION {
            return Err(LedgerError::NewerSchema { path: self.path.clone(), found: version });
        }
        for (v, sql) in [(1, SCHEMA_V1), (2, SCHEMA_V2)] {
            if version < v {
                tx.execute_batch(sql).map_err(|source| LedgerError::Sqlite { path: self.path.clone(), source })?;
            }
        }
        tx.commit().map_err(|source| LedgerError::Sqlite { path: self.path.clone(), source })
    }
}

/// Version 1 of the schema.
const SCHEMA_V1: &str = "
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
