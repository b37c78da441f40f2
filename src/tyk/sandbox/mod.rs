//! An emulator of the open-source Tyk Gateway REST API (`tyk.md` §1), embeddable in-process,
//! for tests and rehearsals.
//!
//! [`start`] binds one listener per node and returns a [`TykSandbox`] at once; [`serve_with`]
//! runs in the foreground until Ctrl-C or SIGTERM. What it copies from Tyk (sources:
//! `gateway/server.go`, `gateway/api.go`, `gateway/api_helpers.go`, `gateway/api_loader.go`,
//! `gateway/api_definition.go`, `gateway/policy.go`, `gateway/cert.go` at the commit `tyk.md`
//! names):
//!
//! * `/tyk/...` needs the header `x-tyk-authorization` equal to the secret, else 403;
//!   errors are `{"status":"error","message":...}` with Tyk's status codes and messages;
//! * writes are files (`apps/<api_id>.json`, plus `apps/<api_id>-oas.json` for Tyk OAS APIs;
//!   `policies/<id>.json`) in a [`store::FileStore`] shared by every node; every `GET` answers
//!   from a node's *loaded* set, which only a reload refreshes (`/tyk/reload` for that node,
//!   `/tyk/reload/group` for all of them) — see [`loader`];
//! * preconditions a reconciler must detect: Dashboard-managed gateways
//!   ([`TykSandboxOptions::use_db_app_configs`]), RPC workers
//!   ([`TykSandboxOptions::rpc_worker`]), policy sources that are not file-based
//!   ([`PolicySource`]);
//! * `/_sandbox/...` is a test extension (not Tyk's): fault rules, request counters by method
//!   and path, and writes the gateway silently ignores ([`control`]).

pub mod apis;
pub mod certs;
pub mod control;
pub mod fields;
pub mod http;
pub mod loader;
pub mod oas;
pub mod options;
pub mod policies;
pub mod reply;
pub mod store;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

pub use crate::kong::sandbox::FaultRule;
pub use control::IgnoreRule;
pub use options::{DEFAULT_SECRET, PolicySource, TykSandboxOptions, classic_fields, policy_fields};

use crate::kong::sandbox::fault::Faults;
use loader::Loaded;
use store::FileStore;

impl TykSandboxOptions {
    /// The policy source in effect (`use_db_app_configs` forces `service`).
    pub fn effective_policy_source(&self) -> PolicySource {
        if self.use_db_app_configs { PolicySource::Service } else { self.policy_source }
    }
}

/// Why a sandbox could not start.
#[derive(Debug, thiserror::Error)]
pub enum TykSandboxError {
    /// Binding failed.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The data directory could not be created or read.
    #[error("cannot use data directory {path}: {source}")]
    Data {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// One gateway node: its address, its loaded set and its request counters.
#[derive(Debug)]
pub struct Node {
    /// 0-based index.
    pub index: usize,
    /// The bound address.
    pub addr: SocketAddr,
    /// What the node serves (replaced at each reload).
    pub loaded: RwLock<Arc<Loaded>>,
    /// Requests served by this node.
    pub stats: control::PathStats,
}

impl Node {
    /// The loaded set.
    pub fn loaded(&self) -> Arc<Loaded> {
        self.loaded.read().map(|l| l.clone()).unwrap_or_default()
    }
}

/// State shared by every node.
#[derive(Debug)]
pub struct Shared {
    /// The options the sandbox started with.
    pub opts: TykSandboxOptions,
    /// The files.
    pub store: FileStore,
    /// Certificates (`/tyk/certs`): shared like Tyk's Redis-backed store.
    pub certs: certs::CertStore,
    /// Fault rules.
    pub faults: Faults,
    /// Writes to ignore.
    pub ignores: control::Ignores,
    /// The nodes.
    pub nodes: Vec<Node>,
}

impl Shared {
    /// Reloads node `i` now.
    pub fn reload_node(&self, i: usize) {
        if let Some(node) = self.nodes.get(i) {
            let previous = node.loaded();
            let next = Arc::new(loader::load(&self.opts, &self.store, &previous));
            if let Ok(mut l) = node.loaded.write() {
                *l = next;
            }
        }
    }
}

/// Schedules a reload of the given nodes after the configured delay, or performs it at once
/// when the delay is zero or `block` is set.
pub(crate) fn schedule_reload(shared: &Arc<Shared>, nodes: Vec<usize>, block: bool) {
    if block || shared.opts.reload_delay.is_zero() {
        nodes.into_iter().for_each(|i| shared.reload_node(i));
        return;
    }
    let shared = shared.clone();
    let delay = shared.opts.reload_delay;
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        nodes.into_iter().for_each(|i| shared.reload_node(i));
    });
}

