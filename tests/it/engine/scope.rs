//! Ownership scope (`--select-tag`) against entities the gateway holds outside it: a create
//! that would take their id or unique name is refused at plan time naming their tags, and a
//! reference to them by id resolves on the gateway (as decK resolves it).

use serde_json::json;

use crate::common::{TestSandbox, gateform, write};

const THEIRS: &str = "7f000000-0000-4000-8000-0000000000aa";

fn gateway_with_theirs() -> TestSandbox {
    let sb = TestSandbox::start();
    let body = json!({"id": THEIRS, "name": "theirs", "host": "theirs.internal", "tags": ["team-a"]});
    sb.send("POST", "/services", Some(body)).unwrap();
    sb
}

fn run(sb: &TestSandbox, command: &str, file: &str) -> crate::common::Run {
    let mut args = vec![command, "--gateway", &sb.url, "-s", file, "--select-tag", "team-b"];
    if command == "apply" {
        args.push("--auto-approve");
    }
    gateform(&args)
}

#[test]
fn a_create_that_takes_an_unowned_id_is_refused() {
    let sb = gateway_with_theirs();
    let dir = tempfile::tempdir().unwrap();
    let text =
        format!("_format_version: \"3.0\"\nservices:\n  - id: {THEIRS}\n    name: mine\n    host: mine.internal\n");
    let file = write(dir.path(), "kong.yaml", &text);
    for command in ["plan", "apply"] {
        let r = run(&sb, command, &file);
        r.expect_code(1);
        assert!(
            r.stderr.contains(&format!(
                "services \"mine\" would be created with id {THEIRS}, which the gateway already has outside the \
                 ownership scope (its tags are team-a, the scope is team-b)"
            )),
            "{}",
            r.stderr
        );
        assert!(r.stderr.contains("kong.yaml:3:"), "the file and line are named: {}", r.stderr);
    }
    let svc = sb.get(&format!("/services/{THEIRS}"));
    assert_eq!(svc["name"], "theirs", "the unowned service was not overwritten");
}

#[test]
fn a_create_that_takes_an_unowned_name_is_refused() {
    let sb = gateway_with_theirs();
    let dir = tempfile::tempdir().unwrap();
    let file =
        write(dir.path(), "kong.yaml", "_format_version: \"3.0\"\nservices:\n  - name: theirs\n    host: x.internal\n");
    let r = run(&sb, "apply", &file);
    r.expect_code(1);
    assert!(r.stderr.contains("services \"theirs\" would be created with \"theirs\""), "{}", r.stderr);
    assert!(r.stderr.contains("hint: give that entity the scope's tags"), "{}", r.stderr);
    assert_eq!(sb.list("/services").len(), 1);
}

#[test]
fn a_reference_by_id_to_an_unowned_entity_resolves_on_the_gateway() {
    let sb = gateway_with_theirs();
    let dir = tempfile::tempdir().unwrap();
    let text = format!("_format_version: \"3.0\"\nplugins:\n  - name: cors\n    service: {THEIRS}\n");
    let file = write(dir.path(), "kong.yaml", &text);
    run(&sb, "apply", &file).ok();
    let plugins = sb.list("/plugins");
    assert_eq!(plugins.len(), 1);
    assert_eq!(plugins[0]["service"]["id"], THEIRS);
    assert_eq!(plugins[0]["tags"], json!(["team-b"]));
    let again = run(&sb, "plan", &file);
    again.ok();
    assert!(again.stdout.contains("No changes."), "{}", again.stdout);
    // An id the gateway does not have is refused at plan time, with its place.
    let missing = text.replace(THEIRS, "7f000000-0000-4000-8000-0000000000bb");
    let file = write(dir.path(), "missing.yaml", &missing);
    let r = run(&sb, "plan", &file);
    r.expect_code(1);
    assert!(r.stderr.contains("missing.yaml:3:"), "{}", r.stderr);
    assert!(r.stderr.contains("which is neither in the configuration nor on the gateway"), "{}", r.stderr);
}
