use std::time::{Duration, Instant};

use super::*;

fn holder(command: &str) -> Holder {
    Holder::current("alice", command)
}

fn git_source(commit: &str) -> RunSource {
    RunSource {
        repository: Some("/srv/repo".into()),
        reference: Some("v1".into()),
        commit: Some(commit.into()),
        subject: Some("Add things".into()),
        path: Some("kong".into()),
        files: Vec::new(),
    }
}

fn new_run<'a>(source: &'a RunSource, holder: &'a Holder) -> NewRun<'a> {
    NewRun { command: "apply", target: "prod", environment: Some("prod"), gateway: "http://gw:8001", source, holder }
}

/// A pid that no longer exists: a child that has exited and been reaped.
fn dead_pid() -> u32 {
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

#[test]
fn opening_creates_and_migrates_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".gateform/ledger.db");
    let ledger = Ledger::open(&path).unwrap();
    assert!(path.is_file());
    assert_eq!(std::fs::read_to_string(dir.path().join(".gateform/.gitignore")).unwrap(), "*\n");
    let h = holder("gateform apply");
    ledger.begin_run(&new_run(&git_source("c1"), &h)).unwrap();
    drop(ledger);
    let again = Ledger::open(&path).unwrap();
    assert_eq!(again.runs(&RunFilter::default()).unwrap().len(), 1);
    let mode: String = again.conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    again.conn.execute_batch("PRAGMA user_version = 99").unwrap();
    drop(again);
    let err = Ledger::open(&path).unwrap_err();
    assert!(matches!(err, LedgerError::NewerSchema { found: 99, .. }), "{err}");
}

#[test]
fn a_version_1_ledger_is_migrated_keeping_its_runs() {
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
    let ledger = Ledger::open(&path).unwrap();
    let version: i64 = ledger.conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    let runs = ledger.runs(&RunFilter::default()).unwrap();
    assert_eq!(runs[0].source.commit.as_deref(), Some("c0"));
    ledger.begin_run(&new_run(&git_source("c1"), &holder("x"))).unwrap();
    drop(ledger);
    assert_eq!(Ledger::open(&path).unwrap().runs(&RunFilter::default()).unwrap().len(), 2, "opening twice is harmless");
}

#[test]
fn a_run_is_recorded_from_start_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(&dir.path().join("l.db")).unwrap();
    let h = holder("gateform apply --env prod");
    let id = ledger.begin_run(&new_run(&git_source("c1"), &h)).unwrap();
    let running = ledger.run(id).unwrap().unwrap();
    assert_eq!(running.result, RunResult::Running);
    assert_eq!(running.finished_at, None);
    assert_eq!(running.plan, None);
    ledger.record_plan(id, PlanCounts { add: 2, change: 1, destroy: 0 }, "0a1b2c").unwrap();
    let outcomes = OutcomeCounts { applied: 2, failed: 1, not_attempted: 0 };
    ledger.finish_run(id, Some(outcomes), RunResult::Failed, Some("boom")).unwrap();
    let done = ledger.run(id).unwrap().unwrap();
    assert_eq!(done.result, RunResult::Failed);
    assert_eq!(done.plan, Some(PlanCounts { add: 2, change: 1, destroy: 0 }));
    assert_eq!(done.outcomes, Some(outcomes));
    assert_eq!(done.message.as_deref(), Some("boom"));
    assert_eq!(done.source, git_source("c1"));
    assert_eq!(done.environment, "prod");
    assert_eq!(done.user, "alice");
    assert_eq!(done.plan_digest.as_deref(), Some("0a1b2c"));
    assert!(done.finished_at.unwrap() >= done.started_at);
    let json = serde_json::to_value(ledger.run(id).unwrap().unwrap()).unwrap();
    assert_eq!(json["result"], "failed");
    assert_eq!(json["source"]["ref"], "v1");
}

