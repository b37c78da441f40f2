//! The CLI's [`Observer`]: how a run's progress reaches the terminal. Warnings go to
//! stderr; the plan, completions, changes still in flight and the report to stdout;
//! failures to stderr; a live count to a terminal's stderr while an apply runs. Everything
//! passes through the scrubbing sinks of [`super::output`].

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;

use super::output::{errln, out, out_plan, outln};
use super::progress::Progress;
use crate::apply::Event;
use crate::engine::{NodeEvent, NodeOutcome, Observer, Planned, RunOutcome};
use crate::render;
use crate::render::nodes::NodeLine;

/// How much a run shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Show {
    /// `apply`: the source and gateway header, the plan, every completion.
    Apply,
    /// `replay` in text: the gateway header, the plan, every completion.
    Replay,
    /// Machine output: only failures and warnings (on stderr).
    Quiet,
    /// Nothing but warnings (a plan that prints its own rendering).
    Plan,
}

/// Prints a run's progress.
pub struct Printer {
    /// What to show.
    pub show: Show,
    /// Printed before the header (`Applying the saved plan plan.json.`).
    pub intro: String,
    /// Set when the user was asked and said anything but `yes`; an error when they could not
    /// be asked.
    pub refusal: Option<String>,
    /// The progress of the apply under way.
    progress: Option<Progress>,
}

impl Printer {
    /// A printer that shows `show`.
    pub fn new(show: Show) -> Self {
        Printer { show, intro: String::new(), refusal: None, progress: None }
    }

    /// Stops showing progress (the apply is over).
    pub fn done(&mut self) {
        self.progress = None;
    }

    fn track(&mut self, planned: &Planned, event: &Event<'_>) {
        if !matches!(self.show, Show::Apply | Show::Replay) {
            return;
        }
        match *event {
            Event::Started { step } => {
                let Some(s) = planned.schedule.steps.get(step) else { return };
                let Some(c) = planned.plan.changes.get(s.change) else { return };
                let progress = self.progress.get_or_insert_with(|| {
                    Progress::start(planned.schedule.steps.len(), Arc::new(|line: &str| outln(line)), true)
                });
                progress.started(step, render::text::address(c), render::apply::doing(c.action, s.finalize));
            }
            Event::Applied { step, .. } | Event::Failed { step, .. } | Event::Skipped { step, .. } => {
                if let Some(p) = &self.progress {
                    p.finished(step);
                }
            }
        }
    }
}

/// The header of a run's text output.
pub fn header(planned: &Planned) -> String {
    render::text::header(
        &planned.source.line(),
        &planned.target.address(),
        &planned.product(),
        planned.target.environment.as_deref(),
    )
}

impl Observer for Printer {
    fn warning(&mut self, message: &str) {
        errln(message);
    }

    fn planned(&mut self, planned: &Planned) {
        match self.show {
            Show::Apply => {
                out(&format!("{}{}", self.intro, header(planned)));
                out_plan(&render::text::plan(&planned.plan));
            }
            Show::Replay => {
                let env =
                    planned.target.environment.as_ref().map(|e| format!(", environment {e:?}")).unwrap_or_default();
                outln(&format!("Gateway: {} ({}){env}\n", planned.target.gateway.url, planned.product()));
                out_plan(&render::text::plan(&planned.plan));
                if !planned.plan.is_empty() {
                    outln("");
                }
            }
            Show::Quiet | Show::Plan => {}
        }
    }

    fn confirm(&mut self, _planned: &Planned) -> bool {
        match ask() {
            Ok(true) => {
                outln("");
                true
            }
            Ok(false) => {
                outln("\nApply cancelled.");
                false
            }
            Err(e) => {
                self.refusal = Some(e);
                false
            }
        }
    }

    fn node(&mut self, event: NodeEvent<'_>) {
        let shows = matches!(self.show, Show::Apply | Show::Replay);
        match event {
            NodeEvent::Planned { address, same_as_first: true, .. } if shows => {
                outln(&format!("Node {address}: the same plan."));
            }
            NodeEvent::Planned { address, plan, .. } if shows => {
                out(&format!("\nNode {address} differs; its plan:\n{}", render::text::plan(plan)));
            }
            NodeEvent::Writing { address, changes } if shows => {
                outln(&format!("Node {address}: writing {changes} change(s)..."));
            }
            NodeEvent::Done(o) if !o.status.ok() => errln(&format!("Node {}", render::nodes::line(&node_line(o)))),
            NodeEvent::Done(o) if shows => outln(&format!("Node {}", render::nodes::line(&node_line(o)))),
            _ => {}
        }
    }

    fn event(&mut self, planned: &Planned, event: Event<'_>) {
        self.track(planned, &event);
        let Some(line) = render::apply::event(&planned.plan, &planned.schedule, event) else { return };
        match (line.stderr, self.show) {
            (true, _) => errln(&line.text),
            (false, Show::Apply | Show::Replay) => outln(&line.text),
            (false, _) => {}
        }
    }

    fn verifying(&mut self) {
        self.done();
    }
}

/// How reports show a node.
pub fn node_line(o: &NodeOutcome) -> NodeLine<'_> {
    NodeLine {
        address: &o.address,
        status: o.status.as_str(),
        reason: o.status.reason(),
        plan: o.plan,
        served: o.served.as_deref(),
        seconds: o.elapsed.as_secs_f64(),
    }
}

/// After a run over several nodes: every node's line, and why the run failed when the first
/// node's report does not say it.
pub fn nodes_report(outcome: &RunOutcome) {
    if outcome.nodes.is_empty() {
        return;
    }
    let lines: Vec<NodeLine<'_>> = outcome.nodes.iter().map(node_line).collect();
    out(&format!("\n{}", render::nodes::block(&lines)));
    let first_ok = outcome.applied.as_ref().is_none_or(|a| a.success());
    if let (false, true, Some(m)) = (outcome.success(), first_ok, &outcome.message) {
        errln(&format!("\nError: {m}"));
    }
}

/// Asks on the terminal; an error when stdin is not one.
fn ask() -> Result<bool, String> {
    if !std::io::stdin().is_terminal() {
        return Err("apply needs --auto-approve when stdin is not a terminal".into());
    }
    out("\nDo you want to perform these actions?\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ");
    let _ = std::io::stdout().flush();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).map_err(|e| e.to_string())?;
    Ok(line.trim() == "yes")
}
