//! `gateform apply`: plan, show the plan, confirm, execute — or execute a saved plan file
//! exactly as reviewed. Either way the engine holds the target's lock and records the run.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use clap::Args;
use serde_json::Value;

use super::args::{GatewayArgs, GitArgs, LedgerArgs, StateArgs, WriteArgs};
use super::observer::{Printer, Show};
use super::output::{err, out};
use super::run::{finish_outcome, reconciler, recording};
use super::settings::{Request, Settings, read_text, resolve};
use crate::engine::Mode;
use crate::plan::file::PlanFile;
use crate::render;
use crate::source::{Input, sha256_hex};

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
    let (settings, mode, intro) = match &args.plan_file {
        Some(path) => {
            let name = path.display().to_string();
            let saved = PlanFile::parse(&name, &read_text(path)?)?;
            let settings = reload_settings(&args, &name, &saved)?;
            let intro = format!("Applying the saved plan {name}.\n");
            (settings, Mode::ApplySaved { name, file: Box::new(saved), verify: false }, intro)
        }
        None => {
            let settings = resolve(&Request::new(&args.state, &args.gateway, args.write.parallelism))?;
            (settings, Mode::Apply { prompt: !args.auto_approve }, String::new())
        }
    };
    let reconciler = reconciler(&settings, &args.write)?;
    let recording = recording(&settings, &args.ledger, "apply").await?;
    let mut printer = Printer::new(Show::Apply);
    printer.intro = intro;
    let redactor = super::output::redactor();
    let outcome = reconciler.run(settings.source.clone(), mode, Some(recording), &redactor, &mut printer).await?;
    if let Some(refusal) = printer.refusal.take() {
        outcome.planned.close().await;
        bail!(refusal);
    }
    let code = match &outcome.applied {
        Some(applied) => {
            let (stdout, stderr) = render::apply::report(&outcome.planned.plan, &outcome.planned.schedule, applied);
            out(&stdout);
            err(&stderr);
            super::observer::nodes_report(&outcome);
            if outcome.success() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
        }
        None if outcome.success() => {
            super::observer::nodes_report(&outcome);
            ExitCode::SUCCESS
        }
        None => ExitCode::FAILURE,
    };
    finish_outcome(outcome).await;
    Ok(code)
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
            let inputs = reload_files(name, source)?;
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
        settings.source.inputs = inputs;
    }
    Ok(settings)
}

/// Reads the files a saved plan names, checking they did not change.
fn reload_files(name: &str, source: &Value) -> anyhow::Result<Vec<Input>> {
    let files = source.get("files").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut inputs = Vec::new();
    for f in files {
        let file = f.get("name").and_then(Value::as_str).unwrap_or_default();
        let text = read_text(std::path::Path::new(file))?;
        if f.get("sha256").and_then(Value::as_str) != Some(sha256_hex(&text).as_str()) {
            bail!("{file} changed since {name} was made, so the plan was not applied. Make a new plan.");
        }
        inputs.push(Input { name: file.to_owned(), text });
    }
    Ok(inputs)
}
