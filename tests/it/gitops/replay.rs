//! Disaster replay of tags in any order, and the history that records it.

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{Repo, assert_gateway_matches, ledger_in, replay};
use crate::common::{TestSandbox, gateform};

fn now() -> String {
    OffsetDateTime::now_utc().format(&Rfc3339).unwrap()
}

#[test]
fn tags_replayed_in_any_order_restore_exactly_their_configuration() {
    let repo = Repo::tagged();
    let sb = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger_in(&dir);
    let ledger_arg = ledger.to_string_lossy().into_owned();

    let before_any = now();
    let mut moments = Vec::new();
    for rev in ["v1", "v3", "v2", "v1"] {
        let run = replay(&sb, &repo, rev, &ledger);
        run.ok();
        let out = &run.stdout;
        let commit = repo.commit_of(rev);
        let source = format!("Source: commit `{}` ({rev}): ", &commit[..12]);
        assert!(out.contains(&source) && out.contains(&format!("; {}, path kong; Ops Team", repo.path_str())), "{out}");
        assert!(out.contains("Gateway: http://127.0.0.1:") && out.contains(", environment \"prod\""), "{out}");
        assert!(out.contains(&format!("  Commit:           {commit} ({rev})")), "{out}");
        assert!(out.contains("  Verification:     holds: a fresh plan of the gateway is empty"), "{out}");
        assert!(out.contains("  Time to restore:  "), "{out}");
        assert_gateway_matches(&sb, &repo, rev);
        moments.push((rev, commit, now()));
    }

    // The report counts what was restored and what was done: v3 → v2 (third replay).
    let again = replay(&sb, &repo, "v2", &ledger);
    again.ok();
    assert!(
        again.stdout.contains("  Restored:         2 consumers, 2 services, 3 routes, 1 plugins"),
        "{}",
        again.stdout
    );

    // History lists every replay with its commit, in order.
    let history = gateform(&["history", "--ledger", &ledger_arg, "--env", "prod", "--format", "json"]);
    history.ok();
    let doc: Value = serde_json::from_str(&history.stdout).unwrap();
    let runs = doc["runs"].as_array().unwrap();
    let commits: Vec<&str> = runs.iter().map(|r| r["source"]["commit"].as_str().unwrap()).collect();
    let want: Vec<String> = ["v1", "v3", "v2", "v1", "v2"].iter().map(|r| repo.commit_of(r)).collect();
    assert_eq!(commits, want);
    assert!(runs.iter().all(|r| r["result"] == "success" && r["command"] == "replay" && r["environment"] == "prod"));
    assert_eq!(runs[0]["plan"], serde_json::json!({"add": 6, "change": 0, "destroy": 0}));
    assert_eq!(runs[1]["plan_digest"].as_str().unwrap().len(), 64, "the SHA-256 saved plans record");
    let text = gateform(&["history", "--ledger", &ledger_arg]);
    text.ok();
    for (rev, commit, _) in &moments {
        assert!(text.stdout.contains(&format!("commit {}  {rev} ", &commit[..12])), "{rev}\n{}", text.stdout);
    }

    // `--at` names the commit live at each moment.
    for (rev, commit, at) in &moments {
        let live = gateform(&["history", "--ledger", &ledger_arg, "--env", "prod", "--at", at, "--format", "json"]);
        live.ok();
        let doc: Value = serde_json::from_str(&live.stdout).unwrap();
        assert_eq!(doc["commit"].as_str(), Some(commit.as_str()), "at {at} ({rev})");
        let shown = gateform(&["history", "--ledger", &ledger_arg, "--env", "prod", "--at", at]);
        assert!(shown.stdout.contains(&format!("ran commit {commit}")), "{}", shown.stdout);
        assert!(
            shown.stdout.contains(&format!("To restore it: gateform replay --repo {} --ref {commit}", repo.path_str()))
        );
    }
    let early = gateform(&["history", "--ledger", &ledger_arg, "--env", "prod", "--at", &before_any]);
    early.expect_code(1);
    assert!(early.stderr.contains("no successful apply or replay of prod had finished by"), "{}", early.stderr);
    let other = gateform(&["history", "--ledger", &ledger_arg, "--env", "staging", "--at", &now()]);
    other.expect_code(1);
}

#[test]
fn a_rehearsal_on_an_empty_sandbox_and_a_json_report() {
    let repo = Repo::tagged();
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger_in(&dir);
    let run = gateform(&[
        "replay",
        "--repo",
        &repo.path_str(),
        "--ref",
        "v2",
        "--gateway",
        "sandbox",
        "--ledger",
        &ledger.to_string_lossy(),
        "--format",
        "json",
    ]);
    run.ok();
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["source"]["commit"], repo.commit_of("v2"));
    assert_eq!(doc["source"]["ref"], "v2");
    assert_eq!(doc["source"]["subject"], "Inventory replaces billing");
    assert_eq!(doc["source"]["path"], ".", "no environment: the whole repository");
    assert_eq!(doc["restored"]["services"], 2);
    assert_eq!(doc["restored"]["routes"], 3);
    assert_eq!(doc["restored"]["plugins"], 1);
    assert_eq!(doc["actions"]["add"], 8);
    assert_eq!(doc["verification"]["result"], "holds");
    assert!(doc["seconds_to_restore"].as_f64().unwrap() > 0.0);
    // Rehearsals are recorded, but never as the state of an environment.
    let history = gateform(&["history", "--ledger", &ledger.to_string_lossy(), "--format", "json"]);
    let doc: Value = serde_json::from_str(&history.stdout).unwrap();
    assert_eq!(doc["runs"][0]["target"], "sandbox");
    assert_eq!(doc["runs"][0]["gateway"], "sandbox");
}

#[test]
fn a_replay_whose_verification_fails_exits_non_zero_with_the_leftover() {
    // The gateway refuses every route write: the apply fails, and the fresh plan shows
    // what is missing.
    let repo = Repo::tagged();
    let sb = TestSandbox::start();
    sb.sandbox().inject_fault(gateform::kong::sandbox::FaultRule {
        method: Some("PUT".into()),
        path: "/routes/*".into(),
        status: Some(400),
        body: Some(serde_json::json!({"message": "refused by the test"})),
        headers: Default::default(),
        times: None,
        delay_ms: 0,
    });
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger_in(&dir);
    let run = replay(&sb, &repo, "v1", &ledger);
    run.expect_code(1);
    assert!(run.stdout.contains("Verification:     FAILS: a fresh plan still has"), "{}", run.stdout);
    assert!(run.stdout.contains("routes \"orders-api\" will be created"), "{}", run.stdout);
    assert!(run.stderr.contains("refused by the test"), "{}", run.stderr);
    let history = gateform(&["history", "--ledger", &ledger.to_string_lossy(), "--format", "json"]);
    let doc: Value = serde_json::from_str(&history.stdout).unwrap();
    assert_eq!(doc["runs"][0]["result"], "failed");
    assert!(doc["runs"][0]["outcomes"]["failed"].as_u64().unwrap() >= 1);
}

#[test]
fn replay_needs_a_ref() {
    let repo = Repo::tagged();
    let run = gateform(&["replay", "--repo", &repo.path_str(), "--gateway", "sandbox"]);
    run.expect_code(1);
    assert!(run.stderr.contains("replay needs --ref REV"), "{}", run.stderr);
}
