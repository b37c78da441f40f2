//! The report of a replay (a restore and its proof): what was restored where, what was
//! done, how long it took, and whether a fresh plan is empty. Text for people, one JSON
//! document for schedulers. "Restored" counts what the gateway holds as configured
//! afterwards, out of what the configuration has.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{Value, json};

use crate::apply::Applied;
use crate::model::Kind;
use crate::plan::Verification;
use crate::source::{Provenance, Source};

/// Everything a replay report shows.
pub struct ReplayView<'a> {
    /// The configuration restored.
    pub source: &'a Source,
    /// The gateway's address.
    pub address: &'a str,
    /// The environment, if one was named.
    pub environment: Option<&'a str>,
    /// The gateway's version.
    pub version: &'a str,
    /// Entities restored (the gateway holds them as configured afterwards), by kind.
    pub restored: &'a BTreeMap<Kind, usize>,
    /// Entities of the configuration, by kind.
    pub desired: &'a BTreeMap<Kind, usize>,
    /// The nodes, for an environment of several (empty for one).
    pub nodes: &'a [super::nodes::NodeLine<'a>],
    /// The apply.
    pub applied: &'a Applied,
    /// The verification.
    pub verification: &'a Verification,
    /// How long the verification took.
    pub verify_time: Duration,
    /// The ledger run.
    pub run: Option<i64>,
}

fn describe_target(v: &ReplayView<'_>) -> String {
    match v.environment {
        Some(e) => format!("{} (environment {e:?})", v.address),
        None => v.address.to_owned(),
    }
}

/// The text report.
pub fn text(v: &ReplayView<'_>) -> String {
    let mut out = String::from("Replay report\n");
    let commit = match &v.source.provenance {
        Provenance::Git(i) => format!("{} ({}) {:?}", i.commit, i.reference, i.subject),
        Provenance::Files(files) => files.join(", "),
    };
    let restored = restored_line(v.restored, v.desired);
    let (s, c) = (v.applied.summary, v.applied.counts);
    let _ = writeln!(out, "  Commit:           {commit}");
    let _ = writeln!(out, "  Gateway:          {}", describe_target(v));
    let _ = writeln!(out, "  Restored:         {restored}");
    let _ = write!(out, "  Actions taken:    {} added, {} changed, {} destroyed", s.add, s.change, s.destroy);
    if c.failed + c.not_attempted > 0 {
        let _ = write!(out, " ({} failed, {} not attempted)", c.failed, c.not_attempted);
    }
    out.push('\n');
    let _ = writeln!(out, "  Time to restore:  {:.2} s", v.applied.elapsed.as_secs_f64());
    match v.verification {
        Verification::Holds => {
            let _ = writeln!(
                out,
                "  Verification:     holds: a fresh plan of the gateway is empty ({:.2} s)",
                v.verify_time.as_secs_f64()
            );
        }
        Verification::Fails(left) => {
            let _ =
                writeln!(out, "  Verification:     FAILS: a fresh plan still has {} change(s):\n", left.changes.len());
            out.push_str(&super::text::plan(left));
        }
        Verification::Error(e) => {
            let _ = writeln!(out, "  Verification:     FAILS: the gateway could not be planned against again: {e}");
        }
    }
    if !v.nodes.is_empty() {
        out.push_str(&super::nodes::block(v.nodes));
    }
    if let Some(run) = v.run {
        let _ = writeln!(out, "  Ledger run:       #{run}");
    }
    out
}

/// `2 consumers, 1 of 2 services, 3 routes`: per kind of the configuration, what was
/// restored, and out of how many when not all.
pub fn restored_line(restored: &BTreeMap<Kind, usize>, desired: &BTreeMap<Kind, usize>) -> String {
    let parts: Vec<String> = desired
        .iter()
        .map(|(k, want)| match restored.get(k).copied().unwrap_or(0) {
            got if got == *want => format!("{want} {}", k.table()),
            got => format!("{got} of {want} {}", k.table()),
        })
        .collect();
    if parts.is_empty() { "nothing (the configuration is empty)".to_owned() } else { parts.join(", ") }
}

/// Counts by kind as a JSON object keyed by table.
pub fn by_kind_json(counts: &BTreeMap<Kind, usize>) -> Value {
    Value::Object(counts.iter().map(|(k, n)| (k.table().to_owned(), json!(n))).collect())
}

/// The JSON report.
pub fn json(v: &ReplayView<'_>) -> Value {
    let (verdict, leftover, error) = match v.verification {
        Verification::Holds => ("holds", Value::Null, Value::Null),
        Verification::Fails(left) => {
            let doc = serde_json::from_str(&super::json::plan(left, None, None)).unwrap_or(Value::Null);
            ("fails", doc, Value::Null)
        }
        Verification::Error(e) => ("fails", Value::Null, json!(e)),
    };
    json!({
        "format_version": "1",
        "run": v.run,
        "source": v.source.to_json(),
        "gateway": {
            "address": v.address,
            "version": v.version,
            "environment": v.environment,
        },
        "restored": by_kind_json(v.restored),
        "desired": by_kind_json(v.desired),
        "actions": v.applied.summary,
        "failed": v.applied.counts.failed,
        "not_attempted": v.applied.counts.not_attempted,
        "seconds_to_restore": v.applied.elapsed.as_secs_f64(),
        "verification": {
            "result": verdict,
            "seconds": v.verify_time.as_secs_f64(),
            "leftover": leftover,
            "error": error,
        },
        "nodes": super::nodes::json(v.nodes),
    })
}
