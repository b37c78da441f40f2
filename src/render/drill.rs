//! The report of a disaster-recovery drill: the revision restored onto the rehearsal
//! gateway and its proof, the measured recovery time against its objective (RTO), and the
//! live environment's exposure (RPO): what a restore would lose, and for how long that has
//! been so at most. Text for people, one JSON document for schedulers.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde_json::{Value, json};

use super::nodes::NodeLine;
use super::replay::{by_kind_json, restored_line};
use crate::apply::ChangeCounts;
use crate::ledger::RunRecord;
use crate::model::Kind;
use crate::plan::{Action, Verification};
use crate::source::{Provenance, Source};

/// The changes of one live node against the revision, or why it could not be read.
pub type NodeChanges = (String, Result<Vec<(Action, Kind, String)>, String>);

/// Changes listed per node at most; the rest are counted.
const LISTED: usize = 20;

/// Everything a drill report shows.
pub struct DrillView<'a> {
    /// The revision restored.
    pub source: &'a Source,
    /// The rehearsal gateway's address.
    pub rehearsal: &'a str,
    /// Whether it is the in-process sandbox.
    pub sandbox: bool,
    /// Its product and version (`Kong 3.9.3`).
    pub product: &'a str,
    /// Entities restored, by kind.
    pub restored: &'a BTreeMap<Kind, usize>,
    /// Entities of the revision, by kind.
    pub desired: &'a BTreeMap<Kind, usize>,
    /// Changes applied, failed, not attempted.
    pub counts: ChangeCounts,
    /// The verification and how long it took (none when the replay stopped before it).
    pub verification: Option<(&'a Verification, Duration)>,
    /// Whether the replay applied everything and its verification holds.
    pub verified: bool,
    /// Why the replay did not succeed.
    pub message: Option<&'a str>,
    /// Measured time to a verified restore, from the start of the drill.
    pub rto: Duration,
    /// Of which: reading the revision.
    pub read: Duration,
    /// Of which: from the first read of the rehearsal to the end of the apply.
    pub restore: Duration,
    /// The recovery-time objective.
    pub objective: Option<Duration>,
    /// The live environment's exposure, when one was named.
    pub exposure: Option<ExposureView<'a>>,
    /// The rehearsal's nodes, when it has several.
    pub nodes: &'a [NodeLine<'a>],
}

/// The live environment against the revision.
pub struct ExposureView<'a> {
    /// `the environment "prod"`.
    pub label: &'a str,
    /// Per node: its changes, or why it could not be read.
    pub nodes: &'a [NodeChanges],
    /// Live entities a restore would change or delete.
    pub lost: usize,
    /// Entities of the revision the live side lacks.
    pub missing: usize,
    /// The last run that made the environment match Git.
    pub since: Option<&'a RunRecord>,
    /// Upper bound of how long the drift has existed.
    pub age: Option<Duration>,
}

impl DrillView<'_> {
    fn objective_met(&self) -> bool {
        self.objective.is_none_or(|o| self.rto <= o)
    }

    /// Whether the drill passes: verified, within its objective.
    pub fn success(&self) -> bool {
        self.verified && self.objective_met()
    }
}

/// `15m`, `1h 30m`, `2.35 s` below a minute.
fn human(d: Duration) -> String {
    if d < Duration::from_secs(60) {
        return format!("{:.2} s", d.as_secs_f64());
    }
    humantime::format_duration(Duration::from_secs(d.as_secs())).to_string()
}

/// The text report.
pub fn text(v: &DrillView<'_>) -> String {
    let mut out = String::from("Drill report\n");
    let commit = match &v.source.provenance {
        Provenance::Git(i) => format!("{} ({}) {:?}", i.commit, i.reference, i.subject),
        Provenance::Files(files) => files.join(", "),
    };
    let rehearsal = if v.sandbox { format!("in-process sandbox {}", v.rehearsal) } else { v.rehearsal.to_owned() };
    let _ = writeln!(out, "  Commit:           {commit}");
    let _ = writeln!(out, "  Rehearsal:        {rehearsal} ({})", v.product);
    let _ = writeln!(out, "  Restored:         {}", restored_line(v.restored, v.desired));
    let c = v.counts;
    if c.failed + c.not_attempted > 0 {
        let _ = writeln!(out, "  Not restored:     {} failed, {} not attempted", c.failed, c.not_attempted);
    }
    let _ = writeln!(out, "  Verification:     {}", verification_text(v));
    let objective = match v.objective {
        Some(o) if v.objective_met() => format!(", objective {}: met", human(o)),
        Some(o) => format!(", objective {}: MISSED", human(o)),
        None => ", no objective set (rto in gateform.toml, or --rto)".to_owned(),
    };
    let verify = v.verification.map(|(_, d)| d).unwrap_or_default();
    let _ = writeln!(
        out,
        "  RTO:              {}{objective} (read {}, restore {}, verify {})",
        human(v.rto),
        human(v.read),
        human(v.restore),
        human(verify)
    );
    match &v.exposure {
        Some(e) => exposure_text(&mut out, e),
        None => {
            let _ = writeln!(out, "  RPO exposure:     not measured: no live environment named (--env)");
        }
    }
    if !v.nodes.is_empty() {
        out.push_str(&super::nodes::block(v.nodes));
    }
    let result = match (v.verified, v.objective_met()) {
        (true, true) => "PASS".to_owned(),
        (false, _) => {
            format!("FAIL: the restore was not verified{}", v.message.map(|m| format!(" ({m})")).unwrap_or_default())
        }
        (true, false) => "FAIL: the recovery-time objective is missed".to_owned(),
    };
    let _ = writeln!(out, "  Result:           {result}");
    out
}

