//! The ledger: the history of runs (plans saved, applies, replays, watch iterations) and
//! the per-target locks that keep two writers off one gateway, behind one [`Ledger`]
//! trait with two backends:
//!
//! * [`sqlite`]: a file, the default for one machine (`.gateform/ledger.db`);
//! * [`postgres`]: a PostgreSQL database shared by every runner and replica of a team,
//!   selected by a `postgres://` URL; locks are session advisory locks.
//!
//! Both pass one test suite. Every call is async (the SQLite backend runs its synchronous
//! connection on tokio's blocking pool). A target ([`target_key`]) is an environment's
//! name, or a normalised gateway address when no environment is named. [`leader`] builds
//! leader election for `watch` replicas on the same locks.

pub mod key;
pub mod leader;
pub mod lock;
pub mod postgres;
pub mod process;
pub mod records;
pub mod sqlite;
#[cfg(test)]
mod suite;

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

pub use key::{normalise_address, target_key};
pub use lock::{LockEvent, LockGuard, LockInfo, LockLost, LockOptions, LossReason, Staleness};
pub use postgres::{PgLedger, PgOptions};
pub use process::{Holder, Liveness, ci_job_url, format_ms, now, now_ms, parse_time, process_scope};
pub use records::{
    LiveAt, NewRun, OutcomeCounts, PlanCounts, RunEnd, RunFilter, RunRecord, RunResult, RunSource, WRITING_COMMANDS,
};
pub use sqlite::SqliteLedger;

/// The message of runs whose process was found dead.
pub(crate) const DIED: &str = "the process ended before the run finished (killed or crashed)";
/// The message of runs whose lock was taken over.
pub(crate) const TAKEN_OVER: &str = "the process ended before the run finished (its lock was taken over)";

/// A ledger failure.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The SQLite file could not be opened, read or written.
    #[error("ledger {path}: {source}")]
    Sqlite {
        /// The ledger file.
        path: PathBuf,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// The PostgreSQL database could not be reached, read or written.
    #[error("ledger {location}: {source}")]
    Postgres {
        /// The database, as `postgres://user@host:port/db` (never with a password).
        location: String,
        /// The client's error (the server's message for refused statements).
        source: tokio_postgres::Error,
    },
    /// A file or directory of the ledger could not be used.
    #[error("ledger {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The ledger's address or settings are not usable (with what to do).
    #[error("{0}")]
    Config(String),
    /// The schema was written by a newer gateform.
    #[error("ledger {location} has schema version {found}; this gateform knows up to {known}: upgrade gateform")]
    NewerSchema {
        /// The file or database.
        location: String,
        /// The version found.
        found: i64,
        /// The newest version this build knows.
        known: i64,
    },
    /// The target is locked by a live holder (and stayed so for the whole timeout).
    #[error("{key} is locked by {}", describe_holder(.holder.as_deref()))]
    Locked {
        /// The lock's key (environment name or gateway address).
        key: String,
        /// Who holds it; `None` when a PostgreSQL session holds the advisory lock without a
        /// holder row (another tool, or a holder between taking the lock and naming itself).
        holder: Option<Box<LockInfo>>,
        /// How long this process waited.
        waited: Duration,
    },
}

/// `alice@build-7 pid 4242 (…) since …`, or `another database session` without a row.
pub fn describe_holder(holder: Option<&LockInfo>) -> String {
    match holder {
        Some(h) => h.to_string(),
        None => "another database session (it wrote no holder row)".to_owned(),
    }
}

/// The history and the locks. Both backends implement it; [`AnyLedger`] is either.
/// Every method is async and its future is `Send`, so daemons can hold a ledger across
/// tasks.
pub trait Ledger: Send + Sync {
    /// The file or database, for messages (a PostgreSQL URL never shows its password).
    fn location(&self) -> String;

    /// Records the start of a run (result `running`, started now); returns its id.
    fn begin_run(&self, run: NewRun) -> impl Future<Output = Result<i64, LedgerError>> + Send;

    /// Records the plan of run `id`: its counts and digest.
    fn record_plan(
        &self,
        id: i64,
        plan: PlanCounts,
        digest: String,
    ) -> impl Future<Output = Result<(), LedgerError>> + Send;

    /// Records the end of run `id`.
    fn finish_run(&self, id: i64, end: RunEnd) -> impl Future<Output = Result<(), LedgerError>> + Send;

    /// The runs matching `filter`, oldest first.
    fn runs(&self, filter: RunFilter) -> impl Future<Output = Result<Vec<RunRecord>, LedgerError>> + Send;

    /// One run by id.
    fn run(&self, id: i64) -> impl Future<Output = Result<Option<RunRecord>, LedgerError>> + Send;

    /// What was live on `target` at `at_ms` (milliseconds since the epoch): the last
    /// successful apply, replay or watch iteration that finished at or before then (a run
    /// still under way had not made its commit live yet), plus the runs under way then and
    /// the failed ones in between, which may have changed the gateway partly.
    fn live_at(&self, target: &str, at_ms: i64) -> impl Future<Output = Result<LiveAt, LedgerError>> + Send;

