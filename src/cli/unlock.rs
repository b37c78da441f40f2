//! `gateform unlock`: break a stuck lock (Terraform's `force-unlock`), recorded in the
//! history as a run of command `unlock`.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::bail;
use clap::Args;

use super::args::LedgerLocationArgs;
use super::history::open_for_reading;
use super::output::{errln, out, outln};
use super::run::current_holder;
use crate::ledger::{Ledger, NewRun, RunEnd, RunResult, RunSource, now_ms, target_key};

/// Arguments of `gateform unlock`.
#[derive(Debug, Args)]
pub struct UnlockArgs {
    /// The environment whose lock to break.
    #[arg(value_name = "ENV", required_unless_present = "gateway")]
    pub env: Option<String>,
    /// Break the lock of runs against this gateway address that named no environment.
    #[arg(long, value_name = "URL", conflicts_with = "env")]
    pub gateway: Option<String>,
    /// Do not ask for confirmation (required when stdin is not a terminal).
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub ledger: LedgerLocationArgs,
}

/// Shows the holder, asks, breaks the lock and records it. Exit 1 when there was no lock.
pub async fn run(args: UnlockArgs) -> anyhow::Result<ExitCode> {
    let key = target_key(args.env.as_deref(), args.gateway.as_deref().unwrap_or_default());
    let ledger = open_for_reading(&args.ledger, None).await?;
    let Some(holder) = ledger.holder(&key).await? else {
        let stale = ledger.locks().await?.into_iter().find(|l| l.key == key);
        if let Some(row) = stale {
            ledger.force_unlock(&key).await?;
            outln(&format!("{key} was not locked; removed the stale row of {row}."));
            return Ok(ExitCode::SUCCESS);
        }
        errln(&format!("Error: {key} is not locked."));
        return Ok(ExitCode::FAILURE);
    };
    outln(&format!("{key} is locked by {holder}."));
    if !args.force && !confirm()? {
        outln("Unlock cancelled.");
        return Ok(ExitCode::FAILURE);
    }
    let removed = ledger.force_unlock(&key).await?;
    let by = removed.as_ref().unwrap_or(&holder);
    let id = ledger
        .begin_run(NewRun {
            command: "unlock".into(),
            target: key.clone(),
            environment: args.env.clone(),
            gateway: args.gateway.clone().unwrap_or_else(|| "-".into()),
            source: RunSource::default(),
            holder: current_holder(),
        })
        .await?;
    let message = format!("broke the lock held by {by}");
    let end = RunEnd { outcomes: None, result: RunResult::Success, message: Some(message), finished_ms: now_ms() };
    ledger.finish_run(id, end).await?;
    outln(&format!(
        "Unlocked {key} (run #{id}). Its holder, if still running, loses the lock and stops starting changes; \
         the next run waits for its requests in flight."
    ));
    Ok(ExitCode::SUCCESS)
}

fn confirm() -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!("unlock needs --force when stdin is not a terminal");
    }
    out(
        "Breaking a lock lets another run write while its holder may still be running.\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ",
    );
    std::io::stdout().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim() == "yes")
}
