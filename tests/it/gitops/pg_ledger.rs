//! A shared ledger on PostgreSQL, driven through the binary: cut connections, a database
//! that goes away in the middle of an apply, concurrent first starts, `[ledger] url`, and
//! an unreachable database.

use std::time::{Duration, Instant};

use gateform::ledger::postgres::schema::SCHEMA_VERSION;
use gateform::ledger::{RunRecord, RunResult};

use super::ledgers::{Proxy, TestLedger};
use super::locks::{apply_args, slow_writes, spawn, wait_until_writing};
use super::{Repo, SETTINGS};
use crate::common::{Run, TestSandbox, gateform, gateform_cmd};

/// The two runs: the first interrupted, the second successful and started only after the
/// first ended (never two writers).
fn one_after_the_other(runs: &[RunRecord]) -> (&RunRecord, &RunRecord) {
    let (a, b) = (&runs[0], &runs[1]);
    assert_eq!((a.result, b.result), (RunResult::Interrupted, RunResult::Success), "{runs:#?}");
    let a_end = a.finished_at.as_deref().unwrap();
    assert!(
        a_end <= b.started_at.as_str(),
        "never two writers: #{} ended {a_end}, #{} started {}",
        a.id,
        b.id,
        b.started_at
    );
    (a, b)
}

#[test]
fn a_cut_connection_stops_the_holder_and_the_next_runner_takes_over_within_seconds() {
    let Some(ledger) = TestLedger::postgres("a_cut_connection_stops_the_holder") else { return };
    let repo = Repo::tagged();
    let r = repo.path_str();
    let sb = TestSandbox::start();
    let l = ledger.arg.clone();
    slow_writes(&sb, 1_500);

    let first = spawn(&apply_args(&r, "v1", &sb, &l));
    wait_until_writing(&ledger);
    let second = spawn(&[apply_args(&r, "v2", &sb, &l), vec!["--lock-timeout", "60"]].concat());
    std::thread::sleep(Duration::from_millis(300));
    let cut = Instant::now();
    assert_eq!(ledger.cut_lock_sessions(), 1, "only the holder holds a lock session");
    let first: Run = first.wait_with_output().unwrap().into();
    sb.sandbox().clear_faults();
    let second: Run = second.wait_with_output().unwrap().into();
    first.expect_code(1);
    second.ok();
    assert!(
        first.stderr.contains("Error: lost the lock of the environment \"prod\" during the run: "),
        "{}",
        first.stderr
    );
    assert!(
        second.stderr.contains("warning: taking over the lock of the environment \"prod\" from "),
        "{}",
        second.stderr
    );
    assert!(second.stderr.contains("its database session ended"), "{}", second.stderr);

    let runs = ledger.runs();
    let (a, b) = one_after_the_other(&runs);
    assert!(a.outcomes.is_some_and(|o| o.not_attempted > 0), "the holder stopped starting changes: {a:#?}");
    let took = gateform::ledger::parse_time(&b.started_at).unwrap() - gateform::ledger::now_ms()
        + cut.elapsed().as_millis() as i64;
    assert!(took < 8_000, "the next runner started {took} ms after the cut");
    super::assert_gateway_matches(&sb, &repo, "v2");
}

#[test]
fn postgresql_stopped_mid_apply_means_no_second_writer_and_a_clear_report() {
    let Some(ledger) = TestLedger::postgres("postgresql_stopped_mid_apply") else { return };
    let proxy = Proxy::start(&ledger.arg);
    let repo = Repo::tagged();
    let r = repo.path_str();
    let sb = TestSandbox::start();
    slow_writes(&sb, 1_500);

    let first = spawn(&apply_args(&r, "v1", &sb, &proxy.url));
    wait_until_writing(&ledger);
    proxy.down();
    // Another runner, which still reaches the database, wants the environment.
    let second = spawn(&[apply_args(&r, "v2", &sb, &ledger.arg), vec!["--lock-timeout", "60"]].concat());
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        ledger.runs().iter().filter(|r| r.source.reference.as_deref() == Some("v2")).count(),
        0,
        "the second runner waits while the first may still write"
    );
    proxy.up();
    let first: Run = first.wait_with_output().unwrap().into();
    sb.sandbox().clear_faults();
    let second: Run = second.wait_with_output().unwrap().into();
    first.expect_code(1);
    second.ok();
    let e = &first.stderr;
    assert!(e.contains("Error: lost the lock of the environment \"prod\" during the run: "), "{e}");
    assert!(e.contains("warning: cannot record the end of run #1 in the ledger"), "{e}");
    assert!(e.contains("Recorded run #1 in the ledger."), "{e}");
    assert!(second.stderr.contains("for the previous holder's requests in flight to end"), "{}", second.stderr);

    let runs = ledger.runs();
    one_after_the_other(&runs);
    super::assert_gateway_matches(&sb, &repo, "v2");
}

