//! `gateform watch` end to end: the real binary follows a real Git repository and keeps the
//! in-process sandbox on it; webhooks, drift, guards, `/status`, `/metrics` and SIGTERM.
//! These tests wait for the daemon by polling `/status` with a deadline (never a fixed
//! sleep); the loop's timing itself is tested under paused time in `src/watch/tests`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use gateform::ledger::{AnyLedger, Ledger, LedgerLocation, PgOptions, RunFilter};
use gateform::source::environments::Secret;
use gateform::watch::webhook::sign;
use serde_json::{Value, json};

use crate::common::{TestSandbox, gateform_cmd};
use crate::gitops::Repo;

const V1: &str = r#"_format_version: "3.0"
services:
- name: orders
  url: http://orders.internal:8080
  routes:
  - name: orders
    paths: [/orders]
"#;

/// V1 and a second service.
fn v2() -> String {
    format!("{V1}- name: billing\n  url: http://billing.internal:8080\n")
}

const EMPTY: &str = "_format_version: \"3.0\"\n";

fn settings(gateway: &str, poll: &str) -> String {
    format!(
        r#"[watch]
poll_interval = {poll}
jitter = "0%"
drift_interval = 2
control_token = "${{WATCH_CONTROL}}"

[watch.webhooks]
github_secret = "${{WATCH_GH_SECRET}}"

[environments.prod]
gateway = "{gateway}"
path = "kong"
"#
    )
}

/// The daemon, killed when dropped.
struct Daemon {
    child: Child,
    url: String,
    stderr: mpsc::Receiver<String>,
    http: reqwest::Client,
}

