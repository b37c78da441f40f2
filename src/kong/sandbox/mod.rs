//! A Kong 3.x-compatible Admin API server (`kong-admin-api.md`), embeddable in-process.
//!
//! [`start`] binds and serves in a background task and returns at once; [`serve`] runs in
//! the foreground until Ctrl-C or SIGTERM. State lives in memory ([`store`]) and, with
//! [`SandboxOptions::data`], is written through to a SQLite file and reloaded at start.
//! `/_sandbox/...` is a test extension (fault injection, request counters); see [`fault`].

pub mod body;
pub mod certs;
pub mod credentials;
pub mod db_checks;
pub mod declarative;
pub mod entity;
pub mod error;
pub mod fault;
pub mod http;
pub mod info;
pub mod input;
pub mod listen;
pub mod ops;
pub mod page;
pub mod persist;
pub mod router;
pub mod special;
pub mod store;
pub mod tokens;
pub mod yaml_guard;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

pub use fault::FaultRule;

use entity::Env;
use persist::Persist;
use store::Store;

/// How to run a sandbox.
#[derive(Debug, Clone, PartialEq)]
pub struct SandboxOptions {
    /// Address to listen on; port 0 picks an ephemeral port.
    pub listen: SocketAddr,
    /// SQLite file that keeps state across restarts; `None` = start empty, keep nothing.
    pub data: Option<PathBuf>,
    /// DB-less mode (§3.7): `POST /config` loads everything, entity writes get 405.
    pub db_less: bool,
    /// Non-bundled plugins to accept (any `config`, no defaults).
    pub custom_plugins: Vec<String>,
    /// Serve the Enterprise-only kinds (consumer groups, mTLS credentials, plugin
    /// `consumer_group`) and answer `edition: "enterprise"`. Off (the default), the sandbox
    /// is Kong OSS: those endpoints answer 404 and the fields are unknown (§2.11, §8).
    pub enterprise: bool,
    /// Limits that bound what one client or one request can cost; see [`Limits`].
    pub limits: Limits,
}

/// Bounds on hostile input, each answered as Kong answers a bad request (README "Sandbox",
/// limits table). Kong itself has other limits (nginx's); these are the sandbox's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Time a client has to send a request's headers, from the connection's start or from
    /// the end of the previous response (ms; default 60 s, nginx's `client_header_timeout`
    /// and `keepalive_timeout` under Kong). A slower client is disconnected.
    pub header_read_timeout_ms: u64,
    /// Connections served at once (default 256); further ones wait in the kernel's accept
    /// queue.
    pub max_connections: usize,
    /// Largest request body (bytes; default 64 MiB); larger ones get 413.
    pub max_body_bytes: usize,
    /// Time a client has to send a request body once its headers arrived (ms; default 60 s);
    /// a slower one gets 408 `{"message":"Request timeout"}`.
    pub body_read_timeout_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read_timeout_ms: 60_000,
            max_connections: 256,
            max_body_bytes: http::BODY_LIMIT,
            body_read_timeout_ms: 60_000,
        }
    }
}

impl Default for SandboxOptions {
    fn default() -> Self {
        SandboxOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data: None,
            db_less: false,
            custom_plugins: Vec::new(),
            enterprise: false,
            limits: Limits::default(),
        }
    }
}

/// Why a sandbox could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// Binding or serving failed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The server failed while running.
    #[error("server error: {0}")]
    Serve(std::io::Error),
    /// The `--data` file could not be opened or read.
    #[error("cannot use data file {path}: {source}")]
    Data {
        /// The file.
        path: PathBuf,
        /// The SQLite error.
        source: rusqlite::Error,
    },
}

