//! `gateform replay`: restore a gateway to the configuration of a Git revision, and prove it.

use std::process::ExitCode;

use anyhow::bail;
use clap::Args;

use super::args::{GatewayArgs, GitArgs, LedgerArgs, ReportFormat, WriteArgs};
use super::observer::{Printer, Show, node_line};
use super::output::{out_plan, outln};
use super::run::{finish_outcome, reconciler, recording};
use super::settings::{Request, resolve};
use crate::engine::{Mode, Verification, count_by_kind, restored};
use crate::render::replay::{ReplayView, json, text};

/// Arguments of `gateform replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    #[command(flatten)]
    pub git: GitArgs,
    /// An environment of `gateform.toml` (at the repository root, at `--ref`).
    #[arg(long, value_name = "NAME")]
    pub env: Option<String>,
    /// Ownership tag (repeatable). Default: the environment's `select_tags`.
    #[arg(long = "select-tag", value_name = "TAG")]
    pub select_tags: Vec<String>,
    #[command(flatten)]
    pub gateway: GatewayArgs,
    #[command(flatten)]
    pub write: WriteArgs,
    #[command(flatten)]
    pub ledger: LedgerArgs,
    /// `text`: the plan, progress and a report; `json`: only the report, as one JSON document.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

/// Applies the revision without asking (a replay is a non-interactive recovery action),
/// verifies with a fresh plan, prints the report; exit 0 only when the verification holds.
pub async fn run(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    if args.git.git_ref.is_none() {
        bail!("replay needs --ref REV: the tag, branch or commit whose configuration to restore");
    }
    let settings = resolve(&Request::revision(
        &args.git,
        args.env.as_deref(),
        &args.select_tags,
        &args.gateway,
        args.write.parallelism,
    ))?;
    if !settings.gateway.explicit {
        bail!(
            "replay applies without asking, so it needs its target named: --env NAME, or --gateway URL \
             (--gateway sandbox rehearses on an empty in-process sandbox)"
        );
    }
    let reconciler = reconciler(&settings, &args.write)?;
    let recording = recording(&settings, &args.ledger, "replay").await?;
    let is_text = args.format == ReportFormat::Text;
    if is_text {
        outln(&format!("Source: {}", settings.source.line()));
    }
    let mut printer = Printer::new(if is_text { Show::Replay } else { Show::Quiet });
    let redactor = super::output::redactor();
    let outcome = reconciler.run(settings.source.clone(), Mode::Replay, Some(recording), &redactor, &mut printer).await;
    printer.done();
    let outcome = outcome?;
    let p = &outcome.planned;
    let (Some(applied), Some((verification, verify_time))) = (&outcome.applied, &outcome.verification) else {
        finish_outcome(outcome).await;
        return Ok(ExitCode::FAILURE);
    };
    let desired = count_by_kind(&p.desired);
    let restored = restored(p, Some(applied), verification);
    let nodes: Vec<_> = outcome.nodes.iter().map(node_line).collect();
    let view = ReplayView {
        source: &p.source,
        address: &settings.gateway.url,
        environment: settings.environment.as_deref(),
        version: &p.live.info.version,
        restored: &restored,
        desired: &desired,
        nodes: &nodes,
        applied,
        verification,
        verify_time: *verify_time,
        run: outcome.run_id,
    };
    match args.format {
        ReportFormat::Text => out_plan(&format!("\n{}", text(&view))),
        ReportFormat::Json => outln(&serde_json::to_string_pretty(&json(&view)).unwrap_or_default()),
    }
    let code = if outcome.success() && applied.success() && matches!(verification, Verification::Holds) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    };
    finish_outcome(outcome).await;
    Ok(code)
}
