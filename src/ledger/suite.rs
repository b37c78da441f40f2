//! The shared ledger suite: every behaviour of the [`Ledger`] trait, run on both backends
//! (SQLite in a temporary directory; PostgreSQL in a throwaway database of the server
//! named by `GATEFORM_TEST_POSTGRES_URL`, skipped with a message without it, failing when
//! `CI=true`).

use std::time::{Duration, Instant};

use super::postgres::scratch::{ScratchDatabase, test_server};
use super::*;

/// A ledger to test: opened as often as a test wants (each open is another "process").
pub struct Fixture {
    pub location: LedgerLocation,
    _dir: Option<tempfile::TempDir>,
    pub scratch: Option<ScratchDatabase>,
}

impl Fixture {
    pub fn sqlite() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let location = LedgerLocation::Sqlite(dir.path().join("ledger.db"));
        Fixture { location, _dir: Some(dir), scratch: None }
    }

    /// `None` (skipped) without a test server.
    pub async fn postgres(test: &str) -> Option<Fixture> {
        let server = test_server(test)?;
        let db = ScratchDatabase::create(&server).await.unwrap();
        Some(Fixture { location: LedgerLocation::Postgres(db.url.clone()), _dir: None, scratch: Some(db) })
    }

    pub async fn open(&self) -> AnyLedger {
        AnyLedger::open(&self.location, &PgOptions::default()).await.unwrap()
    }

    pub async fn cleanup(self) {
        if let Some(db) = self.scratch {
            db.drop_database().await.unwrap();
        }
    }
}

/// Runs each suite function on both backends, as `sqlite_NAME` and `postgres_NAME`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite_backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(&super::Fixture::sqlite()).await;
                }
            )*
        }
        mod postgres_backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(f) = super::Fixture::postgres(concat!("postgres_backend::", stringify!($name))).await
                    else {
                        return;
                    };
                    super::$name(&f).await;
                    f.cleanup().await;
                }
            )*
        }
    };
}

on_both_backends!(
    a_run_is_recorded_from_start_to_end,
    file_sources_filters_and_limits,
    live_at_names_the_last_successful_write_finished_by_then,
    a_held_lock_fails_at_once_naming_its_holder,
    a_waiting_acquire_gets_the_lock_when_released,
    a_broken_lock_tells_its_holder,
    leaders_take_turns,
    history_written_by_one_handle_is_read_by_another,
);

pub fn holder(command: &str) -> Holder {
    let mut h = Holder::current("alice", command);
    h.ci_job = Some("https://ci.example/job/7".into());
    h
}

pub fn git_source(commit: &str) -> RunSource {
    RunSource {
        repository: Some("/srv/repo".into()),
        reference: Some("v1".into()),
        commit: Some(commit.into()),
        subject: Some("Add things".into()),
        path: Some("kong".into()),
        files: Vec::new(),
    }
}

pub fn new_run(command: &str, commit: &str) -> NewRun {
    NewRun {
        command: command.into(),
        target: "prod".into(),
        environment: Some("prod".into()),
        gateway: "http://gw:8001".into(),
        source: git_source(commit),
        holder: holder(&format!("gateform {command} --env prod")),
    }
}

fn end(result: RunResult, outcomes: Option<OutcomeCounts>, message: Option<&str>) -> RunEnd {
    RunEnd { outcomes, result, message: message.map(str::to_owned), finished_ms: now_ms() }
}

/// Short timings so that waits and heartbeats show within a test.
pub fn quick() -> LockOptions {
    LockOptions {
        lease: Duration::from_millis(300),
        poll: Duration::from_millis(20),
        heartbeat: Duration::from_millis(200),
        heartbeat_timeout: Duration::from_millis(1000),
        drain: Duration::from_secs(30),
        ..LockOptions::default()
    }
}

async fn a_run_is_recorded_from_start_to_end(f: &Fixture) {
    let ledger = f.open().await;
    let id = ledger.begin_run(new_run("apply", "c1")).await.unwrap();
    let running = ledger.run(id).await.unwrap().unwrap();
    assert_eq!(running.result, RunResult::Running);
    assert_eq!(running.finished_at, None);
    assert_eq!(running.plan, None);
    assert_eq!(running.ci_job.as_deref(), Some("https://ci.example/job/7"));
    ledger.record_plan(id, PlanCounts { add: 2, change: 1, destroy: 0 }, "0a1b2c".into()).await.unwrap();
    let outcomes = OutcomeCounts { applied: 2, failed: 1, not_attempted: 0 };
    ledger.finish_run(id, end(RunResult::Failed, Some(outcomes), Some("boom"))).await.unwrap();
    let done = ledger.run(id).await.unwrap().unwrap();
    assert_eq!(done.result, RunResult::Failed);
    assert_eq!(done.plan, Some(PlanCounts { add: 2, change: 1, destroy: 0 }));
    assert_eq!(done.outcomes, Some(outcomes));
    assert_eq!(done.message.as_deref(), Some("boom"));
    assert_eq!(done.source, git_source("c1"));
    assert_eq!((done.environment.as_str(), done.command.as_str(), done.user.as_str()), ("prod", "apply", "alice"));
    assert_eq!(done.pid, std::process::id());
    assert_eq!(done.plan_digest.as_deref(), Some("0a1b2c"));
    assert!(done.finished_at.clone().unwrap() >= done.started_at);
    assert_eq!(done.started_at.len(), "2026-11-01T12:00:00.000Z".len(), "{}", done.started_at);
    let json = serde_json::to_value(&done).unwrap();
    assert_eq!(json["result"], "failed");
    assert_eq!(json["source"]["ref"], "v1");
    assert_eq!(ledger.run(id + 1000).await.unwrap(), None);
}