#[test]
fn file_sources_and_filters() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(&dir.path().join("l.db")).unwrap();
    let h = holder("gateform apply");
    let files = RunSource { files: vec!["kong.yaml".into()], ..RunSource::default() };
    let run = NewRun {
        command: "apply",
        target: "http://gw",
        environment: None,
        gateway: "http://gw",
        source: &files,
        holder: &h,
    };
    ledger.begin_run(&run).unwrap();
    ledger.begin_run(&new_run(&git_source("c1"), &h)).unwrap();
    ledger.begin_run(&new_run(&git_source("c2"), &h)).unwrap();
    let all = ledger.runs(&RunFilter::default()).unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].source.files, vec!["kong.yaml"]);
    assert_eq!(all[0].environment, "-");
    let prod = ledger.runs(&RunFilter { environment: Some("prod".into()), ..RunFilter::default() }).unwrap();
    assert_eq!(prod.len(), 2);
    let last = ledger.runs(&RunFilter { limit: Some(1), ..RunFilter::default() }).unwrap();
    assert_eq!(last[0].source.commit.as_deref(), Some("c2"), "the limit keeps the latest");
    let by_target = ledger.runs(&RunFilter { target: Some("http://gw".into()), ..RunFilter::default() }).unwrap();
    assert_eq!(by_target.len(), 1);
}

/// Inserts a finished run with explicit times.
fn finished(ledger: &Ledger, commit: &str, started: &str, ended: Option<&str>, result: &str) -> i64 {
    let h = holder("gateform replay");
    let id = ledger.begin_run(&new_run(&git_source(commit), &h)).unwrap();
    ledger
        .conn
        .execute(
            "UPDATE runs SET started_at = ?2, finished_at = ?3, result = ?4 WHERE id = ?1",
            rusqlite::params![id, started, ended, result],
        )
        .unwrap();
    id
}

#[test]
fn live_at_names_the_last_successful_run_finished_by_then() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(&dir.path().join("l.db")).unwrap();
    finished(&ledger, "c1", "2026-11-01T10:00:00.000Z", Some("2026-11-01T10:00:05.000Z"), "success");
    finished(&ledger, "c2", "2026-11-01T11:00:00.000Z", Some("2026-11-01T11:00:05.000Z"), "success");
    finished(&ledger, "c3", "2026-11-01T11:30:00.000Z", Some("2026-11-01T11:30:02.000Z"), "failed");
    finished(&ledger, "c4", "2026-11-01T12:00:00.000Z", Some("2026-11-01T12:00:05.000Z"), "success");
    let at = |t: &str| ledger.live_at("prod", &format_ms(parse_time(t).unwrap())).unwrap();
    let commit = |l: &LiveAt| l.run.as_ref().and_then(|r| r.source.commit.clone());

    assert_eq!(commit(&at("2026-11-01T09:00:00Z")), None);
    assert_eq!(commit(&at("2026-11-01T10:00:05Z")), Some("c1".into()), "finished exactly then");
    assert_eq!(commit(&at("2026-11-01T10:30:00Z")), Some("c1".into()));
    let during = at("2026-11-01T11:00:03Z");
    assert_eq!(commit(&during), Some("c1".into()), "c2 was still being applied");
    assert_eq!(during.in_progress.len(), 1);
    assert_eq!(during.in_progress[0].source.commit.as_deref(), Some("c2"));
    let after_failure = at("2026-11-01T11:45:00+00:00");
    assert_eq!(commit(&after_failure), Some("c2".into()), "failed runs never count");
    assert_eq!(after_failure.failed_since.len(), 1, "but they are reported");
    assert_eq!(commit(&at("2026-11-01T13:00:05+01:00")), Some("c4".into()), "offsets are honoured");
    assert!(ledger.live_at("staging", "2026-12-01T00:00:00.000Z").unwrap().run.is_none());
}

#[test]
fn dead_runs_are_marked_interrupted_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.db");
    let ledger = Ledger::open(&path).unwrap();
    let mut dead = holder("gateform apply");
    dead.pid = dead_pid();
    let gone = ledger.begin_run(&new_run(&git_source("c1"), &dead)).unwrap();
    let alive = ledger.begin_run(&new_run(&git_source("c2"), &holder("gateform apply"))).unwrap();
    let mut elsewhere = holder("gateform apply");
    elsewhere.host = "another-host".into();
    elsewhere.pid = dead.pid;
    let remote = ledger.begin_run(&new_run(&git_source("c3"), &elsewhere)).unwrap();
    drop(ledger);
    let ledger = Ledger::open(&path).unwrap();
    assert_eq!(ledger.run(gone).unwrap().unwrap().result, RunResult::Interrupted);
    assert_eq!(ledger.run(alive).unwrap().unwrap().result, RunResult::Running);
    assert_eq!(ledger.run(remote).unwrap().unwrap().result, RunResult::Running, "cannot tell for other hosts");
}

