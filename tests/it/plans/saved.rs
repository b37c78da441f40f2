//! `plan --out FILE` then `apply FILE`: exactly the reviewed plan, or a refusal that
//! touches nothing.

use serde_json::json;

use crate::common::{TestSandbox, gateform, write};

const CONFIG: &str = r#"
_format_version: "3.0"
services:
  - name: catalog
    host: catalog.internal
    routes:
      - name: catalog-api
        paths: [/catalog]
consumers:
  - username: shop
"#;

fn save_plan(sb: &TestSandbox, dir: &std::path::Path) -> (String, String) {
    let file = write(dir, "kong.yaml", CONFIG);
    let plan = dir.join("plan.json").to_string_lossy().into_owned();
    let run = gateform(&["plan", "--gateway", &sb.url, "-s", &file, "--out", &plan]);
    run.ok();
    assert!(run.stderr.contains("Saved the plan to"), "{}", run.stderr);
    (file, plan)
}

#[test]
fn an_untouched_plan_applies_and_a_fresh_plan_is_empty() {
    let sb = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    let (file, plan) = save_plan(&sb, dir.path());
    let saved: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    assert_eq!(saved["summary"], json!({"add": 3, "change": 0, "destroy": 0}));
    assert!(saved["fingerprint"]["digest"].is_string());
    let run = gateform(&["apply", &plan]);
    run.ok();
    assert!(run.stdout.contains("Apply complete! Resources: 3 added, 0 changed, 0 destroyed."), "{}", run.stdout);
    let again = gateform(&["plan", "--gateway", &sb.url, "-s", &file]);
    again.ok();
    assert!(again.stdout.contains("No changes."), "{}", again.stdout);
}

#[test]
fn a_stale_plan_is_refused_and_the_gateway_is_untouched() {
    let sb = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    let (_, plan) = save_plan(&sb, dir.path());
    // Someone else changes the gateway after the review.
    sb.send("POST", "/services", Some(json!({"name": "hotfix", "host": "hotfix.internal"}))).unwrap();
    let requests_before = sb.sandbox().request_counts();
    let run = gateform(&["apply", &plan]);
    run.expect_code(1);
    assert!(run.stderr.contains("Saved plan is stale"), "{}", run.stderr);
    assert!(run.stderr.contains("services \"hotfix\" added"), "names what changed: {}", run.stderr);
    let writes_after: u64 =
        sb.sandbox().request_counts().iter().filter(|(m, _)| m.as_str() != "GET").map(|(_, n)| n).sum();
    let writes_before: u64 = requests_before.iter().filter(|(m, _)| m.as_str() != "GET").map(|(_, n)| n).sum();
    assert_eq!(writes_after, writes_before, "not a single write");
    assert_eq!(sb.list("/services").len(), 1);
}

#[test]
fn a_changed_configuration_is_refused() {
    let sb = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    let (file, plan) = save_plan(&sb, dir.path());
    std::fs::write(&file, CONFIG.replace("catalog.internal", "other.internal")).unwrap();
    let run = gateform(&["apply", &plan]);
    run.expect_code(1);
    assert!(run.stderr.contains("changed since"), "{}", run.stderr);
    assert!(sb.list("/services").is_empty());
}

#[test]
fn tampered_truncated_and_foreign_plans_are_refused() {
    let sb = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    let (_, plan) = save_plan(&sb, dir.path());
    let text = std::fs::read_to_string(&plan).unwrap();

    let edited = dir.path().join("edited.json");
    std::fs::write(&edited, text.replace("\"catalog-api\"", "\"evil-api\"")).unwrap();
    let run = gateform(&["apply", edited.to_str().unwrap()]);
    run.expect_code(1);
    assert!(run.stderr.contains("was modified after it was written"), "{}", run.stderr);

    let truncated = dir.path().join("truncated.json");
    std::fs::write(&truncated, &text[..text.len() / 3]).unwrap();
    let run = gateform(&["apply", truncated.to_str().unwrap()]);
    run.expect_code(1);
    assert!(run.stderr.contains("is not a gateform plan file"), "{}", run.stderr);

    let other = TestSandbox::start();
    let run = gateform(&["apply", &plan, "--gateway", &other.url]);
    run.expect_code(1);
    assert!(run.stderr.contains("was made for the gateway"), "{}", run.stderr);
    assert!(sb.list("/services").is_empty() && other.list("/services").is_empty());
}

#[test]
fn plans_from_stdin_cannot_be_saved() {
    let sb = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    let plan = dir.path().join("p.json");
    let run = gateform(&["plan", "--gateway", &sb.url, "-s", "-", "--out", plan.to_str().unwrap()]);
    run.expect_code(1);
    assert!(run.stderr.contains("not on stdin"), "{}", run.stderr);
    assert!(!plan.exists());
}
