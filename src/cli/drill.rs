//! `gateform drill`: a disaster-recovery drill. Replays a revision onto an empty rehearsal
//! gateway (the in-process sandbox by default), verifies it, and reports the measured RTO
//! against the objective and the live environment's RPO exposure. Exit 0 when the restore
//! is verified within the objective, 1 otherwise.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Args;

use super::args::{GatewayArgs, GitArgs, LedgerLocationArgs, ReportFormat, WriteArgs};
use super::observer::{Printer, Show, node_line};
use super::output::{errln, out, outln};
use super::run::{open_ledger, process_env, reconciler};
use super::settings::{
    GatewaySettings, Request, Settings, gateway_target, guess_dialect, ledger_location, parse_header, resolve,
};
use crate::engine::drill::{Drill, DrillRequest};
use crate::engine::{ApplyOptions, Reconciler, SANDBOX};
use crate::render::drill::{DrillView, ExposureView, json, text};

/// Arguments of `gateform drill`.
#[derive(Debug, Args)]
pub struct DrillArgs {
    #[command(flatten)]
    pub git: GitArgs,
    /// The live environment of `gateform.toml` (at the repository root, at `--ref`): its
    /// drift from the revision is the RPO exposure; its `rto` the objective.
    #[arg(long, value_name = "NAME")]
    pub env: Option<String>,
    /// Ownership tag (repeatable). Default: the environment's `select_tags`.
    #[arg(long = "select-tag", value_name = "TAG")]
    pub select_tags: Vec<String>,
    /// Where to restore: `sandbox` (an empty in-process sandbox) or the Admin API of an
    /// empty rehearsal gateway.
    #[arg(long, default_value = SANDBOX, value_name = "sandbox|URL")]
    pub rehearsal: String,
    /// Header sent to the rehearsal gateway, as `Name: value` (repeatable).
    #[arg(long = "rehearsal-header", value_name = "NAME: VALUE")]
    pub rehearsal_headers: Vec<String>,
    /// The recovery-time objective, e.g. `15m`, `90s`. Default: the environment's `rto`.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub rto: Option<Duration>,
    /// The live gateway (overrides the environment's); its flags as for `plan`.
    #[command(flatten)]
    pub gateway: GatewayArgs,
    #[command(flatten)]
    pub write: WriteArgs,
    /// Where the live environment's runs are recorded.
    #[command(flatten)]
    pub ledger: LedgerLocationArgs,
    /// `text`: the report; `json`: the report as one JSON document.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

/// Runs the drill and prints its report.
pub async fn run(args: DrillArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    if args.git.git_ref.is_none() {
        bail!("drill needs --ref REV: the tag, branch or commit to restore");
    }
    let settings = resolve(&Request::revision(
        &args.git,
        args.env.as_deref(),
        &args.select_tags,
        &args.gateway,
        args.write.parallelism,
    ))?;
    let read = started.elapsed();
    let rehearsal = rehearsal(&args, &settings)?;
    let live = if settings.gateway.explicit { Some(reconciler(&settings, &args.write)?) } else { None };
    let ledger = match &live {
        Some(_) => {
            let location = ledger_location(&args.ledger, settings.ledger_url.as_deref(), settings.repo_home.as_deref());
            Some(open_ledger(&location).await.context("the RPO exposure needs the ledger")?)
        }
        None => None,
    };
    let objective = args.rto.or(settings.rto);
    let request = DrillRequest {
        source: settings.source.clone(),
        started,
        live: live.as_ref(),
        ledger: ledger.as_ref(),
        objective,
    };
    let redactor = super::output::redactor();
    let drill = rehearsal.drill(request, &redactor, &mut Printer::new(Show::Quiet)).await?;
    report(&drill, &settings, read, args.format);
    Ok(if drill.success() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// The rehearsal's reconciler: the sandbox or the given gateway, the scope of the
/// environment, never an environment itself (so it is locked and recorded apart).
fn rehearsal(args: &DrillArgs, settings: &Settings) -> anyhow::Result<Reconciler> {
    let mut headers = Vec::new();
    for h in &args.rehearsal_headers {
        headers.push(parse_header(h, "--rehearsal-header")?);
    }
    let gateway = GatewaySettings {
        url: args.rehearsal.clone(),
        others: Vec::new(),
        headers,
        timeout: settings.gateway.timeout,
        explicit: true,
        dialect: settings.gateway.dialect.clone(),
        options: settings.gateway.options.clone(),
        origin: "--rehearsal".to_owned(),
    };
    let guessed = guess_dialect(&settings.source.inputs);
    let target = gateway_target(&gateway, guessed, None, settings.select_tags.clone())?;
    let opts =
        ApplyOptions { parallelism: settings.parallelism, fail_fast: args.write.fail_fast, ..ApplyOptions::default() };
    Ok(Reconciler { target, settings: opts, env: process_env(), plan: Default::default() })
}

fn report(drill: &Drill, settings: &Settings, read: Duration, format: ReportFormat) {
    let r = &drill.replay;
    let nodes: Vec<_> = r.nodes.iter().map(node_line).collect();
    let exposure = drill.exposure.as_ref().map(|e| ExposureView {
        label: &e.label,
        nodes: &e.nodes,
        lost: e.lost,
        missing: e.missing,
        since: e.since.as_ref(),
        age: e.age,
    });
    let view = DrillView {
        source: &settings.source,
        rehearsal: &r.address,
        sandbox: r.sandbox,
        product: &r.product,
        restored: &r.restored,
        desired: &r.desired,
        counts: r.counts,
        verification: r.verification.as_ref().map(|(v, d)| (v, *d)),
        verified: drill.verified(),
        message: r.message.as_deref(),
        rto: drill.rto,
        read,
        restore: r.restore_time,
        objective: drill.objective,
        exposure,
        nodes: &nodes,
    };
    match format {
        ReportFormat::Text => out(&text(&view)),
        ReportFormat::Json => outln(&serde_json::to_string_pretty(&json(&view)).unwrap_or_default()),
    }
    if !drill.success() && format == ReportFormat::Json {
        errln("Error: the drill failed (see the report)");
    }
}