/// A running Tyk sandbox. Dropping it leaves the servers running until the runtime ends; call
/// [`TykSandbox::shutdown`] to stop them.
#[derive(Debug)]
pub struct TykSandbox {
    shared: Arc<Shared>,
    stops: Vec<tokio::sync::oneshot::Sender<()>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl TykSandbox {
    /// `http://ADDR` of the first node.
    pub fn url(&self) -> String {
        self.node_url(0).unwrap_or_default()
    }

    /// `http://ADDR` of node `i`, if there is one.
    pub fn node_url(&self, i: usize) -> Option<String> {
        self.shared.nodes.get(i).map(|n| format!("http://{}", n.addr))
    }

    /// The URL of every node, in order.
    pub fn node_urls(&self) -> Vec<String> {
        self.shared.nodes.iter().map(|n| format!("http://{}", n.addr)).collect()
    }

    /// The secret clients must send.
    pub fn secret(&self) -> &str {
        &self.shared.opts.secret
    }

    /// The shared state (files, loaded sets).
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Registers a fault rule for every node; returns its id.
    pub fn inject_fault(&self, rule: FaultRule) -> u64 {
        self.shared.faults.add(rule)
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        self.shared.faults.clear();
    }

    /// Makes the gateway answer matching writes with success and not change any file.
    pub fn ignore_writes(&self, rule: IgnoreRule) {
        self.shared.ignores.add(rule);
    }

    /// Requests served by all nodes, keyed by `(method, path)` (path without the query).
    pub fn request_counts(&self) -> BTreeMap<(String, String), u64> {
        let mut out = BTreeMap::new();
        for n in &self.shared.nodes {
            for (k, v) in n.stats.counts() {
                *out.entry(k).or_default() += v;
            }
        }
        out
    }

    /// Requests with this method and path served by all nodes.
    pub fn request_count(&self, method: &str, path: &str) -> u64 {
        self.shared.nodes.iter().map(|n| n.stats.count(method, path)).sum()
    }

    /// Requests served by all nodes, every method and path.
    pub fn total_requests(&self) -> u64 {
        self.shared.nodes.iter().map(|n| n.stats.total()).sum()
    }

    /// Resets the request counters of every node.
    pub fn reset_counts(&self) {
        self.shared.nodes.iter().for_each(|n| n.stats.reset());
    }

    /// Writes a file into the store as an operator would by hand (`dir` is
    /// [`store::APPS`], [`store::POLICIES`] or `""`); it is read at the next reload.
    pub fn place_file(&self, dir: &str, name: &str, text: &str) -> std::io::Result<()> {
        self.shared.store.write(dir, name, text.as_bytes())
    }

    /// Reloads every node now (not counted as a request).
    pub fn reload_all(&self) {
        (0..self.shared.nodes.len()).for_each(|i| self.shared.reload_node(i));
    }

    /// Stops every node and waits for them to finish.
    pub async fn shutdown(mut self) {
        for tx in self.stops.drain(..) {
            let _ = tx.send(());
        }
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
    }
}

/// Binds every node, loads the store into each, spawns the servers and returns at once.
pub async fn start(opts: TykSandboxOptions) -> Result<TykSandbox, TykSandboxError> {
    let store = match &opts.data {
        Some(path) => FileStore::disk(path).map_err(|source| TykSandboxError::Data { path: path.clone(), source })?,
        None => FileStore::memory(),
    };
    let mut listeners = Vec::new();
    let mut nodes = Vec::new();
    for i in 0..opts.nodes.max(1) {
        let mut addr = opts.listen;
        if addr.port() != 0 {
            addr.set_port(addr.port().saturating_add(i as u16));
        }
        let listener =
            tokio::net::TcpListener::bind(addr).await.map_err(|source| TykSandboxError::Bind { addr, source })?;
        let bound = listener.local_addr().map_err(|source| TykSandboxError::Bind { addr, source })?;
        listeners.push(listener);
        nodes.push(Node {
            index: i,
            addr: bound,
            loaded: RwLock::new(Arc::new(Loaded::default())),
            stats: control::PathStats::default(),
        });
    }
    let shared = Arc::new(Shared {
        opts,
        store,
        certs: certs::CertStore::default(),
        faults: Faults::default(),
        ignores: control::Ignores::default(),
        nodes,
    });
    let mut stops = Vec::new();
    let mut tasks = Vec::new();
    for (i, listener) in listeners.into_iter().enumerate() {
        shared.reload_node(i);
        let app = http::app(shared.clone(), i);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        stops.push(tx);
        tasks.push(tokio::spawn(async move {
            let server = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = rx.await;
            });
            if let Err(e) = server.await {
                tracing::error!("Tyk sandbox node stopped: {e}");
            }
        }));
    }
    Ok(TykSandbox { shared, stops, tasks })
}

/// Runs a sandbox in the foreground until Ctrl-C or SIGTERM; `on_ready` gets the node URLs
/// once bound.
pub async fn serve_with(opts: TykSandboxOptions, on_ready: impl FnOnce(&[String])) -> Result<(), TykSandboxError> {
    let sandbox = start(opts).await?;
    on_ready(&sandbox.node_urls());
    wait_for_stop().await;
    sandbox.shutdown().await;
    Ok(())
}

/// Resolves on Ctrl-C, or on SIGTERM on Unix.
async fn wait_for_stop() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
