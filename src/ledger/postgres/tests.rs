//! PostgreSQL-only behaviour: concurrent migrations, sessions ended under a holder, drains.
//! Skipped (with a message) without `GATEFORM_TEST_POSTGRES_URL`; failing with `CI=true`.

use std::time::{Duration, Instant};

use super::*;
use crate::ledger::suite::{Fixture, holder, quick};
use crate::ledger::{LockEvent, LossReason, Staleness, leader};

async fn fixture(test: &str) -> Option<(Fixture, String)> {
    let f = Fixture::postgres(test).await?;
    let url = f.scratch.as_ref().map(|d| d.url.clone()).unwrap_or_default();
    Some((f, url))
}

/// Terminates every other session holding an advisory lock in the database.
async fn cut_lock_sessions(f: &Fixture) -> u64 {
    let (admin, _task) = f.scratch.as_ref().unwrap().session().await.unwrap();
    let rows = admin
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted \
             AND pid <> pg_backend_pid() \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            &[],
        )
        .await
        .unwrap();
    rows.len() as u64
}

#[tokio::test]
async fn an_unreachable_database_is_a_clear_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener); // nothing listens there now
    let url = format!("postgres://gateform:hunter2@127.0.0.1:{port}/ledger");
    let started = Instant::now();
    let err = PgLedger::open(&url, &PgOptions::default()).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    let shown = err.to_string();
    assert!(shown.starts_with(&format!("ledger postgres://gateform@127.0.0.1:{port}/ledger: ")), "{shown}");
    assert!(!shown.contains("hunter2"), "{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runners_starting_together_migrate_once() {
    let Some((f, url)) = fixture("runners_starting_together_migrate_once").await else { return };
    let opens: Vec<_> = (0..8)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { PgLedger::open(&url, &PgOptions::default()).await.map(|_| ()) })
        })
        .collect();
    for o in opens {
        o.await.unwrap().unwrap();
    }
    let (admin, _task) = f.scratch.as_ref().unwrap().session().await.unwrap();
    let versions: Vec<i64> =
        admin.query("SELECT version FROM gateform_migrations", &[]).await.unwrap().iter().map(|r| r.get(0)).collect();
    assert_eq!(versions, (1..=schema::SCHEMA_VERSION).collect::<Vec<_>>());
    admin.execute("INSERT INTO gateform_migrations VALUES (99, 'future', 0, 'x')", &[]).await.unwrap();
    let err = PgLedger::open(&url, &PgOptions::default()).await.unwrap_err();
    assert!(matches!(err, LedgerError::NewerSchema { found: 99, .. }), "{err}");
    f.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_session_loses_the_lock_and_the_next_holder_waits_for_its_writes() {
    let Some((f, _)) = fixture("a_cut_session_loses_the_lock").await else { return };
    let (a, b) = (f.open().await, f.open().await);
    let guard = a.acquire("prod", &holder("victim"), quick(), &mut |_| {}).await.unwrap();
    let mut lost = guard.lost();
    assert_eq!(cut_lock_sessions(&f).await, 1);
    let reason = tokio::time::timeout(Duration::from_secs(5), lost.wait()).await.expect("noticed within seconds");
    assert!(matches!(reason, LossReason::ConnectionLost(_)), "{reason:?}");
    // The lock is free in the database, but the victim may still have writes in flight: the
    // next holder waits until it says it stopped.
    let opts = LockOptions { timeout: Duration::from_secs(20), ..quick() };
    let next = tokio::spawn(async move {
        let mut events = Vec::new();
        let g = b
            .acquire("prod", &holder("next"), opts, &mut |e| {
                events.push(match e {
                    LockEvent::TookOver(h, why) => format!("took over from {} ({why:?})", h.command),
                    LockEvent::Draining(_, d) => format!("draining up to {}s", d.as_secs()),
                    LockEvent::Waiting(h) => format!("waiting for {}", h.command),
                })
            })
            .await
            .unwrap();
        (g, events, Instant::now())
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!next.is_finished(), "no second writer while the first may still write");
    let released = Instant::now();
    guard.release().await;
    let (g, events, took) = tokio::time::timeout(Duration::from_secs(10), next).await.unwrap().unwrap();
    assert!(took >= released && took.duration_since(released) < Duration::from_secs(3));
    assert_eq!(events, vec!["took over from victim (SessionEnded)".to_owned(), "draining up to 30s".to_owned()]);
    g.release().await;
    f.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_holder_is_waited_for_its_declared_drain_only() {
    let Some((f, _)) = fixture("a_silent_holder_is_waited_for_its_declared_drain_only").await else { return };
    let (a, b) = (f.open().await, f.open().await);
    let short = LockOptions { drain: Duration::from_millis(700), ..quick() };
    let guard = a.acquire("prod", &holder("silent"), short, &mut |_| {}).await.unwrap();
    cut_lock_sessions(&f).await;
    tokio::time::timeout(Duration::from_secs(5), guard.lost().wait()).await.unwrap();
    let started = Instant::now();
    let opts = LockOptions { timeout: Duration::from_secs(20), ..quick() };
    let mut why = None;
    let g = b
        .acquire("prod", &holder("next"), opts, &mut |e| {
            if let LockEvent::TookOver(_, w) = e {
                why = Some(w);
            }
        })
        .await
        .unwrap();
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(650) && waited < Duration::from_secs(5), "{waited:?}");
    assert_eq!(why, Some(Staleness::SessionEnded));
    assert_eq!(b.holder("prod").await.unwrap().unwrap().command, "next");
    g.release().await;
    std::mem::forget(guard); // never told anyone it stopped
    f.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_whose_session_ends_is_replaced_within_seconds() {
    let Some((f, _)) = fixture("a_leader_whose_session_ends_is_replaced").await else { return };
    let (a, b) = (f.open().await, f.open().await);
    let poll = Duration::from_millis(50);
    let first = leader::campaign(&a, "prod", &holder("replica-a"), poll, quick()).await.unwrap();
    let second = tokio::spawn(async move {
        let l = leader::campaign(&b, "prod", &holder("replica-b"), poll, quick()).await.unwrap();
        (l, Instant::now())
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let cut = Instant::now();
    cut_lock_sessions(&f).await;
    let (l, took) = tokio::time::timeout(Duration::from_secs(10), second).await.unwrap().unwrap();
    assert!(took.duration_since(cut) < Duration::from_secs(3), "{:?}", took.duration_since(cut));
    tokio::time::timeout(Duration::from_secs(5), first.lost().wait()).await.expect("the old leader knows");
    assert_eq!(leader::leader(&a, "prod").await.unwrap().unwrap().command, "replica-b");
    l.resign().await;
    first.resign().await;
    f.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tables_live_in_the_sessions_schema() {
    let Some((f, url)) = fixture("tables_live_in_the_sessions_schema").await else { return };
    let (admin, _task) = f.scratch.as_ref().unwrap().session().await.unwrap();
    admin.batch_execute("CREATE SCHEMA team_a; CREATE SCHEMA team_b").await.unwrap();
    let in_schema = |s: &str| format!("{url}?options=-csearch_path%3D{s}");
    let a = PgLedger::open(&in_schema("team_a"), &PgOptions::default()).await.unwrap();
    let b = PgLedger::open(&in_schema("team_b"), &PgOptions::default()).await.unwrap();
    assert_ne!(a.lock_id("prod"), b.lock_id("prod"), "one lock per schema");
    let ga = a.acquire("prod", &holder("a"), quick(), &mut |_| {}).await.unwrap();
    let gb = b.acquire("prod", &holder("b"), quick(), &mut |_| {}).await.unwrap();
    let tables: i64 =
        admin.query_one("SELECT count(*) FROM pg_tables WHERE tablename = 'gateform_runs'", &[]).await.unwrap().get(0);
    assert_eq!(tables, 2);
    ga.release().await;
    gb.release().await;
    f.cleanup().await;
}
