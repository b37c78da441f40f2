//! `gateform apply`: plan, show the plan, confirm, execute — or execute a saved plan file
//! exactly as reviewed, refusing it when the gateway or the configuration moved since.
//! Either way the target's lock is held and the run is recorded in the ledger.

use std::collections::HashMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use clap::Args;
use serde_json::Value;

use super::args::{GatewayArgs, GitArgs, LedgerArgs, StateArgs, WriteArgs};
use super::output::{errln, out, outln};
use super::pipeline::{Planned, compute, read_text};
use super::record::{self, Finished, Recorder, outcome_counts};
use super::settings::{Request, Settings, resolve};
use crate::apply::{ApplyReport, ChangeOutcome, Event, apply_until};
use crate::engine::Prepared;
use crate::graph::Schedule;
use crate::kong::KongClient;
use crate::ledger::{LockLost, OutcomeCounts, RunResult};
use crate::plan::file::{Fingerprint, PlanFile, plan_digest};
use crate::plan::{Action, Plan, short_name};
use crate::render;
use crate::source::Input;

/// Arguments of `gateform apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A plan saved with `gateform plan --out FILE`: apply exactly it, without prompting.
    #[arg(value_name = "PLAN_FILE", conflicts_with_all = ["state", "select_tags"])]
    pub plan_file: Option<PathBuf>,
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

/// Plans, asks, applies; exit 1 when anything failed.
pub async fn run(args: ApplyArgs) -> anyhow::Result<ExitCode> {
    if let Some(path) = &args.plan_file {
        return apply_saved(&args, path).await;
    }
    let settings = resolve(&Request::new(&args.state, &args.gateway, args.write.parallelism))?;
    let recorder = record::start(&settings, &args.ledger, "apply").await?;
    let result = apply_now(&args, &settings, &recorder).await;
    recorder.finish_with(&result).await;
    result.map(|f| f.code)
}

async fn apply_now(args: &ApplyArgs, settings: &Settings, recorder: &Recorder) -> anyhow::Result<Finished> {
    let planned = compute(settings).await?;
    let result = show_and_execute(&planned, "", !args.auto_approve, settings.parallelism, recorder).await;
    planned.conn.close().await;
    result
}

/// Records the plan, prints it, asks when `prompt`, applies it and reports.
async fn show_and_execute(
    planned: &Planned,
    intro: &str,
    prompt: bool,
    parallelism: usize,
    recorder: &Recorder,
) -> anyhow::Result<Finished> {
    recorder.plan(&planned.prepared.plan).await;
    check_writable(planned)?;
    out(&format!("{intro}{}", planned.header()));
    out(&render::text::plan(&planned.prepared.plan));
    if planned.prepared.plan.is_empty() {
        outln("\nApply complete! Resources: 0 added, 0 changed, 0 destroyed.");
        return Ok(Finished {
            code: ExitCode::SUCCESS,
            result: RunResult::Success,
            outcomes: Some(OutcomeCounts::default()),
            message: None,
        });
    }
    if prompt && !confirm()? {
        outln("\nApply cancelled.");
        return Ok(Finished {
            code: ExitCode::FAILURE,
            result: RunResult::Cancelled,
            outcomes: None,
            message: Some("the plan was not approved".into()),
        });
    }
    outln("");
    let p = &planned.prepared;
    let report = execute(&planned.conn.client, p, parallelism, recorder.lost()).await;
    let code = finish(&p.plan, &p.schedule, &report);
    let outcomes = outcome_counts(&p.plan, &p.schedule, &report);
    let (result, message) = if report.success() {
        (RunResult::Success, None)
    } else {
        let m = format!("{} change(s) failed, {} not attempted", outcomes.failed, outcomes.not_attempted);
        (RunResult::Failed, Some(m))
    };
    Ok(Finished { code, result, outcomes: Some(outcomes), message })
}

fn check_writable(planned: &Planned) -> anyhow::Result<()> {
    if planned.prepared.live.info.db_less && !planned.prepared.plan.is_empty() {
        bail!("the gateway runs without a database (DB-less): its entities cannot be written one by one");
    }
    Ok(())
}

/// Executes a saved plan after checking that nothing moved since it was made.
async fn apply_saved(args: &ApplyArgs, path: &std::path::Path) -> anyhow::Result<ExitCode> {
    let name = path.display().to_string();
    let saved = PlanFile::parse(&name, &read_text(path)?)?;
    let settings = reload_settings(args, &name, &saved)?;
    let recorder = record::start(&settings, &args.ledger, "apply").await?;
    let result = apply_saved_now(&name, &saved, &settings, &recorder).await;
    recorder.finish_with(&result).await;
    result.map(|f| f.code)
}

async fn apply_saved_now(
    name: &str,
    saved: &PlanFile,
    settings: &Settings,
    recorder: &Recorder,
) -> anyhow::Result<Finished> {
    let planned = compute(settings).await?;
    let result = async {
        recorder.plan(&planned.prepared.plan).await;
        let now = planned.fingerprint();
        if now.digest != saved.fingerprint.digest {
            let what = describe_differences(&saved.fingerprint, &now, &planned);
            bail!("Saved plan is stale: the gateway changed since {name} was made, so it was not applied.\n{what}\nMake a new plan.");
        }
        if plan_digest(&planned.prepared.plan) != saved.plan_digest {
            bail!("the plan computed now differs from {name} (the configuration's variables changed?); it was not applied. Make a new plan.");
        }
        let intro = format!("Applying the saved plan {name}.\n");
        show_and_execute(&planned, &intro, false, settings.parallelism, recorder).await
    }
    .await;
    planned.conn.close().await;
    result
}

