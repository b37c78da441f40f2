//! `gateform history`: what was applied where and when, and what was live at a moment.

use std::path::Path;
use std::process::ExitCode;

use anyhow::bail;
use clap::Args;

use super::args::{LedgerLocationArgs, ReportFormat};
use super::output::{errln, outln};
use super::settings::{ledger_location, local_ledger_url};
use crate::ledger::{AnyLedger, Ledger, LedgerLocation, LiveAt, RunFilter, format_ms, now_ms, parse_time, target_key};
use crate::render::history;
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
    /// Name the commit that was live at this moment: RFC 3339 (2026-11-01T12:00:00Z),
    /// `YYYY-MM-DD HH:MM[:SS]` (UTC, as gateform prints times), or a time ago (`2h ago`,
    /// `90m ago`, `3 days ago`): the last successful apply or replay finished by then.
    /// Needs --env or --gateway.
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
        let at_ms = parse_at(at, now_ms()).map_err(anyhow::Error::msg)?;
        let live = ledger.live_at(&target, at_ms).await?;
        return Ok(print_live_at(&args, &target, &format_ms(at_ms), &live));
    }
    let filter =
        RunFilter { environment: args.env.clone(), target: args.gateway.as_ref().and(target), limit: args.limit };
    let runs = ledger.runs(filter).await?;
    let name = ledger.location();
    match args.format {
        ReportFormat::Json => {
            let doc = history::runs_json(&name, &runs);
            outln(&serde_json::to_string_pretty(&doc).unwrap_or_default());
        }
        ReportFormat::Text if runs.is_empty() => outln(&format!("No runs recorded in {name}.")),
        ReportFormat::Text => super::output::out(&history::table(&runs)),
    }
    Ok(ExitCode::SUCCESS)
}

/// A moment as `--at` takes it, in milliseconds since the epoch: RFC 3339 (the ledger's
/// [`parse_time`]), `YYYY-MM-DD HH:MM[:SS]` in UTC, or `<duration> ago` before `now_ms`
/// (`2h ago`, `1h30m ago`, `3 days ago`; humantime's units).
pub fn parse_at(text: &str, now_ms: i64) -> Result<i64, String> {
    let text = text.trim();
    if let Some(ago) = text.strip_suffix("ago").map(str::trim).filter(|a| !a.is_empty()) {
        let compact: String = ago.split_whitespace().collect::<Vec<_>>().join("");
        let d = humantime::parse_duration(&compact).map_err(|e| format!("invalid time {text:?}: {e}"))?;
        return Ok(now_ms.saturating_sub(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)));
    }
    if let Ok(ms) = parse_time(text) {
        return Ok(ms);
    }
    let (date, clock) = text.split_once([' ', 'T']).unwrap_or((text, ""));
    let clock = if clock.matches(':').count() == 1 { format!("{clock}:00") } else { clock.to_owned() };
    match humantime::parse_rfc3339_weak(&format!("{date} {clock}")) {
        Ok(t) => Ok(t.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)),
        Err(_) => Err(format!(
            "invalid time {text:?}: expected RFC 3339 (2026-11-01T12:00:00Z), YYYY-MM-DD HH:MM[:SS] in UTC, or a time ago (2h ago)"
        )),
    }
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
    super::run::open_ledger(&read_location(args, repo)?).await
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

#[cfg(test)]
mod tests {
    use super::parse_at;

    #[test]
    fn at_takes_rfc3339_a_plain_date_and_time_and_a_time_ago() {
        let noon = 1_793_534_400_000; // 2026-11-01T12:00:00Z
        assert_eq!(parse_at("2026-11-01T12:00:00Z", 0), Ok(noon));
        assert_eq!(parse_at("2026-11-01 12:00", 0), Ok(noon));
        assert_eq!(parse_at("2026-11-01 12:00:30", 0), Ok(noon + 30_000));
        assert_eq!(parse_at("2h ago", noon), Ok(noon - 7_200_000));
        assert_eq!(parse_at("1h 30m ago", noon), Ok(noon - 5_400_000));
        assert_eq!(parse_at("3 days ago", noon), Ok(noon - 3 * 86_400_000));
        assert!(parse_at("ago", noon).is_err());
        assert!(parse_at("soon", noon).unwrap_err().contains("YYYY-MM-DD HH:MM[:SS] in UTC"));
    }
}
