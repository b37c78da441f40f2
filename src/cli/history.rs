//! `gateform history`: what was applied where and when, and what was live at a moment.

use std::path::Path;
use std::process::ExitCode;

use anyhow::bail;
use clap::Args;
use serde_json::json;

use super::args::{LedgerLocationArgs, ReportFormat};
use super::output::{errln, outln};
use super::settings::{ledger_location, local_ledger_url};
use crate::ledger::{
    AnyLedger, Ledger, LedgerLocation, LiveAt, RunFilter, RunRecord, format_ms, parse_time, target_key,
};
use crate::source::git;

/// Arguments of `gateform history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Only runs of this environment.
    #[arg(long, value_name = "NAME")]
    pub env: Option<String>,
    /// Only runs against this gateway address that named no environment (spellings of one
    /// address match: `http://127.0.0.1:8001/` is `http://localhost:8001`).
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
    #[command(flatten)]
    pub ledger: LedgerLocationArgs,
    /// A local repository whose default ledger to read.
    #[arg(long, value_name = "PATH")]
    pub repo: Option<String>,
}

/// Lists runs, or answers `--at`.
pub async fn run(args: HistoryArgs) -> anyhow::Result<ExitCode> {
    let ledger = open_for_reading(&args.ledger, args.repo.as_deref()).await?;
    let target = args.env.clone().or_else(|| args.gateway.as_ref().map(|g| target_key(None, g)));
    if let Some(at) = &args.at {
        let Some(target) = target else {
            bail!("--at needs --env NAME or --gateway URL: the environment whose state to look up");
        };
        let at_ms = parse_time(at).map_err(anyhow::Error::msg)?;
        let live = ledger.live_at(&target, at_ms).await?;
        return Ok(print_live_at(&args, &target, &format_ms(at_ms), &live));
    }
    let filter =
        RunFilter { environment: args.env.clone(), target: args.gateway.as_ref().and(target), limit: args.limit };
    let runs = ledger.runs(filter).await?;
    let name = ledger.location();
    match args.format {
        ReportFormat::Json => {
            let doc = json!({"ledger": name, "runs": runs});
            outln(&serde_json::to_string_pretty(&doc).unwrap_or_default());
        }
        ReportFormat::Text if runs.is_empty() => outln(&format!("No runs recorded in {name}.")),
        ReportFormat::Text => super::output::out(&table(&runs)),
    }
    Ok(ExitCode::SUCCESS)
}

/// The ledger a reading command (`history`, `unlock`) uses: `--ledger`, else
/// `gateform.toml`'s `[ledger] url` (of the current directory), else the default file of
/// `--repo` (or of the work tree around the current directory), which must exist.
pub fn read_location(args: &LedgerLocationArgs, repo: Option<&str>) -> anyhow::Result<LedgerLocation> {
    let home = match repo {
        Some(repo) if git::is_remote(repo) && args.ledger.is_none() => {
            bail!("--repo {repo}: a remote repository has no ledger; give --ledger FILE|URL")
        }
        Some(repo) if args.ledger.is_none() => git::open(repo, Path::new("."))?.home,
        _ => None,
    };
    let location = ledger_location(args, local_ledger_url()?.as_deref(), home.as_deref());
    if let LedgerLocation::Sqlite(path) = &location
        && !path.is_file()
    {
        bail!("no ledger at {}: nothing was applied from here yet (or give --ledger FILE|URL)", path.display());
    }
    Ok(location)
}

/// Opens the ledger of a reading command.
pub async fn open_for_reading(args: &LedgerLocationArgs, repo: Option<&str>) -> anyhow::Result<AnyLedger> {
    super::record::open(&read_location(args, repo)?).await
}

