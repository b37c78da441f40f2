//! `gateform replay`: restore a gateway to the configuration of a Git revision, and prove it.

use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::bail;
use clap::Args;
use serde_json::{Value, json};

use super::apply::print_event;
use super::args::{GatewayArgs, GitArgs, LedgerArgs, ReportFormat, WriteArgs};
use super::context::{connect, engine_input, load_desired, schemas_for};
use super::output::{out, outln};
use super::pipeline::{register_secrets, source_line};
use super::record::{self, Finished, Recorder, outcome_counts};
use super::settings::{Provenance, Request, Settings, resolve};
use crate::apply::Event;
use crate::engine::Prepared;
use crate::engine::replay::{ReplayObserver, ReplayOutcome, Verification, replay};
use crate::ledger::RunResult;
use crate::render;

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
    let settings = resolve(&Request {
        files: &[],
        select_tags: &args.select_tags,
        git: &args.git,
        env: args.env.as_deref(),
        gateway: &args.gateway,
        parallelism: args.write.parallelism,
        git_always: true,
        pinned_commit: None,
    })?;
    let recorder = record::start(&settings, &args.ledger, "replay").await?;
    let result = run_locked(&args, &settings, &recorder).await;
    recorder.finish_with(&result).await;
    result.map(|f| f.code)
}

struct Printer<'a> {
    text: bool,
    settings: &'a Settings,
}

impl ReplayObserver for Printer<'_> {
    fn planned(&mut self, prepared: &Prepared) {
        register_secrets(&prepared.live.state, &prepared.schemas);
        if self.text {
            let version = &prepared.live.info.version;
            let env = self.settings.environment.as_ref().map(|e| format!(", environment {e:?}")).unwrap_or_default();
            outln(&format!("Gateway: {} (Kong {version}){env}\n", self.settings.gateway.url));
            out(&render::text::plan(&prepared.plan));
            if !prepared.plan.is_empty() {
                outln("");
            }
        }
    }

    fn event(&mut self, prepared: &Prepared, event: Event) {
        match event {
            Event::Failed { .. } => print_event(prepared, event),
            _ if self.text => print_event(prepared, event),
            _ => {}
        }
    }
}

async fn run_locked(args: &ReplayArgs, settings: &Settings, recorder: &Recorder) -> anyhow::Result<Finished> {
    let text = args.format == ReportFormat::Text;
    if text {
        outln(&format!("Source: {}", source_line(&settings.source_json())));
    }
    let inputs = &settings.inputs;
    let conn = connect(&settings.gateway).await?;
    let result = async {
        let schemas = schemas_for(&conn, inputs).await;
        let desired = load_desired(inputs, &settings.select_tags, &schemas)?;
        let mut printer = Printer { text, settings };
        let outcome =
            replay(&conn.client, &engine_input(&desired), schemas, settings.parallelism, &mut printer).await?;
        anyhow::Ok(outcome)
    }
    .await;
    conn.close().await;
    let outcome = result?;
    recorder.plan(&outcome.prepared.plan).await;
    let p = &outcome.prepared;
    let outcomes = outcome_counts(&p.plan, &p.schedule, &outcome.report);
    match args.format {
        ReportFormat::Text => out(&format!("\n{}", text_report(settings, &outcome, recorder.id()))),
        ReportFormat::Json => {
            let mut doc = json_report(settings, &outcome, recorder.id());
            doc["failed"] = json!(outcomes.failed);
            doc["not_attempted"] = json!(outcomes.not_attempted);
            outln(&serde_json::to_string_pretty(&doc).unwrap_or_default());
        }
    }
    let (code, result, message) = match (&outcome.verification, outcome.report.success()) {
        (Verification::Holds, true) => (ExitCode::SUCCESS, RunResult::Success, None),
        (_, false) => (ExitCode::FAILURE, RunResult::Failed, Some(format!("{} change(s) failed", outcomes.failed))),
        (Verification::Fails(left), true) => (
            ExitCode::FAILURE,
            RunResult::VerificationFailed,
            Some(format!("a fresh plan still has {} change(s)", left.changes.len())),
        ),
        (Verification::Error(e), true) => {
            (ExitCode::FAILURE, RunResult::VerificationFailed, Some(format!("cannot verify: {e}")))
        }
    };
    Ok(Finished { code, result, outcomes: Some(outcomes), message })
}

