//! Notifications and commit statuses against a local HTTP receiver (real time, port 0,
//! retry waits of milliseconds).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::routing::post;

use super::fake::{Fake, commit};
use super::policy;
use crate::source::environments::{CommitStatusSettings, EventKind, Forge, NotificationTarget, Secret};
use crate::watch::daemon::{Daemon, DaemonOptions, Environment};
use crate::watch::notify::{Counts, Event, Notifier, RetryPolicy};
use crate::watch::webhook::{SIGNATURE_HEADER, verify_hmac};

#[derive(Debug, Clone)]
struct Received {
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    /// Requests answered 500 before the receiver starts answering 200.
    fail_first: Arc<Mutex<usize>>,
}

impl Receiver {
    async fn start(fail_first: usize) -> (Receiver, String) {
        let r = Receiver { fail_first: Arc::new(Mutex::new(fail_first)), ..Receiver::default() };
        async fn record(State(r): State<Receiver>, uri: Uri, headers: HeaderMap, body: Bytes) -> StatusCode {
            r.got.lock().unwrap().push(Received { path: uri.to_string(), headers, body });
            let mut left = r.fail_first.lock().unwrap();
            if *left > 0 {
                *left -= 1;
                return StatusCode::INTERNAL_SERVER_ERROR;
            }
            StatusCode::CREATED
        }
        let app = Router::new().fallback(post(record)).with_state(r.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (r, url)
    }

    fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }
}

fn client() -> reqwest::Client {
    crate::kong::install_crypto_provider();
    reqwest::Client::new()
}

fn fast() -> RetryPolicy {
    RetryPolicy { attempts: 5, base: Duration::from_millis(10), cap: Duration::from_millis(40) }
}

fn target(url: &str, events: Vec<EventKind>) -> NotificationTarget {
    NotificationTarget { url: format!("{url}/hook"), secret: Some(Secret::new("notify-secret")), events }
}

fn event(id: &str, kind: EventKind) -> Event {
    Event {
        id: id.into(),
        kind,
        environment: "prod".into(),
        commit: Some(commit("0123456789abcdef0123")),
        run_id: Some(7),
        plan: Counts { add: 1, change: 2, destroy: 0 },
        outcomes: None,
        message: Some("2 change(s) failed".into()),
        time: "2026-11-01T12:00:00.000Z".into(),
    }
}

#[tokio::test]
async fn events_are_signed_retried_and_delivered_once() {
    let (rx, url) = Receiver::start(2).await;
    let n = Notifier::new(client(), vec![target(&url, EventKind::ALL.to_vec())], None, fast());
    assert!(n.send(event("prod/run/7", EventKind::Applied)));
    assert!(!n.send(event("prod/run/7", EventKind::Applied)), "the same id is not sent twice");
    assert!(n.drain(Duration::from_secs(5)).await);
    let got = rx.got();
    assert_eq!(got.len(), 3, "two 500s, then delivered, then nothing more");
    for r in &got {
        assert_eq!(r.path, "/hook");
        assert_eq!(r.headers["x-gateform-delivery"], "prod/run/7");
        assert_eq!(r.headers["x-gateform-event"], "applied");
        let sig = r.headers[SIGNATURE_HEADER].to_str().unwrap();
        assert!(verify_hmac(&Secret::new("notify-secret"), sig, &r.body), "signed");
        assert_eq!(r.body, got[0].body, "retries resend the same body");
    }
    let body: serde_json::Value = serde_json::from_slice(&got[0].body).unwrap();
    assert_eq!(body["kind"], "applied");
    assert_eq!(body["run_id"], 7);
    assert_eq!(body["plan"]["change"], 2);
}

#[tokio::test]
async fn deliveries_give_up_after_their_tries_and_filter_by_kind() {
    let (rx, url) = Receiver::start(100).await;
    let only_failed = target(&url, vec![EventKind::Failed]);
    let n = Notifier::new(client(), vec![only_failed], None, fast());
    n.send(event("a", EventKind::Applied));
    n.send(event("b", EventKind::Failed));
    assert!(n.drain(Duration::from_secs(5)).await);
    let got = rx.got();
    assert_eq!(got.len(), 5, "five tries of the failed event, none of the applied one");
    assert!(got.iter().all(|r| r.headers["x-gateform-delivery"] == "b"));
}

#[tokio::test]
async fn commit_statuses_reach_github_and_gitlab() {
    let (rx, url) = Receiver::start(0).await;
    let github = CommitStatusSettings {
        forge: Forge::GitHub,
        repository: "acme/gw".into(),
        token: Secret::new("gh-token"),
        base_url: url.clone(),
    };
    let n = Notifier::new(client(), vec![], Some(github), fast());
    n.send(event("prod/run/7", EventKind::Applied));
    n.send(event("prod/drift/x", EventKind::DriftDetected));
    n.send(Event { commit: None, ..event("prod/error/1", EventKind::Failed) });
    assert!(n.drain(Duration::from_secs(5)).await);
    let gitlab = CommitStatusSettings {
        forge: Forge::GitLab,
        repository: "group/sub/gw".into(),
        token: Secret::new("gl-token"),
        base_url: url.clone(),
    };
    let n = Notifier::new(client(), vec![], Some(gitlab), fast());
    n.send(event("prod/run/8", EventKind::Failed));
    assert!(n.drain(Duration::from_secs(5)).await);
    let got = rx.got();
    assert_eq!(got.len(), 2, "no status for reported drift, nor for a failed fetch");
    assert_eq!(got[0].path, "/repos/acme/gw/statuses/0123456789abcdef0123");
    assert_eq!(got[0].headers["authorization"], "Bearer gh-token");
    let body: serde_json::Value = serde_json::from_slice(&got[0].body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"state": "success", "context": "gateform/prod", "description": "applied to prod"})
    );
    assert_eq!(got[1].path, "/api/v4/projects/group%2Fsub%2Fgw/statuses/0123456789abcdef0123");
    assert_eq!(got[1].headers["private-token"], "gl-token");
    let body: serde_json::Value = serde_json::from_slice(&got[1].body).unwrap();
    assert_eq!(body["state"], "failed");
    assert_eq!(body["name"], "gateform/prod");
    assert_eq!(body["description"], "failed: 2 change(s) failed");
}

#[tokio::test]
async fn the_loop_sends_one_event_per_run() {
    let (rx, url) = Receiver::start(1).await;
    let n = Notifier::new(client(), vec![target(&url, EventKind::ALL.to_vec())], None, fast());
    let fake = Fake::new("prod", "c1");
    fake.with(|s| s.drift = 2);
    let p = crate::source::environments::WatchPolicy {
        poll_interval: Duration::from_millis(20),
        drift_interval: Duration::from_millis(50),
        ..policy(1)
    };
    let env = Environment { target: fake.clone(), policy: p };
    let d = Daemon::new(vec![env], DaemonOptions { notifier: Some(n), ..DaemonOptions::default() }).unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn(d.run(None, stop.clone().cancelled_owned()));
    tokio::time::sleep(Duration::from_millis(100)).await;
    fake.push("c2");
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.cancel();
    task.await.unwrap();
    let runs = fake.state.lock().unwrap().runs;
    assert_eq!(runs, 2, "c1 (which also cleared the drift) and c2");
    let ids: Vec<String> =
        rx.got().iter().map(|r| r.headers["x-gateform-delivery"].to_str().unwrap().to_owned()).collect();
    assert_eq!(
        ids,
        vec!["prod/run/1", "prod/run/1", "prod/run/2"],
        "run 1 retried once after a 500; one event per run"
    );
}