#[test]
fn a_held_lock_fails_at_once_naming_its_holder_and_is_released_on_drop() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.db");
    let mut a = Ledger::open(&path).unwrap();
    let mut b = Ledger::open(&path).unwrap();
    let opts = LockOptions::default();
    let guard = a.acquire("prod", &holder("gateform apply --env prod"), &opts, &mut |_| {}).unwrap();
    assert_eq!(guard.key(), "prod");
    let started = Instant::now();
    let err = b.acquire("prod", &holder("gateform apply --env prod"), &opts, &mut |_| {}).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(1));
    let LedgerError::Locked { key, holder: info, .. } = &err else { panic!("{err}") };
    assert_eq!(key, "prod");
    assert_eq!(info.pid, std::process::id());
    let shown = err.to_string();
    assert!(
        shown.starts_with(&format!(
            "prod is locked by alice@{} pid {} (gateform apply --env prod) since 20",
            info.host, info.pid
        )),
        "{shown}"
    );
    // Another target is independent.
    let other = b.acquire("staging", &holder("x"), &opts, &mut |_| {}).unwrap();
    assert_eq!(b.locks().unwrap().len(), 2);
    drop(guard);
    other.release();
    assert!(b.locks().unwrap().is_empty());
    b.acquire("prod", &holder("y"), &opts, &mut |_| {}).unwrap();
}

#[test]
fn a_waiting_acquire_gets_the_lock_when_released() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.db");
    let mut a = Ledger::open(&path).unwrap();
    let guard = a.acquire("prod", &holder("first"), &LockOptions::default(), &mut |_| {}).unwrap();
    let p = path.clone();
    let waiter = std::thread::spawn(move || {
        let mut b = Ledger::open(&p).unwrap();
        let opts =
            LockOptions { timeout: Duration::from_secs(10), poll: Duration::from_millis(20), ..LockOptions::default() };
        let mut waited = false;
        let started = Instant::now();
        let g = b.acquire("prod", &holder("second"), &opts, &mut |e| waited |= matches!(e, LockEvent::Waiting(_)));
        (g.map(|g| g.key().to_owned()), waited, started.elapsed())
    });
    std::thread::sleep(Duration::from_millis(300));
    guard.release();
    let (got, waited, elapsed) = waiter.join().unwrap();
    assert_eq!(got.unwrap(), "prod");
    assert!(waited);
    assert!(elapsed >= Duration::from_millis(250), "{elapsed:?}");
    // A timeout that runs out names the holder.
    let mut c = Ledger::open(&path).unwrap();
    let _held = c.acquire("qa", &holder("third"), &LockOptions::default(), &mut |_| {}).unwrap();
    let opts =
        LockOptions { timeout: Duration::from_millis(200), poll: Duration::from_millis(20), ..LockOptions::default() };
    let started = Instant::now();
    let err = a.acquire("qa", &holder("fourth"), &opts, &mut |_| {}).unwrap_err();
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert!(err.to_string().contains("(third)"), "{err}");
}

#[test]
fn a_lock_of_a_dead_process_is_taken_over_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.db");
    let mut a = Ledger::open(&path).unwrap();
    let mut dead = holder("gateform apply --env prod");
    dead.pid = dead_pid();
    dead.pid_start = None;
    let run = a.begin_run(&new_run(&git_source("c1"), &dead)).unwrap();
    // A long lease: only the dead process makes it stale.
    let long = LockOptions { lease: Duration::from_secs(3600), ..LockOptions::default() };
    let stale = a.acquire("prod", &dead, &long, &mut |_| {}).unwrap();
    std::mem::forget(stale); // as if the process had been killed: no release
    let mut b = Ledger::open(&path).unwrap();
    let mut took = None;
    let started = Instant::now();
    let guard = b
        .acquire("prod", &holder("new"), &LockOptions::default(), &mut |e| {
            if let LockEvent::TookOver(info, why) = e {
                took = Some((info.pid, why));
            }
        })
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(took, Some((dead.pid, Staleness::ProcessGone)));
    assert_eq!(b.run(run).unwrap().unwrap().result, RunResult::Interrupted);
    assert_eq!(b.locks().unwrap()[0].command, "new");
    drop(guard);
}