fn describe_target(settings: &Settings) -> String {
    match &settings.environment {
        Some(e) => format!("{} (environment {e:?})", settings.gateway.url),
        None => settings.gateway.url.clone(),
    }
}

/// The text report.
fn text_report(settings: &Settings, o: &ReplayOutcome, run: i64) -> String {
    let mut out = String::from("Replay report\n");
    let commit = match &settings.provenance {
        Provenance::Git(i) => format!("{} ({}) {:?}", i.commit, i.reference, i.subject),
        Provenance::Files(files) => files.join(", "),
    };
    let restored: Vec<String> = o.restored.iter().map(|(k, n)| format!("{n} {}", k.table())).collect();
    let restored =
        if restored.is_empty() { "nothing (the configuration is empty)".to_owned() } else { restored.join(", ") };
    let p = &o.prepared;
    let counts = outcome_counts(&p.plan, &p.schedule, &o.report);
    let _ = writeln!(out, "  Commit:           {commit}");
    let _ = writeln!(out, "  Gateway:          {}", describe_target(settings));
    let _ = writeln!(out, "  Restored:         {restored}");
    let _ = write!(
        out,
        "  Actions taken:    {} added, {} changed, {} destroyed",
        o.applied.add, o.applied.change, o.applied.destroy
    );
    if counts.failed + counts.not_attempted > 0 {
        let _ = write!(out, " ({} failed, {} not attempted)", counts.failed, counts.not_attempted);
    }
    out.push('\n');
    let _ = writeln!(out, "  Time to restore:  {:.2} s", o.restore_time.as_secs_f64());
    match &o.verification {
        Verification::Holds => {
            let _ = writeln!(
                out,
                "  Verification:     holds: a fresh plan of the gateway is empty ({:.2} s)",
                o.verify_time.as_secs_f64()
            );
        }
        Verification::Fails(left) => {
            let _ =
                writeln!(out, "  Verification:     FAILS: a fresh plan still has {} change(s):\n", left.changes.len());
            out.push_str(&render::text::plan(left));
        }
        Verification::Error(e) => {
            let _ = writeln!(out, "  Verification:     FAILS: the gateway could not be planned against again: {e}");
        }
    }
    let _ = writeln!(out, "  Ledger run:       #{run}");
    out
}

/// The JSON report.
fn json_report(settings: &Settings, o: &ReplayOutcome, run: i64) -> Value {
    let restored: serde_json::Map<String, Value> =
        o.restored.iter().map(|(k, n)| (k.table().to_owned(), json!(n))).collect();
    let (verdict, leftover, error) = match &o.verification {
        Verification::Holds => ("holds", Value::Null, Value::Null),
        Verification::Fails(left) => {
            let doc = serde_json::from_str(&render::json::plan(left, None, None)).unwrap_or(Value::Null);
            ("fails", doc, Value::Null)
        }
        Verification::Error(e) => ("fails", Value::Null, json!(e)),
    };
    json!({
        "format_version": "1",
        "run": run,
        "source": settings.source_json(),
        "gateway": {
            "address": settings.gateway.url,
            "version": o.prepared.live.info.version,
            "environment": settings.environment,
        },
        "restored": restored,
        "actions": o.applied,
        "seconds_to_restore": o.restore_time.as_secs_f64(),
        "verification": {
            "result": verdict,
            "seconds": o.verify_time.as_secs_f64(),
            "leftover": leftover,
            "error": error,
        },
    })
}
