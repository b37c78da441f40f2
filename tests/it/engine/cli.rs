//! Command-line behaviour: diagnostics with positions, online validation, stdin, help.

use std::io::Write;
use std::process::Stdio;

use crate::common::{TestSandbox, gateform, gateform_cmd, write};

#[test]
fn validate_reports_file_line_and_column_and_exits_one() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "kong.yaml",
        "_format_version: \"3.0\"\nservices:\n  - name: api\n    host: api.internal\n    port: eighty\n    routes:\n      - name: r\n        paths: [/a]\nroutes:\n  - name: orphan\n    service: missing\n    paths: [/b]\n",
    );
    let run = gateform(&["validate", "-s", &file]);
    run.expect_code(1);
    assert!(run.stderr.contains("kong.yaml:5:11: error: services[0].port: expected an integer"), "{}", run.stderr);
    assert!(run.stderr.contains("kong.yaml:11:14"), "the dangling reference is located: {}", run.stderr);
    assert!(run.stderr.contains("missing"), "{}", run.stderr);
}

#[test]
fn validate_checks_kong_schemas_offline() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "kong.yaml",
        "_format_version: \"3.0\"\nservices:\n  - name: api\n    host: api.internal\n    port: 70000\n",
    );
    let run = gateform(&["validate", "-s", &file]);
    run.expect_code(1);
    assert!(
        run.stderr
            .contains("kong.yaml:5:11: error: services[0].port: value should be between 0 and 65535 (service \"api\")"),
        "{}",
        run.stderr
    );
}

#[test]
fn validate_online_asks_the_gateway() {
    let sb = TestSandbox::start();
    let demo = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/demo/kong.yaml");
    let run = gateform(&["validate", "--online", "--gateway", &sb.url, "-s", demo]);
    run.ok();
    assert!(run.stdout.contains("Success!"), "{}", run.stdout);
    // A plugin the gateway does not have is refused by it (offline, only a warning).
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "kong.yaml", "_format_version: \"3.0\"\nplugins:\n  - name: my-custom-plugin\n");
    gateform(&["validate", "-s", &file]).ok();
    let run = gateform(&["validate", "--online", "--gateway", &sb.url, "-s", &file]);
    run.expect_code(1);
    assert!(run.stderr.contains("the gateway refused it"), "{}", run.stderr);
    assert!(sb.list("/plugins").is_empty(), "validation writes nothing");
}

#[test]
fn the_configuration_can_come_from_stdin() {
    let sb = TestSandbox::start();
    let mut child = gateform_cmd()
        .args(["apply", "--gateway", &sb.url, "-s", "-", "--auto-approve"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"_format_version: \"3.0\"\nservices:\n  - name: piped\n    host: p.internal\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(sb.list("/services")[0]["name"], "piped");
}

#[test]
fn help_lists_every_command() {
    let run = gateform(&["--help"]);
    run.ok();
    for cmd in ["validate", "plan", "drift", "apply", "dump", "sandbox"] {
        assert!(run.stdout.contains(cmd), "{cmd} missing from --help:\n{}", run.stdout);
    }
}
