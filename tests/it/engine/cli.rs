//! Command-line behaviour: diagnostics with positions, online validation, stdin, help.

use std::io::Write;
use std::process::Stdio;

use gateform::kong::sandbox::SandboxOptions;

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
    // A plugin Kong does not bundle must be declared; the gateway must have it.
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "kong.yaml", "_format_version: \"3.0\"\nplugins:\n  - name: my-custom-plugin\n");
    let run = gateform(&["validate", "-s", &file]);
    run.expect_code(1);
    assert!(run.stderr.contains("kong.yaml:3:11: error: plugins[0]: plugin `my-custom-plugin` is neither bundled with Kong nor declared custom"), "{}", run.stderr);
    assert!(run.stderr.contains("--custom-plugin my-custom-plugin"), "{}", run.stderr);
    gateform(&["validate", "-s", &file, "--custom-plugin", "my-custom-plugin"]).ok();
    let run =
        gateform(&["validate", "--online", "--gateway", &sb.url, "-s", &file, "--custom-plugin", "my-custom-plugin"]);
    run.expect_code(1);
    assert!(
        run.stderr
            .contains("kong.yaml:3:11: error: plugins[0]: plugin `my-custom-plugin` is not available on the gateway"),
        "{}",
        run.stderr
    );
    assert!(sb.list("/plugins").is_empty(), "validation writes nothing");
}

#[test]
fn plan_refuses_a_plugin_the_gateway_cannot_load_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let text = "_format_version: \"3.0\"\nservices:\n  - name: s\n    url: http://x\nplugins:\n  - name: my-auth\n    config: {realm: r}\n";
    let file = write(dir.path(), "kong.yaml", text);
    // A gateway without it: the plan names the file and line, and apply writes nothing.
    let sb = TestSandbox::start();
    for cmd in ["plan", "apply"] {
        let mut args = vec![cmd, "--gateway", &sb.url, "-s", &file, "--custom-plugin", "my-auth"];
        if cmd == "apply" {
            args.push("--auto-approve");
        }
        let run = gateform(&args);
        run.expect_code(1);
        assert!(
            run.stderr.contains("kong.yaml:6:11: error: plugins[0]: plugin `my-auth` is not available on the gateway"),
            "{}",
            run.stderr
        );
    }
    assert!(sb.list("/services").is_empty(), "nothing is written");
    // A gateway that has it installed needs no declaration: it is the authority.
    let sb =
        TestSandbox::start_with(SandboxOptions { custom_plugins: vec!["my-auth".into()], ..SandboxOptions::default() });
    gateform(&["apply", "--gateway", &sb.url, "-s", &file, "--auto-approve"]).ok();
    assert_eq!(sb.list("/plugins").len(), 1);
    // Declared in gateform.toml, offline validation accepts it.
    write(
        dir.path(),
        "gateform.toml",
        "[environments.prod]\ngateway = \"http://127.0.0.1:1\"\npath = \"kong.yaml\"\noptions = { custom_plugins = \"my-auth, my-log\" }\n",
    );
    let run = gateform_cmd().current_dir(dir.path()).args(["validate", "--env", "prod"]).output().unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
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
