//! `gateform apply`: plan, show the plan, confirm, execute — or execute a saved plan file
//! exactly as reviewed. Either way the engine holds the target's lock and records the run.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use clap::Args;
use serde_json::Value;

use super::args::{GatewayArgs, GitArgs, LedgerArgs, ReportFormat, SelectArgs, StateArgs, WriteArgs};
use super::events::{JsonLines, emit, now};
use super::observer::{Printer, Show};
use super::output::{err, out_plan, scrub};
use super::run::{finish_outcome, reconciler, recording};
use super::settings::{Request, Settings, read_text, resolve};
use crate::engine::{Mode, Observer, Reconciler, Recording};
use crate::plan::file::PlanFile;
use crate::render::{self, events};
use crate::source::{Input, sha256_hex};

/// Arguments of `gateform apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A plan saved with `gateform plan --out FILE`: apply exactly it, without prompting
    /// (with the --target / --exclude it was planned with).
    #[arg(value_name = "PLAN_FILE", conflicts_with_all = ["state", "select_tags", "targets", "excludes"])]
    pub plan_file: Option<PathBuf>,
    #[command(flatten)]
    pub state: StateArgs,
    #[command(flatten)]
    pub gateway: GatewayArgs,
    #[command(flatten)]
    pub select: SelectArgs,
    #[command(flatten)]
    pub write: WriteArgs,
    #[command(flatten)]
    pub ledger: LedgerArgs,
    /// Apply without asking for confirmation (required when stdin is not a terminal).
    #[arg(long)]
    pub auto_approve: bool,
    /// Output: text, or `json`: one JSON event per line (each step's start, completion or
    /// error, then a summary; `schemas/apply-events.schema.json`). JSON needs
    /// --auto-approve or a plan file.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

