//! Test support: throwaway databases on a PostgreSQL server named by
//! `GATEFORM_TEST_POSTGRES_URL` (`.ci/run` starts a cluster and sets it). Advisory locks
//! are per database, so tests that each use a database of their own never share a lock.

use super::connect::{Connector, PgOptions, Session};
use crate::ledger::LedgerError;

/// The variable naming the test server: a URL of a role that may create databases.
pub const TEST_URL_VAR: &str = "GATEFORM_TEST_POSTGRES_URL";

/// The test server's URL; `None` (after printing `SKIPPED <test>: …` on the process's stderr
/// itself, which `cargo test` does not capture, so the skip is seen) when
/// [`TEST_URL_VAR`] is unset. Panics instead when `CI=true`: CI must run these tests.
pub fn test_server(test: &str) -> Option<String> {
    match std::env::var(TEST_URL_VAR) {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("{test}: {TEST_URL_VAR} is not set and CI=true; .ci/run starts a PostgreSQL cluster and sets it")
        }
        _ => {
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED {test}: no PostgreSQL; set {TEST_URL_VAR}=postgres://USER@127.0.0.1:PORT/postgres \
                 (a role that may create databases) to run it"
            );
            None
        }
    }
}

/// A database created for one test.
#[derive(Debug, Clone)]
pub struct ScratchDatabase {
    /// Its URL (the server's, with the database replaced).
    pub url: String,
    /// Its name (`gateform_test_<uuid>`).
    pub name: String,
    admin: String,
}

impl ScratchDatabase {
    /// Creates an empty database on the server of `admin_url`.
    pub async fn create(admin_url: &str) -> Result<ScratchDatabase, LedgerError> {
        let name = format!("gateform_test_{}", uuid::Uuid::new_v4().simple());
        let mut url = url::Url::parse(admin_url).map_err(|e| LedgerError::Config(format!("{TEST_URL_VAR}: {e}")))?;
        url.set_path(&format!("/{name}"));
        let admin = Connector::new(admin_url, &PgOptions::default())?;
        let (client, _task) = admin.connect().await?;
        client.batch_execute(&format!("CREATE DATABASE {name}")).await.map_err(|e| admin.err(e))?;
        Ok(ScratchDatabase { url: url.to_string(), name, admin: admin_url.to_owned() })
    }

    /// A plain session on the database (to look at tables, or terminate other sessions).
    pub async fn session(&self) -> Result<Session, LedgerError> {
        Connector::new(&self.url, &PgOptions::default())?.connect().await
    }

    /// Drops the database, ending its sessions.
    pub async fn drop_database(self) -> Result<(), LedgerError> {
        let admin = Connector::new(&self.admin, &PgOptions::default())?;
        let (client, _task) = admin.connect().await?;
        client
            .batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name))
            .await
            .map_err(|e| admin.err(e))
    }
}
