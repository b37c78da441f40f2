//! Views of an apply: one line per completed or failed step while it runs (Terraform's
//! `Creation complete after 0s [id=...]`), and the closing report — `Apply complete!` or
//! what was applied, what failed (with the gateway's message) and what was not attempted,
//! and because of which failure.

use serde_json::{Value, json};

use super::text;
use crate::apply::{Applied, ChangeOutcome, Event};
use crate::graph::Schedule;
use crate::plan::{Action, Plan};

/// A line for the user, and whether it belongs on stderr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// On stderr (failures) rather than stdout.
    pub stderr: bool,
    /// The text, without a newline.
    pub text: String,
}

/// The line of one progress event, if it has one (starts and skips have none).
pub fn event(plan: &Plan, schedule: &Schedule, event: Event<'_>) -> Option<Line> {
    match event {
        Event::Started { .. } | Event::Skipped { .. } => None,
        Event::Applied { step, elapsed } => {
            let s = schedule.steps.get(step)?;
            let c = plan.changes.get(s.change)?;
            let what = match (s.finalize, c.action) {
                (true, _) => "Unique values set",
                (_, Action::Create) => "Creation complete",
                (_, Action::Update) => "Modifications complete",
                (_, Action::Delete) => "Destruction complete",
            };
            let text = format!("{}: {what} after {}s [id={}]", text::address(c), elapsed.as_secs(), c.id);
            Some(Line { stderr: false, text })
        }
        Event::Failed { step, failure } => {
            let Some(c) = schedule.steps.get(step).and_then(|s| plan.changes.get(s.change)) else {
                return Some(Line { stderr: true, text: format!("Error: {failure}") });
            };
            let what = match c.action {
                Action::Create => "Creation failed",
                Action::Update => "Modifications failed",
                Action::Delete => "Destruction failed",
            };
            Some(Line { stderr: true, text: format!("{}: {what}: {failure}", text::address(c)) })
        }
    }
}

/// What a step in flight is doing, in Terraform's words: `creating`, `modifying`,
/// `destroying` (a final step that sets unique values modifies).
pub fn doing(action: Action, finalize: bool) -> &'static str {
    match (finalize, action) {
        (true, _) | (_, Action::Update) => "modifying",
        (_, Action::Create) => "creating",
        (_, Action::Delete) => "destroying",
    }
}

/// The line of a change still in flight after `elapsed_secs` (Terraform's):
/// `services "a": Still creating... [10s elapsed]`.
pub fn still(address: &str, doing: &str, elapsed_secs: u64) -> String {
    format!("{address}: Still {doing}... [{elapsed_secs}s elapsed]")
}

/// The closing report of an apply, split by stream: `(stdout, stderr)`.
pub fn report(plan: &Plan, schedule: &Schedule, applied: &Applied) -> (String, String) {
    let s = applied.summary;
    if applied.success() {
        let line =
            format!("\nApply complete! Resources: {} added, {} changed, {} destroyed.\n", s.add, s.change, s.destroy);
        return (line, String::new());
    }
    let outcomes = applied.report.changes(plan, schedule);
    let mut failed = Vec::new();
    let mut skipped = Vec::new();
    for (c, o) in plan.changes.iter().zip(&outcomes) {
        let line = format!("{} ({})", text::address(c), format!("{:?}", c.action).to_lowercase());
        match o {
            ChangeOutcome::Failed(e) => failed.push(format!("  - {line}: {e}")),
            ChangeOutcome::UpstreamFailed { cause } => {
                let because = plan.changes.get(*cause).map(text::address).unwrap_or_default();
                skipped.push(format!("  - {line}: depends on {because}, which failed"));
            }
            ChangeOutcome::NotAttempted => skipped.push(format!("  - {line}")),
            ChangeOutcome::Incomplete => skipped.push(format!("  - {line} (incomplete)")),
            ChangeOutcome::Applied => {}
        }
    }
    let mut err = String::new();
    if applied.report.cancelled {
        err.push_str("\nError: apply interrupted; requests in flight were finished, nothing new was started.\n");
    } else if !applied.report.steps.contains(&crate::apply::StepOutcome::Applied) {
        err.push_str("\nError: apply failed; the gateway was not changed.\n");
    } else {
        err.push_str("\nError: apply failed; the gateway was partly updated.\n");
    }
    err.push_str(&format!("Applied: {} added, {} changed, {} destroyed.\n", s.add, s.change, s.destroy));
    if !failed.is_empty() {
        err.push_str(&format!("Failed:\n{}\n", failed.join("\n")));
    }
    if let Some(b) = &applied.barrier {
        err.push_str(&format!("The gateway did not take the changes: {b}\n"));
    }
    if !skipped.is_empty() {
        err.push_str(&format!("Not attempted:\n{}\n", skipped.join("\n")));
    }
    err.push_str("Fix the cause and run apply again: it converges from wherever this one stopped.\n");
    (String::new(), err)
}

/// The closing report as JSON: `{"success", "cancelled", "applied": {"add", "change",
/// "destroy"}, "counts": {"applied", "failed", "not_attempted"}, "changes": [{"action",
/// "kind", "key", "id", "outcome", "error"?, "status"?, "cause"?}], "barrier_error"?}`.
pub fn report_json(plan: &Plan, schedule: &Schedule, applied: &Applied) -> Value {
    let outcomes = applied.report.changes(plan, schedule);
    let changes: Vec<Value> = plan
        .changes
        .iter()
        .zip(&outcomes)
        .map(|(c, o)| {
            let mut v = json!({"action": c.action, "kind": c.kind, "key": crate::plan::plain_key(&c.key), "id": c.id});
            let (outcome, extra) = match o {
                ChangeOutcome::Applied => ("applied", json!({})),
                ChangeOutcome::Failed(f) => ("failed", json!({"error": f.to_string(), "status": f.status()})),
                ChangeOutcome::UpstreamFailed { cause } => {
                    let cause = plan.changes.get(*cause).map(text::address);
                    ("upstream_failed", json!({"cause": cause}))
                }
                ChangeOutcome::NotAttempted => ("not_attempted", json!({})),
                ChangeOutcome::Incomplete => ("incomplete", json!({})),
            };
            if let (Value::Object(m), Value::Object(e)) = (&mut v, extra) {
                m.insert("outcome".into(), json!(outcome));
                m.extend(e);
            }
            v
        })
        .collect();
    json!({
        "success": applied.success(),
        "cancelled": applied.report.cancelled,
        "applied": applied.summary,
        "counts": applied.counts,
        "changes": changes,
        "barrier_error": applied.barrier.as_ref().map(ToString::to_string),
    })
}
