//! The machine-readable event stream of an apply (`gateform apply --format json`): one JSON
//! object per line, in the manner of Terraform's `-json` UI (`gitops-anchors.md` §1), and
//! documented by `schemas/apply-events.schema.json`.
//!
//! Every line has `@level` (`info`, `warn`, `error`), `@message` (what the text view would
//! say), `@timestamp` (RFC 3339, UTC, microseconds) and `type`:
//!
//! | type | when | payload |
//! |---|---|---|
//! | `version` | first | `gateform`, `ui` ([`UI_VERSION`]) |
//! | `diagnostic` | a warning or the error that stopped the run | `diagnostic: {severity, summary}` |
//! | `planned_change` | once per change, after planning | `change: {action, kind, key, id}` |
//! | `change_summary` | after planning (`operation: plan`) and last (`operation: apply`) | `changes: {add, change, remove, operation}`; the last also `success`, `cancelled`, `outcomes: {applied, failed, not_attempted}` |
//! | `apply_start` | a step's request is sent | `hook: {step, finalize, change}` |
//! | `apply_complete` | it succeeded | `hook: {..., elapsed_seconds}` |
//! | `apply_errored` | it failed | `hook: {..., error, status?}` |
//! | `apply_skipped` | it will not be attempted: a step it needs failed | `hook: {..., cause}` |
//!
//! Values are masked where sensitive, as in every view; the CLI scrubs each line too.

use serde_json::{Map, Value, json};

use super::text;
use crate::apply::{Applied, Event};
use crate::graph::Schedule;
use crate::plan::{Action, Change, Plan};

/// Version of the event stream's format.
pub const UI_VERSION: &str = "1.0";

fn line(level: &str, message: String, timestamp: &str, kind: &str, payload: Value) -> Value {
    let mut m = Map::new();
    m.insert("@level".into(), json!(level));
    m.insert("@message".into(), json!(message));
    m.insert("@timestamp".into(), json!(timestamp));
    m.insert("type".into(), json!(kind));
    if let Value::Object(p) = payload {
        m.extend(p);
    }
    Value::Object(m)
}

/// The first line: gateform's version and the stream's.
pub fn version(timestamp: &str) -> Value {
    let v = env!("CARGO_PKG_VERSION");
    line("info", format!("gateform {v}"), timestamp, "version", json!({"gateform": v, "ui": UI_VERSION}))
}

/// A warning (`error == false`) or the error that ended the run.
pub fn diagnostic(message: &str, error: bool, timestamp: &str) -> Value {
    let (level, severity) = if error { ("error", "error") } else { ("warn", "warning") };
    let summary = message.strip_prefix("warning: ").unwrap_or(message);
    line(
        level,
        message.to_owned(),
        timestamp,
        "diagnostic",
        json!({"diagnostic": {"severity": severity, "summary": summary}}),
    )
}

fn change_ref(c: &Change) -> Value {
    json!({"action": c.action, "kind": c.kind, "key": c.key, "id": c.id})
}

/// One `planned_change` line per change, then the plan's `change_summary`.
pub fn planned(plan: &Plan, timestamp: &str) -> Vec<Value> {
    let mut out: Vec<Value> = plan
        .changes
        .iter()
        .map(|c| {
            let message = format!("{}: {}", text::address(c), text::verb(c.action));
            line("info", message, timestamp, "planned_change", json!({"change": change_ref(c)}))
        })
        .collect();
    let s = plan.summary();
    let message = text::summary_line(plan);
    let changes = json!({"add": s.add, "change": s.change, "remove": s.destroy, "operation": "plan"});
    out.push(line("info", message, timestamp, "change_summary", json!({"changes": changes})));
    out
}

/// The line of one step's event.
pub fn step(plan: &Plan, schedule: &Schedule, event: Event<'_>, timestamp: &str) -> Option<Value> {
    let index = match event {
        Event::Started { step } | Event::Applied { step, .. } | Event::Failed { step, .. } => step,
        Event::Skipped { step, .. } => step,
    };
    let s = schedule.steps.get(index)?;
    let c = plan.changes.get(s.change)?;
    let mut hook = json!({"step": index, "finalize": s.finalize, "change": change_ref(c)});
    let address = text::address(c);
    let (level, kind, message) = match event {
        Event::Started { .. } => {
            let doing = match (s.finalize, c.action) {
                (true, _) => "Setting unique values...",
                (_, Action::Create) => "Creating...",
                (_, Action::Update) => "Modifying...",
                (_, Action::Delete) => "Destroying...",
            };
            ("info", "apply_start", format!("{address}: {doing}"))
        }
        Event::Applied { elapsed, .. } => {
            hook["elapsed_seconds"] = json!(elapsed.as_secs_f64());
            let done = match (s.finalize, c.action) {
                (true, _) => "Unique values set",
                (_, Action::Create) => "Creation complete",
                (_, Action::Update) => "Modifications complete",
                (_, Action::Delete) => "Destruction complete",
            };
            ("info", "apply_complete", format!("{address}: {done} after {}s [id={}]", elapsed.as_secs(), c.id))
        }
        Event::Failed { failure, .. } => {
            hook["error"] = json!(failure.to_string());
            if let Some(status) = failure.status() {
                hook["status"] = json!(status);
            }
            ("error", "apply_errored", format!("{address}: {failure}"))
        }
        Event::Skipped { cause, .. } => {
            let because = schedule.steps.get(cause).and_then(|s| plan.changes.get(s.change));
            hook["cause"] = because.map(change_ref).unwrap_or(Value::Null);
            let because = because.map(text::address).unwrap_or_default();
            ("warn", "apply_skipped", format!("{address}: not attempted: depends on {because}, which failed"))
        }
    };
    Some(line(level, message, timestamp, kind, json!({"hook": hook})))
}

/// The last line: what the apply did.
pub fn summary(applied: &Applied, timestamp: &str) -> Value {
    let s = applied.summary;
    let c = applied.counts;
    let (level, message) = if applied.success() {
        ("info", format!("Apply complete! Resources: {} added, {} changed, {} destroyed.", s.add, s.change, s.destroy))
    } else {
        (
            "error",
            format!(
                "Apply failed: {} added, {} changed, {} destroyed; {} failed, {} not attempted.",
                s.add, s.change, s.destroy, c.failed, c.not_attempted
            ),
        )
    };
    let payload = json!({
        "changes": {"add": s.add, "change": s.change, "remove": s.destroy, "operation": "apply"},
        "success": applied.success(),
        "cancelled": applied.report.cancelled,
        "outcomes": {"applied": c.applied, "failed": c.failed, "not_attempted": c.not_attempted},
        "barrier_error": applied.barrier.as_ref().map(ToString::to_string),
    });
    line(level, message, timestamp, "change_summary", payload)
}
