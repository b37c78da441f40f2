//! `gateform history`: what was applied where and when, and what was live at a moment.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::bail;
use clap::Args;

use super::args::ReportFormat;
use super::output::{errln, outln};
use super::settings::default_ledger;
use crate::ledger::{Ledger, LiveAt, RunFilter, format_ms, parse_time};
use crate::render::history;
use crate::source::git;

/// Arguments of `gateform history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Only runs of this environment.
    #[arg(long, value_name = "NAME")]
    pub env: Option<String>,
    /// Only runs against this gateway URL that named no environment.
    #[arg(long, value_name = "URL", conflicts_with = "env")]
    pub gateway: Option<String>,
    /// Name the commit that was live at this moment (RFC 3339, e.g. 2026-11-01T12:00:00Z):
    /// the last successful apply or replay finished by then. Needs --env or --gateway.
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// At most this many runs (the latest).
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
    /// The ledger. Default: .gateform/ledger.db at the root of --repo, else of the Git work
    /// tree around the current directory, else in the current directory.
    #[arg(long, value_name = "FILE", env = "GATEFORM_LEDGER")]
    pub ledger: Option<PathBuf>,
    /// A local repository whose default ledger to read.
    #[arg(long, value_name = "PATH")]
    pub repo: Option<String>,
}

/// Lists runs, or answers `--at`.
pub async fn run(args: HistoryArgs) -> anyhow::Result<ExitCode> {
    let path = match (&args.ledger, &args.repo) {
        (Some(p), _) => p.clone(),
        (None, Some(repo)) if git::is_remote(repo) => {
            bail!("--repo {repo}: a remote repository has no ledger; give --ledger FILE")
        }
        (None, Some(repo)) => default_ledger(git::open(repo, Path::new("."))?.home.as_deref()),
        (None, None) => default_ledger(None),
    };
    if !path.is_file() {
        bail!("no ledger at {}: nothing was applied from here yet (or give --ledger FILE)", path.display());
    }
    let ledger = Ledger::open(&path)?;
    let target = args.env.clone().or_else(|| args.gateway.as_ref().map(|g| g.trim_end_matches('/').to_owned()));
    if let Some(at) = &args.at {
        let Some(target) = target else {
            bail!("--at needs --env NAME or --gateway URL: the environment whose state to look up");
        };
        let at = format_ms(parse_time(at).map_err(anyhow::Error::msg)?);
        let live = ledger.live_at(&target, &at)?;
        return Ok(print_live_at(&args, &target, &at, &live));
    }
    let filter =
        RunFilter { environment: args.env.clone(), target: args.gateway.as_ref().and(target), limit: args.limit };
    let runs = ledger.runs(&filter)?;
    match args.format {
        ReportFormat::Json => {
            let doc = history::runs_json(&path.display().to_string(), &runs);
            outln(&serde_json::to_string_pretty(&doc).unwrap_or_default());
        }
        ReportFormat::Text if runs.is_empty() => outln(&format!("No runs recorded in {}.", path.display())),
        ReportFormat::Text => super::output::out(&history::table(&runs)),
    }
    Ok(ExitCode::SUCCESS)
}

fn print_live_at(args: &HistoryArgs, target: &str, at: &str, live: &LiveAt) -> ExitCode {
    if args.format == ReportFormat::Json {
        outln(&serde_json::to_string_pretty(&history::live_at_json(target, at, live)).unwrap_or_default());
        return if live.run.is_some() { ExitCode::SUCCESS } else { ExitCode::FAILURE };
    }
    match history::live_at_text(target, at, live) {
        Some(text) => {
            super::output::out(&text);
            ExitCode::SUCCESS
        }
        None => {
            errln(&format!("Error: no successful apply or replay of {target} had finished by {at}."));
            ExitCode::FAILURE
        }
    }
}
