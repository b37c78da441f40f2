//! decK and Terraform habits (issue 13, item 13): `--headers`, `DECK_KONG_ADDR` and
//! `DECK_HEADERS`, `gateform show PLANFILE`, `history --at` in the forms people type, the
//! OS user when `$USER` is unset, plan JSON keys without quotes.

use serde_json::Value;

use super::{FakeServer, gateform_in, normalized};
use crate::common::{TestSandbox, write};

const KONG: &str = r#"_format_version: "3.0"
services:
  - name: orders
    host: orders.internal
    plugins:
      - name: cors
"#;

/// `--headers` is `--header`; `DECK_HEADERS` adds headers, `DECK_KONG_ADDR` names the
/// gateway after the flags and `GATEFORM_GATEWAY`.
#[test]
fn deck_flags_and_variables_are_honoured() {
    let server = FakeServer::start("200 OK", "text/html", "<html></html>");
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "kong.yaml", KONG);
    let env = [("DECK_KONG_ADDR", server.url.as_str()), ("DECK_HEADERS", "X-One:1,X-Two: two")];
    let run = gateform_in(dir.path(), &["plan", "-s", "kong.yaml", "--headers", "X-Three: 3"], &env);
    assert_eq!(run.code, 1, "the stand-in is no Kong, but it was asked: {}", run.stderr);
    insta::assert_snapshot!("deck_kong_addr", normalized(&run, &[(server.url.as_str(), "[URL]")]));
    let head = server.requests.lock().unwrap()[0].to_ascii_lowercase();
    for h in ["x-one: 1", "x-two: two", "x-three: 3"] {
        assert!(head.contains(h), "{h} missing from {head}");
    }
    // GATEFORM_GATEWAY goes first.
    let sb = TestSandbox::start();
    let run = gateform_in(dir.path(), &["plan", "-s", "kong.yaml"], &[env[0], ("GATEFORM_GATEWAY", &sb.url)]);
    run.ok();
    assert!(run.stdout.contains(&format!("Gateway: {} (Kong", sb.url)), "{}", run.stdout);
}

/// `gateform show PLANFILE` prints the saved plan as `plan` did; the plan JSON's `key`
/// holds no quotes (format 2).
#[test]
fn show_renders_a_saved_plan_and_json_keys_are_plain() {
    let sb = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "kong.yaml", KONG);
    let p = dir.path();
    let plan = gateform_in(p, &["plan", "--gateway", &sb.url, "-s", "kong.yaml", "--out", "plan.json"], &[]);
    plan.ok();
    let show = gateform_in(p, &["show", "plan.json"], &[]);
    let filters = [(sb.url.as_str(), "[SANDBOX]")];
    insta::assert_snapshot!("show", normalized(&show, &filters));
    let plan_body = plan.stdout.split_once("\n\n").map(|(_, b)| b).unwrap_or_default();
    assert!(show.stdout.contains(plan_body), "the same blocks as plan:\n{}\n---\n{}", plan.stdout, show.stdout);
    let json = gateform_in(p, &["plan", "--gateway", &sb.url, "-s", "kong.yaml", "--format", "json"], &[]);
    let doc: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(doc["format_version"], "2");
    let keys: Vec<&str> = doc["changes"].as_array().unwrap().iter().filter_map(|c| c["key"].as_str()).collect();
    assert_eq!(keys, ["orders", "cors (service orders)"]);
    let shown: Value =
        serde_json::from_str(&gateform_in(p, &["show", "plan.json", "--format", "json"], &[]).stdout).unwrap();
    assert_eq!(shown["changes"], doc["changes"]);
    // A damaged file is refused, not shown.
    let text = std::fs::read_to_string(p.join("plan.json")).unwrap().replace("orders", "orderz");
    write(p, "edited.json", &text);
    let edited = gateform_in(p, &["show", "edited.json"], &[]);
    assert_eq!(edited.code, 1);
    assert!(edited.stderr.contains("was modified after it was written"), "{}", edited.stderr);
}

/// `history --at` takes `YYYY-MM-DD HH:MM[:SS]` and `2h ago`; without `$USER` the run is
/// the OS user's.
#[test]
fn history_at_takes_the_forms_people_type_and_runs_have_a_user() {
    let sb = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "kong.yaml", KONG);
    let p = dir.path();
    let ledger = p.join("ledger.db").to_string_lossy().into_owned();
    let mut cmd = crate::common::gateform_cmd();
    cmd.args(["apply", "--gateway", &sb.url, "-s", "kong.yaml", "--auto-approve", "--ledger", &ledger]).current_dir(p);
    for v in ["USER", "USERNAME", "LOGNAME"] {
        cmd.env_remove(v);
    }
    assert!(cmd.stdin(std::process::Stdio::null()).status().unwrap().success());
    let runs = gateform_in(p, &["history", "--gateway", &sb.url, "--ledger", &ledger, "--format", "json"], &[]);
    let doc: Value = serde_json::from_str(&runs.stdout).unwrap();
    let os_user = String::from_utf8(std::process::Command::new("id").arg("-un").output().unwrap().stdout).unwrap();
    assert_eq!(doc["runs"][0]["user"], os_user.trim(), "{}", runs.stdout);
    let at = |when: &str| gateform_in(p, &["history", "--gateway", &sb.url, "--ledger", &ledger, "--at", when], &[]);
    let tomorrow =
        humantime::format_rfc3339_seconds(std::time::SystemTime::now() + std::time::Duration::from_secs(86400))
            .to_string()
            .replace('T', " ")
            .trim_end_matches('Z')
            .to_owned();
    let found = at(&tomorrow[..16]);
    assert_eq!(found.code, 0, "{}", found.stderr);
    assert!(found.stdout.contains("applied by run #"), "{}", found.stdout);
    assert_eq!(at("in 2 hours").code, 1);
    let before = at("2h ago");
    assert_eq!(before.code, 1, "nothing had been applied two hours ago: {}", before.stdout);
    assert!(before.stderr.contains("had finished by"), "{}", before.stderr);
    let invalid = at("yesterday-ish");
    assert!(invalid.stderr.contains("YYYY-MM-DD HH:MM[:SS] in UTC, or a time ago (2h ago)"), "{}", invalid.stderr);
    let filters = [(sb.url.as_str(), "[SANDBOX]"), (ledger.as_str(), "[LEDGER]")];
    insta::assert_snapshot!("history_at_forms", [&before, &invalid].map(|r| normalized(r, &filters)).join("\n"));
}
