//! [`Reconciler::run`] end to end against the in-process Kong sandbox, without the binary:
//! plan, apply, replay with its verification, saved-plan refusal, containment of a refused
//! entity and `fail_fast`, and the ledger record.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;

use crate::apply::{ChangeOutcome, Event};
use crate::engine::{
    ApplyOptions, Mode, Observer, Planned, Reconciler, Recording, SANDBOX, Target, Verification, count_by_kind,
};
use crate::gateway::{GatewayTarget, registry};
use crate::kong::KongKind;
use crate::kong::sandbox::{FaultRule, Sandbox, SandboxOptions};
use crate::ledger::{AnyLedger, Holder, Ledger, LedgerLocation, PgOptions, RunFilter, RunResult};
use crate::plan::PlanOptions;
use crate::plan::file::PlanFile;
use crate::secrets::Redactor;
use crate::source::{Input, Provenance, Source};

fn source(text: &str) -> Source {
    Source { inputs: vec![Input::new("kong.yaml", text)], provenance: Provenance::Files(vec!["kong.yaml".into()]) }
}

fn target(url: &str) -> Target {
    Target {
        connector: registry::connector("kong").unwrap(),
        gateway: GatewayTarget { url: url.to_owned(), timeout: Duration::from_secs(10), ..GatewayTarget::default() },
        environment: None,
        select_tags: Vec::new(),
        select_tags_from: "--select-tag".into(),
        nodes: crate::engine::Nodes::default(),
    }
}

fn reconciler(url: &str, fail_fast: bool) -> Reconciler {
    let settings = ApplyOptions { parallelism: 4, fail_fast, ..ApplyOptions::default() };
    Reconciler { target: target(url), settings, env: BTreeMap::new(), plan: PlanOptions::default() }
}

async fn sandbox() -> Sandbox {
    crate::kong::sandbox::start(SandboxOptions::default()).await.unwrap()
}

fn refuse(sandbox: &Sandbox, method: &str, path: &str) {
    sandbox.inject_fault(FaultRule {
        method: Some(method.into()),
        path: path.into(),
        status: Some(400),
        body: Some(json!({"message": "refused by the test"})),
        headers: BTreeMap::new(),
        times: None,
        delay_ms: 0,
    });
}

#[derive(Default)]
struct Seen {
    planned: usize,
    events: usize,
    skipped: usize,
    verifying: bool,
    confirm: bool,
}

impl Observer for Seen {
    fn planned(&mut self, p: &Planned) {
        self.planned = p.plan.changes.len();
    }
    fn confirm(&mut self, _: &Planned) -> bool {
        self.confirm
    }
    fn event(&mut self, _: &Planned, e: Event<'_>) {
        self.events += 1;
        if let Event::Skipped { .. } = e {
            self.skipped += 1;
        }
    }
    fn verifying(&mut self) {
        self.verifying = true;
    }
}

const CONFIG: &str = "_format_version: \"3.0\"\nservices:\n  - name: a\n    host: a.internal\n    routes:\n      - name: ra\n        paths: [/a]\nconsumers:\n  - username: u\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_applies_then_verifies() {
    let sb = sandbox().await;
    let r = reconciler(&sb.url(), false);
    let redactor = Redactor::new();
    let mut seen = Seen::default();
    let out = r.run(source(CONFIG), Mode::Replay, None, &redactor, &mut seen).await.unwrap();
    assert!(out.success(), "{:?}", out.message);
    let applied = out.applied.as_ref().unwrap();
    assert_eq!((applied.summary.add, applied.summary.change, applied.summary.destroy), (3, 0, 0));
    let restored = count_by_kind(&out.planned.desired);
    let want: BTreeMap<_, _> =
        [(KongKind::Service.kind(), 1), (KongKind::Route.kind(), 1), (KongKind::Consumer.kind(), 1)].into();
    assert_eq!(restored, want);
    assert_eq!((seen.planned, seen.verifying), (3, true));
    assert!(seen.events >= 6, "started and applied per step: {}", seen.events);
    assert!(matches!(out.verification, Some((Verification::Holds, _))));
    out.planned.close().await;

    // A refused write: the apply fails and the verification shows what is left.
    refuse(&sb, "PUT", "/consumers/*");
    let changed = source(&CONFIG.replace("username: u", "username: v"));
    let out = r.run(changed, Mode::Replay, None, &redactor, &mut Seen::default()).await.unwrap();
    assert!(!out.success());
    assert_eq!(out.result, RunResult::Failed);
    let Some((Verification::Fails(left), _)) = &out.verification else { panic!("{:?}", out.message) };
    assert!(left.changes.iter().any(|c| c.kind == KongKind::Consumer), "{left:?}");
    out.planned.close().await;
    sb.shutdown().await;
}

