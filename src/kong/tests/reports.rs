//! Golden files of the reports: an apply that partly failed (text and JSON), a replay
//! (text and JSON), and the ledger's history table and `--at` answer.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use crate::apply::{Applied, ApplyReport, ChangeCounts, Failure, StepOutcome};
use crate::gateway::HttpError;
use crate::graph::{Schedule, Step};
use crate::kong::KongKind;
use crate::ledger::{LiveAt, OutcomeCounts, PlanCounts, RunRecord, RunResult, RunSource};
use crate::plan::{Action, Change, Plan, Summary, Verification};
use crate::render::{apply, history, replay};
use crate::source::git::SourceInfo;
use crate::source::{Input, Provenance, Source};

fn change(action: Action, kind: KongKind, key: &str, id: &str) -> Change {
    let mut c = crate::plan::tests_support::change();
    c.action = action;
    c.kind = kind.kind();
    c.key = key.into();
    c.id = id.into();
    c
}

/// A service created, one refused, its route not attempted, a consumer destroyed.
fn partly_failed() -> (Plan, Schedule, Applied) {
    let changes = vec![
        change(Action::Create, KongKind::Service, "\"orders\"", "5b3f0c2e-0000-4000-8000-000000000001"),
        change(Action::Create, KongKind::Service, "\"billing\"", "5b3f0c2e-0000-4000-8000-000000000002"),
        change(Action::Delete, KongKind::Consumer, "\"old-user\"", "5b3f0c2e-0000-4000-8000-000000000003"),
        change(Action::Create, KongKind::Route, "\"billing-route\"", "5b3f0c2e-0000-4000-8000-000000000004"),
    ];
    let plan = Plan { changes, names: BTreeMap::new() };
    let steps = (0..4)
        .map(|i| Step {
            change: i,
            request: Arc::new(crate::gateway::Request::new("PUT", format!("/x/{i}"), None)),
            finalize: false,
        })
        .collect();
    let schedule = Schedule { steps, edges: vec![(1, 3, crate::graph::EdgeKind::Reference)] };
    let refusal = HttpError::Api {
        method: "PUT".into(),
        path: "/services/5b3f0c2e-0000-4000-8000-000000000002".into(),
        status: 400,
        body: json!({"code": 2, "message": "schema violation (host: missing host)"}),
    };
    let report = ApplyReport {
        steps: vec![
            StepOutcome::Applied,
            StepOutcome::Failed(Failure::Gateway(refusal)),
            StepOutcome::Applied,
            StepOutcome::UpstreamFailed { cause: 1 },
        ],
        elapsed: Duration::from_millis(840),
        cancelled: false,
    };
    let applied = Applied {
        summary: Summary { add: 1, change: 0, destroy: 1 },
        counts: ChangeCounts { applied: 2, failed: 1, not_attempted: 1 },
        barrier: None,
        elapsed: Duration::from_millis(840),
        report,
    };
    (plan, schedule, applied)
}

#[test]
fn apply_report_text() {
    let (plan, schedule, applied) = partly_failed();
    let (stdout, stderr) = apply::report(&plan, &schedule, &applied);
    insta::assert_snapshot!(format!("--- stdout\n{stdout}--- stderr\n{stderr}"));
}

#[test]
fn apply_report_json() {
    let (plan, schedule, applied) = partly_failed();
    insta::assert_snapshot!(serde_json::to_string_pretty(&apply::report_json(&plan, &schedule, &applied)).unwrap());
}

fn git_source() -> Source {
    Source {
        inputs: vec![Input::new("kong.yaml", "_format_version: \"3.0\"\n")],
        provenance: Provenance::Git(SourceInfo {
            repository: "git@example.com:acme/gateway.git".into(),
            reference: "v2026.11.01".into(),
            commit: "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b".into(),
            author: "Jane Doe <jane@example.com>".into(),
            date: "2026-11-01T12:00:00+01:00".into(),
            subject: "Billing is back".into(),
            path: "kong".into(),
        }),
    }
}

#[test]
fn replay_reports() {
    let (_, _, applied) = partly_failed();
    let source = git_source();
    let restored = BTreeMap::from([(KongKind::Service.kind(), 2), (KongKind::Route.kind(), 1)]);
    let desired = BTreeMap::from([(KongKind::Service.kind(), 3), (KongKind::Route.kind(), 1)]);
    let left = Plan { changes: vec![change(Action::Create, KongKind::Service, "\"billing\"", "b")], ..Plan::default() };
    let verification = Verification::Fails(left);
    let view = replay::ReplayView {
        source: &source,
        address: "https://kong-admin.prod.example:8444",
        environment: Some("prod"),
        version: "3.9.3",
        restored: &restored,
        desired: &desired,
        nodes: &[],
        applied: &applied,
        verification: &verification,
        verify_time: Duration::from_millis(120),
        run: Some(42),
    };
    insta::assert_snapshot!("replay_text", replay::text(&view));
    insta::assert_snapshot!("replay_json", serde_json::to_string_pretty(&replay::json(&view)).unwrap());
}

fn run(id: i64, result: RunResult, finished: Option<&str>) -> RunRecord {
    RunRecord {
        id,
        command: "apply".into(),
        target: "prod".into(),
        environment: "prod".into(),
        gateway: "https://kong-admin.prod.example:8444".into(),
        source: RunSource {
            repository: Some(".".into()),
            reference: Some("v1".into()),
            commit: Some("1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b".into()),
            subject: Some("Billing is back".into()),
            path: Some("kong".into()),
            files: Vec::new(),
        },
        plan: Some(PlanCounts { add: 2, change: 1, destroy: 0 }),
        plan_digest: None,
        outcomes: Some(OutcomeCounts { applied: 3, failed: 0, not_attempted: 0 }),
        started_at: "2026-11-01T11:58:00.000Z".into(),
        finished_at: finished.map(str::to_owned),
        result,
        message: None,
        user: "jane".into(),
        host: "build-7".into(),
        pid: 4242,
        ci_job: None,
    }
}

#[test]
fn history_views() {
    let runs = vec![
        run(41, RunResult::Success, Some("2026-11-01T11:58:03.120Z")),
        run(42, RunResult::Failed, Some("2026-11-01T12:10:00.000Z")),
    ];
    insta::assert_snapshot!("history_table", history::table(&runs));
    let live = LiveAt { run: Some(runs[0].clone()), in_progress: Vec::new(), failed_since: vec![runs[1].clone()] };
    let at = "2026-11-01T12:30:00.000Z";
    insta::assert_snapshot!("history_at_text", history::live_at_text("prod", at, &live).unwrap());
    let json = serde_json::to_string_pretty(&history::live_at_json("prod", at, &live)).unwrap();
    insta::assert_snapshot!("history_at_json", json);
    assert!(history::live_at_text("prod", at, &LiveAt::default()).is_none());
}
