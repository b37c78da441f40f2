//! Tests of the daemon over a fake target. Everything that depends on time runs under
//! paused tokio time: a test's `sleep` advances the clock as soon as every task waits.

mod fake;
mod http;
mod loops;
mod notify;

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::daemon::{Daemon, DaemonOptions, Environment, Shutdown};
use super::status::EnvHandle;
use crate::source::environments::WatchPolicy;
use fake::Fake;

/// A policy without jitter (exact times), polling every `poll` seconds, checking drift
/// once a day (tests of drift set their interval).
pub fn policy(poll: u64) -> WatchPolicy {
    WatchPolicy {
        poll_interval: Duration::from_secs(poll),
        jitter: 0.0,
        drift_interval: Duration::from_secs(86_400),
        ..WatchPolicy::default()
    }
}

/// A running daemon.
pub struct Running {
    pub router: axum::Router,
    pub metrics: super::Metrics,
    pub handles: Vec<Arc<EnvHandle>>,
    stop: CancellationToken,
    task: JoinHandle<Shutdown>,
}

impl Running {
    pub fn handle(&self, i: usize) -> &EnvHandle {
        &self.handles[i]
    }

    /// Asks the daemon to stop and returns how it stopped.
    pub async fn stop(self) -> Shutdown {
        self.stop.cancel();
        self.task.await.unwrap()
    }
}

/// Starts a daemon over `envs` with `options` (jitter seeded).
pub fn start(envs: Vec<(Arc<Fake>, WatchPolicy)>, mut options: DaemonOptions) -> Running {
    options.seed.get_or_insert(42);
    let names: Vec<String> = envs.iter().map(|(f, _)| crate::watch::Target::name(f.as_ref()).to_owned()).collect();
    let environments =
        envs.into_iter().map(|(f, policy)| Environment { target: f as Arc<dyn super::Target>, policy }).collect();
    let daemon = Daemon::new(environments, options).unwrap();
    let router = daemon.router();
    let metrics = daemon.metrics().clone();
    let handles = names.iter().map(|n| daemon.handle(n).unwrap()).collect();
    let stop = CancellationToken::new();
    let done = stop.clone();
    let task = tokio::spawn(async move { daemon.run(None, done.cancelled_owned()).await });
    Running { router, metrics, handles, stop, task }
}

/// Lets virtual time pass.
pub async fn wait(secs: f64) {
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
}