/// The settings to apply a saved plan with: its source read again (a Git source at the
/// very commit it was planned from; files checked against their digests), its gateway and
/// select tags; `--env` (headers, parallelism) and `--header` apply as usual.
fn reload_settings(args: &ApplyArgs, name: &str, saved: &PlanFile) -> anyhow::Result<Settings> {
    let source = &saved.source;
    let field = |k: &str| source.get(k).and_then(Value::as_str).map(str::to_owned);
    let mut git = GitArgs { repo: None, git_ref: None, path: None, cache_dir: args.state.git.cache_dir.clone() };
    let mut files = Vec::new();
    let mut verified = None;
    let commit = field("commit");
    match source.get("type").and_then(Value::as_str) {
        Some("git") => {
            git.repo = field("repository");
            git.git_ref = field("ref");
            git.path = field("path");
            if git.repo.is_none() || commit.is_none() {
                bail!("{name} names a Git source without a repository or commit");
            }
        }
        Some("files") => {
            let inputs = reload_source(name, source)?;
            files = inputs.iter().map(|i| i.name.clone().into()).collect();
            verified = Some(inputs);
        }
        other => bail!("{name} names a source gateform cannot read again ({other:?})"),
    }
    let mut settings = resolve(&Request {
        files: &files,
        select_tags: &saved.gateway.select_tags,
        git: &git,
        env: args.state.env.as_deref(),
        gateway: &args.gateway,
        parallelism: args.write.parallelism,
        git_always: false,
        pinned_commit: commit.as_deref(),
    })?;
    if settings.gateway.explicit {
        let given = settings.gateway.url.trim_end_matches('/');
        if given != saved.gateway.address {
            bail!("{name} was made for the gateway {}, not {given}", saved.gateway.address);
        }
    }
    settings.gateway.url = saved.gateway.address.clone();
    settings.select_tags = saved.gateway.select_tags.clone();
    if let Some(inputs) = verified {
        settings.inputs = inputs;
    }
    Ok(settings)
}

/// Reads the configuration a saved plan names, checking it did not change.
fn reload_source(name: &str, source: &Value) -> anyhow::Result<Vec<Input>> {
    match source.get("type").and_then(Value::as_str) {
        Some("files") => {
            let files = source.get("files").and_then(Value::as_array).cloned().unwrap_or_default();
            let mut inputs = Vec::new();
            for f in files {
                let file = f.get("name").and_then(Value::as_str).unwrap_or_default();
                let text = read_text(std::path::Path::new(file))?;
                let input = Input { name: file.to_owned(), text };
                let digest = super::pipeline::files_source(std::slice::from_ref(&input));
                if digest["files"][0]["sha256"] != f["sha256"] {
                    bail!("{file} changed since {name} was made, so the plan was not applied. Make a new plan.");
                }
                inputs.push(input);
            }
            Ok(inputs)
        }
        other => bail!("{name} names a source gateform cannot read again ({other:?})"),
    }
}

fn describe_differences(saved: &Fingerprint, now: &Fingerprint, planned: &Planned) -> String {
    let labels: HashMap<String, String> = planned
        .prepared
        .live
        .state
        .entities
        .iter()
        .map(|e| {
            let id = e.id.clone().unwrap_or_default();
            (format!("{}/{id}", e.kind), format!("{} {}", e.kind, short_name(e.kind, &id, &e.fields)))
        })
        .collect();
    let diffs = saved.differences(now);
    let mut lines: Vec<String> = diffs
        .iter()
        .take(50)
        .map(|(key, what)| format!("  {} {what}", labels.get(key).cloned().unwrap_or_else(|| key.clone())))
        .collect();
    if diffs.len() > 50 {
        lines.push(format!("  ... and {} more", diffs.len() - 50));
    }
    lines.join("\n")
}

/// Asks on the terminal; fails when stdin is not one.
fn confirm() -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!("apply needs --auto-approve when stdin is not a terminal");
    }
    out("\nDo you want to perform these actions?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ");
    std::io::stdout().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim() == "yes")
}

/// Runs the schedule, printing each change as it completes; starts no change once `lost`
/// fires (the lock was lost).
pub async fn execute(client: &KongClient, prepared: &Prepared, parallelism: usize, lost: LockLost) -> ApplyReport {
    let mut on_event = |event: Event| print_event(prepared, event);
    let mut lost = lost;
    let stop = async move {
        lost.wait().await;
    };
    apply_until(client, &prepared.schedule, parallelism, stop, &mut on_event).await
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
            outln(&format!("{}: {what} after {}s [id={}]", render::text::address(c), elapsed.as_secs(), c.id));
        }
        Event::Failed { step, error } => {
            let Some(s) = schedule.steps.get(step) else {
                errln(&format!("Error: {error}"));
                return;
            };
            let c = &plan.changes[s.change];
            let what = match c.action {
                Action::Create => "Creation failed",
                Action::Update => "Modifications failed",
                Action::Delete => "Destruction failed",
            };
            errln(&format!("{}: {what}: {error}", render::text::address(c)));
        }
    }
}

/// Prints the outcome and chooses the exit code.
pub fn finish(plan: &Plan, schedule: &Schedule, report: &ApplyReport) -> ExitCode {
    let (added, changed, destroyed) = report.counts(plan, schedule);
    if report.success() {
        outln(&format!("\nApply complete! Resources: {added} added, {changed} changed, {destroyed} destroyed."));
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
    errln("\nError: apply failed; the gateway was partly updated.");
    errln(&format!("Applied: {added} added, {changed} changed, {destroyed} destroyed."));
    errln(&format!("Failed:\n{}", failed.join("\n")));
    if !skipped.is_empty() {
        errln(&format!("Not attempted:\n{}", skipped.join("\n")));
    }
    errln("Fix the cause and run apply again: it converges from wherever this one stopped.");
    ExitCode::FAILURE
}