    /// Takes the lock of `key` for `holder`: at once when free or stale, else waiting up
    /// to `opts.timeout` for its holder to release it, telling `on_event` what happens.
    /// Fails with [`LedgerError::Locked`] naming the holder.
    fn acquire(
        &self,
        key: &str,
        holder: &Holder,
        opts: LockOptions,
        on_event: &mut (dyn FnMut(LockEvent<'_>) + Send),
    ) -> impl Future<Output = Result<LockGuard, LedgerError>> + Send;

    /// Every lock row (PostgreSQL: also rows of holders whose session ended), by key.
    fn locks(&self) -> impl Future<Output = Result<Vec<LockInfo>, LedgerError>> + Send;

    /// The live holder of `key`, if any (for "who leads" and "locked by").
    fn holder(&self, key: &str) -> impl Future<Output = Result<Option<LockInfo>, LedgerError>> + Send;

    /// Breaks the lock of `key` whoever holds it (Terraform's `force-unlock`); returns the
    /// row it removed. PostgreSQL ends the holder's session (`pg_terminate_backend`), so the
    /// holder sees the loss; SQLite deletes the row, which the holder's next heartbeat sees.
    fn force_unlock(&self, key: &str) -> impl Future<Output = Result<Option<LockInfo>, LedgerError>> + Send;
}

/// Where the ledger lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LedgerLocation {
    /// A SQLite file.
    Sqlite(PathBuf),
    /// A PostgreSQL URL (`postgres://` or `postgresql://`, libpq's URI form).
    Postgres(String),
}

impl LedgerLocation {
    /// A `postgres://` or `postgresql://` URL, else a file path.
    pub fn parse(text: &str) -> LedgerLocation {
        let lower = text.trim().to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            LedgerLocation::Postgres(text.trim().to_owned())
        } else {
            LedgerLocation::Sqlite(PathBuf::from(text))
        }
    }
}

/// Either backend.
#[derive(Debug)]
pub enum AnyLedger {
    /// A file.
    Sqlite(SqliteLedger),
    /// A database.
    Postgres(PgLedger),
}

impl AnyLedger {
    /// Opens the ledger at `location` (creating and migrating its schema); `pg` says how to
    /// reach PostgreSQL (passwords, TLS). PostgreSQL unreachable → [`LedgerError::Postgres`].
    pub async fn open(location: &LedgerLocation, pg: &PgOptions) -> Result<AnyLedger, LedgerError> {
        match location {
            LedgerLocation::Sqlite(path) => Ok(AnyLedger::Sqlite(SqliteLedger::open(path).await?)),
            LedgerLocation::Postgres(url) => Ok(AnyLedger::Postgres(PgLedger::open(url, pg).await?)),
        }
    }
}

/// Forwards every call to the backend.
macro_rules! either {
    ($self:ident, $l:ident => $call:expr) => {
        match $self {
            AnyLedger::Sqlite($l) => $call,
            AnyLedger::Postgres($l) => $call,
        }
    };
}

impl Ledger for AnyLedger {
    fn location(&self) -> String {
        either!(self, l => l.location())
    }

    async fn begin_run(&self, run: NewRun) -> Result<i64, LedgerError> {
        either!(self, l => l.begin_run(run).await)
    }

    async fn record_plan(&self, id: i64, plan: PlanCounts, digest: String) -> Result<(), LedgerError> {
        either!(self, l => l.record_plan(id, plan, digest).await)
    }

    async fn finish_run(&self, id: i64, end: RunEnd) -> Result<(), LedgerError> {
        either!(self, l => l.finish_run(id, end).await)
    }

    async fn runs(&self, filter: RunFilter) -> Result<Vec<RunRecord>, LedgerError> {
        either!(self, l => l.runs(filter).await)
    }

    async fn run(&self, id: i64) -> Result<Option<RunRecord>, LedgerError> {
        either!(self, l => l.run(id).await)
    }

    async fn live_at(&self, target: &str, at_ms: i64) -> Result<LiveAt, LedgerError> {
        either!(self, l => l.live_at(target, at_ms).await)
    }

    async fn acquire(
        &self,
        key: &str,
        holder: &Holder,
        opts: LockOptions,
        on_event: &mut (dyn FnMut(LockEvent<'_>) + Send),
    ) -> Result<LockGuard, LedgerError> {
        either!(self, l => l.acquire(key, holder, opts, on_event).await)
    }

    async fn locks(&self) -> Result<Vec<LockInfo>, LedgerError> {
        either!(self, l => l.locks().await)
    }

    async fn holder(&self, key: &str) -> Result<Option<LockInfo>, LedgerError> {
        either!(self, l => l.holder(key).await)
    }

    async fn force_unlock(&self, key: &str) -> Result<Option<LockInfo>, LedgerError> {
        either!(self, l => l.force_unlock(key).await)
    }
}
