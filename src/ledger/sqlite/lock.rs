//! SQLite: lock rows in `locks`, written inside `BEGIN IMMEDIATE` so two processes never
//! both see one free, and renewed by a heartbeat task. A row is stale, and taken over,
//! when its holder ran on this host (same boot and pid namespace) and that process is gone
//! (or its pid now belongs to another process), or, for holders elsewhere, when its lease
//! expired ([`crate::ledger::lock::staleness`]). Locks are shared exactly as far as the
//! file is.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use tokio::sync::{oneshot, watch};

use crate::ledger::lock::{LockInfo, LossReason, Staleness, staleness};
use crate::ledger::process::{Holder, format_ms, now, now_ms};

const SELECT: &str =
    "SELECT key, pid, pid_start, scope, host, user, command, ci_job, acquired_at, lease_until_ms FROM locks";

fn info(r: &rusqlite::Row<'_>) -> rusqlite::Result<LockInfo> {
    Ok(LockInfo {
        key: r.get(0)?,
        pid: r.get::<_, i64>(1)? as u32,
        pid_start: r.get::<_, Option<i64>>(2)?.map(|p| p as u64),
        scope: r.get(3)?,
        host: r.get(4)?,
        user: r.get(5)?,
        command: r.get(6)?,
        ci_job: r.get(7)?,
        acquired_at: r.get(8)?,
        lease_until_ms: Some(r.get(9)?),
        drain_ms: None,
    })
}

/// What one attempt found.
pub enum Attempt {
    /// The lock is ours (after taking over a stale one, if named).
    Got(Option<(LockInfo, Staleness)>),
    /// A live holder has it.
    Held(LockInfo),
}

/// One attempt to take `key` for `holder` with `token`: in one immediate transaction,
/// read the row, take it when free or stale (marking the stale holder's runs
/// `interrupted`), else name its holder.
pub fn try_acquire(
    conn: &mut Connection,
    key: &str,
    token: &str,
    holder: &Holder,
    lease: Duration,
) -> rusqlite::Result<Attempt> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let current = tx.query_row(&format!("{SELECT} WHERE key = ?1"), [key], info).optional()?;
    let mut took_over = None;
    if let Some(c) = current {
        match staleness(&c, now_ms()) {
            Some(why) => {
                tx.execute(
                    "UPDATE runs SET result = 'interrupted', message = ?4 WHERE target = ?1 \
                     AND result = 'running' AND pid = ?2 AND host = ?3",
                    params![key, c.pid, c.host, crate::ledger::TAKEN_OVER],
                )?;
                took_over = Some((c, why));
            }
            None => {
                tx.commit()?;
                return Ok(Attempt::Held(c));
            }
        }
    }
    let stamp = now_ms();
    tx.execute(
        "INSERT OR REPLACE INTO locks (key, token, pid, pid_start, scope, host, user, command, ci_job, \
         acquired_at, renewed_at, lease_until_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?11)",
        params![
            key,
            token,
            holder.pid,
            holder.pid_start.map(|p| p as i64),
            holder.scope,
            holder.host,
            holder.user,
            holder.command,
            holder.ci_job,
            format_ms(stamp),
            stamp + lease.as_millis() as i64
        ],
    )?;
    tx.commit()?;
    Ok(Attempt::Got(took_over))
}

/// Every lock row, by key.
pub fn locks(conn: &Connection) -> rusqlite::Result<Vec<LockInfo>> {
    let mut stmt = conn.prepare(&format!("{SELECT} ORDER BY key"))?;
    stmt.query_map([], info)?.collect()
}

/// The row of `key`, if any.
pub fn lock(conn: &Connection, key: &str) -> rusqlite::Result<Option<LockInfo>> {
    conn.query_row(&format!("{SELECT} WHERE key = ?1"), [key], info).optional()
}

/// Deletes the row of `key` whoever holds it; returns it.
pub fn remove(conn: &Connection, key: &str) -> rusqlite::Result<Option<LockInfo>> {
    let row = lock(conn, key)?;
    conn.execute("DELETE FROM locks WHERE key = ?1", [key])?;
    Ok(row)
}

/// How a held lock is renewed.
pub struct Beat {
    /// The lease each renewal extends.
    pub lease: Duration,
    /// How often (at most a third of the lease).
    pub every: Duration,
}

/// Renews the lease of `key` every `beat.every` until `stop`, then deletes the row if it
/// is still ours and answers on `done`. A renewal that finds the row gone or replaced
/// (taken over, or removed by `gateform unlock`) reports [`LossReason::TakenOver`].
pub async fn heartbeat(
    conn: Connection,
    key: String,
    token: String,
    beat: Beat,
    lost: watch::Sender<Option<LossReason>>,
    mut stop: oneshot::Receiver<()>,
    done: oneshot::Sender<()>,
) {
    let conn = Arc::new(Mutex::new(conn));
    let (lease, every) = (beat.lease, beat.every.max(Duration::from_millis(10)));
    let blocking = |sql: &'static str, until: Option<i64>| {
        let (conn, key, token) = (conn.clone(), key.clone(), token.clone());
        tokio::task::spawn_blocking(move || {
            let c = conn.lock().unwrap_or_else(|e| e.into_inner());
            match until {
                Some(until) => c.execute(sql, params![key, token, now(), until]),
                None => c.execute(sql, params![key, token]),
            }
        })
    };
    loop {
        tokio::select! {
            _ = &mut stop => break,
            _ = tokio::time::sleep(every) => {
                let until = now_ms() + lease.as_millis() as i64;
                let renewed = blocking(
                    "UPDATE locks SET renewed_at = ?3, lease_until_ms = ?4 WHERE key = ?1 AND token = ?2",
                    Some(until),
                )
                .await;
                match renewed {
                    Ok(Ok(0)) if lost.borrow().is_none() => {
                        tracing::warn!("the lock of {key} was taken over by another process");
                        let _ = lost.send(Some(LossReason::TakenOver));
                    }
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => tracing::warn!("cannot renew the lock of {key}: {e}"),
                    Err(e) => tracing::warn!("cannot renew the lock of {key}: {e}"),
                }
            }
        }
    }
    if let Ok(Err(e)) = blocking("DELETE FROM locks WHERE key = ?1 AND token = ?2", None).await {
        tracing::warn!("cannot release the lock of {key}: {e}");
    }
    let _ = done.send(());
}