async fn file_sources_filters_and_limits(f: &Fixture) {
    let ledger = f.open().await;
    let files = RunSource { files: vec!["kong.yaml".into()], ..RunSource::default() };
    let bare = NewRun {
        target: "http://gw:80".into(),
        environment: None,
        gateway: "http://gw".into(),
        source: files,
        ..new_run("apply", "-")
    };
    ledger.begin_run(bare).await.unwrap();
    ledger.begin_run(new_run("apply", "c1")).await.unwrap();
    ledger.begin_run(new_run("replay", "c2")).await.unwrap();
    let all = ledger.runs(RunFilter::default()).await.unwrap();
    assert_eq!(all.len(), 3);
    assert!(all.windows(2).all(|w| w[0].id < w[1].id), "oldest first");
    assert_eq!(all[0].source.files, vec!["kong.yaml"]);
    assert_eq!(all[0].environment, "-");
    let prod = ledger.runs(RunFilter { environment: Some("prod".into()), ..RunFilter::default() }).await.unwrap();
    assert_eq!(prod.len(), 2);
    let last = ledger.runs(RunFilter { limit: Some(1), ..RunFilter::default() }).await.unwrap();
    assert_eq!(last[0].source.commit.as_deref(), Some("c2"), "the limit keeps the latest");
    let by_target =
        ledger.runs(RunFilter { target: Some("http://gw:80".into()), ..RunFilter::default() }).await.unwrap();
    assert_eq!(by_target.len(), 1);
}

/// Begins a run of `commit`, waits a little, ends it with `result`; returns its record.
async fn finished(ledger: &AnyLedger, command: &str, commit: &str, result: RunResult) -> RunRecord {
    let id = ledger.begin_run(new_run(command, commit)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(15)).await;
    ledger.finish_run(id, end(result, None, None)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(15)).await;
    ledger.run(id).await.unwrap().unwrap()
}

async fn live_at_names_the_last_successful_write_finished_by_then(f: &Fixture) {
    let ledger = f.open().await;
    let ms = |t: &str| parse_time(t).unwrap();
    let before = now_ms() - 1;
    let c1 = finished(&ledger, "apply", "c1", RunResult::Success).await;
    let c2 = finished(&ledger, "replay", "c2", RunResult::Success).await;
    let c3 = finished(&ledger, "apply", "c3", RunResult::Failed).await;
    let p = finished(&ledger, "plan", "p1", RunResult::Success).await;
    let c4_id = ledger.begin_run(new_run("apply", "c4")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(15)).await;
    let at = |t: i64| ledger.live_at("prod", t);
    let commit = |l: &LiveAt| l.run.as_ref().and_then(|r| r.source.commit.clone());

    assert_eq!(commit(&at(before).await.unwrap()), None);
    let c1_end = ms(c1.finished_at.as_deref().unwrap());
    assert_eq!(commit(&at(c1_end).await.unwrap()), Some("c1".into()), "finished exactly then");
    let during_c2 = at(ms(&c2.started_at) + 1).await.unwrap();
    assert_eq!(commit(&during_c2), Some("c1".into()), "c2 was still being applied");
    assert_eq!(during_c2.in_progress.iter().map(|r| r.id).collect::<Vec<_>>(), vec![c2.id]);
    let after_failure = at(ms(p.finished_at.as_deref().unwrap())).await.unwrap();
    assert_eq!(commit(&after_failure), Some("c2".into()), "failed runs and plans never count");
    assert_eq!(after_failure.failed_since.iter().map(|r| r.id).collect::<Vec<_>>(), vec![c3.id]);
    let now = at(now_ms()).await.unwrap();
    assert_eq!(now.in_progress.iter().map(|r| r.id).collect::<Vec<_>>(), vec![c4_id], "plans are never under way");
    assert!(ledger.live_at("staging", now_ms()).await.unwrap().run.is_none());
}