#[test]
fn a_reused_pid_does_not_keep_a_lock() {
    let mut h = holder("old");
    h.pid_start = h.pid_start.map(|s| s + 1);
    let info = LockInfo {
        key: "k".into(),
        pid: h.pid,
        pid_start: h.pid_start,
        scope: h.scope.clone(),
        host: h.host.clone(),
        user: h.user.clone(),
        command: h.command.clone(),
        acquired_at: now(),
        renewed_at: now(),
        lease_until_ms: now_ms() + 60_000,
    };
    if cfg!(target_os = "linux") {
        assert_eq!(lock::staleness(&info, now_ms()), Some(Staleness::ProcessGone));
    }
    let mine = LockInfo { pid_start: holder("x").pid_start, ..info.clone() };
    assert_eq!(lock::staleness(&mine, now_ms()), None, "a live holder is never stale");
    let expired_here = LockInfo { lease_until_ms: 0, ..mine };
    assert_eq!(lock::staleness(&expired_here, now_ms()), None, "even with an old lease, when it is alive here");
}

#[test]
fn another_pid_namespace_is_judged_by_its_lease() {
    // Same host name, other container (or boot): its pids are not ours to look up.
    let info = LockInfo {
        key: "k".into(),
        pid: dead_pid(),
        pid_start: None,
        scope: Some("other-boot/pid:[1]".into()),
        host: process::host_name(),
        user: "bob".into(),
        command: "gateform apply".into(),
        acquired_at: now(),
        renewed_at: now(),
        lease_until_ms: now_ms() + 60_000,
    };
    if process_scope().is_some() {
        assert_eq!(lock::staleness(&info, now_ms()), None, "a dead-looking pid elsewhere keeps its lease");
        let expired = LockInfo { lease_until_ms: now_ms() - 1, ..info };
        assert_eq!(lock::staleness(&expired, now_ms()), Some(Staleness::LeaseExpired));
    }
}

#[test]
fn leases_decide_for_other_hosts_and_are_renewed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.db");
    let mut a = Ledger::open(&path).unwrap();
    let mut remote = holder("remote");
    remote.host = "build-9".into();
    let short = LockOptions { lease: Duration::from_millis(300), ..LockOptions::default() };
    let guard = a.acquire("prod", &remote, &short, &mut |_| {}).unwrap();
    // The heartbeat renews the lease: after several lease lengths it is still held.
    std::thread::sleep(Duration::from_millis(900));
    let mut b = Ledger::open(&path).unwrap();
    assert!(b.acquire("prod", &holder("local"), &LockOptions::default(), &mut |_| {}).is_err());
    // Once the holder stops renewing (as a killed process on another host would), the
    // lease runs out and the lock is taken over.
    std::mem::forget(guard);
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut how = None;
    while Instant::now() < deadline {
        // Stop the leaked heartbeat's renewals by faking an old lease, as a dead host would leave it.
        b.conn.execute("UPDATE locks SET lease_until_ms = 0, token = 'gone'", []).unwrap();
        if let Ok(g) = b.acquire("prod", &holder("local"), &LockOptions::default(), &mut |e| {
            if let LockEvent::TookOver(_, why) = e {
                how = Some(why);
            }
        }) {
            assert!(!g.lost());
            break;
        }
    }
    assert_eq!(how, Some(Staleness::LeaseExpired));
}

#[test]
fn times_are_fixed_width_utc() {
    assert_eq!(format_ms(0), "1970-01-01T00:00:00.000Z");
    assert_eq!(parse_time("2026-11-01T13:00:00.5+01:00").unwrap(), parse_time("2026-11-01T12:00:00.500Z").unwrap());
    assert_eq!(format_ms(parse_time("2026-11-01T12:00:00Z").unwrap()), "2026-11-01T12:00:00.000Z");
    assert!(parse_time("yesterday").unwrap_err().contains("expected RFC 3339"));
}