fn verification_text(v: &DrillView<'_>) -> String {
    match v.verification {
        Some((Verification::Holds, d)) => {
            format!("holds: a fresh plan of the rehearsal is empty ({})", human(d))
        }
        Some((Verification::Fails(left), _)) => {
            format!("FAILS: a fresh plan still has {} change(s)", left.changes.len())
        }
        Some((Verification::Error(e), _)) => format!("FAILS: {e}"),
        None => "not done: the replay stopped before it".to_owned(),
    }
}

fn exposure_text(out: &mut String, e: &ExposureView<'_>) {
    let drift = e.lost + e.missing > 0;
    if !drift && e.nodes.iter().all(|(_, c)| c.is_ok()) {
        let _ = writeln!(out, "  RPO exposure:     none: {} matches the revision; a restore loses nothing", e.label);
    } else {
        let _ = writeln!(
            out,
            "  RPO exposure:     {}: {} live change(s) a restore would lose, {} entit{} of the revision missing",
            e.label,
            e.lost,
            e.missing,
            if e.missing == 1 { "y" } else { "ies" }
        );
    }
    match (e.since, e.age) {
        (Some(r), Some(age)) => {
            let commit = r.source.commit.as_deref().map(|c| c.get(..12).unwrap_or(c)).unwrap_or("-");
            let _ = writeln!(
                out,
                "                    present for at most {}: since run #{} ({} of commit {commit}) finished {}",
                human(age),
                r.id,
                r.command,
                r.finished_at.as_deref().unwrap_or("-")
            );
        }
        (None, _) if drift => {
            let _ = writeln!(out, "                    since when: unknown (the ledger has no successful run of it)");
        }
        _ => {}
    }
    for (address, changes) in e.nodes {
        match changes {
            Ok(list) if list.is_empty() => {}
            Ok(list) => {
                let _ = writeln!(out, "    {address}:");
                for (action, kind, key) in list.iter().take(LISTED) {
                    let (sign, what) = match action {
                        Action::Create => ("+", "missing, a restore re-creates it"),
                        Action::Update => ("~", "changed on the gateway, a restore reverts it"),
                        Action::Delete => ("-", "only on the gateway, a restore deletes it"),
                    };
                    let _ = writeln!(out, "      {sign} {} {key}: {what}", kind.singular());
                }
                if list.len() > LISTED {
                    let _ = writeln!(out, "      ... and {} more", list.len() - LISTED);
                }
            }
            Err(why) => {
                let _ = writeln!(out, "    {address}: {why}");
            }
        }
    }
}

/// The JSON report.
pub fn json(v: &DrillView<'_>) -> Value {
    let (verdict, seconds, error) = match v.verification {
        Some((Verification::Holds, d)) => ("holds", d.as_secs_f64(), None),
        Some((Verification::Fails(left), d)) => {
            ("fails", d.as_secs_f64(), Some(format!("a fresh plan still has {} change(s)", left.changes.len())))
        }
        Some((Verification::Error(e), d)) => ("fails", d.as_secs_f64(), Some(e.clone())),
        None => ("not-done", 0.0, v.message.map(str::to_owned)),
    };
    let rpo = v.exposure.as_ref().map(|e| {
        let nodes: Vec<Value> = e
            .nodes
            .iter()
            .map(|(address, changes)| match changes {
                Ok(list) => {
                    let changes: Vec<Value> =
                        list.iter().map(|(a, k, key)| json!({"action": a, "kind": k, "key": key})).collect();
                    json!({"address": address, "changes": changes, "error": null})
                }
                Err(why) => json!({"address": address, "changes": null, "error": why}),
            })
            .collect();
        let since = e.since.map(
            |r| json!({"run": r.id, "command": r.command, "commit": r.source.commit, "finished_at": r.finished_at}),
        );
        json!({
            "environment": e.label,
            "lost": e.lost,
            "missing": e.missing,
            "exposure_seconds": e.age.map(|a| a.as_secs_f64()),
            "since": since,
            "nodes": nodes,
        })
    });
    json!({
        "format_version": "1",
        "success": v.success(),
        "source": v.source.to_json(),
        "rehearsal": {"address": v.rehearsal, "sandbox": v.sandbox, "product": v.product},
        "restored": by_kind_json(v.restored),
        "desired": by_kind_json(v.desired),
        "changes": v.counts,
        "verification": {"result": verdict, "seconds": seconds, "error": error},
        "rto": {
            "seconds": v.rto.as_secs_f64(),
            "objective_seconds": v.objective.map(|o| o.as_secs_f64()),
            "met": v.objective_met(),
            "read_seconds": v.read.as_secs_f64(),
            "restore_seconds": v.restore.as_secs_f64(),
            "verify_seconds": seconds,
        },
        "rpo": rpo,
        "nodes": super::nodes::json(v.nodes),
        "message": v.message,
    })
}
