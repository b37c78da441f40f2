//! What every command that runs the engine shares: building the [`Reconciler`] and the
//! ledger [`Recording`] from settings, Ctrl-C handling, and closing a run's session.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::args::{LedgerArgs, WriteArgs};
use super::output::errln;
use super::settings::{Settings, command_line, ledger_path, user_name};
use crate::engine::{ApplyOptions, Reconciler, Recording, RunOutcome};
use crate::ledger::{Holder, Ledger};

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
    Ok(Reconciler {
        target: settings.target()?,
        settings: ApplyOptions { parallelism: settings.parallelism, fail_fast: write.fail_fast, cancel },
        env: process_env(),
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

/// The ledger recording of a run of `command`.
pub fn recording(settings: &Settings, args: &LedgerArgs, command: &str) -> anyhow::Result<Recording> {
    let path = ledger_path(args, settings.repo_home.as_deref());
    Ok(Recording {
        ledger: Ledger::open(&path)?,
        holder: Holder::current(&user_name(), &command_line()),
        command: command.to_owned(),
        lock_timeout: Duration::from_secs(args.lock_timeout),
    })
}

/// Closes the run's session (stops a rehearsal's sandbox).
pub async fn finish_outcome(outcome: RunOutcome) {
    outcome.planned.close().await;
}
