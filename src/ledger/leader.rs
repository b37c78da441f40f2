//! Leader election for `watch` replicas: per environment, the replica holding the lock
//! `leader:<environment>` leads (reconciles); the others wait in [`campaign`] and take
//! over when it dies: at once when its process is gone on the same host, within seconds
//! when its PostgreSQL session ends (killed, partitioned, connection cut), or when its
//! SQLite lease runs out. [`leader`] says who leads (for a `/status` endpoint).
//!
//! Leading is not writing: a leader's applies still take the environment's own lock, so a
//! deposed leader finishing a write and its successor never overlap (see [`super::lock`]).

use std::time::Duration;

use super::lock::{LockGuard, LockInfo, LockLost, LockOptions, LossReason};
use super::process::Holder;
use super::{Ledger, LedgerError};

/// The lock key of the leader of `environment` (`leader:prod`; environment names have
/// no `:`, so it names no environment).
pub fn leader_key(environment: &str) -> String {
    format!("leader:{environment}")
}

/// This replica leads an environment until [`Leadership::lost`] fires or it resigns.
#[derive(Debug)]
pub struct Leadership {
    guard: LockGuard,
}

impl Leadership {
    /// The environment led.
    pub fn environment(&self) -> &str {
        self.guard.key().trim_start_matches("leader:")
    }

    /// Fires when leadership is lost: stop reconciling, then campaign again.
    pub fn lost(&self) -> LockLost {
        self.guard.lost()
    }

    /// Why leadership was lost, if it was.
    pub fn loss(&self) -> Option<LossReason> {
        self.guard.loss()
    }

    /// Gives leadership up (another replica may take it at once).
    pub async fn resign(self) {
        self.guard.release().await
    }
}

/// Waits until this replica (`holder`) leads `environment`, looking every `poll`. Never
/// times out: drop the future to stop campaigning. `opts` tunes heartbeats and leases;
/// its timeout and drain are ignored.
pub async fn campaign<L: Ledger>(
    ledger: &L,
    environment: &str,
    holder: &Holder,
    poll: Duration,
    opts: LockOptions,
) -> Result<Leadership, LedgerError> {
    let opts = LockOptions { timeout: Duration::MAX, poll, drain: Duration::ZERO, ..opts };
    let guard = ledger.acquire(&leader_key(environment), holder, opts, &mut |_| {}).await?;
    Ok(Leadership { guard })
}

/// Who leads `environment` now, if anyone.
pub async fn leader<L: Ledger>(ledger: &L, environment: &str) -> Result<Option<LockInfo>, LedgerError> {
    ledger.holder(&leader_key(environment)).await
}