impl Daemon {
    fn start(repo: &Repo, ledger: &std::path::Path, extra: &[&str]) -> Daemon {
        gateform::kong::install_crypto_provider();
        let mut cmd = gateform_cmd();
        cmd.args(["watch", "--repo", &repo.path_str(), "--ref", &repo.branch(), "--listen", "127.0.0.1:0"])
            .arg("--ledger")
            .arg(ledger)
            .args(extra)
            .env("WATCH_CONTROL", "control-token-value")
            .env("WATCH_GH_SECRET", "gh-secret-value")
            .env("RUST_LOG", "gateform=info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("start gateform watch");
        let (tx, rx) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let url = loop {
            let line = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())).expect("a listening line");
            if let Some(addr) = line.split("listening on ").nth(1) {
                break addr.trim().to_owned();
            }
        };
        Daemon { child, url, stderr: rx, http: reqwest::Client::new() }
    }

    fn get(&self, sb: &TestSandbox, path: &str) -> (u16, String) {
        sb.block_on(async {
            let r = self.http.get(format!("{}{path}", self.url)).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        })
    }

    fn post(&self, sb: &TestSandbox, path: &str, headers: &[(&str, &str)], body: &str) -> u16 {
        sb.block_on(async {
            let mut req = self.http.post(format!("{}{path}", self.url)).body(body.to_owned());
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            req.send().await.unwrap().status().as_u16()
        })
    }

    fn status(&self, sb: &TestSandbox) -> Value {
        let (code, body) = self.get(sb, "/status");
        assert_eq!(code, 200, "{body}");
        serde_json::from_str::<Value>(&body).unwrap()["environments"][0].clone()
    }

    /// Waits until `/status` satisfies `ok`, at most `secs` seconds.
    fn wait_for(&self, sb: &TestSandbox, secs: u64, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let s = self.status(sb);
            if ok(&s) {
                return s;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}; status: {s:#}\nlog:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log(&self) -> String {
        self.stderr.try_iter().collect::<Vec<_>>().join("\n")
    }

    /// Sends SIGTERM and waits for the exit code.
    fn terminate(mut self) -> (i32, String) {
        // SAFETY: `kill` on the id of a child process this test started.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let status = self.child.wait().unwrap();
        let log = self.log();
        (status.code().unwrap_or(-1), log)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn applied_commit(s: &Value) -> String {
    s["last_applied"]["commit"]["id"].as_str().unwrap_or_default().to_owned()
}

#[test]
fn a_webhook_applies_a_push_drift_is_healed_and_sigterm_exits_zero() {
    let sb = TestSandbox::start();
    let repo = Repo::new();
    let c1 =
        repo.commit(&[("gateform.toml", Some(&settings(&sb.url, "3600"))), ("kong/kong.yaml", Some(V1))], "orders");
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.db");
    let d = Daemon::start(&repo, &ledger, &["--log-format", "json"]);
    d.wait_for(&sb, 30, "the first commit", |s| applied_commit(s) == c1 && s["sync_status"] == "Synced");
    assert_eq!(sb.get("/services/orders")["name"], "orders");

    // A push, then a webhook: applied long before the hour-long poll.
    let c2 = repo.commit(&[("kong/kong.yaml", Some(&v2()))], "billing");
    let body = json!({"ref": format!("refs/heads/{}", repo.branch()), "after": c2}).to_string();
    assert_eq!(d.post(&sb, "/webhooks/github", &[], &body), 401, "unsigned");
    let wrong = sign(&Secret::new("not-it"), body.as_bytes());
    assert_eq!(d.post(&sb, "/webhooks/github", &[("x-hub-signature-256", &wrong)], &body), 401);
    let s = d.status(&sb);
    assert_eq!(applied_commit(&s), c1, "refused webhooks trigger nothing");
    let sig = sign(&Secret::new("gh-secret-value"), body.as_bytes());
    assert_eq!(d.post(&sb, "/webhooks/github", &[("x-hub-signature-256", &sig)], &body), 202);
    d.wait_for(&sb, 30, "the pushed commit", |s| applied_commit(s) == c2);
    assert_eq!(sb.get("/services/billing")["name"], "billing");

    // A hand edit on the gateway is healed on the drift interval (2 s).
    sb.send("PATCH", "/services/orders", Some(json!({"retries": 1}))).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while sb.get("/services/orders")["retries"] != 5 {
        assert!(Instant::now() < deadline, "drift not healed\n{}", d.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    d.wait_for(&sb, 30, "the correction recorded", |s| s["last_applied"]["run_id"].as_i64() >= Some(3));

    let (code, text) = d.get(&sb, "/metrics");
    assert_eq!(code, 200);
    let success = text
        .lines()
        .find(|l| l.starts_with("gateform_applies_total{environment=\"prod\",outcome=\"success\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0);
    assert!(success >= 3.0, "c1, c2 and the correction: {text}");
    assert!(text.contains("gateform_webhook_requests_total{provider=\"github\",result=\"unauthorized\"} 2"), "{text}");

    let (code, log) = d.terminate();
    assert_eq!(code, 0, "{log}");
    for line in log.lines().filter(|l| l.starts_with('{')) {
        serde_json::from_str::<Value>(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    }
    assert!(!log.contains("gh-secret-value") && !log.contains("control-token-value"), "{log}");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let open = || rt.block_on(AnyLedger::open(&LedgerLocation::Sqlite(ledger.clone()), &PgOptions::default())).unwrap();
    let runs = rt.block_on(open().runs(RunFilter::default())).unwrap();
    assert!(runs.len() >= 3 && runs.iter().all(|r| r.command == "watch"), "{runs:?}");
    assert!(runs.iter().any(|r| r.source.commit.as_deref() == Some(c2.as_str())));
    assert!(rt.block_on(open().locks()).unwrap().is_empty(), "locks released");
}

#[test]
fn a_commit_that_would_empty_the_gateway_is_refused_and_the_next_good_one_applied() {
    let sb = TestSandbox::start();
    let repo = Repo::new();
    let c1 = repo.commit(&[("gateform.toml", Some(&settings(&sb.url, "1"))), ("kong/kong.yaml", Some(V1))], "orders");
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&repo, &dir.path().join("ledger.db"), &[]);
    d.wait_for(&sb, 30, "the first commit", |s| applied_commit(s) == c1);
    let c2 = repo.commit(&[("kong/kong.yaml", Some(EMPTY))], "oops");
    let s = d.wait_for(&sb, 30, "the refusal", |s| s["last_attempted"]["commit"]["id"] == c2.as_str());
    assert_eq!(s["sync_status"], "OutOfSync");
    assert_eq!(s["last_error"]["kind"], "guard");
    assert!(s["last_error"]["message"].as_str().unwrap().contains("every entity in scope"), "{s}");
    assert_eq!(sb.get("/services/orders")["name"], "orders", "nothing deleted");
    let c3 = repo.commit(&[("kong/kong.yaml", Some(&v2()))], "billing");
    let s = d.wait_for(&sb, 30, "the next good commit", |s| applied_commit(s) == c3);
    assert_eq!((s["sync_status"].clone(), s["last_error"].clone()), (json!("Synced"), Value::Null));
    // Suspend through the switch: a push is not applied.
    let auth = [("authorization", "Bearer control-token-value")];
    assert_eq!(d.post(&sb, "/environments/prod/suspend", &auth, ""), 200);
    repo.commit(&[("kong/kong.yaml", Some(V1))], "orders only");
    d.wait_for(&sb, 30, "suspended", |s| s["sync_status"] == "Suspended");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(applied_commit(&d.status(&sb)), c3, "a change freeze");
    let (code, log) = d.terminate();
    assert_eq!(code, 0, "{log}");
    // The refused commit was planned under the lock, in a run of its own, recorded as cancelled.
    let ledger = dir.path().join("ledger.db");
    let history = crate::common::gateform(&["history", "--ledger", ledger.to_str().unwrap(), "--format", "json"]);
    history.ok();
    let doc: Value = serde_json::from_str(&history.stdout).unwrap();
    let runs = doc["runs"].as_array().unwrap();
    let refused: Vec<&Value> = runs.iter().filter(|r| r["source"]["commit"] == c2.as_str()).collect();
    assert_eq!(refused.len(), 1, "{doc:#}");
    assert_eq!(refused[0]["result"], "cancelled", "{doc:#}");
    let message = refused[0]["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("refused by the watch guards: the plan would destroy every entity"), "{doc:#}");
}

#[test]
fn bad_settings_stop_the_daemon_before_it_starts() {
    let repo = Repo::new();
    let bad = "[watch]\ncontrol_token = \"hunter2\"\n\n[environments.prod]\npath = \"kong\"\n";
    repo.commit(&[("gateform.toml", Some(bad)), ("kong/kong.yaml", Some(V1))], "inline secret");
    let run = crate::common::gateform(&["watch", "--repo", &repo.path_str(), "--listen", "127.0.0.1:0"]);
    run.expect_code(1);
    assert!(
        run.stderr.contains("gateform.toml:2:17: error: control_token of [watch] must be a variable reference"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("hunter2"), "{}", run.stderr);
    repo.commit(&[("gateform.toml", Some("[environments.prod]\npath = \"kong\"\n"))], "fixed");
    let run = crate::common::gateform(&["watch", "--repo", &repo.path_str(), "--env", "qa", "--listen", "127.0.0.1:0"]);
    run.expect_code(1);
    assert!(run.stderr.contains("defines no environment \"qa\" (defined: prod)"), "{}", run.stderr);
}

#[test]
fn two_replicas_elect_one_leader_and_the_other_takes_over_when_it_dies() {
    let sb = TestSandbox::start();
    let repo = Repo::new();
    let c1 = repo.commit(&[("gateform.toml", Some(&settings(&sb.url, "1"))), ("kong/kong.yaml", Some(V1))], "orders");
    let dir = tempfile::tempdir().unwrap();
    let ledger = dir.path().join("ledger.db");
    let first = Daemon::start(&repo, &ledger, &[]);
    first.wait_for(&sb, 30, "the first replica to apply", |s| applied_commit(s) == c1);
    let second = Daemon::start(&repo, &ledger, &[]);
    // Standby from the start; who leads is known once its campaign has read the lease.
    let s = second.wait_for(&sb, 30, "the second replica to stand by, naming the leader", |s| {
        s["sync_status"] == "Standby" && s["leader"].is_string()
    });
    assert!(s["leader"].as_str().is_some_and(|l| !l.contains("this replica")), "{s:#}");
    let led = first.status(&sb);
    assert!(led["leader"].as_str().is_some_and(|l| l.contains("this replica")), "{led:#}");

    // The leader dies without a word (SIGKILL): the standby takes over and applies the next commit.
    drop(first);
    let c2 = repo.commit(&[("kong/kong.yaml", Some(&v2()))], "billing");
    second.wait_for(&sb, 30, "the standby to lead and apply", |s| applied_commit(s) == c2);
    assert_eq!(sb.get("/services/billing")["name"], "billing");
    let (code, log) = second.terminate();
    assert_eq!(code, 0, "{log}");
}

/// A TCP proxy in front of the sandbox that can be cut: while down, it drops every
/// connection as it arrives, as a gateway that is restarting or unreachable would.
struct Outage {
    url: String,
    down: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Outage {
    fn to(sb: &TestSandbox) -> Outage {
        let backend = sb.url.trim_start_matches("http://").to_owned();
        let down = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let listener = sb.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let cut = down.clone();
        sb.block_on(async move {
            tokio::spawn(async move {
                while let Ok((mut client, _)) = listener.accept().await {
                    if cut.load(std::sync::atomic::Ordering::SeqCst) {
                        continue; // dropped: the client sees the connection closed
                    }
                    let backend = backend.clone();
                    tokio::spawn(async move {
                        if let Ok(mut server) = tokio::net::TcpStream::connect(&backend).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                    });
                }
            });
        });
        Outage { url, down }
    }

    fn restore(&self) {
        self.down.store(false, std::sync::atomic::Ordering::SeqCst);
    }
}

#[test]
fn a_gateway_down_for_a_while_is_retried_with_backoff_then_converges() {
    let sb = TestSandbox::start();
    let gateway = Outage::to(&sb);
    let repo = Repo::new();
    let c1 =
        repo.commit(&[("gateform.toml", Some(&settings(&gateway.url, "1"))), ("kong/kong.yaml", Some(V1))], "orders");
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&repo, &dir.path().join("ledger.db"), &[]);
    // Failures back off: the commit is tried again 5 s after the first failure, though the
    // branch is polled every second; each failure is reported.
    d.wait_for(&sb, 30, "the first failed attempt", |s| s["consecutive_failures"].as_u64() >= Some(1));
    let first = Instant::now();
    let s = d.wait_for(&sb, 30, "the second failed attempt", |s| s["consecutive_failures"].as_u64() >= Some(2));
    assert!(first.elapsed() >= Duration::from_secs(4), "retried after {:?}, not backed off: {s}", first.elapsed());
    assert_eq!(s["last_error"]["kind"], "gateway", "{s}");
    assert!(s["last_error"]["message"].as_str().is_some_and(|m| m.contains("cannot read the gateway")), "{s}");
    assert_eq!(s["sync_status"], "Failed", "{s}");
    assert!(sb.list("/services").is_empty());
    // The gateway is back: the next attempt converges and the failures are forgotten.
    gateway.restore();
    let s = d.wait_for(&sb, 40, "convergence", |s| applied_commit(s) == c1 && s["sync_status"] == "Synced");
    assert_eq!(s["consecutive_failures"], 0, "{s}");
    assert_eq!(sb.get("/services/orders")["name"], "orders");
    let (code, log) = d.terminate();
    assert_eq!(code, 0, "{log}");
}

#[test]
fn status_reports_each_node_of_an_environment_of_several() {
    let sb = TestSandbox::start();
    let second = Outage::to(&sb); // another node of the same store
    second.restore();
    let repo = Repo::new();
    let toml = settings(&sb.url, "1")
        .replace(&format!("gateway = \"{}\"", sb.url), &format!("gateways = [\"{}\", \"{}\"]", sb.url, second.url));
    let c1 = repo.commit(&[("gateform.toml", Some(&toml)), ("kong/kong.yaml", Some(V1))], "orders");
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&repo, &dir.path().join("ledger.db"), &[]);
    let s = d.wait_for(&sb, 30, "the first commit", |s| applied_commit(s) == c1);
    let nodes: Vec<(String, String)> = s["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["address"].as_str().unwrap().to_owned(), n["status"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(
        nodes,
        vec![(sb.url.clone(), "verified".to_owned()), (second.url.clone(), "verified".to_owned())],
        "{s}"
    );
    let (code, log) = d.terminate();
    assert_eq!(code, 0, "{log}");
}

#[test]
fn drift_on_a_node_after_the_first_is_seen_and_healed_on_that_node() {
    let options = || gateform::kong::sandbox::SandboxOptions { db_less: true, ..Default::default() };
    let (first, second) = (TestSandbox::start_with(options()), TestSandbox::start_with(options()));
    let repo = Repo::new();
    let toml = settings(&first.url, "3600").replace(
        &format!("gateway = \"{}\"", first.url),
        &format!("gateways = [\"{}\", \"{}\"]", first.url, second.url),
    );
    let c1 = repo.commit(&[("gateform.toml", Some(&toml)), ("kong/kong.yaml", Some(V1))], "orders");
    let dir = tempfile::tempdir().unwrap();
    let d = Daemon::start(&repo, &dir.path().join("ledger.db"), &[]);
    d.wait_for(&first, 30, "the first commit", |s| applied_commit(s) == c1 && s["sync_status"] == "Synced");
    assert_eq!(second.get("/services/orders")["host"], "orders.internal");
    let posts = |sb: &TestSandbox| sb.sandbox().request_counts().get("POST").copied().unwrap_or(0);
    let loaded_first = posts(&first);

    // Someone loads another configuration into the second node only; the first stays in sync.
    let other = json!({"_format_version": "3.0", "services": [{"name": "orders", "host": "elsewhere.internal"}]});
    second.send("POST", "/config", Some(other)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while second.get("/services/orders")["host"] != "orders.internal" {
        assert!(Instant::now() < deadline, "the second node's drift not healed\n{}", d.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    let s = d.wait_for(&first, 30, "the correction recorded", |s| s["last_applied"]["run_id"].as_i64() >= Some(2));
    assert_eq!(s["sync_status"], "Synced", "{s}");
    assert_eq!(second.list("/routes").len(), 1, "the route is back on the second node");
    assert_eq!(posts(&first), loaded_first, "the first node, in sync, is not written again");
    let (code, log) = d.terminate();
    assert_eq!(code, 0, "{log}");
}