fn print_live_at(args: &HistoryArgs, target: &str, at: &str, live: &LiveAt) -> ExitCode {
    if args.format == ReportFormat::Json {
        let commit = live.run.as_ref().and_then(|r| r.source.commit.clone());
        let doc = json!({"target": target, "at": at, "commit": commit, "run": live.run,
            "in_progress": live.in_progress, "failed_since": live.failed_since});
        outln(&serde_json::to_string_pretty(&doc).unwrap_or_default());
        return if live.run.is_some() { ExitCode::SUCCESS } else { ExitCode::FAILURE };
    }
    let Some(run) = &live.run else {
        errln(&format!("Error: no successful apply or replay of {target} had finished by {at}."));
        return ExitCode::FAILURE;
    };
    let s = &run.source;
    match &s.commit {
        Some(commit) => {
            outln(&format!("At {at}, {target} ran commit {commit}"));
            outln(&format!(
                "  ({}{}), applied by run #{} ({}, finished {}).",
                s.reference.as_deref().map(|r| format!("ref {r}, ")).unwrap_or_default(),
                s.subject.as_deref().map(|r| format!("{r:?}")).unwrap_or_default(),
                run.id,
                run.command,
                run.finished_at.as_deref().unwrap_or("?"),
            ));
            let repo =
                s.repository.as_deref().filter(|r| *r != ".").map(|r| format!(" --repo {r}")).unwrap_or_default();
            let path = s.path.as_deref().filter(|p| *p != ".").map(|p| format!(" --path {p}")).unwrap_or_default();
            let to = if run.environment == "-" {
                format!("--gateway {}", run.gateway)
            } else {
                format!("--env {}", run.environment)
            };
            outln(&format!("To restore it: gateform replay{repo} --ref {commit}{path} {to}"));
        }
        None => {
            outln(&format!("At {at}, {target} ran the files {}", s.files.join(", ")));
            outln(&format!("  (not from Git), applied by run #{} ({}).", run.id, run.command));
        }
    }
    for r in &live.in_progress {
        outln(&format!(
            "note: run #{} ({}) was under way at that moment: {}",
            r.id,
            source_label(r),
            r.result.as_str()
        ));
    }
    for r in &live.failed_since {
        outln(&format!(
            "note: run #{} ({}) ended {} after it: the gateway may have been partly updated",
            r.id,
            source_label(r),
            r.result.as_str()
        ));
    }
    ExitCode::SUCCESS
}

fn source_label(r: &RunRecord) -> String {
    match &r.source.commit {
        Some(c) => format!("commit {}", c.get(..12).unwrap_or(c)),
        None => r.source.files.join(", "),
    }
}

fn duration(r: &RunRecord) -> String {
    match (parse_time(&r.started_at), r.finished_at.as_deref().map(parse_time)) {
        (Ok(a), Some(Ok(b))) => format!("{:.1}s", (b - a) as f64 / 1000.0),
        _ => "-".to_owned(),
    }
}

/// The runs as an aligned table, oldest first.
fn table(runs: &[RunRecord]) -> String {
    let header = ["RUN", "STARTED (UTC)", "TARGET", "COMMAND", "RESULT", "SOURCE", "REF", "PLAN", "APPLIED", "TOOK"];
    let rows: Vec<[String; 10]> = runs
        .iter()
        .map(|r| {
            [
                format!("#{}", r.id),
                r.started_at.clone(),
                r.target.clone(),
                r.command.clone(),
                r.result.as_str().to_owned(),
                source_label(r),
                r.source.reference.clone().unwrap_or_else(|| "-".to_owned()),
                r.plan.map(|p| format!("+{} ~{} -{}", p.add, p.change, p.destroy)).unwrap_or_else(|| "-".to_owned()),
                r.outcomes
                    .map(|o| format!("{}/{}/{}", o.applied, o.failed, o.not_attempted))
                    .unwrap_or_else(|| "-".to_owned()),
                duration(r),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: Vec<&str>, out: &mut String| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        out.push_str(padded.join("  ").trim_end());
        out.push('\n');
    };
    line(header.to_vec(), &mut out);
    for row in &rows {
        line(row.iter().map(String::as_str).collect(), &mut out);
    }
    out.push_str("\nAPPLIED: changes applied/failed/not attempted.\n");
    out
}
