//! PostgreSQL: locks as session-level advisory locks, plus a row naming the holder.
//!
//! Acquiring opens a session of its own and loops on `pg_try_advisory_lock(id)` (`id`
//! from the target, [`super::PgLedger::lock_id`]) until it succeeds or the timeout runs
//! out. The session asks the server to probe its TCP connection (`tcp_keepalives_*`,
//! `tcp_user_timeout`), so a partitioned holder's session, and with it the lock, ends
//! within about 15 s; a killed holder's ends at once. Once it holds the lock:
//!
//! * a row left by a previous holder means that holder lost its session without
//!   releasing. If its process is gone (same host) it is taken over at once; otherwise the
//!   new holder waits until that holder deletes its row (it does once its in-flight
//!   writes ended) or for the drain the holder declared ([`LockOptions::drain`]), so two
//!   writers never overlap. Its `running` runs are then marked `interrupted` (a late
//!   record of their real end still replaces that);
//! * the row is written (`gateform_locks`: holder, session pid, drain) and a watcher task
//!   keeps the session: a heartbeat (`SELECT 1`) every [`LockOptions::heartbeat`], and the
//!   connection's own end, signal [`LockGuard::lost`].
//!
//! Releasing deletes the row and unlocks; after a loss, releasing opens a new session to
//! delete the row, telling a waiting successor it may start.

use std::time::{Duration, Instant};

use tokio::sync::{oneshot, watch};
use tokio_postgres::Client;

use super::connect::{Connector, Session};
use crate::ledger::LedgerError;
use crate::ledger::lock::{LockEvent, LockGuard, LockInfo, LockOptions, LossReason, Staleness, Waiter, loss_channel};
use crate::ledger::process::{Holder, Liveness, format_ms, liveness, now_ms};

const SELECT: &str = "SELECT key, pid, pid_start, scope, host, user_name, command, ci_job, acquired_ms, drain_ms, \
    token, backend_pid FROM gateform_locks";

/// The session pid holding advisory lock `$1` in this database.
const HOLDING_PID: &str = "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted \
    AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
    AND classid = (($1::bigint >> 32) & 4294967295)::oid AND objid = ($1::bigint & 4294967295)::oid \
    AND objsubid = 1 LIMIT 1";

/// A lock row with what only this backend needs.
struct Row {
    info: LockInfo,
    token: String,
    backend_pid: i32,
}

fn row(r: &tokio_postgres::Row) -> Row {
    Row {
        info: LockInfo {
            key: r.get(0),
            pid: r.get::<_, i64>(1) as u32,
            pid_start: r.get::<_, Option<i64>>(2).map(|p| p as u64),
            scope: r.get(3),
            host: r.get(4),
            user: r.get(5),
            command: r.get(6),
            ci_job: r.get(7),
            acquired_at: format_ms(r.get(8)),
            lease_until_ms: None,
            drain_ms: Some(r.get(9)),
        },
        token: r.get(10),
        backend_pid: r.get(11),
    }
}

async fn read_row(c: &Client, key: &str) -> Result<Option<Row>, tokio_postgres::Error> {
    Ok(c.query_opt(&format!("{SELECT} WHERE key = $1"), &[&key]).await?.as_ref().map(row))
}

/// Every row, by key.
pub async fn rows(c: &Client) -> Result<Vec<LockInfo>, tokio_postgres::Error> {
    Ok(c.query(&format!("{SELECT} ORDER BY key"), &[]).await?.iter().map(|r| row(r).info).collect())
}

/// The session holding lock `id` of `key` and its row (`None` when the session wrote none,
/// or the row is a previous holder's); `None` when nobody holds it.
pub async fn live_holder(
    c: &Client,
    key: &str,
    id: i64,
) -> Result<Option<(i32, Option<LockInfo>)>, tokio_postgres::Error> {
    let Some(pid) = c.query_opt(HOLDING_PID, &[&id]).await?.map(|r| r.get::<_, i32>(0)) else {
        return Ok(None);
    };
    let row = read_row(c, key).await?.filter(|r| r.backend_pid == pid).map(|r| r.info);
    Ok(Some((pid, row)))
}

/// A holder known only by its database session.
pub fn unknown_holder(key: &str, backend_pid: i32) -> LockInfo {
    LockInfo {
        key: key.to_owned(),
        pid: 0,
        pid_start: None,
        scope: None,
        host: "?".into(),
        user: "?".into(),
        command: format!("database session {backend_pid}, which wrote no holder row"),
        ci_job: None,
        acquired_at: "?".into(),
        lease_until_ms: None,
        drain_ms: None,
    }
}

