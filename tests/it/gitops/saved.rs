//! Saved plans of Git sources: applied from the very commit they were made from, under the
//! environment's lock, and recorded (the plan when saved, the apply) with the same digest.

use serde_json::Value;

use super::{Repo, V1_SERVICES, assert_gateway_matches, ledger_in};
use crate::common::{TestSandbox, gateform};

#[test]
fn a_saved_plan_of_a_branch_applies_the_commit_it_was_made_from() {
    let repo = Repo::tagged();
    let r = repo.path_str();
    let sb = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger_in(&dir).to_string_lossy().into_owned();
    let file = dir.path().join("plan.json").to_string_lossy().into_owned();
    let branch = repo.branch();
    let planned_at = repo.commit_of(&branch);
    let plan = ["plan", "--repo", &r, "--ref", &branch, "--env", "prod", "--gateway", &sb.url, "--out", &file];
    gateform(&[&plan[..], &["--ledger", &ledger]].concat()).ok();
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(saved["source"]["type"], "git");
    assert_eq!(saved["source"]["commit"], planned_at.as_str());

    // The branch moves on after the review: the saved plan still applies what was reviewed.
    repo.commit(&[("kong/services.yaml", Some(V1_SERVICES))], "Later work");
    let run = gateform(&["apply", &file, "--env", "prod", "--ledger", &ledger]);
    run.ok();
    assert!(run.stdout.contains(&format!("Source: commit `{}` ({branch})", &planned_at[..12])), "{}", run.stdout);
    assert_gateway_matches(&sb, &repo, "v3");

    let history = gateform(&["history", "--ledger", &ledger, "--format", "json"]);
    let doc: Value = serde_json::from_str(&history.stdout).unwrap();
    let (planned, run) = (&doc["runs"][0], &doc["runs"][1]);
    assert_eq!((&planned["command"], &planned["result"]), (&"plan".into(), &"success".into()), "{planned}");
    assert_eq!(planned["plan_digest"], saved["plan_digest"], "the saved plan is recorded");
    assert_eq!(run["command"], "apply");
    assert_eq!(run["source"]["commit"], planned_at.as_str());
    assert_eq!(run["target"], "prod");
    assert_eq!(run["plan_digest"], saved["plan_digest"], "the ledger names the saved plan it applied");

    // A flag naming another gateway is refused.
    let other = gateform(&["apply", &file, "--gateway", "http://127.0.0.1:9", "--ledger", &ledger]);
    other.expect_code(1);
    assert!(other.stderr.contains("was made for the gateway"), "{}", other.stderr);
}
