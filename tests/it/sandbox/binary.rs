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
