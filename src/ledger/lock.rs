//! Locks: at most one writer per target, on either backend.
//!
//! A lock is taken by [`super::Ledger::acquire`] and held by a [`LockGuard`] until it is
//! released or lost. How each backend holds it:
//!
//! * SQLite: a row of `locks` written inside `BEGIN IMMEDIATE`, renewed by a heartbeat
//!   (a lease of [`LockOptions::lease`]). A holder on this host whose process is gone is
//!   taken over at once; a holder elsewhere once its lease expired.
//! * PostgreSQL: a session-level advisory lock (`pg_try_advisory_lock`) on a connection of
//!   its own, so a killed or partitioned holder loses it when its session ends (Terraform's
//!   `pg` backend does the same, `shared/docs/gitops-anchors.md` §1), plus a row naming the
//!   holder for the "locked by …" message.
//!
//! The guard tells its owner when the lock is lost ([`LockGuard::lost`], a future): a cut
//! connection, a session terminated by `gateform unlock`, a heartbeat without answer, or a
//! row taken over. A writer that gets that signal must stop starting new writes at once;
//! see the README, "Teams: a shared ledger on PostgreSQL".

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::{oneshot, watch};

use super::LedgerError;
use super::process::{Liveness, liveness};

/// How to acquire and keep a lock.
#[derive(Debug, Clone, Copy)]
pub struct LockOptions {
    /// How long to wait for a live holder to finish; zero fails at once,
    /// [`Duration::MAX`] waits for ever.
    pub timeout: Duration,
    /// SQLite: lease length; a holder on another host that has not renewed for this long
    /// is stale. The heartbeat renews it every [`LockOptions::heartbeat`] (at most a third
    /// of it), and notices then when the row was taken over or removed.
    pub lease: Duration,
    /// How often to look again while waiting.
    pub poll: Duration,
    /// How often the holder checks that it still holds the lock (PostgreSQL: that its
    /// session answers; SQLite: renewing its lease).
    pub heartbeat: Duration,
    /// PostgreSQL: how long the holder gives the session to answer before it counts the
    /// lock as lost.
    pub heartbeat_timeout: Duration,
    /// The longest a write already sent may still take after the lock is lost (the
    /// gateway client's timeout × its tries). A process that takes the lock over from a
    /// holder that did not release it waits this long (the holder's value, stored in the
    /// lock row) before writing, unless that holder says it has stopped or its process is
    /// known gone: never two writers.
    pub drain: Duration,
}

impl Default for LockOptions {
    /// No waiting; a 30 s lease; a look every 200 ms; a heartbeat every 2 s answered
    /// within 3 s; 60 s of drain.
    fn default() -> Self {
        LockOptions {
            timeout: Duration::ZERO,
            lease: Duration::from_secs(30),
            poll: Duration::from_millis(200),
            heartbeat: Duration::from_secs(2),
            heartbeat_timeout: Duration::from_secs(3),
            drain: Duration::from_secs(60),
        }
    }
}

/// A lock row: who holds what since when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LockInfo {
    /// The target.
    pub key: String,
    /// The holder's process id.
    pub pid: u32,
    /// The holder's process start time, when known.
    pub pid_start: Option<u64>,
    /// Where the holder's pid means something ([`super::process_scope`]).
    pub scope: Option<String>,
    /// The holder's host.
    pub host: String,
    /// The holder's user.
    pub user: String,
    /// The holder's command line.
    pub command: String,
    /// The holder's CI job, when it runs in one.
    pub ci_job: Option<String>,
    /// When it was acquired (RFC 3339 UTC).
    pub acquired_at: String,
    /// SQLite: when its lease ends, in milliseconds since the epoch. PostgreSQL: `None`
    /// (the session holds the lock).
    pub lease_until_ms: Option<i64>,
    /// PostgreSQL: the holder's declared drain ([`LockOptions::drain`]), in ms.
    pub drain_ms: Option<i64>,
}

impl fmt::Display for LockInfo {
    /// `alice@build-7 pid 4242 (gateform apply --env prod) since 2026-11-01T12:00:00.000Z`,
    /// then `, CI job https://…` when known.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{} pid {} ({}) since {}", self.user, self.host, self.pid, self.command, self.acquired_at)?;
        if let Some(job) = &self.ci_job {
            write!(f, ", CI job {job}")?;
        }
        Ok(())
    }
}

/// Why a lock was stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Staleness {
    /// Its holder's process no longer exists on this host.
    ProcessGone,
    /// Its lease expired (a holder on another host stopped renewing it).
    LeaseExpired,
    /// Its holder's database session ended without releasing it (killed, partitioned,
    /// connection cut, database restarted).
    SessionEnded,
}

impl Staleness {
    /// Why, for messages: `that process no longer exists`, ….
    pub fn describe(self) -> &'static str {
        match self {
            Staleness::ProcessGone => "that process no longer exists",
            Staleness::LeaseExpired => "its lease expired",
            Staleness::SessionEnded => "its database session ended",
        }
    }
}

