//! SQLite-only behaviour: schema migrations of old files, dead-process detection, leases.
//! What both backends share is in `ledger::suite`.

use std::time::{Duration, Instant};

use super::*;
use crate::ledger::suite::{holder, new_run, quick};
use crate::ledger::{
    LockEvent, LockInfo, RunFilter, RunResult, Staleness, format_ms, now, parse_time, process, process_scope,
};

/// A pid that no longer exists: a child that has exited and been reaped.
fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

async fn open(path: &Path) -> SqliteLedger {
    SqliteLedger::open(path).await.unwrap()
}

#[tokio::test]
async fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.db");
    drop(open(&path).await);
    rusqlite::Connection::open(&path).unwrap().execute_batch("PRAGMA user_version = 99").unwrap();
    let err = SqliteLedger::open(&path).await.unwrap_err();
    assert!(matches!(err, LedgerError::NewerSchema { found: 99, .. }), "{err}");
}

#[tokio::test]
async fn a_version_1_ledger_is_migrated_keeping_its_runs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let old = rusqlite::Connection::open(&path).unwrap();
    old.execute_batch(SCHEMA_V1).unwrap();
    old.execute(
        "INSERT INTO runs (command, target, environment, gateway, commit_id, started_at, finished_at, result, pid, host, user) \
         VALUES ('apply', 'prod', 'prod', 'http://gw', 'c0', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:01.000Z', 'success', 1, 'h', 'u')",
        [],
    )
    .unwrap();
    drop(old);
    let ledger = open(&path).await;
    let version: i64 =
        rusqlite::Connection::open(&path).unwrap().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    let runs = ledger.runs(RunFilter::default()).await.unwrap();
    assert_eq!(runs[0].source.commit.as_deref(), Some("c0"));
    assert_eq!(runs[0].ci_job, None);
    ledger.begin_run(new_run("apply", "c1")).await.unwrap();
    drop(ledger);
    assert_eq!(open(&path).await.runs(RunFilter::default()).await.unwrap().len(), 2, "opening twice is harmless");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_opening_a_new_file_migrate_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    let opens: Vec<_> = (0..6).map(|_| tokio::spawn(SqliteLedger::open_owned(path.clone()))).collect();
    for o in opens {
        o.await.unwrap().unwrap();
    }
    let version: i64 =
        rusqlite::Connection::open(&path).unwrap().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version, SCHEMA_VERSION);
}

#[tokio::test]
async fn dead_runs_are_marked_interrupted_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.db");
    let ledger = open(&path).await;
    let mut dead = new_run("apply", "c1");
    dead.holder.pid = dead_pid();
    let gone = ledger.begin_run(dead.clone()).await.unwrap();
    let alive = ledger.begin_run(new_run("apply", "c2")).await.unwrap();
    let mut elsewhere = dead.clone();
    elsewhere.holder.host = "another-host".into();
    let remote = ledger.begin_run(elsewhere).await.unwrap();
    drop(ledger);
    let ledger = open(&path).await;
    let result = |id| {
        let l = &ledger;
        async move { l.run(id).await.unwrap().unwrap().result }
    };
    assert_eq!(result(gone).await, RunResult::Interrupted);
    assert_eq!(result(alive).await, RunResult::Running);
    assert_eq!(result(remote).await, RunResult::Running, "cannot tell for other hosts");
}

#[tokio::test]
async fn a_lock_of_a_dead_process_is_taken_over_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.db");
    let a = open(&path).await;
    let mut dead = holder("gateform apply --env prod");
    dead.pid = dead_pid();
    dead.pid_start = None;
    let run = a.begin_run(NewRun { holder: dead.clone(), ..new_run("apply", "c1") }).await.unwrap();
    // A long lease: only the dead process makes it stale.
    let long = LockOptions { lease: Duration::from_secs(3600), ..quick() };
    let stale = a.acquire("prod", &dead, long, &mut |_| {}).await.unwrap();
    std::mem::forget(stale); // as if the process had been killed: no release
    let b = open(&path).await;
    let mut took = None;
    let started = Instant::now();
    let guard = b
        .acquire("prod", &holder("new"), quick(), &mut |e| {
            if let LockEvent::TookOver(info, why) = e {
                took = Some((info.pid, why));
            }
        })
        .await
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(took, Some((dead.pid, Staleness::ProcessGone)));
    assert_eq!(b.run(run).await.unwrap().unwrap().result, RunResult::Interrupted);
    assert_eq!(b.locks().await.unwrap()[0].command, "new");
    guard.release().await;
}

