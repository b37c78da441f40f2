//! Leader election among `watch` replicas (`ledger::leader`): per environment, the replica
//! holding the ledger's `leader:<environment>` lock reconciles; the others stand by, and take
//! over within seconds when it dies. A background campaign per environment keeps each
//! replica's view current; `/status` shows who leads.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::ledger::{AnyLedger, Holder, LedgerLocation, LockOptions, PgOptions, leader};

/// How often a standby replica looks again, and the campaign's poll.
pub const POLL: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, Default)]
struct View {
    leading: bool,
    leader: Option<String>,
}

/// Who leads each environment, as this replica sees it.
#[derive(Debug, Default)]
pub struct Leaders {
    views: Mutex<BTreeMap<String, View>>,
    stop: tokio_util::sync::CancellationToken,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Leaders {
    /// Whether this replica leads `environment`.
    pub fn leads(&self, environment: &str) -> bool {
        self.views.lock().map(|v| v.get(environment).is_some_and(|v| v.leading)).unwrap_or(false)
    }

    /// The leader of `environment` (this replica or another), when known.
    pub fn leader(&self, environment: &str) -> Option<String> {
        self.views.lock().ok().and_then(|v| v.get(environment).and_then(|v| v.leader.clone()))
    }

    /// Stops campaigning and gives up every lead this replica holds (at shutdown), so another
    /// replica may lead at once.
    pub async fn resign(&self) {
        self.stop.cancel();
        let tasks: Vec<_> = self.tasks.lock().map(|mut t| std::mem::take(&mut *t)).unwrap_or_default();
        for t in tasks {
            let _ = t.await;
        }
    }

    fn set(&self, environment: &str, view: View) {
        if let Ok(mut v) = self.views.lock() {
            v.insert(environment.to_owned(), view);
        }
    }
}

/// Starts one campaign per environment: this replica leads an environment while it holds
/// its leader lock, campaigns again when it loses it, and meanwhile notes who leads.
pub fn campaign(environments: &[String], ledger: LedgerLocation, pg: PgOptions, holder: Holder) -> Arc<Leaders> {
    let leaders = Arc::new(Leaders::default());
    for env in environments {
        let (leaders, ledger, pg, holder, env) =
            (leaders.clone(), ledger.clone(), pg.clone(), holder.clone(), env.clone());
        let task = leaders.clone();
        let handle = tokio::spawn(async move {
            let leaders = task;
            while !leaders.stop.is_cancelled() {
                if let Err(e) = lead_once(&leaders, &env, &ledger, &pg, &holder).await {
                    tracing::warn!(environment = env.as_str(), "leader election: {e}; trying again");
                }
                leaders.set(&env, View { leading: false, leader: None });
                tokio::select! {
                    () = tokio::time::sleep(POLL) => {}
                    () = leaders.stop.cancelled() => {}
                }
            }
        });
        if let Ok(mut t) = leaders.tasks.lock() {
            t.push(handle);
        }
    }
    leaders
}

async fn lead_once(
    leaders: &Leaders,
    env: &str,
    location: &LedgerLocation,
    pg: &PgOptions,
    holder: &Holder,
) -> Result<(), crate::ledger::LedgerError> {
    let ledger = AnyLedger::open(location, pg).await?;
    let campaign = leader::campaign(&ledger, env, holder, POLL, LockOptions::default());
    tokio::pin!(campaign);
    let won = loop {
        // While campaigning, note who leads.
        if let Ok(Some(info)) = leader::leader(&ledger, env).await {
            leaders.set(env, View { leading: false, leader: Some(info.to_string()) });
        }
        tokio::select! {
            won = &mut campaign => break won?,
            () = tokio::time::sleep(POLL * 2) => {}
            () = leaders.stop.cancelled() => return Ok(()),
        }
    };
    tracing::info!(environment = env, "this replica leads");
    let me = format!("{}@{} pid {} (this replica)", holder.user, holder.host, holder.pid);
    leaders.set(env, View { leading: true, leader: Some(me) });
    let mut lost = won.lost();
    tokio::select! {
        reason = lost.wait() => tracing::warn!(environment = env, "lost the lead: {reason}"),
        () = leaders.stop.cancelled() => won.resign().await,
    }
    Ok(())
}