async fn a_held_lock_fails_at_once_naming_its_holder(f: &Fixture) {
    let (a, b) = (f.open().await, f.open().await);
    let guard = a.acquire("prod", &holder("gateform apply --env prod"), quick(), &mut |_| {}).await.unwrap();
    assert_eq!(guard.key(), "prod");
    assert_eq!(guard.loss(), None);
    let started = Instant::now();
    let err = b.acquire("prod", &holder("gateform apply --env prod"), quick(), &mut |_| {}).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    let LedgerError::Locked { key, holder: Some(info), .. } = &err else { panic!("{err}") };
    assert_eq!(key, "prod");
    assert_eq!(info.pid, std::process::id());
    let shown = err.to_string();
    let want = format!("prod is locked by alice@{} pid {} (gateform apply --env prod) since 20", info.host, info.pid);
    assert!(shown.starts_with(&want), "{shown}");
    assert!(shown.ends_with(", CI job https://ci.example/job/7"), "{shown}");
    assert_eq!(b.holder("prod").await.unwrap().map(|h| h.command), Some("gateform apply --env prod".into()));
    // Another target is independent.
    let other = b.acquire("staging", &holder("x"), quick(), &mut |_| {}).await.unwrap();
    assert_eq!(b.locks().await.unwrap().iter().map(|l| l.key.as_str()).collect::<Vec<_>>(), ["prod", "staging"]);
    guard.release().await;
    other.release().await;
    assert!(b.locks().await.unwrap().is_empty());
    assert_eq!(b.holder("prod").await.unwrap(), None);
    let again = b.acquire("prod", &holder("y"), quick(), &mut |_| {}).await.unwrap();
    again.release().await;
}

async fn a_waiting_acquire_gets_the_lock_when_released(f: &Fixture) {
    let a = f.open().await;
    let guard = a.acquire("prod", &holder("first"), quick(), &mut |_| {}).await.unwrap();
    let b = f.open().await;
    let waiter = tokio::spawn(async move {
        let opts = LockOptions { timeout: Duration::from_secs(10), ..quick() };
        let mut waited = false;
        let started = Instant::now();
        let g = b.acquire("prod", &holder("second"), opts, &mut |e| waited |= matches!(e, LockEvent::Waiting(_))).await;
        let elapsed = started.elapsed();
        if let Ok(g) = g {
            g.release().await;
        }
        (waited, elapsed)
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    guard.release().await;
    let (waited, elapsed) = waiter.await.unwrap();
    assert!(waited);
    assert!(elapsed >= Duration::from_millis(250), "{elapsed:?}");
    // A timeout that runs out names the holder.
    let c = f.open().await;
    let held = c.acquire("qa", &holder("third"), quick(), &mut |_| {}).await.unwrap();
    let opts = LockOptions { timeout: Duration::from_millis(200), ..quick() };
    let started = Instant::now();
    let err = a.acquire("qa", &holder("fourth"), opts, &mut |_| {}).await.unwrap_err();
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert!(err.to_string().contains("(third)"), "{err}");
    held.release().await;
}

async fn a_broken_lock_tells_its_holder(f: &Fixture) {
    let (a, b) = (f.open().await, f.open().await);
    let guard = a.acquire("prod", &holder("victim"), quick(), &mut |_| {}).await.unwrap();
    let mut lost = guard.lost();
    let removed = b.force_unlock("prod").await.unwrap().unwrap();
    assert_eq!(removed.command, "victim");
    let reason = tokio::time::timeout(Duration::from_secs(10), lost.wait()).await.expect("the holder notices");
    assert!(guard.loss().is_some(), "{reason}");
    // Once the holder says it stopped (release), another process takes the lock.
    guard.release().await;
    let started = Instant::now();
    let opts = LockOptions { timeout: Duration::from_secs(10), ..quick() };
    let next = b.acquire("prod", &holder("next"), opts, &mut |_| {}).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert_eq!(b.holder("prod").await.unwrap().unwrap().command, "next");
    next.release().await;
}

async fn leaders_take_turns(f: &Fixture) {
    let (a, b) = (f.open().await, f.open().await);
    let poll = Duration::from_millis(20);
    assert_eq!(leader::leader(&a, "prod").await.unwrap(), None);
    let first = leader::campaign(&a, "prod", &holder("replica-a"), poll, quick()).await.unwrap();
    assert_eq!(first.environment(), "prod");
    let second = tokio::spawn(async move {
        let l = leader::campaign(&b, "prod", &holder("replica-b"), Duration::from_millis(20), quick()).await;
        (l, Instant::now(), b)
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!second.is_finished(), "one leader at a time");
    assert_eq!(leader::leader(&a, "prod").await.unwrap().unwrap().command, "replica-a");
    let resigned = Instant::now();
    first.resign().await;
    let (l, took, b) = tokio::time::timeout(Duration::from_secs(10), second).await.unwrap().unwrap();
    assert!(took.duration_since(resigned) < Duration::from_secs(3));
    assert_eq!(leader::leader(&a, "prod").await.unwrap().unwrap().command, "replica-b");
    assert_eq!(leader::leader(&b, "staging").await.unwrap(), None, "per environment");
    l.unwrap().resign().await;
}

async fn history_written_by_one_handle_is_read_by_another(f: &Fixture) {
    let writer = f.open().await;
    let id = writer.begin_run(new_run("apply", "c9")).await.unwrap();
    writer.finish_run(id, end(RunResult::Success, Some(OutcomeCounts::default()), None)).await.unwrap();
    drop(writer);
    let reader = f.open().await;
    let runs = reader.runs(RunFilter::default()).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!((runs[0].id, runs[0].result), (id, RunResult::Success));
    assert_eq!(reader.location(), f.open().await.location());
}
