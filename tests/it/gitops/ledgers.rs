//! Ledgers for tests that run several `gateform` processes: a SQLite file, or a throwaway
//! PostgreSQL database (skipped with a message without `GATEFORM_TEST_POSTGRES_URL`,
//! failing when `CI=true`), and a TCP proxy in front of PostgreSQL that can go down and
//! come back, as a stopped or restarted database looks to its clients.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use gateform::ledger::postgres::scratch::{ScratchDatabase, test_server};
use gateform::ledger::{AnyLedger, Ledger, LedgerLocation, LockInfo, PgOptions, RunFilter, RunRecord};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A ledger shared by the processes of one test.
pub struct TestLedger {
    /// The `--ledger` argument.
    pub arg: String,
    location: LedgerLocation,
    runtime: tokio::runtime::Runtime,
    _dir: Option<tempfile::TempDir>,
    scratch: Option<ScratchDatabase>,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

impl TestLedger {
    /// A SQLite file in a fresh directory.
    pub fn sqlite() -> TestLedger {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.db");
        TestLedger {
            arg: path.to_string_lossy().into_owned(),
            location: LedgerLocation::Sqlite(path),
            runtime: runtime(),
            _dir: Some(dir),
            scratch: None,
        }
    }

    /// A fresh PostgreSQL database; `None` (skipped) without a test server.
    pub fn postgres(test: &str) -> Option<TestLedger> {
        let server = test_server(test)?;
        let runtime = runtime();
        let db = runtime.block_on(ScratchDatabase::create(&server)).unwrap();
        Some(TestLedger {
            arg: db.url.clone(),
            location: LedgerLocation::Postgres(db.url.clone()),
            runtime,
            _dir: None,
            scratch: Some(db),
        })
    }

    /// The database, for PostgreSQL ledgers.
    pub fn scratch(&self) -> &ScratchDatabase {
        self.scratch.as_ref().expect("a PostgreSQL ledger")
    }

    /// Runs a future on this ledger's runtime.
    pub fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
    }

    /// Opens it (`None` while a SQLite file does not exist yet, or on any error).
    pub fn open(&self) -> Option<AnyLedger> {
        if let LedgerLocation::Sqlite(p) = &self.location
            && !p.exists()
        {
            return None;
        }
        self.block_on(AnyLedger::open(&self.location, &PgOptions::default())).ok()
    }

    /// Every run, oldest first.
    pub fn runs(&self) -> Vec<RunRecord> {
        let l = self.open().expect("the ledger opens");
        self.block_on(l.runs(RunFilter::default())).unwrap()
    }

    /// Every lock row.
    pub fn locks(&self) -> Vec<LockInfo> {
        let l = self.open().expect("the ledger opens");
        self.block_on(l.locks()).unwrap()
    }

    /// Waits until `check` holds (or panics after 20 s).
    pub fn wait_for(&self, what: &str, check: impl Fn(&TestLedger) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if self.open().is_some() && check(self) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("timed out waiting for {what}");
    }

    /// Ends every session holding an advisory lock (PostgreSQL), as `pg_terminate_backend`
    /// from a second session; returns how many.
    pub fn cut_lock_sessions(&self) -> usize {
        self.block_on(async {
            let (admin, _task) = self.scratch().session().await.unwrap();
            let sql = "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted \
                       AND pid <> pg_backend_pid() \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())";
            admin.query(sql, &[]).await.unwrap().len()
        })
    }

    /// The rows of `gateform_migrations` (PostgreSQL).
    pub fn migrations(&self) -> Vec<i64> {
        self.block_on(async {
            let (admin, _task) = self.scratch().session().await.unwrap();
            let rows = admin.query("SELECT version FROM gateform_migrations ORDER BY version", &[]).await.unwrap();
            rows.iter().map(|r| r.get(0)).collect()
        })
    }
}

impl Drop for TestLedger {
    fn drop(&mut self) {
        if let Some(db) = self.scratch.take() {
            let _ = self.runtime.block_on(db.drop_database());
        }
    }
}

/// A loopback TCP proxy to PostgreSQL. [`Proxy::down`] cuts every connection and refuses
/// new ones (closing them at once), as a stopped server looks; [`Proxy::up`] serves again.
pub struct Proxy {
    /// `postgres://…` through the proxy.
    pub url: String,
    serving: Arc<AtomicBool>,
    cut: watch::Sender<u64>,
    _runtime: tokio::runtime::Runtime,
}

impl Proxy {
    /// A proxy in front of the server of `url`.
    pub fn start(url: &str) -> Proxy {
        let mut parsed = url::Url::parse(url).unwrap();
        let upstream: SocketAddr =
            format!("{}:{}", parsed.host_str().unwrap(), parsed.port().unwrap_or(5432)).parse().unwrap();
        let runtime = runtime();
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let port = listener.local_addr().unwrap().port();
        parsed.set_port(Some(port)).unwrap();
        let serving = Arc::new(AtomicBool::new(true));
        let (cut, _) = watch::channel(0u64);
        let (s, c) = (serving.clone(), cut.clone());
        runtime.spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else { continue };
                if !s.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let mut cut = c.subscribe();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(upstream).await else { return };
                    let (mut client, mut server) = (client, server);
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Proxy { url: parsed.to_string(), serving, cut, _runtime: runtime }
    }

    /// Cuts every connection and refuses new ones.
    pub fn down(&self) {
        self.serving.store(false, Ordering::SeqCst);
        self.cut.send_modify(|n| *n += 1);
    }

    /// Serves again.
    pub fn up(&self) {
        self.serving.store(true, Ordering::SeqCst);
    }
}
