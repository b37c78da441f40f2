//! `gateform apply --format json`: the run's progress as JSON lines on stdout
//! ([`crate::render::events`], `schemas/apply-events.schema.json`), one per warning, planned
//! change, step start, completion, failure and skip, then a summary. Every line passes
//! through the scrubbing sink of [`super::output`].

use serde_json::Value;

use super::output::outln;
use crate::apply::Event;
use crate::engine::{Observer, Planned};
use crate::render::events;

/// The current time as the stream writes it (RFC 3339, UTC, microseconds).
pub fn now() -> String {
    humantime::format_rfc3339_micros(std::time::SystemTime::now()).to_string()
}

/// Prints one event line.
pub fn emit(line: &Value) {
    outln(&line.to_string());
}

/// An [`Observer`] that prints JSON lines. It never asks: `--format json` needs
/// `--auto-approve`.
pub struct JsonLines;

impl Observer for JsonLines {
    fn warning(&mut self, message: &str) {
        emit(&events::diagnostic(message, false, &now()));
    }

    fn planned(&mut self, planned: &Planned) {
        for line in events::planned(&planned.plan, &now()) {
            emit(&line);
        }
    }

    fn confirm(&mut self, _planned: &Planned) -> bool {
        false
    }

    fn event(&mut self, planned: &Planned, event: Event<'_>) {
        if let Some(line) = events::step(&planned.plan, &planned.schedule, event, &now()) {
            emit(&line);
        }
    }
}
