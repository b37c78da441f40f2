//! The real `gateform sandbox --dialect tyk` binary.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::common::gateform;

#[tokio::test]
async fn the_binary_serves_tyk_nodes_from_a_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("apps")).unwrap();
    std::fs::write(dir.path().join("apps/quickstart.json"), super::classic("3", "/quickstart/").to_string()).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_gateform"))
        .args(["sandbox", "--dialect", "tyk", "--listen", "127.0.0.1:0", "--nodes", "2", "--secret", "s3cret-value"])
        .arg("--data")
        .arg(dir.path())
        .env_remove("TYK_GW_SECRET")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut urls = Vec::new();
    for _ in 0..2 {
        let mut line = String::new();
        stderr.read_line(&mut line).expect("read");
        urls.push(line.trim().strip_prefix("Listening on ").expect("address line").to_owned());
    }
    assert_ne!(urls[0], urls[1]);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    for url in &urls {
        let r =
            client.get(format!("{url}/tyk/apis/3")).header("x-tyk-authorization", "s3cret-value").send().await.unwrap();
        assert_eq!(r.status().as_u16(), 200, "{url}");
        let r = client.get(format!("{url}/tyk/apis")).header("x-tyk-authorization", "wrong").send().await.unwrap();
        assert_eq!(r.status().as_u16(), 403);
    }
    let r = client
        .post(format!("{}/tyk/apis", urls[0]))
        .header("x-tyk-authorization", "s3cret-value")
        .body(super::classic("new", "/new/").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(dir.path().join("apps/new.json").is_file(), "writes are real files under --data");
    let _ = child.kill();
    let _ = child.wait();
}

#[test]
fn dialect_flags_do_not_mix() {
    let run = gateform(&["sandbox", "--secret", "x", "--listen", "127.0.0.1:0"]);
    run.expect_code(1);
    assert!(run.stderr.contains("--secret and --nodes apply to --dialect tyk only"), "{}", run.stderr);
    let run = gateform(&["sandbox", "--dialect", "tyk", "--db-less", "--listen", "127.0.0.1:0"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("--db-less, --enterprise and --custom-plugin apply to --dialect kong only"),
        "{}",
        run.stderr
    );
    let run = gateform(&["sandbox", "--dialect", "tyk", "--nodes", "0", "--listen", "127.0.0.1:0"]);
    run.expect_code(1);
}
