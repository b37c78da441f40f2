//! The endpoints, called through the router (no socket), under paused time.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::Value;
use tower::ServiceExt;

use super::fake::{Call, Fake};
use super::{policy, start, wait};
use crate::source::environments::Secret;
use crate::watch::daemon::DaemonOptions;
use crate::watch::webhook::{SIGNATURE_HEADER, WebhookSecrets, sign};

async fn call(router: &axum::Router, req: Request<Body>) -> (StatusCode, String) {
    let resp = router.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

fn get(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).unwrap()
}

fn post(path: &str, headers: &[(&str, &str)], body: &'static str) -> Request<Body> {
    let mut r = Request::post(path);
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    r.body(Body::from(body)).unwrap()
}

fn options() -> DaemonOptions {
    DaemonOptions {
        webhooks: WebhookSecrets {
            github: Some(Secret::new("gh-secret")),
            gitlab: Some(Secret::new("gl-token")),
            generic: Some(Secret::new("generic-secret")),
        },
        control_token: Some(Secret::new("control")),
        ..DaemonOptions::default()
    }
}

const PUSH: &str = r#"{"ref":"refs/heads/main","after":"c2"}"#;

#[tokio::test(start_paused = true)]
async fn a_signed_webhook_applies_a_commit_long_before_the_poll() {
    let fake = Fake::new("prod", "c1");
    let d = start(vec![(fake.clone(), policy(3600))], options());
    wait(10.0).await;
    fake.push("c2");
    let sig = sign(&Secret::new("gh-secret"), PUSH.as_bytes());
    let (code, body) =
        call(&d.router, post("/webhooks/github", &[("x-hub-signature-256", &sig), ("x-github-event", "push")], PUSH))
            .await;
    assert_eq!((code, body.as_str()), (StatusCode::ACCEPTED, r#"{"woken":["prod"]}"#));
    wait(0.1).await;
    assert_eq!(fake.times(|c| *c == Call::Apply("c2".into())), vec![10.0]);
    // GitLab and the generic hook wake it too.
    let (code, _) = call(&d.router, post("/webhooks/gitlab", &[("x-gitlab-token", "gl-token")], PUSH)).await;
    assert_eq!(code, StatusCode::ACCEPTED);
    wait(0.1).await;
    let sig = sign(&Secret::new("generic-secret"), PUSH.as_bytes());
    let (code, _) = call(&d.router, post("/webhooks/generic?env=prod", &[(SIGNATURE_HEADER, &sig)], PUSH)).await;
    assert_eq!(code, StatusCode::ACCEPTED);
    wait(0.1).await;
    assert_eq!(fake.times(|c| *c == Call::Head).len(), 4);
    d.stop().await;
}

#[tokio::test(start_paused = true)]
async fn unsigned_or_wrongly_signed_webhooks_get_401_and_change_nothing() {
    let fake = Fake::new("prod", "c1");
    let d = start(vec![(fake.clone(), policy(3600))], options());
    wait(10.0).await;
    fake.push("c2");
    let before = fake.calls().len();
    let wrong = sign(&Secret::new("not-the-secret"), PUSH.as_bytes());
    let gh_sig = sign(&Secret::new("gh-secret"), PUSH.as_bytes());
    let cases = [
        post("/webhooks/github", &[], PUSH),
        post("/webhooks/github", &[("x-hub-signature-256", &wrong)], PUSH),
        post("/webhooks/github", &[("x-hub-signature-256", &gh_sig)], r#"{"ref":"refs/heads/other"}"#),
        post("/webhooks/gitlab", &[("x-gitlab-token", "nope")], PUSH),
        post("/webhooks/generic", &[(SIGNATURE_HEADER, &gh_sig)], PUSH),
        post("/webhooks/bitbucket", &[("x-hub-signature-256", &gh_sig)], PUSH),
    ];
    for req in cases {
        let (code, body) = call(&d.router, req).await;
        assert_eq!(code, StatusCode::UNAUTHORIZED, "{body}");
    }
    let huge: &'static str = Box::leak("x".repeat(crate::watch::http::MAX_WEBHOOK_BODY + 1).into_boxed_str());
    let sig = sign(&Secret::new("gh-secret"), huge.as_bytes());
    let (code, _) = call(&d.router, post("/webhooks/github", &[("x-hub-signature-256", &sig)], huge)).await;
    assert_eq!(code, StatusCode::PAYLOAD_TOO_LARGE, "bodies are bounded before they are hashed");
    let ping = r#"{"zen":"Keep it logically awesome."}"#;
    let sig = sign(&Secret::new("gh-secret"), ping.as_bytes());
    let (code, _) =
        call(&d.router, post("/webhooks/github", &[("x-hub-signature-256", &sig), ("x-github-event", "ping")], ping))
            .await;
    assert_eq!(code, StatusCode::OK, "a signed ping is answered but wakes nothing");
    wait(100.0).await;
    assert_eq!(fake.calls().len(), before, "nothing fetched, planned or applied");
    assert_eq!(fake.applied().as_deref(), Some("c1"));
    let metrics = d.metrics.encode();
    assert!(
        metrics.contains("gateform_webhook_requests_total{provider=\"github\",result=\"unauthorized\"} 3"),
        "{metrics}"
    );
    assert!(metrics.contains("gateform_webhook_requests_total{provider=\"unknown\",result=\"unauthorized\"} 1"));
    // Without secrets configured every webhook is refused.
    let bare = start(vec![(Fake::new("qa", "c1"), policy(3600))], DaemonOptions::default());
    let (code, _) = call(&bare.router, post("/webhooks/github", &[("x-hub-signature-256", &gh_sig)], PUSH)).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    bare.stop().await;
    d.stop().await;
}

#[tokio::test(start_paused = true)]
async fn suspend_and_resume_need_the_bearer_token() {
    let fake = Fake::new("prod", "c1");
    let d = start(vec![(fake.clone(), policy(60))], options());
    wait(1.0).await;
    for auth in [None, Some("Bearer nope"), Some("control")] {
        let headers: Vec<(&str, &str)> = auth.map(|a| vec![("authorization", a)]).unwrap_or_default();
        let (code, _) = call(&d.router, post("/environments/prod/suspend", &headers, "")).await;
        assert_eq!(code, StatusCode::UNAUTHORIZED, "{auth:?}");
    }
    assert!(!d.handle(0).suspended());
    let auth = [("authorization", "Bearer control")];
    let (code, _) = call(&d.router, post("/environments/nope/suspend", &auth, "")).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let (code, body) = call(&d.router, post("/environments/prod/suspend", &auth, "")).await;
    assert_eq!((code, body.as_str()), (StatusCode::OK, r#"{"environment":"prod","suspended":true}"#));
    fake.push("c2");
    wait(300.0).await;
    assert_eq!(fake.applied().as_deref(), Some("c1"), "a change freeze");
    let (_, status) = call(&d.router, get("/status")).await;
    let status: Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status["environments"][0]["sync_status"], "Suspended");
    let (code, _) = call(&d.router, post("/environments/prod/resume", &auth, "")).await;
    assert_eq!(code, StatusCode::OK);
    wait(0.1).await;
    assert_eq!(fake.times(|c| *c == Call::Apply("c2".into())), vec![301.0]);
    // Without a configured token the switch is off.
    let bare = start(vec![(Fake::new("qa", "c1"), policy(60))], DaemonOptions::default());
    let (code, _) = call(&bare.router, post("/environments/qa/suspend", &auth, "")).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    bare.stop().await;
    d.stop().await;
}

#[tokio::test(start_paused = true)]
async fn status_reports_each_environment() {
    let ok = Fake::new("prod", "c1");
    let broken = Fake::new("staging", "c9");
    broken.with(|s| s.plan_error = true);
    let mut opts = options();
    opts.leader = Arc::new(|_: &str| Some("host-a".into()));
    let d = start(vec![(ok.clone(), policy(60)), (broken.clone(), policy(60))], opts);
    wait(1.0).await;
    let (code, body) = call(&d.router, get("/status")).await;
    assert_eq!(code, StatusCode::OK);
    let v: Value = serde_json::from_str(&body).unwrap();
    let envs: BTreeMap<String, Value> = v["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["name"].as_str().unwrap().to_owned(), e.clone()))
        .collect();
    let prod = &envs["prod"];
    assert_eq!(prod["sync_status"], "Synced");
    assert_eq!(prod["last_applied"]["commit"]["id"], "c1");
    assert_eq!(prod["last_applied"]["run_id"], 1);
    assert_eq!(prod["last_attempted"]["result"], "applied");
    assert_eq!(prod["last_error"], Value::Null);
    assert_eq!(prod["leader"], "host-a");
    assert_eq!(prod["next_run_in_seconds"], 59.0);
    let staging = &envs["staging"];
    assert_eq!(staging["sync_status"], "Failed");
    assert_eq!(staging["last_applied"], Value::Null);
    assert_eq!(staging["last_attempted"]["commit"]["id"], "c9");
    assert_eq!(staging["last_error"]["kind"], "gateway");
    assert!(staging["last_error"]["message"].as_str().unwrap().contains("connection refused"));
    assert_eq!(staging["consecutive_failures"], 1);
    assert_eq!(staging["next_run_in_seconds"], 4.0, "retried after 5 s");
    d.stop().await;
}

#[tokio::test(start_paused = true)]
async fn readyz_waits_for_the_ledger_and_the_first_poll() {
    let fake = Fake::new("prod", "c1");
    fake.with(|s| s.apply_takes = std::time::Duration::from_secs(10));
    let ledger_ok = Arc::new(AtomicBool::new(true));
    let probe = Arc::clone(&ledger_ok);
    let opts = DaemonOptions {
        ledger: Arc::new(move || if probe.load(Ordering::SeqCst) { Ok(()) } else { Err("database is locked".into()) }),
        ..DaemonOptions::default()
    };
    let d = start(vec![(fake, policy(60))], opts);
    let (code, _) = call(&d.router, get("/healthz")).await;
    assert_eq!(code, StatusCode::OK);
    wait(1.0).await;
    let (code, body) = call(&d.router, get("/readyz")).await;
    assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE, "the first apply is still running: {body}");
    assert!(body.contains(r#""waiting_for_first_poll":["prod"]"#), "{body}");
    wait(10.0).await;
    let (code, _) = call(&d.router, get("/readyz")).await;
    assert_eq!(code, StatusCode::OK);
    ledger_ok.store(false, Ordering::SeqCst);
    let (code, body) = call(&d.router, get("/readyz")).await;
    assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("database is locked"), "{body}");
    d.stop().await;
}

/// Parses Prometheus text exposition strictly enough to catch a malformed line:
/// `name{labels} value` → (`name{labels}`, value).
pub fn parse_metrics(text: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            assert!(
                line.is_empty()
                    || line.starts_with("# HELP ")
                    || line.starts_with("# TYPE ")
                    || line == "# EOF"
                    || line.starts_with("# UNIT "),
                "{line}"
            );
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("no value: {line}"));
        let name = series.split('{').next().unwrap();
        assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'), "bad name in {line}");
        if let Some(labels) = series.strip_prefix(name) {
            assert!(labels.is_empty() || (labels.starts_with('{') && labels.ends_with('}')), "bad labels in {line}");
        }
        let v: f64 = value.parse().unwrap_or_else(|_| panic!("bad value in {line}"));
        out.insert(series.to_owned(), v);
    }
    out
}

#[tokio::test(start_paused = true)]
async fn metrics_parse_and_their_counters_move() {
    let fake = Fake::new("prod", "c1");
    let p =
        crate::source::environments::WatchPolicy { drift_interval: std::time::Duration::from_secs(300), ..policy(60) };
    let d = start(vec![(fake.clone(), p)], DaemonOptions::default());
    d.metrics.admin_api_counter("prod").inc(Some(200));
    d.metrics.admin_api_counter("prod").inc(Some(200));
    d.metrics.admin_api_counter("prod").inc(None);
    wait(1.0).await;
    let (code, text) = call(&d.router, get("/metrics")).await;
    assert_eq!(code, StatusCode::OK);
    let m = parse_metrics(&text);
    assert_eq!(m["gateform_applies_total{environment=\"prod\",outcome=\"success\"}"], 1.0);
    assert_eq!(m["gateform_last_applied_commit_info{environment=\"prod\",commit=\"c1\"}"], 1.0);
    assert_eq!(m["gateform_admin_api_requests_total{environment=\"prod\",status=\"200\"}"], 2.0);
    assert_eq!(m["gateform_admin_api_requests_total{environment=\"prod\",status=\"error\"}"], 1.0);
    assert_eq!(m["gateform_reconcile_duration_seconds_count{environment=\"prod\"}"], 1.0);
    assert_eq!(m["gateform_git_fetch_duration_seconds_count{environment=\"prod\"}"], 1.0);
    assert_eq!(m["gateform_suspended{environment=\"prod\"}"], 0.0);
    fake.push("c2");
    fake.with(|s| s.fetch_error = true);
    wait(60.0).await;
    fake.with(|s| s.fetch_error = false);
    wait(10.0).await;
    fake.with(|s| s.drift = 7);
    wait(300.0).await;
    let m = parse_metrics(&call(&d.router, get("/metrics")).await.1);
    assert_eq!(m["gateform_git_fetch_failures_total{environment=\"prod\"}"], 1.0);
    assert_eq!(m["gateform_reconcile_failures_total{environment=\"prod\",outcome=\"fetch\"}"], 1.0);
    assert_eq!(
        m["gateform_applies_total{environment=\"prod\",outcome=\"success\"}"], 3.0,
        "c1, c2, and a drift correction"
    );
    assert!(
        !m.contains_key("gateform_last_applied_commit_info{environment=\"prod\",commit=\"c1\"}"),
        "the old commit is gone"
    );
    assert_eq!(m["gateform_last_applied_commit_info{environment=\"prod\",commit=\"c2\"}"], 1.0);
    assert_eq!(m["gateform_drift_entities{environment=\"prod\"}"], 0.0, "healed");
    d.stop().await;
}
