//! Three DB-less nodes: pushed node by node and verified each, a failure stops the rollout
//! with the rest untouched, a node edited by hand shows in `drift`.

use serde_json::{Value, json};

use super::{assert_no_secrets, counts, hash, names, refuse_config, repo, three_dbless};
use crate::common::{Run, TestSandbox, gateform};
use crate::gitops::Repo;

fn run(repo: &Repo, command: &str, rev: &str, extra: &[&str], ledger: &str) -> Run {
    let path = repo.path_str();
    let mut args = vec![command, "--repo", &path, "--ref", rev, "--env", "prod"];
    if command != "drift" {
        args.extend(["--ledger", ledger]);
    }
    if command == "apply" {
        args.push("--auto-approve");
    }
    args.extend(extra);
    gateform(&args)
}

fn urls(nodes: &[TestSandbox]) -> Vec<&str> {
    nodes.iter().map(|n| n.url.as_str()).collect()
}

#[test]
fn a_replay_onto_three_empty_nodes_verifies_all_three() {
    let nodes = three_dbless();
    let repo = repo(&urls(&nodes), "");
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.db").to_string_lossy().into_owned();
    let out = run(&repo, "replay", "v1", &[], &ledger);
    out.ok();
    for n in &nodes {
        assert!(
            out.stdout.contains(&format!("    {}: verified (8 to add, 0 to change, 0 to destroy", n.url)),
            "{}",
            out.stdout
        );
        assert_eq!(counts(n).get("POST"), Some(&1), "{}", n.url);
        assert_eq!(names(n, "/services", "name"), vec!["billing", "orders"]);
    }
    assert!(out.stdout.contains("  Verification:     holds"), "{}", out.stdout);
    let hashes: Vec<String> = nodes.iter().map(hash).collect();
    assert!(hashes.iter().all(|h| *h == hashes[0] && *h != "0".repeat(32)), "one configuration, one hash: {hashes:?}");
    assert_no_secrets(&format!("{}{}", out.stdout, out.stderr));
}

#[test]
fn a_rolling_push_that_fails_on_node_2_leaves_node_3_untouched() {
    let nodes = three_dbless();
    let repo = repo(&urls(&nodes), "");
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.db").to_string_lossy().into_owned();
    refuse_config(&nodes[1], 500, json!({"message": "An unexpected error occurred"}));
    let out = run(&repo, "apply", "v1", &[], &ledger);
    out.expect_code(1);
    assert_eq!(names(&nodes[0], "/services", "name"), vec!["billing", "orders"], "node 1 was pushed");
    assert!(nodes[1].list("/services").is_empty() && nodes[2].list("/services").is_empty());
    assert_eq!(counts(&nodes[2]).get("POST"), None, "node 3 got no push");
    let (n1, n2, n3) = (&nodes[0].url, &nodes[1].url, &nodes[2].url);
    assert!(out.stdout.contains(&format!("Node {n1}: verified (8 to add")), "{}", out.stdout);
    assert!(
        out.stderr.contains(&format!("Node {n2}: failed: the gateway did not take the changes: POST /config")),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("An unexpected error occurred"), "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!("Node {n3}: untouched (8 to add, 0 to change, 0 to destroy)")),
        "{}",
        out.stderr
    );
    assert!(out.stdout.contains(&format!("    {n3}: untouched")), "the closing report names it:\n{}", out.stdout);
    let history = gateform(&["history", "--ledger", &ledger, "--env", "prod", "--format", "json"]);
    let doc: Value = serde_json::from_str(&history.stdout).unwrap();
    let message = doc["runs"][0]["message"].as_str().unwrap_or_default();
    assert_eq!(doc["runs"][0]["result"], "failed", "{doc}");
    assert!(message.contains(&format!("node {n3}: untouched")), "{message}");

    // Two at a time: nodes 1 and 2 are written together, node 3 is still left out.
    let nodes = three_dbless();
    let repo = super::repo(&urls(&nodes), "");
    refuse_config(&nodes[1], 500, json!({"message": "An unexpected error occurred"}));
    let out = run(&repo, "apply", "v1", &["--max-unavailable", "2"], &ledger);
    out.expect_code(1);
    assert_eq!(counts(&nodes[1]).get("POST"), Some(&1));
    assert_eq!(counts(&nodes[2]).get("POST"), None);
    assert_eq!(names(&nodes[0], "/services", "name").len(), 2);
}

#[test]
fn a_node_edited_by_hand_shows_as_divergent_in_drift() {
    let nodes = three_dbless();
    let repo = repo(&urls(&nodes), "");
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.db").to_string_lossy().into_owned();
    run(&repo, "apply", "v1", &[], &ledger).ok();
    let clean = run(&repo, "drift", "v1", &[], &ledger);
    clean.ok();
    assert!(
        clean.stdout.contains(&format!("  {}: in sync with Git; same as {}", nodes[2].url, nodes[0].url)),
        "{}",
        clean.stdout
    );

    // By hand on node 2: its configuration as served, with the orders service moved.
    let served: Value = serde_json::from_str(nodes[1].get("/config")["config"].as_str().unwrap()).unwrap();
    let mut doc = served.clone();
    for s in doc["services"].as_array_mut().unwrap() {
        if s["name"] == "orders" {
            s["port"] = json!(7070);
        }
    }
    nodes[1].send("POST", "/config", Some(doc)).unwrap();

    let drift = run(&repo, "drift", "v1", &[], &ledger);
    drift.expect_code(2);
    let (n1, n2, n3) = (&nodes[0].url, &nodes[1].url, &nodes[2].url);
    let out = &drift.stdout;
    assert!(out.contains(&format!("Node {n2}:\n")) && out.contains("~ services \"orders\""), "{out}");
    assert!(out.contains(&format!("  {n1}: in sync with Git")), "{out}");
    assert!(
        out.contains(&format!(
            "  {n2}: DRIFT from Git: 0 to add, 1 to change, 0 to destroy; DIFFERS from {n1} in 1 entity (services/"
        )),
        "{out}"
    );
    assert!(out.contains(&format!("  {n3}: in sync with Git; same as {n1}")), "{out}");
    let json = run(&repo, "drift", "v1", &["--format", "json"], &ledger);
    json.expect_code(2);
    let doc: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(doc["drift"], true);
    assert_eq!(doc["diverged"], true);
    assert_eq!(doc["nodes"][1]["in_sync"], false);
    assert_eq!(doc["nodes"][1]["same_as_first"], false);
    assert_eq!(doc["nodes"][1]["differs_from_first"][0]["difference"], "changed");
    assert_eq!(doc["nodes"][2]["same_as_first"], true);
    assert_ne!(doc["nodes"][1]["served"], doc["nodes"][0]["served"]);

    // An apply heals only the node that drifted.
    let heal = run(&repo, "apply", "v1", &[], &ledger);
    heal.ok();
    assert!(heal.stdout.contains(&format!("Node {n2} differs; its plan:")), "{}", heal.stdout);
    assert_eq!(counts(&nodes[0]).get("POST"), Some(&1));
    assert_eq!(counts(&nodes[2]).get("POST"), Some(&1));
    run(&repo, "drift", "v1", &[], &ledger).ok();
}
