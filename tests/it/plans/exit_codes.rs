//! `--detailed-exitcode` and `drift`: 0 no changes, 1 error, 2 changes; every error exits
//! non-zero in every format.

use serde_json::Value;

use crate::common::{TestSandbox, gateform, write};
use crate::engine::converge;

const CONFIG: &str = "_format_version: \"3.0\"\nservices:\n  - name: s\n    host: s.internal\n";

#[test]
fn plan_detailed_exitcode() {
    let sb = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "kong.yaml", CONFIG);
    gateform(&["plan", "--gateway", &sb.url, "-s", &file, "--detailed-exitcode"]).expect_code(2);
    gateform(&["plan", "--gateway", &sb.url, "-s", &file]).expect_code(0);
    converge(&sb, &file);
    gateform(&["plan", "--gateway", &sb.url, "-s", &file, "--detailed-exitcode"]).expect_code(0);
    let bad = write(dir.path(), "bad.yaml", "_format_version: \"3.0\"\nservices:\n  - name: s\n    port: eighty\n");
    gateform(&["plan", "--gateway", &sb.url, "-s", &bad, "--detailed-exitcode"]).expect_code(1);
}

#[test]
fn drift_reports_in_text_and_json() {
    let sb = TestSandbox::start();
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "kong.yaml", CONFIG);
    converge(&sb, &file);
    let run = gateform(&["drift", "--gateway", &sb.url, "-s", &file]);
    run.expect_code(0);
    assert!(run.stdout.contains("No drift."), "{}", run.stdout);

    // Someone edits the service by hand: drift.
    sb.send("PATCH", "/services/s", Some(serde_json::json!({"retries": 9}))).unwrap();
    let run = gateform(&["drift", "--gateway", &sb.url, "-s", &file]);
    run.expect_code(2);
    assert!(run.stdout.contains("~ retries = 9 -> 5"), "{}", run.stdout);
    let run = gateform(&["drift", "--gateway", &sb.url, "-s", &file, "--format", "json"]);
    run.expect_code(2);
    let doc: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["summary"]["change"], 1);
    assert_eq!(doc["changes"][0]["fields"][0]["path"], "retries");
}

#[test]
fn errors_exit_one_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "kong.yaml", CONFIG);
    for format in ["text", "json", "markdown"] {
        for cmd in ["plan", "drift"] {
            let run =
                gateform(&[cmd, "--gateway", "http://127.0.0.1:9", "-s", &file, "--format", format, "--timeout", "1"]);
            run.expect_code(1);
            if format == "json" {
                let doc: Value =
                    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{cmd}: {e}: {}", run.stdout));
                assert!(doc["error"]["message"].as_str().unwrap().contains("cannot read the gateway"));
            }
        }
    }
    let missing = gateform(&["plan", "-s", "/nonexistent/kong.yaml", "--format", "json"]);
    missing.expect_code(1);
    let run = gateform(&["apply", "-s", &file, "--gateway", "http://127.0.0.1:9", "--auto-approve", "--timeout", "1"]);
    run.expect_code(1);
}