const THREE: &str = r#"_format_version: "3.0"
services:
  - name: one
    host: one.internal
    routes: [{name: one-route, paths: [/one]}]
  - name: two
    host: two.internal
    routes: [{name: two-route, paths: [/two]}]
  - name: three
    host: three.internal
    routes: [{name: three-route, paths: [/three]}]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_service_stops_only_its_own_routes() {
    let sb = sandbox().await;
    let probe = reconciler(&sb.url(), false).plan(source(THREE), &Redactor::new(), &mut Seen::default()).await;
    let probe = probe.unwrap();
    let two = probe.plan.changes.iter().find(|c| c.key == "\"two\"").unwrap().id.clone();
    probe.close().await;
    refuse(&sb, "PUT", &format!("/services/{two}"));

    let mut seen = Seen { confirm: true, ..Seen::default() };
    let r = reconciler(&sb.url(), false);
    let out = r
        .run(source(THREE), Mode::Apply { prompt: true, verify: false }, None, &Redactor::new(), &mut seen)
        .await
        .unwrap();
    let applied = out.applied.as_ref().unwrap();
    let outcomes = applied.report.changes(&out.planned.plan, &out.planned.schedule);
    let by_key = |key: &str| {
        let i = out.planned.plan.changes.iter().position(|c| c.key == key).unwrap();
        &outcomes[i]
    };
    assert!(matches!(by_key("\"two\""), ChangeOutcome::Failed(f) if f.status() == Some(400)));
    let two_index = out.planned.plan.changes.iter().position(|c| c.key == "\"two\"").unwrap();
    assert_eq!(*by_key("\"two-route\""), ChangeOutcome::UpstreamFailed { cause: two_index });
    for key in ["\"one\"", "\"three\"", "\"one-route\"", "\"three-route\""] {
        assert_eq!(*by_key(key), ChangeOutcome::Applied, "{key}");
    }
    assert_eq!(seen.skipped, 1);
    assert_eq!(out.result, RunResult::Failed);
    out.planned.close().await;
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_fast_starts_nothing_after_the_first_failure() {
    let sb = sandbox().await;
    refuse(&sb, "PUT", "/services/*");
    let mut r = reconciler(&sb.url(), true);
    r.settings.parallelism = 1;
    let (redactor, mut seen) = (Redactor::new(), Seen::default());
    let out =
        r.run(source(THREE), Mode::Apply { prompt: false, verify: false }, None, &redactor, &mut seen).await.unwrap();
    let counts = out.applied.as_ref().unwrap().counts;
    assert_eq!((counts.applied, counts.failed, counts.not_attempted), (0, 1, 5));
    assert_eq!(sb.request_counts().get("PUT").copied().unwrap_or(0), 1, "one write, then nothing");
    out.planned.close().await;
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_writes_nothing_and_a_declined_one_is_cancelled() {
    let sb = sandbox().await;
    let r = reconciler(&sb.url(), false);
    let out = r.run(source(CONFIG), Mode::Plan, None, &Redactor::new(), &mut Seen::default()).await.unwrap();
    assert_eq!(out.planned.plan.changes.len(), 3);
    assert!(out.applied.is_none());
    out.planned.close().await;
    let mut declined = Seen::default();
    let out = r
        .run(source(CONFIG), Mode::Apply { prompt: true, verify: false }, None, &Redactor::new(), &mut declined)
        .await
        .unwrap();
    assert_eq!(out.result, RunResult::Cancelled);
    out.planned.close().await;
    let writes: u64 = sb.request_counts().iter().filter(|(m, _)| *m != "GET").map(|(_, n)| n).sum();
    assert_eq!(writes, 0);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_plan_is_refused_when_the_gateway_moved_and_runs_are_recorded() {
    let sb = sandbox().await;
    let r = reconciler(&sb.url(), false);
    let redactor = Redactor::new();
    let planned = r.plan(source(CONFIG), &redactor, &mut Seen::default()).await.unwrap();
    let saved = PlanFile::new(
        &planned.plan,
        planned.source.to_json(),
        planned.gateway_record(),
        planned.fingerprint(),
        "2026-12-01T00:00:00Z".into(),
    );
    planned.close().await;
    // Someone writes to the gateway in the meantime.
    sb_write(&sb, "/consumers", json!({"username": "intruder"})).await;
    let dir = tempfile::tempdir().unwrap();
    let location = LedgerLocation::Sqlite(dir.path().join("ledger.db"));
    let pg = PgOptions::default();
    let open = || AnyLedger::open(&location, &pg);
    let recording = |ledger| Recording {
        ledger,
        holder: Holder::current("tester", "gateform apply plan.json"),
        command: "apply".into(),
        lock_timeout: Duration::ZERO,
        drain: Duration::from_secs(1),
    };
    let mode = Mode::ApplySaved { name: "plan.json".into(), file: Box::new(saved), verify: false };
    let err = r
        .run(source(CONFIG), mode, Some(recording(open().await.unwrap())), &redactor, &mut Seen::default())
        .await
        .err()
        .unwrap();
    assert!(err.to_string().starts_with("Saved plan is stale"), "{err}");
    assert!(err.to_string().contains("consumers \"intruder\" added"), "{err}");

    let mut seen = Seen::default();
    let out = r
        .run(
            source(CONFIG),
            Mode::Apply { prompt: false, verify: false },
            Some(recording(open().await.unwrap())),
            &redactor,
            &mut seen,
        )
        .await;
    let out = out.unwrap();
    assert!(out.success());
    out.planned.close().await;
    let runs = open().await.unwrap().runs(RunFilter::default()).await.unwrap();
    let results: Vec<RunResult> = runs.iter().map(|r| r.result).collect();
    assert_eq!(results, [RunResult::Failed, RunResult::Success]);
    assert!(runs[0].message.as_deref().unwrap_or_default().contains("Saved plan is stale"));
    sb.shutdown().await;
}

async fn sb_write(sb: &Sandbox, path: &str, body: serde_json::Value) {
    let client = crate::gateway::Client::new(crate::gateway::ClientConfig::new(sb.url())).unwrap();
    client.send(reqwest::Method::POST, path, Some(&body)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rehearsal_starts_its_own_sandbox() {
    let r = reconciler(SANDBOX, false);
    let out = r.run(source(CONFIG), Mode::Replay, None, &Redactor::new(), &mut Seen::default()).await.unwrap();
    assert!(out.success(), "{:?}", out.message);
    assert_eq!(out.planned.target.key(), "sandbox");
    out.planned.close().await;
}

/// The live state is read while the files load, in the run's own scope; files that name
/// another scope (`_info.select_tags`) are planned against a read of that scope.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_read_started_before_the_files_load_is_kept_only_for_the_same_scope() {
    let sb = sandbox().await;
    sb_write(&sb, "/services", json!({"name": "theirs", "host": "t.internal"})).await;
    sb_write(&sb, "/services", json!({"name": "ours", "host": "o.internal", "tags": ["team-a"]})).await;
    let r = reconciler(&sb.url(), false);
    let scoped =
        "_format_version: \"3.0\"\n_info:\n  select_tags: [team-a]\nservices:\n  - name: ours\n    host: o.internal\n";
    let planned = r.plan(source(scoped), &Redactor::new(), &mut Seen::default()).await.unwrap();
    assert!(planned.plan.is_empty(), "{:#?}", planned.plan.changes);
    assert_eq!(planned.live.state.entities.len(), 1, "only the files' scope was read");
    planned.close().await;
    let unscoped = "_format_version: \"3.0\"\nservices:\n  - name: ours\n    host: o.internal\n    tags: [team-a]\n";
    let planned = r.plan(source(unscoped), &Redactor::new(), &mut Seen::default()).await.unwrap();
    let destroyed: Vec<&str> = planned.plan.changes.iter().map(|c| c.key.as_str()).collect();
    assert_eq!(destroyed, ["\"theirs\""], "no scope: every service is in it");
    planned.close().await;
    sb.shutdown().await;
}