/// Breaks the lock of `key`: a live holder's session is terminated and its row kept, so
/// the next holder still waits for its drain (its in-flight writes); a row without a live
/// session is deleted. Returns the row, or a description of a session without one.
pub async fn force_unlock(c: &Client, key: &str, id: i64) -> Result<Option<LockInfo>, tokio_postgres::Error> {
    let row = read_row(c, key).await?;
    match c.query_opt(HOLDING_PID, &[&id]).await?.map(|r| r.get::<_, i32>(0)) {
        Some(pid) => {
            c.execute("SELECT pg_terminate_backend($1)", &[&pid]).await?;
            Ok(Some(row.filter(|r| r.backend_pid == pid).map_or_else(|| unknown_holder(key, pid), |r| r.info)))
        }
        None => {
            c.execute("DELETE FROM gateform_locks WHERE key = $1", &[&key]).await?;
            Ok(row.map(|r| r.info))
        }
    }
}

/// Opens the lock's own session, asking the server to drop it soon after its peer
/// vanishes.
async fn lock_session(connector: &Connector) -> Result<Session, LedgerError> {
    let (client, task) = connector.connect().await?;
    for setting in [
        "SET tcp_keepalives_idle = 5",
        "SET tcp_keepalives_interval = 2",
        "SET tcp_keepalives_count = 3",
        "SET tcp_user_timeout = 10000",
        "SET application_name = 'gateform lock'",
    ] {
        if let Err(e) = client.batch_execute(setting).await {
            tracing::debug!("{setting}: {e}");
        }
    }
    Ok((client, task))
}

