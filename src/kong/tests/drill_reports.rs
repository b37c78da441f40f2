//! Golden files of the drill report (text and JSON), the nodes block and the drift of
//! several nodes.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::apply::ChangeCounts;
use crate::kong::KongKind;
use crate::ledger::{RunRecord, RunResult, RunSource};
use crate::plan::{Action, Plan, Summary, Verification};
use crate::render::drill::{DrillView, ExposureView, NodeChanges};
use crate::render::nodes::{DriftLine, NodeLine, block, drift_text};
use crate::source::git::SourceInfo;
use crate::source::{Input, Provenance, Source};

fn source() -> Source {
    Source {
        inputs: vec![Input::new("kong.yaml", "_format_version: \"3.0\"\n")],
        provenance: Provenance::Git(SourceInfo {
            repository: ".".into(),
            reference: "v2026.11.01".into(),
            commit: "1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b".into(),
            author: "Jane Doe <jane@example.com>".into(),
            date: "2026-11-01T12:00:00+01:00".into(),
            subject: "Billing is back".into(),
            path: "kong".into(),
        }),
    }
}

fn replay_run() -> RunRecord {
    RunRecord {
        id: 41,
        command: "apply".into(),
        target: "prod".into(),
        environment: "prod".into(),
        gateway: "http://kong-1:8001".into(),
        source: RunSource { commit: Some("9f8e7d6c5b4a39281706f5e4d3c2b1a098765432".into()), ..RunSource::default() },
        plan: None,
        plan_digest: None,
        outcomes: None,
        started_at: "2026-11-01T11:58:00.000Z".into(),
        finished_at: Some("2026-11-01T11:58:03.120Z".into()),
        result: RunResult::Success,
        message: None,
        user: "jane".into(),
        host: "build-7".into(),
        pid: 4242,
        ci_job: None,
    }
}

#[test]
fn drill_reports() {
    let source = source();
    let desired = BTreeMap::from([(KongKind::Consumer.kind(), 2), (KongKind::Service.kind(), 3)]);
    let restored = desired.clone();
    let since = replay_run();
    let changes: Vec<NodeChanges> = vec![
        (
            "http://kong-1:8001".into(),
            Ok(vec![
                (Action::Update, KongKind::Service.kind(), "\"orders\"".into()),
                (Action::Delete, KongKind::Consumer.kind(), "\"eve\"".into()),
                (Action::Create, KongKind::Service.kind(), "\"billing\"".into()),
            ]),
        ),
        ("http://kong-2:8001".into(), Err("cannot be read: connection refused".into())),
    ];
    let nodes = [NodeLine {
        address: "http://127.0.0.1:40001",
        status: "verified",
        reason: None,
        plan: Summary { add: 5, change: 0, destroy: 0 },
        served: Some("5d41402abc4b2a76b9719d911017c592"),
        seconds: 0.31,
    }];
    let verification = Verification::Holds;
    let mut view = DrillView {
        source: &source,
        rehearsal: "http://127.0.0.1:40001",
        sandbox: true,
        product: "Kong 3.9.3",
        restored: &restored,
        desired: &desired,
        counts: ChangeCounts { applied: 5, failed: 0, not_attempted: 0 },
        verification: Some((&verification, Duration::from_millis(120))),
        verified: true,
        message: None,
        rto: Duration::from_millis(1840),
        read: Duration::from_millis(50),
        restore: Duration::from_millis(1600),
        objective: Some(Duration::from_secs(900)),
        exposure: Some(ExposureView {
            label: "the environment \"prod\"",
            nodes: &changes,
            lost: 2,
            missing: 1,
            since: Some(&since),
            age: Some(Duration::from_secs(3 * 3600 + 12 * 60)),
        }),
        nodes: &nodes,
    };
    insta::assert_snapshot!("drill_text", crate::render::drill::text(&view));
    insta::assert_snapshot!("drill_json", serde_json::to_string_pretty(&crate::render::drill::json(&view)).unwrap());
    view.objective = Some(Duration::from_secs(1));
    view.exposure = None;
    view.nodes = &[];
    let missed = crate::render::drill::text(&view);
    assert!(missed.contains("  RTO:              1.84 s, objective 1.00 s: MISSED"), "{missed}");
    assert!(missed.contains("  Result:           FAIL: the recovery-time objective is missed"), "{missed}");
    assert!(!view.success());
}

#[test]
fn node_views() {
    let lines = [
        NodeLine {
            address: "http://kong-1:8001",
            status: "verified",
            reason: None,
            plan: Summary { add: 1, change: 0, destroy: 0 },
            served: None,
            seconds: 0.2,
        },
        NodeLine {
            address: "http://kong-2:8001",
            status: "failed",
            reason: Some("the gateway did not take the changes"),
            plan: Summary { add: 1, change: 0, destroy: 0 },
            served: None,
            seconds: 0.1,
        },
        NodeLine {
            address: "http://kong-3:8001",
            status: "untouched",
            reason: None,
            plan: Summary { add: 1, change: 0, destroy: 0 },
            served: None,
            seconds: 0.0,
        },
    ];
    let empty = Plan::default();
    let differs = vec![("services/5b3f0c2e".to_owned(), "changed")];
    let drift = [
        DriftLine {
            address: "http://kong-1:8001",
            plan: Ok(&empty),
            served: Some("aaaa1111bbbb"),
            differs: &[],
            compared: true,
        },
        DriftLine {
            address: "http://kong-2:8001",
            plan: Ok(&empty),
            served: Some("cccc2222dddd"),
            differs: &differs,
            compared: true,
        },
        DriftLine {
            address: "http://kong-3:8001",
            plan: Err("cannot be read: connection refused"),
            served: None,
            differs: &[],
            compared: false,
        },
    ];
    insta::assert_snapshot!("nodes_block_and_drift", format!("{}{}", block(&lines), drift_text(&drift)));
}
