//! The daemon's HTTP endpoints (axum): `/healthz`, `/readyz`, `/status`, `/metrics`, the
//! webhooks (`POST /webhooks/{github,gitlab,generic}`) and the suspend switch
//! (`POST /environments/{name}/suspend` and `/resume`, with a bearer token).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::metrics::{Metrics, WebhookLabels};
use super::status::EnvHandle;
use super::webhook::{Provider, WebhookSecrets, verify};
use crate::source::environments::Secret;

/// Largest webhook body accepted: 1 MiB (GitHub caps push payloads at 25 MB, but the body
/// is only hashed, never used).
pub const MAX_WEBHOOK_BODY: usize = 1 << 20;

/// Checks that the ledger can be reached; `Err` says why not. Called by `/readyz`, on a
/// blocking thread.
pub type LedgerProbe = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;
/// The current leader of the environments' locks (a host or process name), when known.
pub type LeaderProbe = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// What the endpoints read.
#[derive(Clone)]
pub struct HttpState {
    /// The environments by name.
    pub envs: Arc<BTreeMap<String, Arc<EnvHandle>>>,
    /// The metrics.
    pub metrics: Metrics,
    /// Webhook secrets.
    pub webhooks: Arc<WebhookSecrets>,
    /// The bearer token of the suspend switch (disabled without one).
    pub control_token: Option<Arc<Secret>>,
    /// The ledger probe of `/readyz`.
    pub ledger: LedgerProbe,
    /// The leader shown in `/status`.
    pub leader: LeaderProbe,
}

/// The router of every endpoint.
pub fn router(state: HttpState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/status", get(status))
        .route("/metrics", get(metrics))
        .route("/webhooks/{provider}", post(webhook).layer(DefaultBodyLimit::max(MAX_WEBHOOK_BODY)))
        .route("/environments/{name}/{action}", post(control))
        .with_state(state)
}

async fn readyz(State(state): State<HttpState>) -> Response {
    let probe = Arc::clone(&state.ledger);
    let ledger =
        tokio::task::spawn_blocking(move || probe()).await.unwrap_or_else(|_| Err("the probe panicked".into()));
    let waiting: Vec<String> =
        state.envs.iter().filter(|(_, h)| !h.snapshot().first_poll_done).map(|(n, _)| n.clone()).collect();
    let ready = ledger.is_ok() && waiting.is_empty();
    let body = json!({
        "ready": ready,
        "ledger": ledger.err().unwrap_or_else(|| "ok".into()),
        "waiting_for_first_poll": waiting,
    });
    let code = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, axum::Json(body)).into_response()
}

/// The body of `/status`: `{"environments": [...]}`, sorted by name.
pub fn status_json(state: &HttpState) -> Value {
    let envs: Vec<Value> = state
        .envs
        .iter()
        .map(|(name, h)| h.snapshot().to_json(h.suspended(), (state.leader)(name).as_deref()))
        .collect();
    json!({ "environments": envs })
}

async fn status(State(state): State<HttpState>) -> Response {
    axum::Json(status_json(&state)).into_response()
}

async fn metrics(State(state): State<HttpState>) -> Response {
    let content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    ([(header::CONTENT_TYPE, content_type)], state.metrics.encode()).into_response()
}

#[derive(Debug, Deserialize)]
struct WebhookQuery {
    env: Option<String>,
}

async fn webhook(
    State(state): State<HttpState>,
    Path(provider): Path<String>,
    Query(query): Query<WebhookQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let known = Provider::from_path(&provider);
    let genuine = known.is_some_and(|p| verify(p, &state.webhooks, &headers, &body));
    let labels = WebhookLabels {
        provider: known.map_or("unknown", Provider::as_str).to_owned(),
        result: if genuine { "accepted" } else { "unauthorized" }.to_owned(),
    };
    state.metrics.webhooks.get_or_create(&labels).inc();
    if !genuine {
        tracing::warn!(provider = labels.provider.as_str(), "refused a webhook: unknown sender or bad signature");
        return unauthorized("unknown webhook or bad signature");
    }
    // GitHub's `ping` (sent when a webhook is created) proves the secret; nothing to fetch.
    if headers.get("x-github-event").is_some_and(|e| e == "ping") {
        return (StatusCode::OK, axum::Json(json!({"woken": []}))).into_response();
    }
    let mut woken = Vec::new();
    for (name, handle) in state.envs.iter() {
        if query.env.as_ref().is_none_or(|e| e == name) {
            handle.wake.notify_one();
            woken.push(name.clone());
        }
    }
    tracing::info!(provider = labels.provider.as_str(), "webhook: woke {}", woken.join(", "));
    (StatusCode::ACCEPTED, axum::Json(json!({"woken": woken}))).into_response()
}

async fn control(
    State(state): State<HttpState>,
    Path((name, action)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let Some(token) = &state.control_token else {
        return unauthorized("the suspend switch is disabled: set control_token in [watch]");
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let same = Sha256::digest(given.as_bytes()).ct_eq(&Sha256::digest(token.expose().as_bytes()));
    if given.is_empty() || !bool::from(same) {
        return unauthorized("missing or wrong bearer token");
    }
    let suspend = match action.as_str() {
        "suspend" => true,
        "resume" => false,
        _ => return (StatusCode::NOT_FOUND, axum::Json(json!({"error": "use suspend or resume"}))).into_response(),
    };
    let Some(handle) = state.envs.get(&name) else {
        return (StatusCode::NOT_FOUND, axum::Json(json!({"error": format!("no environment {name:?}")})))
            .into_response();
    };
    handle.set_suspended(suspend);
    tracing::warn!(
        environment = name.as_str(),
        "{} through the HTTP switch",
        if suspend { "suspended" } else { "resumed" }
    );
    (StatusCode::OK, axum::Json(json!({"environment": name, "suspended": suspend}))).into_response()
}

fn unauthorized(message: &str) -> Response {
    (StatusCode::UNAUTHORIZED, axum::Json(json!({"error": message}))).into_response()
}