/// See the module docs.
pub async fn acquire(
    connector: &Connector,
    id: i64,
    key: &str,
    holder: &Holder,
    opts: LockOptions,
    on_event: &mut (dyn FnMut(LockEvent<'_>) + Send),
) -> Result<LockGuard, LedgerError> {
    let (client, task) = lock_session(connector).await?;
    let err = |e| connector.err(e);
    let mut waiter = Waiter::new();
    loop {
        let got: bool = client.query_one("SELECT pg_try_advisory_lock($1)", &[&id]).await.map_err(err)?.get(0);
        if got {
            break;
        }
        let current = live_holder(&client, key, id).await.map_err(err)?.and_then(|(_, row)| row);
        waiter.held(key, current, &opts, on_event).await?;
    }
    if let Some(previous) = read_row(&client, key).await.map_err(err)? {
        take_over(&client, previous, &opts, on_event).await.map_err(err)?;
    }
    let token = uuid::Uuid::new_v4().to_string();
    client
        .execute(
            "INSERT INTO gateform_locks (key, token, lock_id, backend_pid, pid, pid_start, scope, host, user_name, \
             command, ci_job, acquired_ms, drain_ms) \
             VALUES ($1, $2, $3, pg_backend_pid(), $4, $5, $6, $7, $8, $9, $10, $11, $12) \
             ON CONFLICT (key) DO UPDATE SET token = EXCLUDED.token, lock_id = EXCLUDED.lock_id, \
             backend_pid = EXCLUDED.backend_pid, pid = EXCLUDED.pid, pid_start = EXCLUDED.pid_start, \
             scope = EXCLUDED.scope, host = EXCLUDED.host, user_name = EXCLUDED.user_name, \
             command = EXCLUDED.command, ci_job = EXCLUDED.ci_job, acquired_ms = EXCLUDED.acquired_ms, \
             drain_ms = EXCLUDED.drain_ms",
            &[
                &key,
                &token,
                &id,
                &i64::from(holder.pid),
                &holder.pid_start.map(|p| p as i64),
                &holder.scope,
                &holder.host,
                &holder.user,
                &holder.command,
                &holder.ci_job,
                &now_ms(),
                &(opts.drain.as_millis() as i64),
            ],
        )
        .await
        .map_err(err)?;
    let (lost_tx, lost) = loss_channel();
    let (stop_tx, stop_rx) = oneshot::channel();
    let (done_tx, done_rx) = oneshot::channel();
    let watcher = Watcher { connector: connector.clone(), key: key.to_owned(), token, id, opts };
    tokio::spawn(watcher.run(client, task, lost_tx, stop_rx, done_tx));
    Ok(LockGuard::new(key, lost, stop_tx, done_rx))
}

/// Handles the row of a holder that lost its session: waits for its drain unless its
/// process is known gone, then marks its runs `interrupted`.
async fn take_over(
    client: &Client,
    previous: Row,
    opts: &LockOptions,
    on_event: &mut (dyn FnMut(LockEvent<'_>) + Send),
) -> Result<(), tokio_postgres::Error> {
    let p = &previous.info;
    let gone = || liveness(p.pid, p.pid_start, &p.host, p.scope.as_deref()) == Liveness::Dead;
    on_event(LockEvent::TookOver(p, if gone() { Staleness::ProcessGone } else { Staleness::SessionEnded }));
    let drain = Duration::from_millis(p.drain_ms.unwrap_or(0).max(0) as u64);
    if !gone() && !drain.is_zero() {
        on_event(LockEvent::Draining(p, drain));
        let deadline = Instant::now() + drain;
        while Instant::now() < deadline && !gone() {
            let still = read_row(client, &p.key).await?.is_some_and(|r| r.token == previous.token);
            if !still {
                break;
            }
            tokio::time::sleep(opts.poll.min(deadline.saturating_duration_since(Instant::now()))).await;
        }
    }
    client
        .execute(
            "UPDATE gateform_runs SET result = 'interrupted', message = $4 WHERE target = $1 AND result = 'running' \
             AND host = $2 AND pid = $3",
            &[&p.key, &p.host, &i64::from(p.pid), &crate::ledger::TAKEN_OVER],
        )
        .await?;
    Ok(())
}

/// Keeps a held lock's session and reports its loss.
struct Watcher {
    connector: Connector,
    key: String,
    token: String,
    id: i64,
    opts: LockOptions,
}

impl Watcher {
    async fn run(
        self,
        client: Client,
        mut task: tokio::task::JoinHandle<Result<(), tokio_postgres::Error>>,
        lost: watch::Sender<Option<LossReason>>,
        mut stop: oneshot::Receiver<()>,
        done: oneshot::Sender<()>,
    ) {
        let reason = loop {
            tokio::select! {
                _ = &mut stop => {
                    let deleted = client
                        .execute("DELETE FROM gateform_locks WHERE key = $1 AND token = $2", &[&self.key, &self.token])
                        .await;
                    let unlocked = client.execute("SELECT pg_advisory_unlock($1)", &[&self.id]).await;
                    if let Err(e) = deleted.and(unlocked) {
                        tracing::warn!("cannot release the lock of {}: {e}", self.key);
                    }
                    let _ = done.send(());
                    return;
                }
                ended = &mut task => {
                    let why = match ended {
                        Ok(Err(e)) => e.to_string(),
                        Ok(Ok(())) => "the server closed the connection".to_owned(),
                        Err(e) => e.to_string(),
                    };
                    break LossReason::ConnectionLost(why);
                }
                _ = tokio::time::sleep(self.opts.heartbeat) => {
                    match tokio::time::timeout(self.opts.heartbeat_timeout, client.simple_query("SELECT 1")).await {
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => break LossReason::ConnectionLost(e.to_string()),
                        Err(_) => break LossReason::NoHeartbeat(format!(
                            "no answer to a heartbeat within {} ms", self.opts.heartbeat_timeout.as_millis()
                        )),
                    }
                }
            }
        };
        tracing::warn!("lost the lock of {}: {reason}", self.key);
        let _ = lost.send(Some(reason));
        drop(client);
        task.abort();
        // The owner releases (or drops the guard) once its writes ended: then tell a
        // successor waiting for this holder's drain that it may start.
        let _ = stop.await;
        self.delete_row_after_loss().await;
        let _ = done.send(());
    }

    /// Deletes this holder's row from a new session: up to 3 tries within about 5 s.
    async fn delete_row_after_loss(&self) {
        for attempt in 0..3 {
            let tried = tokio::time::timeout(Duration::from_secs(5), async {
                let (client, _task) = self.connector.connect().await?;
                client
                    .execute("DELETE FROM gateform_locks WHERE key = $1 AND token = $2", &[&self.key, &self.token])
                    .await
                    .map_err(|e| self.connector.err(e))
            })
            .await;
            match tried {
                Ok(Ok(_)) => return,
                Ok(Err(e)) => tracing::warn!("cannot tell the next holder of {} that this one stopped: {e}", self.key),
                Err(_) => tracing::warn!("cannot tell the next holder of {} that this one stopped: timeout", self.key),
            }
            if attempt < 2 {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}
