//! A failure in the middle of an apply: reported with the gateway's own message, nothing
//! new started after it, and a re-run converges.

use std::collections::BTreeMap;

use gateform::kong::sandbox::FaultRule;
use serde_json::json;

use super::{apply, converge, plan};
use crate::common::{TestSandbox, write};

#[test]
fn a_refused_entity_stops_the_apply_and_a_rerun_converges() {
    let sb = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "kong.yaml",
        r#"
_format_version: "3.0"
services:
  - name: alpha
    host: alpha.internal
    routes:
      - name: alpha-route
        paths: [/alpha]
        plugins:
          - name: cors
  - name: beta
    host: beta.internal
"#,
    );
    // The gateway refuses every write to routes, with a Kong error body.
    sb.sandbox().inject_fault(FaultRule {
        method: Some("PUT".into()),
        path: "/routes/*".into(),
        status: Some(400),
        body: Some(json!({"code": 2, "name": "schema violation", "message": "schema violation (paths: refused by the test)", "fields": {"paths": "refused by the test"}})),
        headers: BTreeMap::new(),
        times: None,
        delay_ms: 0,
    });
    let run = apply(&sb, &file);
    run.expect_code(1);
    assert!(run.stderr.contains("routes \"alpha-route\": Creation failed"), "{}", run.stderr);
    assert!(
        run.stderr.contains("schema violation (paths: refused by the test)"),
        "Kong's message is shown: {}",
        run.stderr
    );
    assert!(run.stderr.contains("Not attempted:"), "{}", run.stderr);
    assert!(run.stderr.contains("plugins \"cors\" (route \"alpha-route\") (create)"), "{}", run.stderr);
    assert!(sb.list("/plugins").is_empty(), "nothing that depends on the failed route was sent");

    // Once the cause is gone, the same command converges.
    sb.sandbox().clear_faults();
    let before = plan(&sb, &file);
    before.ok();
    assert!(before.stdout.contains("to add"), "{}", before.stdout);
    converge(&sb, &file);
    assert_eq!(sb.list("/routes").len(), 1);
    assert_eq!(sb.list("/plugins").len(), 1);
}

#[test]
fn transient_errors_are_retried() {
    let sb = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    let file =
        write(dir.path(), "kong.yaml", "_format_version: \"3.0\"\nservices:\n  - name: s\n    host: s.internal\n");
    let mut headers = BTreeMap::new();
    headers.insert("Retry-After".to_owned(), "0".to_owned());
    sb.sandbox().inject_fault(FaultRule {
        method: Some("PUT".into()),
        path: "/services/*".into(),
        status: Some(429),
        body: Some(json!({"message": "API rate limit exceeded"})),
        headers,
        times: Some(2),
        delay_ms: 0,
    });
    sb.sandbox().inject_fault(FaultRule {
        method: Some("GET".into()),
        path: "/services".into(),
        status: Some(503),
        body: Some(json!({"message": "busy"})),
        headers: BTreeMap::new(),
        times: Some(1),
        delay_ms: 0,
    });
    converge(&sb, &file);
    assert_eq!(sb.list("/services").len(), 1);
}

#[test]
fn apply_without_a_terminal_needs_auto_approve() {
    let sb = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    let file =
        write(dir.path(), "kong.yaml", "_format_version: \"3.0\"\nservices:\n  - name: s\n    host: s.internal\n");
    let run = crate::common::gateform(&["apply", "--gateway", &sb.url, "-s", &file]);
    run.expect_code(1);
    assert!(run.stderr.contains("--auto-approve"), "{}", run.stderr);
    assert!(sb.list("/services").is_empty());
}

#[test]
fn unreachable_gateway_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let file =
        write(dir.path(), "kong.yaml", "_format_version: \"3.0\"\nservices:\n  - name: s\n    host: s.internal\n");
    let run = crate::common::gateform(&["plan", "--gateway", "http://127.0.0.1:9", "-s", &file]);
    run.expect_code(1);
    assert!(run.stderr.contains("cannot read the gateway"), "{}", run.stderr);
}

const THREE: &str = r#"_format_version: "3.0"
services:
  - name: one
    host: one.internal
    routes: [{name: one-route, paths: [/one]}]
  - name: two
    host: two.internal
    routes: [{name: two-route, paths: [/two]}]
  - name: three
    host: three.internal
    routes: [{name: three-route, paths: [/three]}]
