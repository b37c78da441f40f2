//! The real `gateform sandbox` binary.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[tokio::test]
async fn binary_prints_its_address_and_serves() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gateform"))
        .args(["sandbox", "--listen", "127.0.0.1:0", "--db-less", "--custom-plugin", "pep-plugin"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn");
    let stderr = child.stderr.take().expect("stderr");
    let mut line = String::new();
    BufReader::new(stderr).read_line(&mut line).expect("read");
    let url = line.trim().strip_prefix("Listening on ").expect("address line").to_owned();
    let client = super::client();
    let r = client.get(format!("{url}/")).send().await.expect("GET /");
    assert_eq!(r.status().as_u16(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["configuration"]["database"], "off");
    assert!(body["plugins"]["available_on_server"]["pep-plugin"].is_object());
    let _ = child.kill();
    let _ = child.wait();
}

/// Offline `validate` shares the sandbox's schemas: Kong 3.9's `check_hostname` takes a
/// 64-character label (fidelity item 7), and still refuses a label ending in `-`.
#[test]
fn validate_takes_a_64_character_label() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kong.yaml");
    let host = format!("{}.test", "a".repeat(64));
    std::fs::write(&file, format!("_format_version: \"3.0\"\nservices:\n- name: long\n  host: {host}\n")).unwrap();
    let run = crate::common::gateform(&["validate", "-s", &file.to_string_lossy()]);
    run.expect_code(0);
    std::fs::write(&file, "_format_version: \"3.0\"\nservices:\n- name: bad\n  host: a-.test\n").unwrap();
    let run = crate::common::gateform(&["validate", "-s", &file.to_string_lossy()]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("invalid value: a-.test") || run.stdout.contains("invalid value: a-.test"),
        "{}",
        run.stderr
    );
}
