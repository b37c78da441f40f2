//! Workflows a new user follows (issue 13, items 7 to 11): saved plans that keep their
//! environment, `--env` from a sub-directory, dumps that plan back, drift said as drift,
//! replay that needs a target, `--markdown-dir`.

use serde_json::{Value, json};

use super::{gateform_in, normalized, repo};
use crate::common::{TestSandbox, write};

const KONG: &str = r#"_format_version: "3.0"
services:
  - name: orders
    host: orders.internal
    routes:
      - name: orders-api
        paths: [/orders]
"#;

fn staging(sb: &TestSandbox) -> String {
    format!("[environments.staging]\ngateway = \"{}\"\npath = \"kong\"\nselect_tags = [\"platform\"]\n", sb.url)
}

/// Items 7 and 8: `plan --env staging --out F` from a sub-directory, then `apply F` from
/// elsewhere: applied and recorded under `staging`, with its lock.
#[test]
fn a_saved_plan_applies_in_its_environment_from_any_directory() {
    let sb = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    repo(dir.path(), &[("gateform.toml", &staging(&sb)), ("kong/kong.yaml", KONG), ("docs/README", "docs")]);
    let ledger = dir.path().join(".gateform/ledger.db").to_string_lossy().into_owned();
    let env = [("GATEFORM_LEDGER", ledger.as_str())];
    let sub = dir.path().join("docs");
    let plan = gateform_in(&sub, &["plan", "--env", "staging", "--out", "plan.json"], &env);
    plan.ok();
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(sub.join("plan.json")).unwrap()).unwrap();
    assert_eq!(saved["gateway"]["environment"], "staging");
    assert_eq!(saved["source"]["files"][0]["path"], "kong/kong.yaml", "relative to the repository");
    let elsewhere = tempfile::tempdir().unwrap();
    let file = sub.join("plan.json").to_string_lossy().into_owned();
    let apply = gateform_in(elsewhere.path(), &["apply", &file], &env);
    let root = dir.path().to_string_lossy().into_owned();
    let filters = [(sb.url.as_str(), "[SANDBOX]"), (root.as_str(), "[REPO]")];
    insta::assert_snapshot!("saved_plan_in_its_environment", normalized(&apply, &filters));
    assert_eq!(sb.list("/services").len(), 1);
    let history = gateform_in(elsewhere.path(), &["history", "--env", "staging", "--format", "json"], &env);
    history.ok();
    let doc: Value = serde_json::from_str(&history.stdout).unwrap();
    let commands: Vec<&str> = doc["runs"].as_array().unwrap().iter().filter_map(|r| r["command"].as_str()).collect();
    assert!(commands.contains(&"apply"), "recorded under staging: {}", history.stdout);
    // Another environment than the plan's is refused.
    let other = gateform_in(elsewhere.path(), &["apply", &file, "--env", "prod"], &env);
    assert_eq!(other.code, 1);
    assert!(other.stderr.contains("was made for the environment \"staging\", not the environment \"prod\""));
}

/// Item 9: `dump --env`, and a JSON dump that is valid JSON and plans back to nothing,
/// with a secret holding `"` and `\`.
#[test]
fn dumps_take_env_and_json_dumps_plan_back() {
    let sb = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    let config = "_format_version: \"3.0\"\nconsumers:\n  - username: shop\n    keyauth_credentials:\n      - key: 'k\"ey\\with-quote'\n";
    write(dir.path(), "kong/kong.yaml", config);
    write(dir.path(), "gateform.toml", &staging(&sb));
    let p = dir.path();
    gateform_in(p, &["apply", "--env", "staging", "--auto-approve"], &[]).ok();
    let dump = gateform_in(p, &["dump", "--env", "staging", "--format", "json", "-o", "dump.json"], &[]);
    dump.ok();
    let text = std::fs::read_to_string(p.join("dump.json")).unwrap();
    let doc: Value = serde_json::from_str(&text).expect("a JSON dump is JSON");
    assert_eq!(doc["_info"]["select_tags"], json!(["platform"]), "the environment's scope: {text}");
    let key = doc["consumers"][0]["keyauth_credentials"][0]["key"].as_str().unwrap();
    let var = key.split('`').nth(1).unwrap();
    let plan = gateform_in(p, &["plan", "--env", "staging", "-s", "dump.json"], &[(var, "k\"ey\\with-quote")]);
    plan.ok();
    assert!(plan.stdout.contains("No changes."), "{}{}", plan.stdout, plan.stderr);
    let filters = [(sb.url.as_str(), "[SANDBOX]"), (var, "[VARIABLE]")];
    insta::assert_snapshot!("dump_env_json", [&dump, &plan].map(|r| normalized(r, &filters)).join("\n"));
}

/// Item 10: drift says drift, and warns of an untagged plugin on a managed service.
#[test]
fn drift_says_drift_and_warns_of_unmanaged_entities_on_managed_ones() {
    let sb = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "kong/kong.yaml", KONG);
    write(dir.path(), "gateform.toml", &staging(&sb));
    let p = dir.path();
    gateform_in(p, &["apply", "--env", "staging", "--auto-approve"], &[]).ok();
    let service = sb.list("/services")[0]["id"].as_str().unwrap().to_owned();
    sb.send("PATCH", &format!("/services/{service}"), Some(json!({"retries": 9}))).unwrap();
    sb.send(
        "POST",
        &format!("/services/{service}/plugins"),
        Some(json!({"name": "rate-limiting", "config": {"minute": 5}})),
    )
    .unwrap();
    let drift = gateform_in(p, &["drift", "--env", "staging"], &[]);
    insta::assert_snapshot!("drift", normalized(&drift, &[(sb.url.as_str(), "[SANDBOX]")]));
    assert_eq!(drift.code, 2);
}

/// Item 11: replay without a target refuses; `--markdown-dir` implies Markdown and refuses
/// another format.
#[test]
fn replay_needs_a_target_and_markdown_dir_implies_markdown() {
    let sb = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    repo(dir.path(), &[("kong.yaml", KONG)]);
    let p = dir.path();
    let replay = gateform_in(p, &["replay", "--ref", "HEAD"], &[]);
    let md = gateform_in(p, &["plan", "--gateway", &sb.url, "-s", "kong.yaml", "--markdown-dir", "comments"], &[]);
    let json = gateform_in(
        p,
        &["plan", "--gateway", &sb.url, "-s", "kong.yaml", "--markdown-dir", "c", "--format", "json"],
        &[],
    );
    let all = [&replay, &md, &json].map(|r| normalized(r, &[(sb.url.as_str(), "[SANDBOX]")])).join("\n");
    insta::assert_snapshot!("replay_and_markdown_dir", all);
    assert!(std::fs::read_to_string(p.join("comments/plan-1.md")).unwrap().contains("orders"));
    assert!(sb.list("/services").is_empty(), "nothing was applied");
}
