//! The daemon: one reconcile loop per environment, the HTTP endpoints, notifications, and
//! the shutdown sequence (stop new work, let running applies finish within the timeout,
//! then cancel them, drain notifications, stop serving).

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::http::{self, HttpState, LeaderProbe, LedgerProbe};
use super::metrics::Metrics;
use super::notify::Notifier;
use super::reconcile::{EnvLoop, LoopContext};
use super::schedule::Jitter;
use super::status::EnvHandle;
use super::target::Target;
use super::webhook::WebhookSecrets;
use crate::source::environments::{Secret, WatchPolicy};

/// How long a cancelled apply gets to record itself and release its lock: 10 s.
pub const CANCEL_GRACE: Duration = Duration::from_secs(10);

/// One environment to follow.
pub struct Environment {
    /// The engine's side.
    pub target: Arc<dyn Target>,
    /// How to follow it.
    pub policy: WatchPolicy,
}

/// Everything but the environments.
pub struct DaemonOptions {
    /// Webhook secrets (a provider without one is refused).
    pub webhooks: WebhookSecrets,
    /// Bearer token of the suspend switch.
    pub control_token: Option<Secret>,
    /// Notifications, when configured.
    pub notifier: Option<Notifier>,
    /// How long running applies may take to finish after a stop is asked.
    pub shutdown_timeout: Duration,
    /// `/readyz`'s ledger check.
    pub ledger: LedgerProbe,
    /// `/status`'s leader.
    pub leader: LeaderProbe,
    /// Seed of the poll jitter (`None`: random), for reproducible tests.
    pub seed: Option<u64>,
}

impl Default for DaemonOptions {
    fn default() -> Self {
        DaemonOptions {
            webhooks: WebhookSecrets::default(),
            control_token: None,
            notifier: None,
            shutdown_timeout: Duration::from_secs(60),
            ledger: Arc::new(|| Ok(())),
            leader: Arc::new(|_| None),
            seed: None,
        }
    }
}

/// How the daemon stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    /// Every loop stopped within the timeout.
    Clean,
    /// Applies were still running at the timeout; they were cancelled and stopped within
    /// [`CANCEL_GRACE`].
    Cancelled,
    /// Loops were still running after the grace period; they were abandoned.
    Abandoned,
}

/// The daemon, ready to run.
pub struct Daemon {
    envs: Vec<(Environment, Arc<EnvHandle>)>,
    state: HttpState,
    notifier: Option<Notifier>,
    shutdown_timeout: Duration,
    seed: Option<u64>,
}

impl Daemon {
    /// A daemon following `environments`. Errors: no environment, or two with one name.
    pub fn new(environments: Vec<Environment>, options: DaemonOptions) -> Result<Daemon, String> {
        if environments.is_empty() {
            return Err("no environment to watch".into());
        }
        let mut handles = BTreeMap::new();
        let mut envs = Vec::new();
        for env in environments {
            let name = env.target.name().to_owned();
            let handle = Arc::new(EnvHandle::new(&name, env.policy.suspend));
            if handles.insert(name.clone(), Arc::clone(&handle)).is_some() {
                return Err(format!("environment {name:?} is named twice"));
            }
            envs.push((env, handle));
        }
        let state = HttpState {
            envs: Arc::new(handles),
            metrics: Metrics::new(),
            webhooks: Arc::new(options.webhooks),
            control_token: options.control_token.map(Arc::new),
            ledger: options.ledger,
            leader: options.leader,
        };
        Ok(Daemon {
            envs,
            state,
            notifier: options.notifier,
            shutdown_timeout: options.shutdown_timeout,
            seed: options.seed,
        })
    }

    /// The metrics (the engine increments [`Metrics::admin_api_counter`]).
    pub fn metrics(&self) -> &Metrics {
        &self.state.metrics
    }

    /// The endpoints, to serve elsewhere or to call in tests.
    pub fn router(&self) -> axum::Router {
        http::router(self.state.clone())
    }

    /// The shared handle of environment `name`.
    pub fn handle(&self, name: &str) -> Option<Arc<EnvHandle>> {
        self.state.envs.get(name).cloned()
    }

    /// Runs every loop, serving the endpoints on `listener` (if any), until `shutdown`
    /// completes; then stops as the module docs say.
    pub async fn run(self, listener: Option<TcpListener>, shutdown: impl Future<Output = ()>) -> Shutdown {
        let stop = CancellationToken::new();
        let cancel = CancellationToken::new();
        let ctx = LoopContext {
            metrics: self.state.metrics.clone(),
            notifier: self.notifier.clone(),
            stop: stop.clone(),
            cancel: cancel.clone(),
        };
        let loops = TaskTracker::new();
        for (i, (env, handle)) in self.envs.into_iter().enumerate() {
            let jitter = self.seed.map_or_else(Jitter::new, |s| Jitter::seeded(s.wrapping_add(i as u64)));
            let l = EnvLoop::new(env.target, env.policy, handle, ctx.clone(), jitter);
            loops.spawn(l.run());
        }
        loops.close();
        let server = listener.map(|listener| {
            let app = http::router(self.state.clone());
            let done = stop.clone().cancelled_owned();
            tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(done).await {
                    tracing::error!("the HTTP server stopped: {e}");
                }
            })
        });
        tokio::select! {
            _ = shutdown => {}
            _ = loops.wait() => {}
        }
        tracing::info!("stopping: no new work; waiting up to {}s for running applies", self.shutdown_timeout.as_secs());
        stop.cancel();
        let outcome = if tokio::time::timeout(self.shutdown_timeout, loops.wait()).await.is_ok() {
            Shutdown::Clean
        } else {
            tracing::warn!("applies still running after {}s: cancelling them", self.shutdown_timeout.as_secs());
            cancel.cancel();
            if tokio::time::timeout(CANCEL_GRACE, loops.wait()).await.is_ok() {
                Shutdown::Cancelled
            } else {
                tracing::error!("applies did not stop within {}s of being cancelled", CANCEL_GRACE.as_secs());
                Shutdown::Abandoned
            }
        };
        if let Some(n) = &self.notifier
            && !n.drain(Duration::from_secs(5)).await
        {
            tracing::warn!("some notifications were not delivered before stopping");
        }
        if let Some(server) = server {
            let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
        }
        outcome
    }
}
