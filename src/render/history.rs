//! Views of the ledger: the runs as a table or JSON, and the answer to "what was live in an
//! environment at a moment" (`history --at`).

use serde_json::{Value, json};

use crate::ledger::{LiveAt, RunRecord, parse_time};

/// The runs as one JSON document: `{"ledger": PATH, "runs": [...]}`.
pub fn runs_json(ledger: &str, runs: &[RunRecord]) -> Value {
    json!({"ledger": ledger, "runs": runs})
}

/// The answer of `--at` as one JSON document: `{"target", "at", "commit", "run",
/// "in_progress", "failed_since"}`.
pub fn live_at_json(target: &str, at: &str, live: &LiveAt) -> Value {
    let commit = live.run.as_ref().and_then(|r| r.source.commit.clone());
    json!({"target": target, "at": at, "commit": commit, "run": live.run,
        "in_progress": live.in_progress, "failed_since": live.failed_since})
}

/// The answer of `--at` as text, or `None` when no successful run had finished by then.
pub fn live_at_text(target: &str, at: &str, live: &LiveAt) -> Option<String> {
    let run = live.run.as_ref()?;
    let s = &run.source;
    let mut out = String::new();
    let mut line = |l: String| {
        out.push_str(&l);
        out.push('\n');
    };
    match &s.commit {
        Some(commit) => {
            line(format!("At {at}, {target} ran commit {commit}"));
            line(format!(
                "  ({}{}), applied by run #{} ({}, finished {}).",
                s.reference.as_deref().map(|r| format!("ref {r}, ")).unwrap_or_default(),
                s.subject.as_deref().map(|r| format!("{r:?}")).unwrap_or_default(),
                run.id,
                run.command,
                run.finished_at.as_deref().unwrap_or("?"),
            ));
            let repo =
                s.repository.as_deref().filter(|r| *r != ".").map(|r| format!(" --repo {r}")).unwrap_or_default();
            let path = s.path.as_deref().filter(|p| *p != ".").map(|p| format!(" --path {p}")).unwrap_or_default();
            let to = if run.environment == "-" {
                format!("--gateway {}", run.gateway)
            } else {
                format!("--env {}", run.environment)
            };
            line(format!("To restore it: gateform replay{repo} --ref {commit}{path} {to}"));
        }
        None => {
            line(format!("At {at}, {target} ran the files {}", s.files.join(", ")));
            line(format!("  (not from Git), applied by run #{} ({}).", run.id, run.command));
        }
    }
    for r in &live.in_progress {
        line(format!("note: run #{} ({}) was under way at that moment: {}", r.id, source_label(r), r.result.as_str()));
    }
    for r in &live.failed_since {
        line(format!(
            "note: run #{} ({}) ended {} after it: the gateway may have been partly updated",
            r.id,
            source_label(r),
            r.result.as_str()
        ));
    }
    Some(out)
}

fn source_label(r: &RunRecord) -> String {
    match &r.source.commit {
        Some(c) => format!("commit {}", c.get(..12).unwrap_or(c)),
        None => r.source.files.join(", "),
    }
}

fn duration(r: &RunRecord) -> String {
    match (parse_time(&r.started_at), r.finished_at.as_deref().map(parse_time)) {
        (Ok(a), Some(Ok(b))) => format!("{:.1}s", (b - a) as f64 / 1000.0),
        _ => "-".to_owned(),
    }
}

/// The runs as an aligned table, oldest first.
pub fn table(runs: &[RunRecord]) -> String {
    let header = ["RUN", "STARTED (UTC)", "TARGET", "COMMAND", "RESULT", "SOURCE", "REF", "PLAN", "APPLIED", "TOOK"];
    let rows: Vec<[String; 10]> = runs
        .iter()
        .map(|r| {
            [
                format!("#{}", r.id),
                r.started_at.clone(),
                r.target.clone(),
                r.command.clone(),
                r.result.as_str().to_owned(),
                source_label(r),
                r.source.reference.clone().unwrap_or_else(|| "-".to_owned()),
                r.plan.map(|p| format!("+{} ~{} -{}", p.add, p.change, p.destroy)).unwrap_or_else(|| "-".to_owned()),
                r.outcomes
                    .map(|o| format!("{}/{}/{}", o.applied, o.failed, o.not_attempted))
                    .unwrap_or_else(|| "-".to_owned()),
                duration(r),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: Vec<&str>, out: &mut String| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        out.push_str(padded.join("  ").trim_end());
        out.push('\n');
    };
    line(header.to_vec(), &mut out);
    for row in &rows {
        line(row.iter().map(String::as_str).collect(), &mut out);
    }
    out.push_str("\nAPPLIED: changes applied/failed/not attempted.\n");
    out
}
