//! Two applies to one environment never interleave, a killed apply leaves no stuck lock,
//! and `unlock` breaks a stuck one: each on both ledger backends (separate processes
//! sharing a SQLite file, or a PostgreSQL database).

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use gateform::kong::sandbox::FaultRule;
use gateform::ledger::RunResult;

use super::Repo;
use super::ledgers::TestLedger;
use crate::common::{Run, TestSandbox, gateform, gateform_cmd};

/// Runs `$body(ledger)` as `sqlite_$name` and `postgres_$name`.
macro_rules! on_both_ledgers {
    ($($name:ident),* $(,)?) => {
        mod sqlite_ledger {
            $(
                #[test]
                fn $name() {
                    super::$name(&super::TestLedger::sqlite());
                }
            )*
        }
        mod postgres_ledger {
            $(
                #[test]
                fn $name() {
                    let test = concat!("postgres_ledger::", stringify!($name));
                    if let Some(ledger) = super::TestLedger::postgres(test) {
                        super::$name(&ledger);
                    }
                }
            )*
        }
    };
}

on_both_ledgers!(
    a_second_apply_fails_at_once_naming_the_holder_or_waits_its_turn,
    a_killed_apply_leaves_no_stuck_lock,
    unlock_breaks_a_stuck_lock_and_is_recorded,
);

/// Every write waits `delay_ms` before the sandbox answers.
pub fn slow_writes(sb: &TestSandbox, delay_ms: u64) {
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

/// `apply --repo R --ref REV --env prod --gateway SB --ledger L --auto-approve`.
pub fn apply_args<'a>(repo: &'a str, rev: &'a str, sb: &'a TestSandbox, ledger: &'a str) -> Vec<&'a str> {
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

/// Starts `gateform args...` with piped output.
pub fn spawn(args: &[&str]) -> Child {
    gateform_cmd().args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
}

/// Waits until the first run's plan is recorded (it is about to write), then a little more.
pub fn wait_until_writing(ledger: &TestLedger) {
    ledger.wait_for("the apply to start writing", |l| l.runs().first().is_some_and(|r| r.plan.is_some()));
    std::thread::sleep(Duration::from_millis(200));
}

fn a_second_apply_fails_at_once_naming_the_holder_or_waits_its_turn(ledger: &TestLedger) {
    let repo = Repo::tagged();
    let r = repo.path_str();
    let sb = TestSandbox::start();
    let l = ledger.arg.clone();
    slow_writes(&sb, 700);

    let first = spawn(&apply_args(&r, "v1", &sb, &l));
    let first_pid = first.id();
    ledger.wait_for("the first apply to hold the lock", |l| l.locks().len() == 1);

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
    assert!(msg.contains("if it is stuck: gateform unlock prod"), "{msg}");

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
    let runs = ledger.runs();
    assert_eq!(runs.len(), 2, "{runs:#?}");
    let (a, b) = (&runs[0], &runs[1]);
    assert_eq!((a.result, b.result), (RunResult::Success, RunResult::Success));
    assert_eq!(a.source.reference.as_deref(), Some("v1"));
    assert_eq!(b.source.reference.as_deref(), Some("v2"));
    let a_end = a.finished_at.as_deref().unwrap();
    assert!(a_end <= b.started_at.as_str(), "run #{} ended {a_end}, run #{} started {}", a.id, b.id, b.started_at);
    assert!(ledger.locks().is_empty(), "both released their lock");

    // Another process reads the same history.
    let history = gateform(&["history", "--ledger", &l, "--env", "prod"]);
    history.ok();
    assert_eq!(history.stdout.lines().filter(|line| line.contains(" apply ")).count(), 2, "{}", history.stdout);
}

fn a_killed_apply_leaves_no_stuck_lock(ledger: &TestLedger) {
    let repo = Repo::tagged();
    let r = repo.path_str();
    let sb = TestSandbox::start();
    let l = ledger.arg.clone();
    slow_writes(&sb, 5_000);

    let mut victim = spawn(&apply_args(&r, "v1", &sb, &l));
    let pid = victim.id();
    // Killed in the middle of the apply: after its plan was recorded, while writes hang.
    wait_until_writing(ledger);
    victim.kill().unwrap(); // SIGKILL: no chance to clean up
    victim.wait().unwrap();
    assert_eq!(ledger.locks()[0].pid, pid, "the holder row is left behind");

    sb.sandbox().clear_faults();
    let started = Instant::now();
    let next = gateform(&apply_args(&r, "v1", &sb, &l));
    next.ok();
    assert!(started.elapsed() < Duration::from_secs(15), "no waiting for a lease: {:?}", started.elapsed());
    assert!(next.stderr.contains("warning: taking over the lock of the environment \"prod\" from "), "{}", next.stderr);
    assert!(next.stderr.contains(&format!(" pid {pid} (")) && next.stderr.contains("that process no longer exists"));
    super::assert_gateway_matches(&sb, &repo, "v1");

    let runs = ledger.runs();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0].result, RunResult::Interrupted);
    assert_eq!(runs[0].finished_at, None);
    assert_eq!(runs[0].pid, pid);
    assert_eq!(runs[1].result, RunResult::Success);
    let history = gateform(&["history", "--ledger", &l]);
    assert!(history.stdout.contains("interrupted"), "{}", history.stdout);
}

