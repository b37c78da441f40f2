//! Locks: at most one apply or replay at a time per target.
//!
//! A lock is a row of the `locks` table keyed by the target (an environment name, or the
//! gateway URL when none is named), written inside `BEGIN IMMEDIATE` so two processes can
//! never both see it free. The row names its holder (pid, host, user, command, since when)
//! and carries a lease that a heartbeat thread renews every third of its length.
//!
//! A lock is stale, and is taken over (with a [`LockEvent::TookOver`]), when its holder
//! ran on this host (same boot and pid namespace) and that process is gone (or its pid
//! now belongs to another process), or, for holders elsewhere (other hosts, other
//! containers), when its lease has expired. A live holder on this host is never taken
//! over. Runs left `running` by the previous holder are marked
//! `interrupted`. Locks are shared exactly as far as the ledger file is: processes that
//! use the same file.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;

use super::process::{Holder, Liveness, format_ms, liveness, now, now_ms};
use super::{Ledger, LedgerError};

/// How to acquire a lock.
#[derive(Debug, Clone, Copy)]
pub struct LockOptions {
    /// How long to wait for a live holder to finish; zero fails at once.
    pub timeout: Duration,
    /// Lease length: a holder on another host that has not renewed for this long is stale.
    pub lease: Duration,
    /// How often to look again while waiting.
    pub poll: Duration,
}

impl Default for LockOptions {
    /// No waiting, a 30 s lease, a look every 200 ms.
    fn default() -> Self {
        LockOptions { timeout: Duration::ZERO, lease: Duration::from_secs(30), poll: Duration::from_millis(200) }
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
    /// When it was acquired (RFC 3339 UTC).
    pub acquired_at: String,
    /// When it was last renewed (RFC 3339 UTC).
    pub renewed_at: String,
    /// When its lease ends, in milliseconds since the epoch.
    pub lease_until_ms: i64,
}

impl fmt::Display for LockInfo {
    /// `alice@build-7 pid 4242 (gateform apply --env prod) since 2026-11-01T12:00:00.000Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{} pid {} ({}) since {}", self.user, self.host, self.pid, self.command, self.acquired_at)
    }
}

/// Why a lock was stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Staleness {
    /// Its holder's process no longer exists on this host.
    ProcessGone,
    /// Its lease expired (a holder on another host stopped renewing it).
    LeaseExpired,
}

/// What happened while acquiring, for the caller to tell the user.
#[derive(Debug)]
pub enum LockEvent<'a> {
    /// A live holder has it; waiting (sent once).
    Waiting(&'a LockInfo),
    /// A stale lock was taken over.
    TookOver(&'a LockInfo, Staleness),
}

/// A held lock. Dropping it (or [`LockGuard::release`]) stops the heartbeat and deletes the
/// row, unless another process has taken it over meanwhile.
pub struct LockGuard {
    key: String,
    stop: Option<mpsc::Sender<()>>,
    heartbeat: Option<JoinHandle<()>>,
    lost: Arc<AtomicBool>,
}

impl fmt::Debug for LockGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockGuard").field("key", &self.key).finish()
    }
}

impl LockGuard {
    /// The target.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Whether a renewal found the lock held by someone else (it was taken over).
    pub fn lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    /// Releases the lock now.
    pub fn release(mut self) {
        self.stop_heartbeat();
    }

    fn stop_heartbeat(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(h) = self.heartbeat.take() {
            let _ = h.join();
        }
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        self.stop_heartbeat();
    }
}

fn info(r: &rusqlite::Row<'_>) -> rusqlite::Result<LockInfo> {
    Ok(LockInfo {
        key: r.get(0)?,
        pid: r.get::<_, i64>(1)? as u32,
        pid_start: r.get::<_, Option<i64>>(2)?.map(|p| p as u64),
        scope: r.get(3)?,
        host: r.get(4)?,
        user: r.get(5)?,
        command: r.get(6)?,
        acquired_at: r.get(7)?,
        renewed_at: r.get(8)?,
        lease_until_ms: r.get(9)?,
    })
}

/// Whether `lock` may be taken over at `now_ms`.
pub fn staleness(lock: &LockInfo, now_ms: i64) -> Option<Staleness> {
    match liveness(lock.pid, lock.pid_start, &lock.host, lock.scope.as_deref()) {
        Liveness::Dead => Some(Staleness::ProcessGone),
        Liveness::Alive => None,
        Liveness::Unknown if lock.lease_until_ms < now_ms => Some(Staleness::LeaseExpired),
        Liveness::Unknown => None,
    }
}

const SELECT: &str =
    "SELECT key, pid, pid_start, scope, host, user, command, acquired_at, renewed_at, lease_until_ms FROM locks";

