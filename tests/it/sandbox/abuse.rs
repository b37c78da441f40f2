//! Hostile HTTP against the sandbox (robustness issue, items 8–10): bodies built to exhaust
//! the stack or memory, bad escapes, slow clients, too many connections, and a bounded
//! barrage of malformed requests after which the state must be intact. Loopback only.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{Sb, db, start, status_of};
use gateform::kong::sandbox::{Limits, SandboxOptions};

async fn form(s: &Sb, path: &str, body: String) -> (u16, Value) {
    let r = s
        .client
        .post(s.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    let st = r.status().as_u16();
    (st, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn item8_nested_and_exploding_bodies_get_bounded_400s() {
    let s = db().await;
    let dotted = format!("{}=1", vec!["a"; 5000].join("."));
    let (st, b) = form(&s, "/services", dotted).await;
    assert_eq!(st, 400);
    assert!(b["message"].as_str().unwrap().starts_with("Cannot parse form body"), "{b}");
    let bracketed = format!("a{}=1", "[a]".repeat(3000));
    assert_eq!(form(&s, "/services", bracketed).await.0, 400);
    // Array indexes: 21 KB of them must not allocate gigabytes.
    let indexes: Vec<String> = (0..1500).map(|i| format!("t[{}]=x", 999_000_000 + i)).collect();
    assert_eq!(form(&s, "/services", indexes.join("&")).await.0, 400);
    let sparse: Vec<String> = (0..900).map(|i| format!("a{i}[1000]=x")).collect();
    let (st, b) = form(&s, "/services", sparse.join("&")).await;
    assert_eq!((st, &b["message"]), (400, &json!("Cannot parse form body: arrays are too sparse")));
    // Nested multipart names
    let name = format!("a{}", "[a]".repeat(3000));
    let body = format!("--XB\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n1\r\n--XB--\r\n");
    let r = s
        .client
        .post(s.url("/services"))
        .header("content-type", "multipart/form-data; boundary=XB")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    // DB-less /config: deep YAML and an alias bomb are refused before the document is built.
    let dbless = start(SandboxOptions { db_less: true, ..Default::default() }).await;
    let deep = format!("_format_version: \"3.0\"\nx: {}1{}\n", "[".repeat(15_000), "]".repeat(15_000));
    let yaml = |text: String| {
        dbless.client.post(dbless.url("/config")).header("content-type", "application/yaml").body(text).send()
    };
    let r = yaml(deep).await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let b: Value = r.json().await.unwrap();
    assert_eq!(b["code"], 14);
    // Flow collections hit the YAML parser's own recursion limit first.
    assert!(b["fields"]["error"].as_str().unwrap().contains("recursion limit exceeded"), "{b}");
    let block: String = (0..15_000).map(|_| "- ").collect::<String>() + "1\n";
    let r = yaml(block).await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let b: Value = r.json().await.unwrap();
    assert!(b["fields"]["error"].as_str().unwrap().contains("nesting deeper than 128"), "{b}");
    let mut bomb = String::from("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
    for (p, c) in "abcdefgh".chars().zip("bcdefghi".chars()) {
        bomb.push_str(&format!("{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"));
    }
    let r = yaml(bomb).await.unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let b: Value = r.json().await.unwrap();
    assert!(b["fields"]["error"].as_str().unwrap().contains("aliases expand"), "{b}");
    // Still serving.
    assert_eq!(s.get("/").await.0, 200);
    assert_eq!(dbless.get("/").await.0, 200);
}

#[tokio::test]
async fn item9_escape_next_to_a_multibyte_character_is_a_400() {
    let s = db().await;
    let resp = s.raw(b"GET /services/%e\xc3\xa9 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
    assert_eq!(status_of(&resp), 400, "{resp}");
    assert!(resp.contains("\"code\":10"), "{resp}");
    let resp = s.raw(b"GET /tags/%\xc3\xa9 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
    assert_eq!(status_of(&resp), 200, "a valid tag: {resp}");
}

// Real time (the sandbox's timers are hyper's on the runtime clock): 300 ms and 500 ms waits.
#[tokio::test]
async fn item10_slow_clients_time_out_and_connections_are_capped() {
    let limits = Limits { header_read_timeout_ms: 300, ..Limits::default() };
    let fast = start(SandboxOptions { limits, ..Default::default() }).await;
    // A client that never finishes its headers is disconnected after the timeout.
    let mut slow = TcpStream::connect(fast.sb.addr()).await.unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), slow.read_to_end(&mut buf)).await;
    assert!(read.is_ok(), "the slow connection is closed by the server");
    let limits = Limits { max_connections: 2, ..Limits::default() };
    let s = start(SandboxOptions { limits, ..Default::default() }).await;
    // Two idle connections fill the cap: a third waits until one goes away.
    let c1 = TcpStream::connect(s.sb.addr()).await.unwrap();
    let _c2 = TcpStream::connect(s.sb.addr()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut c3 = TcpStream::connect(s.sb.addr()).await.unwrap();
    c3.write_all(b"GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut out = Vec::new();
    let waited = tokio::time::timeout(Duration::from_millis(500), c3.read_to_end(&mut out)).await;
    assert!(waited.is_err(), "served beyond the cap: {}", String::from_utf8_lossy(&out));
    drop(c1);
    tokio::time::timeout(Duration::from_secs(5), c3.read_to_end(&mut out)).await.unwrap().unwrap();
    assert_eq!(status_of(&String::from_utf8_lossy(&out)), 200);
}

/// A bounded barrage (a few hundred requests, each bounded in time) of malformed and
/// hostile requests; afterwards every entity is as it was and the sandbox still answers.
#[tokio::test]
async fn abusive_http_leaves_the_state_intact() {
    let limits = Limits {
        max_body_bytes: 64 * 1024,
        header_read_timeout_ms: 500,
        body_read_timeout_ms: 500,
        ..Limits::default()
    };
    let s = start(SandboxOptions { limits, ..Default::default() }).await;
    s.create("/services", json!({"name": "svc", "url": "http://a.test/x", "tags": ["keep"]})).await;
    s.create("/services/svc/routes", json!({"name": "r", "paths": ["/r"]})).await;
    s.create("/consumers", json!({"username": "bob"})).await;
    s.create("/consumers/bob/key-auth", json!({"key": "k"})).await;
    let snapshot = || async {
        let mut all = Vec::new();
        for p in ["/services", "/routes", "/consumers", "/key-auths", "/plugins"] {
            all.push(s.get(p).await);
        }
        all
    };
    let before = snapshot().await;
    let deep_form = format!("{}=1", vec!["a"; 2000].join("."));
    let big = "x".repeat(200 * 1024);
    let cases: Vec<Vec<u8>> = vec![
        b"GARBAGE\r\n\r\n".to_vec(),
        b"GET / HTTP/9.9\r\n\r\n".to_vec(),
        b"GET /services/%zz%%%\r\n\r\n".to_vec(),
        b"GET /tags/\xff HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        b"GET /services/%e\xc3\xa9 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(),
        format!("GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "h".repeat(200_000)).into_bytes(),
        b"POST /services HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n{\"name\":".to_vec(),
        b"POST /services HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5\r\nConnection: close\r\n\r\n{{{{{".to_vec(),
        b"POST /services HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\nzz\r\n".to_vec(),
        format!(
            "POST /services HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{deep_form}",
            deep_form.len()
        )
        .into_bytes(),
        format!(
            "POST /services HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{big}",
            big.len()
        )
        .into_bytes(),
        format!("DELETE /services/svc{} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "%2F..".repeat(50)).into_bytes(),
        b"PATCH /services/svc HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}".to_vec(),
        b"PUT /services/svc HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
        format!("GET /services?{} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", "a=1&".repeat(2000)).into_bytes(),
        b"POST /config HTTP/1.1\r\nHost: x\r\nContent-Type: application/yaml\r\nContent-Length: 8\r\nConnection: close\r\n\r\n&a [*a]\n".to_vec(),
    ];
    let started = std::time::Instant::now();
    for round in 0..6 {
        for case in &cases {
            let resp = tokio::time::timeout(Duration::from_secs(10), s.raw(case)).await.expect("bounded");
            assert!(
                !resp.contains(" 500 "),
                "case {:?} → {resp}",
                String::from_utf8_lossy(&case[..case.len().min(80)])
            );
        }
        // A few half-open connections closed early on each round.
        for _ in 0..4 {
            let mut c = TcpStream::connect(s.sb.addr()).await.unwrap();
            let _ = c.write_all(b"POST /services HTTP/1.1\r\nContent-Length: 1000\r\n\r\n{").await;
            drop(c);
        }
        assert_eq!(s.get("/status").await.0, 200, "round {round}");
    }
    assert!(started.elapsed() < Duration::from_secs(60));
    assert_eq!(snapshot().await, before, "state changed under abuse");
    assert_eq!(s.call("PATCH", "/services/svc", Some(json!({"retries": 1}))).await.0, 200);
}
