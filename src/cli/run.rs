//! What every command that runs the engine shares: building the [`Reconciler`] and the
//! ledger [`Recording`] from settings, Ctrl-C handling, and closing a run's session.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::anyhow;
use tokio_util::sync::CancellationToken;

use super::args::{LedgerArgs, LedgerLocationArgs, WriteArgs};
use super::output::errln;
use super::settings::{Settings, command_line, ledger_location, pg_options, user_name};
use crate::engine::{ApplyOptions, Reconciler, Recording, RunOutcome, drain_for};
use crate::ledger::{AnyLedger, Holder, LedgerError, LedgerLocation, ci_job_url};
use crate::plan::Plan;

/// The process environment: the variables configuration templates may read.
pub fn process_env() -> BTreeMap<String, String> {
    std::env::vars().collect()
}

/// The reconciler of a command's settings. The first Ctrl-C cancels its runs (requests in
/// flight finish, nothing new starts, the report is printed and recorded); a second one
/// exits at once with 130.
pub fn reconciler(settings: &Settings, write: &WriteArgs) -> anyhow::Result<Reconciler> {
    let cancel = CancellationToken::new();
    watch_interrupts(cancel.clone());
    let mut target = settings.target()?;
    target.nodes.max_unavailable = write.max_unavailable as usize;
    target.nodes.verify_timeout = Duration::from_secs(write.verify_timeout);
    Ok(Reconciler {
        target,
        settings: ApplyOptions { parallelism: settings.parallelism, fail_fast: write.fail_fast, cancel },
        env: process_env(),
        plan: crate::plan::PlanOptions::default(),
    })
}

fn watch_interrupts(cancel: CancellationToken) {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        errln(
            "\nInterrupt received: finishing the requests in flight and starting nothing new (Ctrl-C again stops at once).",
        );
        cancel.cancel();
        if tokio::signal::ctrl_c().await.is_ok() {
            std::process::exit(130);
        }
    });
}

/// This process as a lock holder and run owner: user, masked command line, CI job.
pub fn current_holder() -> Holder {
    let mut holder = Holder::current(&user_name(), &command_line());
    holder.ci_job = ci_job_url(&|v| std::env::var(v).ok());
    holder
}

/// Opens the ledger; an unreachable database is a clear error, before any gateway write.
pub async fn open_ledger(location: &LedgerLocation) -> anyhow::Result<AnyLedger> {
    AnyLedger::open(location, &pg_options()).await.map_err(|e| match &e {
        LedgerError::Postgres { .. } => anyhow!(
            "cannot use the ledger: {e}\n\nhint: nothing was written to the gateway. Check that PostgreSQL is \
             reachable and the URL, user and password (PGPASSWORD or PGPASSFILE) are right."
        ),
        _ => anyhow!(e),
    })
}

/// The ledger recording of a run of `command`.
pub async fn recording(settings: &Settings, args: &LedgerArgs, command: &str) -> anyhow::Result<Recording> {
    let location = ledger_location(&args.location, settings.ledger_url.as_deref(), settings.repo_home.as_deref());
    Ok(Recording {
        ledger: open_ledger(&location).await?,
        holder: current_holder(),
        command: command.to_owned(),
        lock_timeout: Duration::from_secs(args.lock_timeout),
        drain: drain_for(settings.gateway.timeout),
    })
}

/// Records a saved plan (`plan --out`) in the ledger. Best effort: a ledger that cannot be
/// used is a warning, not a failed plan.
pub async fn record_saved_plan(settings: &Settings, args: &LedgerLocationArgs, plan: &Plan) {
    let location = ledger_location(args, settings.ledger_url.as_deref(), settings.repo_home.as_deref());
    let result = async {
        let ledger = AnyLedger::open(&location, &pg_options()).await?;
        crate::engine::saved_plan(&ledger, &settings.target()?, &settings.source, current_holder(), plan).await?;
        anyhow::Ok(())
    }
    .await;
    if let Err(e) = result {
        errln(&format!("warning: the saved plan was not recorded in the ledger: {e:#}"));
    }
}

/// Closes the run's session (stops a rehearsal's sandbox), at the end of a command: the
/// plan and states are left to the process's exit ([`crate::engine::Planned::close_before_exit`]).
pub async fn finish_outcome(outcome: RunOutcome) {
    outcome.planned.close_before_exit().await;
}