impl Ledger {
    /// Acquires the lock of `key` for `holder`: at once when free or stale, else waiting up
    /// to `opts.timeout` for its holder to release it. Fails with
    /// [`LedgerError::Locked`] naming the holder.
    pub fn acquire(
        &mut self,
        key: &str,
        holder: &Holder,
        opts: &LockOptions,
        on_event: &mut dyn FnMut(LockEvent<'_>),
    ) -> Result<LockGuard, LedgerError> {
        let started = Instant::now();
        let mut announced = false;
        let token = uuid::Uuid::new_v4().to_string();
        let path = self.path.clone();
        let sql = |source| LedgerError::Sqlite { path: path.clone(), source };
        loop {
            let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(sql)?;
            let current = tx.query_row(&format!("{SELECT} WHERE key = ?1"), [key], info).optional().map_err(sql)?;
            let now = now_ms();
            let free = match &current {
                None => true,
                Some(c) => match staleness(c, now) {
                    Some(why) => {
                        on_event(LockEvent::TookOver(c, why));
                        tx.execute(
                            "UPDATE runs SET result = 'interrupted', message = ?4 WHERE target = ?1 \
                             AND result = 'running' AND pid = ?2 AND host = ?3",
                            params![
                                key,
                                c.pid,
                                c.host,
                                "the process ended before the run finished (its lock was taken over)"
                            ],
                        )
                        .map_err(sql)?;
                        true
                    }
                    None => false,
                },
            };
            if free {
                let stamp = now_ms();
                tx.execute(
                    "INSERT OR REPLACE INTO locks (key, token, pid, pid_start, scope, host, user, command, \
                     acquired_at, renewed_at, lease_until_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10)",
                    params![
                        key,
                        token,
                        holder.pid,
                        holder.pid_start.map(|p| p as i64),
                        holder.scope,
                        holder.host,
                        holder.user,
                        holder.command,
                        format_ms(stamp),
                        stamp + opts.lease.as_millis() as i64
                    ],
                )
                .map_err(sql)?;
                tx.commit().map_err(sql)?;
                return self.start_heartbeat(key, &token, opts.lease);
            }
            tx.commit().map_err(sql)?;
            let Some(current) = current else { continue };
            let waited = started.elapsed();
            if waited >= opts.timeout {
                return Err(LedgerError::Locked { key: key.to_owned(), holder: Box::new(current), waited });
            }
            if !announced {
                on_event(LockEvent::Waiting(&current));
                announced = true;
            }
            std::thread::sleep(opts.poll.min(opts.timeout - waited));
        }
    }

    /// Every lock row.
    pub fn locks(&self) -> Result<Vec<LockInfo>, LedgerError> {
        let mut stmt = self.conn.prepare(&format!("{SELECT} ORDER BY key")).map_err(|e| self.err(e))?;
        stmt.query_map([], info).and_then(|r| r.collect()).map_err(|e| self.err(e))
    }

    fn start_heartbeat(&self, key: &str, token: &str, lease: Duration) -> Result<LockGuard, LedgerError> {
        let conn = Connection::open(&self.path).map_err(|e| self.err(e))?;
        conn.busy_timeout(Duration::from_secs(10)).map_err(|e| self.err(e))?;
        let (stop, stopped) = mpsc::channel::<()>();
        let lost = Arc::new(AtomicBool::new(false));
        let (k, t, l) = (key.to_owned(), token.to_owned(), lost.clone());
        let every = (lease / 3).max(Duration::from_millis(10));
        let heartbeat = std::thread::Builder::new()
            .name("gateform-lock-heartbeat".into())
            .spawn(move || heartbeat(conn, &k, &t, lease, every, &stopped, &l))
            .map_err(|e| LedgerError::Io { path: self.path.clone(), source: e })?;
        Ok(LockGuard { key: key.to_owned(), stop: Some(stop), heartbeat: Some(heartbeat), lost })
    }
}

/// Renews the lease every `every` until told to stop (or the guard is gone), then deletes
/// the row if it is still ours.
fn heartbeat(
    conn: Connection,
    key: &str,
    token: &str,
    lease: Duration,
    every: Duration,
    stopped: &mpsc::Receiver<()>,
    lost: &AtomicBool,
) {
    // Anything but a timeout (a stop message, or the guard gone) ends the heartbeat.
    while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
        let until = now_ms() + lease.as_millis() as i64;
        let renewed = conn.execute(
            "UPDATE locks SET renewed_at = ?3, lease_until_ms = ?4 WHERE key = ?1 AND token = ?2",
            params![key, token, now(), until],
        );
        match renewed {
            Ok(0) => {
                lost.store(true, Ordering::SeqCst);
                tracing::warn!("the lock of {key} was taken over by another process");
            }
            Ok(_) => {}
            Err(e) => tracing::warn!("cannot renew the lock of {key}: {e}"),
        }
    }
    if let Err(e) = conn.execute("DELETE FROM locks WHERE key = ?1 AND token = ?2", params![key, token]) {
        tracing::warn!("cannot release the lock of {key}: {e}");
    }
}