fn unlock_breaks_a_stuck_lock_and_is_recorded(ledger: &TestLedger) {
    let repo = Repo::tagged();
    let r = repo.path_str();
    let sb = TestSandbox::start();
    let l = ledger.arg.clone();
    slow_writes(&sb, 3_000);

    let stuck = spawn(&apply_args(&r, "v1", &sb, &l));
    wait_until_writing(ledger);
    let refused = gateform(&["unlock", "prod", "--ledger", &l]);
    refused.expect_code(1);
    assert!(refused.stderr.contains("unlock needs --force when stdin is not a terminal"), "{}", refused.stderr);
    let unlock = gateform(&["unlock", "prod", "--force", "--ledger", &l]);
    unlock.ok();
    assert!(unlock.stdout.contains("prod is locked by "), "{}", unlock.stdout);
    assert!(unlock.stdout.contains("Unlocked prod (run #"), "{}", unlock.stdout);

    // The holder notices, stops starting changes and says so; its run is interrupted.
    let stuck: Run = stuck.wait_with_output().unwrap().into();
    stuck.expect_code(1);
    assert!(
        stuck.stderr.contains("Error: lost the lock of the environment \"prod\" during the run: "),
        "{}",
        stuck.stderr
    );
    assert!(stuck.stderr.contains("Not attempted:"), "{}", stuck.stderr);
    let runs = ledger.runs();
    let apply = runs.iter().find(|r| r.command == "apply").unwrap();
    assert_eq!(apply.result, RunResult::Interrupted, "{apply:#?}");
    assert!(apply.message.as_deref().unwrap_or_default().starts_with("lost the lock ("), "{apply:#?}");
    assert!(apply.outcomes.is_some_and(|o| o.not_attempted > 0), "{apply:#?}");
    let unlocked = runs.iter().find(|r| r.command == "unlock").unwrap();
    assert_eq!(unlocked.target, "prod");
    assert!(unlocked.message.as_deref().unwrap_or_default().starts_with("broke the lock held by "), "{unlocked:#?}");
    assert_eq!(
        gateform(&["unlock", "prod", "--force", "--ledger", &l]).expect_code(1).stderr,
        "Error: prod is not locked.\n"
    );

    // A later apply converges.
    gateform(&apply_args(&r, "v1", &sb, &l)).ok();
    super::assert_gateway_matches(&sb, &repo, "v1");
}

/// Issue 12, item 12: three spellings of one gateway address were three locks.
#[test]
fn spellings_of_one_gateway_address_share_one_lock() {
    let repo = Repo::tagged();
    let r = repo.path_str();
    let sb = TestSandbox::start();
    let ledger = TestLedger::sqlite();
    slow_writes(&sb, 1_000);
    let port = sb.url.rsplit(':').next().unwrap().trim_end_matches('/').to_owned();
    let bare = |gateway: &str| -> Vec<String> {
        [
            "apply",
            "--repo",
            &r,
            "--ref",
            "v1",
            "--path",
            "kong",
            "--gateway",
            gateway,
            "--ledger",
            &ledger.arg,
            "--auto-approve",
        ]
        .map(str::to_owned)
        .to_vec()
    };
    let first_args = bare(&format!("http://127.0.0.1:{port}"));
    let first = spawn(&first_args.iter().map(String::as_str).collect::<Vec<_>>());
    ledger.wait_for("the first apply to hold the lock", |l| l.locks().len() == 1);
    assert_eq!(ledger.locks()[0].key, format!("http://localhost:{port}"));
    for other in
        [format!("http://localhost:{port}"), format!("HTTP://127.0.0.1:{port}/"), format!("http://[::1]:{port}")]
    {
        let args = bare(&other);
        let refused = gateform(&args.iter().map(String::as_str).collect::<Vec<_>>());
        refused.expect_code(1);
        assert!(refused.stderr.contains(&format!("Error: the gateway {other} is locked by ")), "{}", refused.stderr);
    }
    let first: Run = first.wait_with_output().unwrap().into();
    first.ok();
    let history = gateform(&["history", "--ledger", &ledger.arg, "--gateway", &format!("HTTP://LOCALHOST:{port}/")]);
    assert!(history.stdout.contains(&format!("http://localhost:{port}")), "{}", history.stdout);
}
