//! Views of an environment of several nodes: how each node ended after an apply, a replay
//! or a drill (one line each), and the drift of every node (against Git, and against the
//! first node). Text for people, JSON for schedulers.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::plan::{Plan, Summary};

/// How one node ended, as reports show it.
#[derive(Debug, Clone, Copy)]
pub struct NodeLine<'a> {
    /// Its Admin API address.
    pub address: &'a str,
    /// `verified`, `unchanged`, `failed`, `not-verified` or `untouched`.
    pub status: &'a str,
    /// Why, for failed and unverified nodes.
    pub reason: Option<&'a str>,
    /// What its plan changed.
    pub plan: Summary,
    /// The configuration it serves afterwards, when the gateway names one.
    pub served: Option<&'a str>,
    /// Seconds spent writing and verifying it.
    pub seconds: f64,
}

/// `http://kong-2:8001: verified (2 to add, 0 to change, 0 to destroy; 0.31 s; configuration 5d41402a)`.
pub fn line(n: &NodeLine<'_>) -> String {
    let p = n.plan;
    let mut out = format!("{}: {}", n.address, n.status);
    if let Some(why) = n.reason {
        let _ = write!(out, ": {why}");
    }
    let _ = write!(out, " ({} to add, {} to change, {} to destroy", p.add, p.change, p.destroy);
    if n.status != "untouched" {
        let _ = write!(out, "; {:.2} s", n.seconds);
    }
    if let Some(v) = n.served {
        let _ = write!(out, "; configuration {}", v.get(..8).unwrap_or(v));
    }
    out.push(')');
    out
}

/// The `Nodes:` block of a report, one indented line per node.
pub fn block(nodes: &[NodeLine<'_>]) -> String {
    let mut out = String::from("  Nodes:\n");
    for n in nodes {
        let _ = writeln!(out, "    {}", line(n));
    }
    out
}

/// The nodes as a JSON array: `[{"address", "status", "reason", "plan": {"add", "change",
/// "destroy"}, "served", "seconds"}]`.
pub fn json(nodes: &[NodeLine<'_>]) -> Value {
    nodes
        .iter()
        .map(|n| {
            json!({
                "address": n.address,
                "status": n.status,
                "reason": n.reason,
                "plan": n.plan,
                "served": n.served,
                "seconds": n.seconds,
            })
        })
        .collect()
}

/// What one node holds against the configuration, as `drift` shows it.
#[derive(Debug, Clone, Copy)]
pub struct DriftLine<'a> {
    /// Its Admin API address.
    pub address: &'a str,
    /// Its plan against the configuration, or why it could not be planned.
    pub plan: Result<&'a Plan, &'a str>,
    /// The configuration it says it serves, when the gateway names one.
    pub served: Option<&'a str>,
    /// How its live state differs from the first node's: `(kind/id, change)`.
    pub differs: &'a [(String, &'static str)],
    /// Whether its state could be compared with the first node's.
    pub compared: bool,
}

/// The drift of every node: each one's plan (when it has changes), then a summary of which
/// nodes diverge from Git and from each other.
pub fn drift_text(nodes: &[DriftLine<'_>]) -> String {
    let mut out = String::new();
    let first = nodes.first().map(|n| n.address).unwrap_or_default();
    for n in nodes.iter().skip(1) {
        match n.plan {
            Ok(plan) if plan.is_empty() => {}
            Ok(plan) => {
                let _ = write!(out, "\nNode {}:\n{}", n.address, super::text::plan(plan));
            }
            Err(why) => {
                let _ = writeln!(out, "\nNode {}: {why}", n.address);
            }
        }
    }
    let _ = writeln!(out, "\nNodes ({}):", nodes.len());
    for n in nodes {
        let git = match n.plan {
            Ok(p) if p.is_empty() => "in sync with Git".to_owned(),
            Ok(p) => {
                let s = p.summary();
                format!("DRIFT from Git: {} to add, {} to change, {} to destroy", s.add, s.change, s.destroy)
            }
            Err(why) => format!("UNKNOWN: {why}"),
        };
        let peers = match (n.compared, n.differs.len()) {
            _ if n.address == first => String::new(),
            (false, _) => String::new(),
            (true, 0) => format!("; same as {first}"),
            (true, k) => format!(
                "; DIFFERS from {first} in {k} {} ({})",
                if k == 1 { "entity" } else { "entities" },
                sample(n.differs)
            ),
        };
        let served = n.served.map(|v| format!("; configuration {}", v.get(..8).unwrap_or(v))).unwrap_or_default();
        let _ = writeln!(out, "  {}: {git}{peers}{served}", n.address);
    }
    out
}

/// At most three differences, `services/<id> changed, ...`.
fn sample(differs: &[(String, &'static str)]) -> String {
    let mut parts: Vec<String> = differs.iter().take(3).map(|(e, how)| format!("{e} {how}")).collect();
    if differs.len() > 3 {
        parts.push(format!("{} more", differs.len() - 3));
    }
    parts.join(", ")
}

/// The drift of every node as JSON: `{"nodes": [{"address", "in_sync", "error", "plan",
/// "served", "same_as_first", "differs_from_first": [{"entity", "difference"}]}], "drift",
/// "diverged"}`; `plan` is the plan document of `schemas/plan.schema.json`.
pub fn drift_json(nodes: &[DriftLine<'_>]) -> Value {
    let items: Vec<Value> = nodes
        .iter()
        .map(|n| {
            let plan = n
                .plan
                .ok()
                .map(|p| serde_json::from_str::<Value>(&super::json::plan(p, None, None)).unwrap_or(Value::Null));
            let differs: Vec<Value> =
                n.differs.iter().map(|(e, how)| json!({"entity": e, "difference": how})).collect();
            json!({
                "address": n.address,
                "in_sync": n.plan.is_ok_and(Plan::is_empty),
                "error": n.plan.err(),
                "plan": plan,
                "served": n.served,
                "same_as_first": n.compared && n.differs.is_empty(),
                "differs_from_first": differs,
            })
        })
        .collect();
    json!({
        "format_version": super::json::FORMAT_VERSION,
        "nodes": items,
        "drift": nodes.iter().any(|n| !n.plan.is_ok_and(Plan::is_empty)),
        "diverged": nodes.iter().any(|n| !n.compared || !n.differs.is_empty()),
    })
}
