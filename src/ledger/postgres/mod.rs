//! The PostgreSQL backend: one database shared by every runner and `watch` replica of a
//! team, selected by a `postgres://` URL.
//!
//! Tables (in the session's current schema, so `options=-csearch_path%3Dteam` in the URL
//! gives each team its own): `gateform_runs` (the history; times are milliseconds since
//! the epoch, by the runner's clock), `gateform_locks` (one row per held or stale lock,
//! naming its holder) and `gateform_migrations` (one row per schema version applied).
//! Migrations run on open inside one transaction holding a transaction advisory lock, so
//! runners starting together migrate once ([`schema`]).
//!
//! Locks are session advisory locks on a connection of their own ([`lock`]); history
//! calls share one connection, opened again when it broke.

mod connect;
mod lock;
mod runs;
pub mod schema;
pub mod scratch;
#[cfg(test)]
mod tests;

use std::future::Future;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use tokio_postgres::Client;

pub use connect::{Connector, PgOptions, redact_url, redact_url_or_path, url_has_password};

use super::lock::{LockEvent, LockGuard, LockInfo, LockOptions};
use super::process::Holder;
use super::records::{LiveAt, NewRun, PlanCounts, RunEnd, RunFilter, RunRecord};
use super::{Ledger, LedgerError};

/// An open PostgreSQL ledger.
pub struct PgLedger {
    connector: Arc<Connector>,
    client: tokio::sync::Mutex<Option<Arc<Client>>>,
    /// `database/schema`: advisory locks are per database, tables per schema.
    namespace: String,
}

impl std::fmt::Debug for PgLedger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgLedger").field("location", &self.connector.location()).finish()
    }
}

impl PgLedger {
    /// Connects to `url`, migrates the schema (creating it in a new database) and marks as
    /// `interrupted` the runs of this host's processes that are gone. Fails with
    /// [`LedgerError::Postgres`] when the database cannot be reached.
    pub async fn open(url: &str, opts: &PgOptions) -> Result<PgLedger, LedgerError> {
        let connector = Arc::new(Connector::new(url, opts)?);
        let (mut client, _connection) = connector.connect().await?;
        let row = client
            .query_one("SELECT current_database()::text, current_schema()::text", &[])
            .await
            .map_err(|e| connector.err(e))?;
        let (db, schema): (String, Option<String>) = (row.get(0), row.get(1));
        let Some(schema) = schema else {
            return Err(LedgerError::Config(format!(
                "ledger {}: the session has no current schema (check search_path)",
                connector.location()
            )));
        };
        let namespace = format!("{db}/{schema}");
        schema::migrate(&mut client, &connector, lock_id(&namespace, schema::MIGRATION_KEY)).await?;
        let ledger = PgLedger { connector, client: tokio::sync::Mutex::new(Some(Arc::new(client))), namespace };
        ledger.with(|c| async move { runs::sweep_interrupted(&c).await }).await?;
        Ok(ledger)
    }

    /// The advisory lock id of `key` in this database and schema.
    pub fn lock_id(&self, key: &str) -> i64 {
        lock_id(&self.namespace, key)
    }

    /// The history connection, opened again when it closed.
    async fn client(&self) -> Result<Arc<Client>, LedgerError> {
        let mut slot = self.client.lock().await;
        if let Some(c) = slot.as_ref().filter(|c| !c.is_closed()) {
            return Ok(c.clone());
        }
        *slot = None;
        let (client, _connection) = self.connector.connect().await?;
        let client = Arc::new(client);
        *slot = Some(client.clone());
        Ok(client)
    }

    /// Runs `f` on the history connection. Nothing is retried here: a broken connection is
    /// dropped and the next call opens a new one.
    async fn with<T, F, Fut>(&self, f: F) -> Result<T, LedgerError>
    where
        F: FnOnce(Arc<Client>) -> Fut + Send,
        Fut: Future<Output = Result<T, tokio_postgres::Error>> + Send,
    {
        let client = self.client().await?;
        f(client).await.map_err(|e| self.connector.err(e))
    }
}

/// The first 8 bytes of SHA-256 of `gateform`, the namespace and the key, as a signed
/// 64-bit advisory lock id.
fn lock_id(namespace: &str, key: &str) -> i64 {
    let digest = Sha256::digest(format!("gateform\0{namespace}\0{key}").as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}

impl Ledger for PgLedger {
    fn location(&self) -> String {
        self.connector.location().to_owned()
    }

    async fn begin_run(&self, run: NewRun) -> Result<i64, LedgerError> {
        self.with(|c| async move { runs::begin_run(&c, &run).await }).await
    }

    async fn record_plan(&self, id: i64, plan: PlanCounts, digest: String) -> Result<(), LedgerError> {
        self.with(|c| async move { runs::record_plan(&c, id, plan, &digest).await }).await
    }

    async fn finish_run(&self, id: i64, end: RunEnd) -> Result<(), LedgerError> {
        self.with(|c| async move { runs::finish_run(&c, id, &end).await }).await
    }

    async fn runs(&self, filter: RunFilter) -> Result<Vec<RunRecord>, LedgerError> {
        self.with(|c| async move { runs::runs(&c, &filter).await }).await
    }

    async fn run(&self, id: i64) -> Result<Option<RunRecord>, LedgerError> {
        self.with(|c| async move { runs::run(&c, id).await }).await
    }

    async fn live_at(&self, target: &str, at_ms: i64) -> Result<LiveAt, LedgerError> {
        self.with(|c| async move { runs::live_at(&c, target, at_ms).await }).await
    }

    async fn acquire(
        &self,
        key: &str,
        holder: &Holder,
        opts: LockOptions,
        on_event: &mut (dyn FnMut(LockEvent<'_>) + Send),
    ) -> Result<LockGuard, LedgerError> {
        lock::acquire(&self.connector, self.lock_id(key), key, holder, opts, on_event).await
    }

    async fn locks(&self) -> Result<Vec<LockInfo>, LedgerError> {
        self.with(|c| async move { lock::rows(&c).await }).await
    }

    async fn holder(&self, key: &str) -> Result<Option<LockInfo>, LedgerError> {
        let id = self.lock_id(key);
        let live = self.with(|c| async move { lock::live_holder(&c, key, id).await }).await?;
        Ok(live.map(|(pid, row)| row.unwrap_or_else(|| lock::unknown_holder(key, pid))))
    }

    async fn force_unlock(&self, key: &str) -> Result<Option<LockInfo>, LedgerError> {
        let id = self.lock_id(key);
        self.with(|c| async move { lock::force_unlock(&c, key, id).await }).await
    }
}
