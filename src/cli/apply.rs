//! `gateform apply`: plan, show the plan, confirm, execute.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::bail;
use clap::Args;

use super::args::{GatewayArgs, LedgerArgs, StateArgs, WriteArgs};
use super::context::{connect, engine_input, load_desired, schemas_for};
use super::record::{self, Finished, Recorder, outcome_counts};
use super::settings::{Request, Settings, resolve};
use crate::apply::{ApplyReport, ChangeOutcome, Event, apply};
use crate::engine::{Prepared, prepare};
use crate::graph::Schedule;
use crate::kong::KongClient;
use crate::ledger::{OutcomeCounts, RunResult};
use crate::plan::{Action, Plan};
use crate::render;

/// Arguments of `gateform apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub state: StateArgs,
    #[command(flatten)]
    pub gateway: GatewayArgs,
    #[command(flatten)]
    pub write: WriteArgs,
    #[command(flatten)]
    pub ledger: LedgerArgs,
    /// Apply without asking for confirmation (required when stdin is not a terminal).
    #[arg(long)]
    pub auto_approve: bool,
}

/// Plans, asks, applies; exit 1 when anything failed. Holds the target's lock and records
/// the run in the ledger.
pub async fn run(args: ApplyArgs) -> anyhow::Result<ExitCode> {
    let settings = resolve(&Request::new(&args.state, &args.gateway, args.write.parallelism))?;
    let recorder = record::start(&settings, &args.ledger, "apply")?;
    let result = run_locked(&args, &settings, &recorder).await;
    recorder.finish_with(&result);
    result.map(|f| f.code)
}

async fn run_locked(args: &ApplyArgs, settings: &Settings, recorder: &Recorder) -> anyhow::Result<Finished> {
    let inputs = &settings.inputs;
    let conn = connect(&settings.gateway).await?;
    let result = async {
        let schemas = schemas_for(&conn, inputs).await;
        let desired = load_desired(inputs, &settings.select_tags, &schemas)?;
        let prepared = prepare(&conn.client, &engine_input(&desired), schemas).await?;
        recorder.plan(&prepared.plan);
        if prepared.live.info.db_less && !prepared.plan.is_empty() {
            bail!("the gateway runs without a database (DB-less): its entities cannot be written one by one");
        }
        println!("{}\n", settings.provenance.line());
        print!("{}", render::text::plan(&prepared.plan));
        if prepared.plan.is_empty() {
            println!("\nApply complete! Resources: 0 added, 0 changed, 0 destroyed.");
            return Ok(Finished {
                code: ExitCode::SUCCESS,
                result: RunResult::Success,
                outcomes: Some(OutcomeCounts::default()),
                message: None,
            });
        }
        if !args.auto_approve && !confirm()? {
            println!("\nApply cancelled.");
            return Ok(Finished {
                code: ExitCode::FAILURE,
                result: RunResult::Cancelled,
                outcomes: None,
                message: Some("the plan was not approved".into()),
            });
        }
        println!();
        let report = execute(&conn.client, &prepared, settings.parallelism).await;
        let code = finish(&prepared.plan, &prepared.schedule, &report);
        let outcomes = outcome_counts(&prepared.plan, &prepared.schedule, &report);
        let (result, message) = if report.success() {
            (RunResult::Success, None)
        } else {
            (
                RunResult::Failed,
                Some(format!("{} change(s) failed, {} not attempted", outcomes.failed, outcomes.not_attempted)),
            )
        };
        Ok(Finished { code, result, outcomes: Some(outcomes), message })
    }
    .await;
    conn.close().await;
    result
}

/// Asks on the terminal; fails when stdin is not one.
fn confirm() -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!("apply needs --auto-approve when stdin is not a terminal");
    }
    print!("\nDo you want to perform these actions?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ");
    std::io::stdout().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim() == "yes")
}

/// Runs the schedule, printing each change as it completes.
pub async fn execute(client: &KongClient, prepared: &Prepared, parallelism: usize) -> ApplyReport {
    let mut on_event = |event: Event| print_event(prepared, event);
    apply(client, &prepared.schedule, parallelism, &mut on_event).await
}

/// Prints one progress event of an apply: completions on stdout, failures on stderr.
pub fn print_event(prepared: &Prepared, event: Event) {
    let plan = &prepared.plan;
    let schedule = &prepared.schedule;
    match event {
        Event::Started { .. } => {}
        Event::Applied { step, elapsed } => {
            let s = &schedule.steps[step];
            let c = &plan.changes[s.change];
            let what = match (s.finalize, c.action) {
                (true, _) => "Unique values set",
                (_, Action::Create) => "Creation complete",
                (_, Action::Update) => "Modifications complete",
                (_, Action::Delete) => "Destruction complete",
            };
            println!("{}: {what} after {}s [id={}]", render::text::address(c), elapsed.as_secs(), c.id);
        }
        Event::Failed { step, error } => {
            let Some(s) = schedule.steps.get(step) else {
                eprintln!("Error: {error}");
                return;
            };
            let c = &plan.changes[s.change];
            let what = match c.action {
                Action::Create => "Creation failed",
                Action::Update => "Modifications failed",
                Action::Delete => "Destruction failed",
            };
            eprintln!("{}: {what}: {error}", render::text::address(c));
        }
    }
}

/// Prints the outcome and chooses the exit code.
pub fn finish(plan: &Plan, schedule: &Schedule, report: &ApplyReport) -> ExitCode {
    let (added, changed, destroyed) = report.counts(plan, schedule);
    if report.success() {
        println!("\nApply complete! Resources: {added} added, {changed} changed, {destroyed} destroyed.");
        return ExitCode::SUCCESS;
    }
    let outcomes = report.changes(plan, schedule);
    let mut failed = Vec::new();
    let mut skipped = Vec::new();
    for (c, o) in plan.changes.iter().zip(&outcomes) {
        let line = format!("{} ({})", render::text::address(c), format!("{:?}", c.action).to_lowercase());
        match o {
            ChangeOutcome::Failed(e) => failed.push(format!("  - {line}: {e}")),
            ChangeOutcome::NotAttempted => skipped.push(format!("  - {line}")),
            ChangeOutcome::Incomplete => skipped.push(format!("  - {line} (incomplete)")),
            ChangeOutcome::Applied => {}
        }
    }
    eprintln!("\nError: apply failed; the gateway was partly updated.");
    eprintln!("Applied: {added} added, {changed} changed, {destroyed} destroyed.");
    eprintln!("Failed:\n{}", failed.join("\n"));
    if !skipped.is_empty() {
        eprintln!("Not attempted:\n{}", skipped.join("\n"));
    }
    eprintln!("Fix the cause and run apply again: it converges from wherever this one stopped.");
    ExitCode::FAILURE
}
