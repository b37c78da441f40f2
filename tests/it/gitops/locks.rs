//! Two applies to one environment never interleave, and a killed apply leaves no lock.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use gateform::kong::sandbox::FaultRule;
use gateform::ledger::{Ledger, RunFilter, RunRecord, RunResult};

use super::{Repo, ledger_in};
use crate::common::{Run, TestSandbox, gateform, gateform_cmd};

/// Every write waits `delay_ms` before the sandbox answers.
fn slow_writes(sb: &TestSandbox, delay_ms: u64) {
    sb.sandbox().inject_fault(FaultRule {
        method: Some("PUT".into()),
        path: "/*".into(),
        status: None,
        body: None,
        headers: Default::default(),
        times: None,
        delay_ms,
    });
}

fn apply_args<'a>(repo: &'a str, rev: &'a str, sb: &'a TestSandbox, ledger: &'a str) -> Vec<&'a str> {
    vec![
        "apply",
        "--repo",
        repo,
        "--ref",
        rev,
        "--env",
        "prod",
        "--gateway",
        &sb.url,
        "--ledger",
        ledger,
        "--auto-approve",
    ]
}

fn spawn(args: &[&str]) -> Child {
    gateform_cmd().args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
}

/// Waits until `check` holds for the ledger (or panics after 20 s).
fn wait_for(ledger: &Path, what: &str, check: impl Fn(&Ledger) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if ledger.exists()
            && let Ok(l) = Ledger::open(ledger)
            && check(&l)
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting for {what}");
}

fn runs(ledger: &Path) -> Vec<RunRecord> {
    Ledger::open(ledger).unwrap().runs(&RunFilter::default()).unwrap()
}

#[test]
fn a_second_apply_fails_at_once_naming_the_holder_or_waits_its_turn() {
    let repo = Repo::tagged();
    let r = repo.path_str();
    let sb = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger_in(&dir);
    let l = ledger.to_string_lossy().into_owned();
    slow_writes(&sb, 700);

    let first = spawn(&apply_args(&r, "v1", &sb, &l));
    let first_pid = first.id();
    wait_for(&ledger, "the first apply to hold the lock", |l| l.locks().is_ok_and(|locks| locks.len() == 1));

    // Without a timeout: refused at once, naming the holder.
    let started = Instant::now();
    let refused = gateform(&apply_args(&r, "v2", &sb, &l));
    refused.expect_code(1);
    assert!(started.elapsed() < Duration::from_secs(5));
    let msg = &refused.stderr;
    assert!(msg.contains("Error: the environment \"prod\" is locked by "), "{msg}");
    assert!(msg.contains(&format!(" pid {first_pid} (gateform apply --repo {r} --ref v1 --env prod")), "{msg}");
    assert!(msg.contains(") since 20"), "{msg}");
    assert!(msg.contains("hint: wait for it to finish, or retry with --lock-timeout SECONDS"), "{msg}");

    // With a timeout: waits for the first to finish, then applies.
    let waited = gateform(&[apply_args(&r, "v2", &sb, &l), vec!["--lock-timeout", "60"]].concat());
    let first: Run = first.wait_with_output().unwrap().into();
    first.ok();
    waited.ok();
    assert!(
        waited.stderr.contains("Waiting up to 60s for the lock of the environment \"prod\", held by "),
        "{}",
        waited.stderr
    );
    super::assert_gateway_matches(&sb, &repo, "v2");

    // The ledger shows two runs that did not overlap; the refused one never started.
    let runs = runs(&ledger);
    assert_eq!(runs.len(), 2, "{runs:#?}");
    let (a, b) = (&runs[0], &runs[1]);
    assert_eq!((a.result, b.result), (RunResult::Success, RunResult::Success));
    assert_eq!(a.source.reference.as_deref(), Some("v1"));
    assert_eq!(b.source.reference.as_deref(), Some("v2"));
    let a_end = a.finished_at.as_deref().unwrap();
    assert!(a_end <= b.started_at.as_str(), "run #{} ended {a_end}, run #{} started {}", a.id, b.id, b.started_at);
    assert!(Ledger::open(&ledger).unwrap().locks().unwrap().is_empty(), "both released their lock");
}

#[test]
fn a_killed_apply_leaves_no_stuck_lock() {
    let repo = Repo::tagged();
    let r = repo.path_str();
    let sb = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger_in(&dir);
    let l = ledger.to_string_lossy().into_owned();
    slow_writes(&sb, 5_000);

    let mut victim = spawn(&apply_args(&r, "v1", &sb, &l));
    let pid = victim.id();
    // Killed in the middle of the apply: after its plan was recorded, while writes hang.
    wait_for(&ledger, "the apply to start writing", |l| {
        l.runs(&RunFilter::default()).is_ok_and(|r| r.first().is_some_and(|r| r.plan.is_some()))
    });
    std::thread::sleep(Duration::from_millis(200));
    victim.kill().unwrap(); // SIGKILL: no chance to clean up
    victim.wait().unwrap();
    assert_eq!(Ledger::open(&ledger).unwrap().locks().unwrap()[0].pid, pid, "the lock is left behind");

    sb.sandbox().clear_faults();
    let started = Instant::now();
    let next = gateform(&apply_args(&r, "v1", &sb, &l));
    next.ok();
    assert!(started.elapsed() < Duration::from_secs(15), "no waiting for a lease: {:?}", started.elapsed());
    assert!(next.stderr.contains("warning: taking over the lock of the environment \"prod\" from "), "{}", next.stderr);
    assert!(next.stderr.contains(&format!(" pid {pid} (")) && next.stderr.contains("that process no longer exists"));
    super::assert_gateway_matches(&sb, &repo, "v1");

    let runs = runs(&ledger);
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].result, RunResult::Interrupted);
    assert_eq!(runs[0].finished_at, None);
    assert_eq!(runs[0].pid, pid);
    assert_eq!(runs[1].result, RunResult::Success);
    let history = gateform(&["history", "--ledger", &l]);
    assert!(history.stdout.contains("interrupted"), "{}", history.stdout);
}