fn info_of(h: &Holder, lease_until_ms: i64) -> LockInfo {
    LockInfo {
        key: "k".into(),
        pid: h.pid,
        pid_start: h.pid_start,
        scope: h.scope.clone(),
        host: h.host.clone(),
        user: h.user.clone(),
        command: h.command.clone(),
        ci_job: None,
        acquired_at: now(),
        lease_until_ms: Some(lease_until_ms),
        drain_ms: None,
    }
}

#[test]
fn a_reused_pid_does_not_keep_a_lock() {
    let mut h = holder("old");
    h.pid_start = h.pid_start.map(|s| s + 1);
    let info = info_of(&h, now_ms() + 60_000);
    if cfg!(target_os = "linux") {
        assert_eq!(staleness(&info, now_ms()), Some(Staleness::ProcessGone));
    }
    let mine = LockInfo { pid_start: holder("x").pid_start, ..info.clone() };
    assert_eq!(staleness(&mine, now_ms()), None, "a live holder is never stale");
    let expired_here = LockInfo { lease_until_ms: Some(0), ..mine };
    assert_eq!(staleness(&expired_here, now_ms()), None, "even with an old lease, when it is alive here");
}

#[test]
fn another_pid_namespace_is_judged_by_its_lease() {
    // Same host name, other container (or boot): its pids are not ours to look up.
    let mut h = holder("gateform apply");
    h.pid = dead_pid();
    h.pid_start = None;
    h.scope = Some("other-boot/pid:[1]".into());
    h.host = process::host_name();
    let info = info_of(&h, now_ms() + 60_000);
    if process_scope().is_some() {
        assert_eq!(staleness(&info, now_ms()), None, "a dead-looking pid elsewhere keeps its lease");
        let expired = LockInfo { lease_until_ms: Some(now_ms() - 1), ..info };
        assert_eq!(staleness(&expired, now_ms()), Some(Staleness::LeaseExpired));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leases_decide_for_other_hosts_and_are_renewed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.db");
    let a = open(&path).await;
    let mut remote = holder("remote");
    remote.host = "build-9".into();
    let guard = a.acquire("prod", &remote, quick(), &mut |_| {}).await.unwrap();
    // The heartbeat renews the lease: after several lease lengths it is still held.
    tokio::time::sleep(Duration::from_millis(900)).await;
    let b = open(&path).await;
    assert!(b.acquire("prod", &holder("local"), quick(), &mut |_| {}).await.is_err());
    // Once the holder stops renewing (as a killed process on another host would), the
    // lease runs out and the lock is taken over; the old holder learns it lost it.
    let mut lost = guard.lost();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut how = None;
    while Instant::now() < deadline {
        // Fake an old lease and another token, as a dead host would leave it.
        b.execute("UPDATE locks SET lease_until_ms = 0, token = 'gone'").await.unwrap();
        if let Ok(g) = b
            .acquire("prod", &holder("local"), quick(), &mut |e| {
                if let LockEvent::TookOver(_, why) = e {
                    how = Some(why);
                }
            })
            .await
        {
            assert_eq!(g.loss(), None);
            g.release().await;
            break;
        }
    }
    assert_eq!(how, Some(Staleness::LeaseExpired));
    tokio::time::timeout(Duration::from_secs(5), lost.wait()).await.expect("the old holder notices");
    guard.release().await;
}

#[test]
fn times_are_fixed_width_utc() {
    assert_eq!(format_ms(0), "1970-01-01T00:00:00.000Z");
    assert_eq!(parse_time("2026-11-01T13:00:00.5+01:00").unwrap(), parse_time("2026-11-01T12:00:00.500Z").unwrap());
    assert_eq!(format_ms(parse_time("2026-11-01T12:00:00Z").unwrap()), "2026-11-01T12:00:00.000Z");
    assert!(parse_time("yesterday").unwrap_err().contains("expected RFC 3339"));
}