"#;

/// Refuses every write of the service `name` (its id comes from a JSON plan).
fn refuse_service(sb: &TestSandbox, file: &str, name: &str) {
    let run = crate::common::gateform(&["plan", "--gateway", &sb.url, "-s", file, "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let change = doc["changes"].as_array().unwrap().iter().find(|c| c["key"] == name).unwrap();
    sb.sandbox().inject_fault(FaultRule {
        method: Some("PUT".into()),
        path: format!("/services/{}", change["id"].as_str().unwrap()),
        status: Some(400),
        body: Some(json!({"message": "refused by the test"})),
        headers: BTreeMap::new(),
        times: None,
        delay_ms: 0,
    });
}

#[test]
fn a_refused_service_stops_only_what_depends_on_it() {
    let sb = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "kong.yaml", THREE);
    refuse_service(&sb, &file, "two");
    let run = apply(&sb, &file);
    run.expect_code(1);
    assert!(run.stderr.contains("services \"two\": Creation failed"), "{}", run.stderr);
    assert!(run.stderr.contains("refused by the test"), "{}", run.stderr);
    assert!(
        run.stderr.contains("routes \"two-route\" (create): depends on services \"two\", which failed"),
        "{}",
        run.stderr
    );
    let names = |path: &str| -> Vec<String> {
        let mut n: Vec<String> = sb.list(path).iter().map(|r| r["name"].as_str().unwrap().to_owned()).collect();
        n.sort();
        n
    };
    assert_eq!(names("/services"), ["one", "three"]);
    assert_eq!(names("/routes"), ["one-route", "three-route"]);
}

#[test]
fn fail_fast_starts_nothing_after_the_first_failure() {
    let sb = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "kong.yaml", THREE);
    refuse_service(&sb, &file, "one");
    let args = ["apply", "--gateway", &sb.url, "-s", &file, "--auto-approve", "--parallelism", "1", "--fail-fast"];
    let run = crate::common::gateform(&args);
    run.expect_code(1);
    assert!(run.stderr.contains("services \"one\": Creation failed"), "{}", run.stderr);
    assert!(run.stderr.contains("Applied: 0 added, 0 changed, 0 destroyed."), "{}", run.stderr);
    assert!(sb.list("/services").is_empty(), "nothing was created after the failure");
    assert!(run.stderr.contains("  - services \"three\" (create)\n"), "{}", run.stderr);
}

#[test]
fn ctrl_c_during_an_apply_finishes_what_is_in_flight_reports_and_records() {
    use std::io::{BufRead, BufReader};
    let sb = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("_format_version: \"3.0\"\nservices:\n");
    for i in 0..8 {
        text.push_str(&format!("  - name: s{i}\n    host: s{i}.internal\n"));
    }
    let file = write(dir.path(), "kong.yaml", &text);
    // Every write takes 300 ms: the interrupt arrives while requests are in flight.
    sb.sandbox().inject_fault(FaultRule {
        method: Some("PUT".into()),
        path: "/services/*".into(),
        status: None,
        body: None,
        headers: BTreeMap::new(),
        times: None,
        delay_ms: 300,
    });
    let ledger = dir.path().join("ledger.db");
    let mut child = crate::common::gateform_cmd()
        .args(["apply", "--gateway", &sb.url, "-s", &file, "--auto-approve", "--parallelism", "2"])
        .arg("--ledger")
        .arg(&ledger)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    let mut line = String::new();
    while stdout.read_line(&mut line).unwrap() > 0 {
        seen.push_str(&line);
        if line.contains("Creation complete") {
            break;
        }
        line.clear();
    }
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    seen.push_str(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(out.status.code(), Some(1), "{seen}\n{stderr}");
    assert!(stderr.contains("Interrupt received"), "{stderr}");
    assert!(stderr.contains("Error: apply interrupted; requests in flight were finished"), "{stderr}");
    assert!(stderr.contains("Not attempted:"), "{stderr}");
    let created = sb.list("/services").len();
    assert!((1..8).contains(&created), "some, not all, were created: {created}");
    let history = crate::common::gateform(&["history", "--ledger", ledger.to_str().unwrap(), "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&history.stdout).unwrap();
    let run = &doc["runs"][0];
    assert_eq!(run["result"], "interrupted", "{run}");
    assert_eq!(run["outcomes"]["applied"].as_u64(), Some(created as u64), "{run}");
}