/// Plans, asks, applies; exit 1 when anything failed.
pub async fn run(args: ApplyArgs) -> anyhow::Result<ExitCode> {
    if args.format == ReportFormat::Json {
        emit(&events::version(&now()));
        return match run_json(&args).await {
            Ok(code) => Ok(code),
            Err(e) => {
                emit(&events::diagnostic(&scrub(&format!("{e:#}")), true, &now()));
                Ok(ExitCode::FAILURE)
            }
        };
    }
    let Start { settings, mode, intro, reconciler, recording } = start(&args).await?;
    let mut printer = Printer::new(Show::Apply);
    printer.intro = intro;
    let redactor = super::output::redactor();
    let outcome = reconciler.run(settings.source.clone(), mode, Some(recording), &redactor, &mut printer).await;
    printer.done();
    let outcome = outcome?;
    if let Some(refusal) = printer.refusal.take() {
        outcome.planned.close().await;
        bail!(refusal);
    }
    let code = match &outcome.applied {
        Some(applied) => {
            let (stdout, stderr) = render::apply::report(&outcome.planned.plan, &outcome.planned.schedule, applied);
            out_plan(&stdout);
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

/// What a run of `apply` starts from.
struct Start {
    settings: Settings,
    mode: Mode,
    /// Printed before the plan (`Applying the saved plan plan.json.`).
    intro: String,
    reconciler: Reconciler,
    recording: Recording,
}

/// The settings, mode, reconciler (with its selection and guards) and ledger recording of
/// the run `args` ask for.
async fn start(args: &ApplyArgs) -> anyhow::Result<Start> {
    let (settings, mode, intro) = prepare(args)?;
    let mut reconciler = reconciler(&settings, &args.write)?;
    reconciler.plan = plan_options(args, &mode)?;
    let recording = recording(&settings, &args.ledger, "apply").await?;
    Ok(Start { settings, mode, intro, reconciler, recording })
}

fn prepare(args: &ApplyArgs) -> anyhow::Result<(Settings, Mode, String)> {
    Ok(match &args.plan_file {
        Some(path) => {
            let name = path.display().to_string();
            let saved = PlanFile::parse(&name, &read_text(path)?)?;
            let settings = reload_settings(args, &name, &saved)?;
            let intro = format!("Applying the saved plan {name}.\n");
            (settings, Mode::ApplySaved { name, file: Box::new(saved), verify: false }, intro)
        }
        None => {
            let settings = resolve(&Request::new(&args.state, &args.gateway, args.write.parallelism))?;
            (settings, Mode::Apply { prompt: !args.auto_approve, verify: false }, String::new())
        }
    })
}

/// The flags' selection and guards; a saved plan's own selection, for the plan to come out
/// the same.
fn plan_options(args: &ApplyArgs, mode: &Mode) -> anyhow::Result<crate::plan::PlanOptions> {
    let mut options = args.select.options()?;
    if let Mode::ApplySaved { file, .. } = mode {
        options.selection = file.selection.clone();
    }
    Ok(options)
}

/// `apply --format json`: the run through [`JsonLines`], then its summary line.
async fn run_json(args: &ApplyArgs) -> anyhow::Result<ExitCode> {
    if args.plan_file.is_none() && !args.auto_approve {
        bail!("--format json needs --auto-approve (or a saved plan file): JSON output never asks");
    }
    let Start { settings, mode, reconciler, recording, .. } = start(args).await?;
    let redactor = super::output::redactor();
    let mut observer = JsonLines;
    let observer: &mut dyn Observer = &mut observer;
    let outcome = reconciler.run(settings.source.clone(), mode, Some(recording), &redactor, observer).await?;
    let code = match &outcome.applied {
        Some(applied) => {
            emit(&events::summary(applied, &now()));
            if outcome.success() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
        }
        None => ExitCode::FAILURE,
    };
    finish_outcome(outcome).await;
    Ok(code)
}

/// The settings to apply a saved plan with: its source read again (a Git source at the
/// very commit it was planned from; files checked against their digests), its gateway,
/// select tags and environment (whose headers, parallelism and lock apply), and the
/// repository it was made in (its `gateform.toml` and ledger), from any working directory.
/// `--env` and `--gateway`, when given, must name what the plan was made for.
fn reload_settings(args: &ApplyArgs, name: &str, saved: &PlanFile) -> anyhow::Result<Settings> {
    let source = &saved.source;
    let field = |k: &str| source.get(k).and_then(Value::as_str).map(str::to_owned);
    let planned_env = saved.gateway.environment.as_deref();
    if let Some(given) = args.state.env.as_deref()
        && planned_env != Some(given)
    {
        let made = planned_env.map(|e| format!("the environment {e:?}")).unwrap_or_else(|| "no environment".into());
        bail!("{name} was made for {made}, not the environment {given:?}; make a new plan with --env {given}");
    }
    let root = saved_root(source);
    let mut git = GitArgs { repo: None, git_ref: None, path: None, cache_dir: args.state.git.cache_dir.clone() };
    let mut verified = None;
    let commit = field("commit");
    match source.get("type").and_then(Value::as_str) {
        Some("git") => {
            git.repo = field("repository");
            if let (Some(repo), Some(root)) = (&git.repo, &root)
                && !crate::source::git::is_remote(repo)
            {
                git.repo = Some(root.display().to_string());
            }
            git.git_ref = field("ref");
            git.path = field("path");
            if git.repo.is_none() || commit.is_none() {
                bail!("{name} names a Git source without a repository or commit");
            }
        }
        Some("files") => verified = Some(reload_files(name, source, root.as_deref())?),
        other => bail!("{name} names a source gateform cannot read again ({other:?})"),
    }
    let files: Vec<std::path::PathBuf> =
        verified.iter().flatten().map(|i: &Input| std::path::PathBuf::from(&i.name)).collect();
    let mut settings = resolve(&Request {
        files: &files,
        select_tags: &saved.gateway.select_tags,
        git: &git,
        env: planned_env,
        gateway: &args.gateway,
        parallelism: args.write.parallelism,
        git_always: false,
        pinned_commit: commit.as_deref(),
        inputs: verified,
        base: root,
    })?;
    if matches!(settings.gateway.origin.as_str(), "--gateway" | "GATEFORM_GATEWAY") {
        let given = settings.gateway.url.trim_end_matches('/');
        if given != saved.gateway.address {
            bail!("{name} was made for the gateway {}, not {given}", saved.gateway.address);
        }
    }
    settings.gateway.url = saved.gateway.address.clone();
    settings.select_tags = saved.gateway.select_tags.clone();
    Ok(settings)
}

/// The repository root a saved plan was made in, when it still exists here; else the root
/// of the work tree around the current directory (a fresh checkout in CI).
fn saved_root(source: &Value) -> Option<std::path::PathBuf> {
    let recorded = source.get("root").and_then(Value::as_str).map(std::path::PathBuf::from);
    recorded.filter(|r| r.is_dir()).or_else(|| super::settings::work_tree(std::path::Path::new(".")))
}

/// Reads the files a saved plan names (each relative to `root`, else as named), checking
/// they did not change. The texts keep the names they had when planned, so that the plan
/// computed now is the plan saved.
fn reload_files(name: &str, source: &Value, root: Option<&std::path::Path>) -> anyhow::Result<Vec<Input>> {
    let files = source.get("files").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut inputs = Vec::new();
    for f in files {
        let file = f.get("name").and_then(Value::as_str).unwrap_or_default();
        let rel = f.get("path").and_then(Value::as_str).unwrap_or(file);
        let path = match root {
            Some(root) => root.join(rel),
            None => std::path::PathBuf::from(rel),
        };
        let text = read_text(&path)?;
        if f.get("sha256").and_then(Value::as_str) != Some(sha256_hex(&text).as_str()) {
            bail!("{} changed since {name} was made, so the plan was not applied. Make a new plan.", path.display());
        }
        inputs.push(Input { name: file.to_owned(), text });
    }
    Ok(inputs)
}