/// Shared state of a running sandbox.
#[derive(Debug)]
pub struct Inner {
    /// Schemas and node settings.
    pub env: Env,
    /// The entities.
    pub store: RwLock<Store>,
    /// Write-through persistence, with `--data`.
    pub persist: Option<Mutex<Persist>>,
    /// Fault rules.
    pub faults: fault::Faults,
    /// Request counters.
    pub stats: fault::Stats,
    /// This node's id (`GET /`).
    pub node_id: String,
    /// DB-less configuration hash (`/status`), 32 hex digits.
    pub config_hash: Mutex<String>,
    /// The listening address.
    pub addr: SocketAddr,
    /// The input limits.
    pub limits: Limits,
    /// `/oauth2_tokens`, kept beside the store ([`tokens`]).
    pub tokens: tokens::Tokens,
}

/// A running sandbox. Dropping it leaves the server running until the runtime ends; call
/// [`Sandbox::shutdown`] to stop it.
#[derive(Debug)]
pub struct Sandbox {
    inner: Arc<Inner>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Sandbox {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.inner.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.inner.addr)
    }

    /// Registers a fault rule (see [`FaultRule`]); returns its id.
    pub fn inject_fault(&self, rule: FaultRule) -> u64 {
        self.inner.faults.add(rule)
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        self.inner.faults.clear();
    }

    /// Requests served so far (every method, `/_sandbox` included).
    pub fn request_count(&self) -> u64 {
        self.inner.stats.total()
    }

    /// Requests served so far by method (`GET`, `POST`, ...).
    pub fn request_counts(&self) -> std::collections::BTreeMap<String, u64> {
        self.inner.stats.by_method()
    }

    /// Stops the server and waits for it to finish.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

fn build(opts: &SandboxOptions, addr: SocketAddr) -> Result<Inner, SandboxError> {
    let (persist, store, hash) = match &opts.data {
        Some(path) => {
            let p = Persist::open(path).map_err(|source| SandboxError::Data { path: path.clone(), source })?;
            let store = p.load().map_err(|source| SandboxError::Data { path: path.clone(), source })?;
            let hash = p.meta("configuration_hash").and_then(|v| v.as_str().map(str::to_owned));
            (Some(Mutex::new(p)), store, hash)
        }
        None => (None, Store::new(), None),
    };
    Ok(Inner {
        env: Env {
            schemas: crate::kong::schema::Schemas::bundled(),
            custom_plugins: opts.custom_plugins.iter().cloned().collect::<BTreeSet<_>>(),
            db_less: opts.db_less,
            enterprise: opts.enterprise,
        },
        store: RwLock::new(store),
        persist,
        faults: fault::Faults::default(),
        stats: fault::Stats::default(),
        node_id: uuid::Uuid::new_v4().to_string(),
        config_hash: Mutex::new(hash.unwrap_or_else(|| "0".repeat(32))),
        addr,
        limits: opts.limits,
        tokens: Default::default(),
    })
}

/// Binds `opts.listen`, spawns the server task and returns at once.
pub async fn start(opts: SandboxOptions) -> Result<Sandbox, SandboxError> {
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .map_err(|source| SandboxError::Bind { addr: opts.listen, source })?;
    let addr = listener.local_addr().map_err(|source| SandboxError::Bind { addr: opts.listen, source })?;
    let inner = Arc::new(build(&opts, addr)?);
    let app = http::app(inner.clone());
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(listen::run(listener, app, opts.limits, rx));
    Ok(Sandbox { inner, shutdown: Some(tx), task: Some(task) })
}

/// Runs a sandbox in the foreground until Ctrl-C or SIGTERM. `on_ready` is called with
/// the listening URL once bound.
pub async fn serve_with(opts: SandboxOptions, on_ready: impl FnOnce(&str)) -> Result<(), SandboxError> {
    let sandbox = start(opts).await?;
    on_ready(&sandbox.url());
    shutdown_signal().await;
    sandbox.shutdown().await;
    Ok(())
}

/// Runs a sandbox in the foreground until Ctrl-C or SIGTERM.
pub async fn serve(opts: SandboxOptions) -> Result<(), SandboxError> {
    serve_with(opts, |_| {}).await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