/// What happened while acquiring, for the caller to tell the user.
#[derive(Debug)]
pub enum LockEvent<'a> {
    /// A live holder has it; waiting (sent once).
    Waiting(&'a LockInfo),
    /// A stale lock was taken over.
    TookOver(&'a LockInfo, Staleness),
    /// The lock is ours, but its previous holder may still have writes in flight: waiting
    /// up to this long for it to say it stopped.
    Draining(&'a LockInfo, Duration),
}

/// Why a held lock was lost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LossReason {
    /// The connection holding the lock closed or failed (session terminated, database
    /// stopped, network cut), with the client's error.
    ConnectionLost(String),
    /// The session did not answer a heartbeat in time.
    NoHeartbeat(String),
    /// Another process took the lock over, or `gateform unlock` removed it.
    TakenOver,
}

impl fmt::Display for LossReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LossReason::ConnectionLost(e) => write!(f, "the ledger connection holding it was lost ({e})"),
            LossReason::NoHeartbeat(e) => write!(f, "the ledger stopped answering ({e})"),
            LossReason::TakenOver => f.write_str("it was taken over or removed by another process"),
        }
    }
}

/// The loss signal of a lock: cheap to clone, one per task that must stop writing.
#[derive(Debug, Clone)]
pub struct LockLost {
    rx: watch::Receiver<Option<LossReason>>,
    /// Keeps the sender of a signal that never fires ([`LockLost::never`]).
    _never: Option<Arc<watch::Sender<Option<LossReason>>>>,
}

impl LockLost {
    /// The reason, if the lock is already lost.
    pub fn reason(&self) -> Option<LossReason> {
        self.rx.borrow().clone()
    }

    /// Resolves when the lock is lost (at once if it already is). If the guard is
    /// released without loss, never resolves.
    pub async fn wait(&mut self) -> LossReason {
        loop {
            if let Some(r) = self.rx.borrow_and_update().clone() {
                return r;
            }
            if self.rx.changed().await.is_err() {
                // Released: the lock can no longer be lost.
                std::future::pending::<()>().await;
            }
        }
    }

    /// A signal that never fires (no lock held, e.g. an in-process sandbox).
    pub fn never() -> LockLost {
        let (tx, rx) = watch::channel(None);
        LockLost { rx, _never: Some(Arc::new(tx)) }
    }
}

/// The sending half, kept by the backend's watcher.
pub(super) fn loss_channel() -> (watch::Sender<Option<LossReason>>, LockLost) {
    let (tx, rx) = watch::channel(None);
    (tx, LockLost { rx, _never: None })
}

/// A held lock. [`LockGuard::release`] gives it back (and waits until it is); dropping
/// the guard asks for the same without waiting.
pub struct LockGuard {
    key: String,
    lost: LockLost,
    stop: Option<oneshot::Sender<()>>,
    done: Option<oneshot::Receiver<()>>,
}

impl fmt::Debug for LockGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockGuard").field("key", &self.key).field("lost", &self.lost.reason()).finish()
    }
}

impl LockGuard {
    /// A guard whose backend watcher stops on `stop` and answers on `done` when released.
    pub(super) fn new(key: &str, lost: LockLost, stop: oneshot::Sender<()>, done: oneshot::Receiver<()>) -> Self {
        LockGuard { key: key.to_owned(), lost, stop: Some(stop), done: Some(done) }
    }

    /// The target.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Why the lock was lost, if it was.
    pub fn loss(&self) -> Option<LossReason> {
        self.lost.reason()
    }

    /// The loss signal, to hand to whatever must stop writing when the lock goes.
    pub fn lost(&self) -> LockLost {
        self.lost.clone()
    }

    /// Releases the lock and waits (at most 10 s) until the backend did. After a loss,
    /// this tells the next holder that this process stopped writing (PostgreSQL), so it
    /// need not wait out the drain: call it only once every write of this process ended.
    pub async fn release(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(done) = self.done.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), done).await;
        }
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Whether the SQLite lock row `lock` may be taken over at `now_ms`.
pub fn staleness(lock: &LockInfo, now_ms: i64) -> Option<Staleness> {
    match liveness(lock.pid, lock.pid_start, &lock.host, lock.scope.as_deref()) {
        Liveness::Dead => Some(Staleness::ProcessGone),
        Liveness::Alive => None,
        Liveness::Unknown if lock.lease_until_ms.is_some_and(|l| l < now_ms) => Some(Staleness::LeaseExpired),
        Liveness::Unknown => None,
    }
}

/// The waiting half of both backends' acquire loops.
pub(super) struct Waiter {
    started: Instant,
    announced: bool,
}

impl Waiter {
    /// Starts the clock of [`LockOptions::timeout`].
    pub(super) fn new() -> Waiter {
        Waiter { started: Instant::now(), announced: false }
    }

    /// Another holder (`current`, when known) has `key`: fails with
    /// [`LedgerError::Locked`] once the timeout ran out, else tells `on_event` once that
    /// this process waits, and sleeps one poll.
    pub(super) async fn held(
        &mut self,
        key: &str,
        current: Option<LockInfo>,
        opts: &LockOptions,
        on_event: &mut (dyn FnMut(LockEvent<'_>) + Send),
    ) -> Result<(), LedgerError> {
        let waited = self.started.elapsed();
        if waited >= opts.timeout {
            return Err(LedgerError::Locked { key: key.to_owned(), holder: current.map(Box::new), waited });
        }
        if !self.announced
            && let Some(c) = &current
        {
            on_event(LockEvent::Waiting(c));
            self.announced = true;
        }
        tokio::time::sleep(opts.poll.min(opts.timeout - waited)).await;
        Ok(())
    }
}