#[test]
fn runners_starting_together_on_a_new_database_migrate_once() {
    let Some(ledger) = TestLedger::postgres("runners_starting_together_migrate_once") else { return };
    let runners: Vec<_> = (0..4).map(|_| spawn(&["history", "--ledger", &ledger.arg])).collect();
    for r in runners {
        let run: Run = r.wait_with_output().unwrap().into();
        run.ok();
        assert!(run.stdout.starts_with("No runs recorded in postgres://"), "{}", run.stdout);
    }
    assert_eq!(ledger.migrations(), (1..=SCHEMA_VERSION).collect::<Vec<_>>());
}

#[test]
fn the_ledger_of_gateform_toml_is_used_and_its_password_never_shows() {
    let Some(ledger) = TestLedger::postgres("the_ledger_of_gateform_toml_is_used") else { return };
    let repo = Repo::tagged();
    repo.commit(
        &[("gateform.toml", Some(&format!("{SETTINGS}\n[ledger]\nurl = \"${{TEAM_PG_URL}}\"\n")))],
        "Team ledger",
    );
    let sb = TestSandbox::start();
    let run = |args: &[&str]| -> Run {
        let mut cmd = gateform_cmd();
        cmd.env_remove("GATEFORM_LEDGER").env("TEAM_PG_URL", &ledger.arg).current_dir(repo.path());
        cmd.args(args).stdin(std::process::Stdio::null()).output().unwrap().into()
    };
    run(&["apply", "--repo", &repo.path_str(), "--env", "prod", "--gateway", &sb.url, "--auto-approve"]).ok();
    assert_eq!(ledger.runs().len(), 1, "recorded in the database, not in a file");
    assert!(!repo.path().join(".gateform/ledger.db").exists());
    let history = run(&["history", "--env", "prod"]);
    history.ok();
    assert!(history.stdout.contains(" apply "), "{}", history.stdout);

    let literal = "[ledger]\nurl = \"postgres://ci:hunter2@db.internal/ledger\"\n";
    repo.commit(&[("gateform.toml", Some(literal))], "Oops");
    let refused = run(&["history"]);
    refused.expect_code(1);
    assert!(
        refused.stderr.contains("gateform.toml:2:7: error: [ledger] url holds a literal password"),
        "{}",
        refused.stderr
    );
    assert!(!refused.stderr.contains("hunter2"), "{}", refused.stderr);
}

#[test]
fn an_unreachable_ledger_fails_before_any_gateway_write() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let repo = Repo::tagged();
    let sb = TestSandbox::start();
    let url = format!("postgres://gateform:hunter2@127.0.0.1:{port}/ledger");
    let started = Instant::now();
    let run = gateform(&apply_args(&repo.path_str(), "v1", &sb, &url));
    run.expect_code(1);
    assert!(started.elapsed() < Duration::from_secs(15));
    let want = format!("Error: cannot use the ledger: ledger postgres://gateform@127.0.0.1:{port}/ledger: ");
    assert!(run.stderr.starts_with(&want), "{}", run.stderr);
    assert!(run.stderr.contains("hint: nothing was written to the gateway"), "{}", run.stderr);
    assert!(!run.stderr.contains("hunter2") && !run.stdout.contains("hunter2"));
    assert!(sb.list("/services").is_empty(), "nothing was written");
}
